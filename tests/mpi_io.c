/*
 * An MPI-IO client with nonblocking file I/O, for tests/mpi-io.sh: Open
 * MPI's OMPIO (its fbtl posix component) serves MPI_File_iwrite_at and
 * MPI_File_iread_at with aio_write and aio_read, so under rtaio-run the
 * requests are rtaio's.
 *
 *   mpi_io FILE BLOCKS BLOCK_SIZE
 *
 * Every rank owns BLOCKS blocks of BLOCK_SIZE bytes of FILE, interleaved
 * with the other ranks' (block i of rank r at offset (i * size + r) *
 * BLOCK_SIZE), and writes them all at once with MPI_File_iwrite_at, each
 * block a pattern of its own; after a barrier it reads the blocks of the
 * next rank with MPI_File_iread_at, all at once, and checks every byte.
 * Each rank prints "rank R: wrote N blocks, read N blocks, every byte
 * verified" and rank 0 ends with "mpi_io: ok"; a failure prints "FAIL:
 * ..." and aborts the job.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank;

static void check(int error, const char *what)
{
	char text[MPI_MAX_ERROR_STRING];
	int length;

	if (error == MPI_SUCCESS)
		return;
	MPI_Error_string(error, text, &length);
	printf("FAIL: rank %d: %s: %s\n", rank, what, text);
	fflush(stdout);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

/* The byte at POS of block BLOCK of rank OWNER: no two blocks alike. */
static unsigned char pattern(int owner, long block, long pos)
{
	return (unsigned char)(owner * 131 + block * 31 + pos * 7 + pos / 251);
}

int main(int argc, char **argv)
{
	MPI_File file;
	int size;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc != 4 || atol(argv[2]) <= 0 || atol(argv[3]) <= 0) {
		if (rank == 0)
			printf("usage: mpi_io FILE BLOCKS BLOCK_SIZE\n");
		MPI_Finalize();
		return 2;
	}
	const long blocks = atol(argv[2]), block_size = atol(argv[3]);
	unsigned char *out = malloc(blocks * block_size), *in = malloc(blocks * block_size);
	MPI_Request *requests = malloc(blocks * sizeof *requests);
	if (!out || !in || !requests) {
		printf("FAIL: rank %d: out of memory\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	/* offset of block I of rank OWNER */
#define OFFSET(owner, i) ((MPI_Offset)((i) * size + (owner)) * block_size)

	check(MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_RDWR,
			    MPI_INFO_NULL, &file),
	      "MPI_File_open");
	for (long i = 0; i < blocks; i++) {
		unsigned char *block = out + i * block_size;
		for (long pos = 0; pos < block_size; pos++)
			block[pos] = pattern(rank, i, pos);
		check(MPI_File_iwrite_at(file, OFFSET(rank, i), block, (int)block_size,
					 MPI_BYTE, &requests[i]),
		      "MPI_File_iwrite_at");
	}
	check(MPI_Waitall((int)blocks, requests, MPI_STATUSES_IGNORE), "MPI_Waitall (writes)");
	MPI_Barrier(MPI_COMM_WORLD);

	const int next = (rank + 1) % size;
	memset(in, 0, blocks * block_size);
	for (long i = 0; i < blocks; i++)
		check(MPI_File_iread_at(file, OFFSET(next, i), in + i * block_size,
					(int)block_size, MPI_BYTE, &requests[i]),
		      "MPI_File_iread_at");
	for (long i = 0; i < blocks; i++) {
		MPI_Status status;
		int count;

		check(MPI_Wait(&requests[i], &status), "MPI_Wait (read)");
		MPI_Get_count(&status, MPI_BYTE, &count);
		if (count != block_size) {
			printf("FAIL: rank %d: block %ld of rank %d: read %d bytes of %ld\n", rank,
			       i, next, count, block_size);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
		for (long pos = 0; pos < block_size; pos++)
			if (in[i * block_size + pos] != pattern(next, i, pos)) {
				printf("FAIL: rank %d: block %ld of rank %d: byte %ld differs\n",
				       rank, i, next, pos);
				MPI_Abort(MPI_COMM_WORLD, 1);
			}
	}
	check(MPI_File_close(&file), "MPI_File_close");
	printf("rank %d: wrote %ld blocks, read %ld blocks, every byte verified\n", rank, blocks,
	       blocks);
	fflush(stdout);
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0)
		printf("mpi_io: ok\n");
	free(requests);
	free(in);
	free(out);
	MPI_Finalize();
	return 0;
}
