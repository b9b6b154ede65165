/*
 * Requests on one regular file run concurrently (glibc runs one request per
 * fd at a time: its defect 8).  The proof: each aio_read's buffer is a page
 * that userfaultfd holds back, so the kernel's copy into it waits until the
 * test releases the page; seeing every read's fault outstanding at once
 * means every read is in the kernel at once, on the one fd.
 * Exits 77 where userfaultfd is not available (unprivileged, old kernel).
 */
#include <aio.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "aioutil.h"

#define READS 4
#define PAGE 4096

static int open_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

START_TEST(reads_on_one_file_run_concurrently)
{
	int uffd = open_uffd(), fd = pattern_file(READS * PAGE), faults = 0, i;
	char *pages = mmap(NULL, READS * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {
		.range = { (unsigned long)pages, READS * PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	const struct aiocb *list[READS];
	struct aiocb cb[READS];
	bool seen[READS] = { false };
	double deadline = now_sec() + 20;

	ck_assert_int_ge(uffd, 0);
	ck_assert_ptr_ne(pages, MAP_FAILED);
	ck_assert_int_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	memset(cb, 0, sizeof cb);
	for (i = 0; i < READS; i++) {
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = pages + i * PAGE;
		cb[i].aio_nbytes = PAGE;
		cb[i].aio_offset = (off_t)i * PAGE;
		cb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
		list[i] = &cb[i];
		ck_assert_int_eq(aio_read(&cb[i]), 0);
	}
	/* every read faults on its page before any page is released */
	while (faults < READS && now_sec() < deadline) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(uffd, &msg, sizeof msg) != (ssize_t)sizeof msg ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		i = (int)((msg.arg.pagefault.address - (unsigned long)pages) / PAGE);
		if (i >= 0 && i < READS && !seen[i]) {
			seen[i] = true;
			faults++;
		}
	}
	ck_assert_msg(faults == READS, "only %d of %d reads were in the kernel at once", faults,
		      READS);
	for (i = 0; i < READS; i++) {
		struct uffdio_zeropage z = { .range = { (unsigned long)(pages + i * PAGE), PAGE } };

		ck_assert_int_eq(ioctl(uffd, UFFDIO_ZEROPAGE, &z), 0);
	}
	for (i = 0; i < READS; i++) {
		struct timespec t = ms_ts(10000);
		int k;

		while (aio_error(&cb[i]) == EINPROGRESS)
			ck_assert_int_eq(aio_suspend(&list[i], 1, &t), 0);
		ck_assert_int_eq(aio_return(&cb[i]), PAGE);
		for (k = 0; k < PAGE; k++)
			ck_assert_uint_eq((unsigned char)pages[i * PAGE + k],
					  pattern_byte((uint64_t)i * PAGE + k));
	}
	munmap(pages, READS * PAGE);
	close(uffd);
	close(fd);
}
END_TEST

/* Wait for the fault on page (the kernel is in the call that touches it); false: none came. */
static bool fault_seen(int uffd, const char *page)
{
	double deadline = now_sec() + 20;

	while (now_sec() < deadline) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(uffd, &msg, sizeof msg) == (ssize_t)sizeof msg &&
		    msg.event == UFFD_EVENT_PAGEFAULT &&
		    msg.arg.pagefault.address - (unsigned long)page < PAGE)
			return true;
	}
	return false;
}

/* Fill the held source page of write w with byte: w writes it, and returns. */
static void release_write(int uffd, struct uffdio_copy *copy, char *data, char byte,
			  struct aiocb *w)
{
	memset(data, byte, PAGE);
	ck_assert_int_eq(ioctl(uffd, UFFDIO_COPY, copy), 0);
	wait_final(w, 10000);
	ck_assert_int_eq(aio_return(w), PAGE);
}

/*
 * A write whose source page userfaultfd holds back stays in the kernel
 * until the test releases the page.  Meanwhile a read of other bytes of
 * the file is served inside aio_read, as if the write were not there, and
 * a read of some of the bytes it writes is not: it waits for the write and
 * returns its bytes.  (Before, any unfinished write on an fd kept every
 * read of that fd from being served at submission: a mixed random
 * read/write load ran at a third of glibc's rate.)
 */
START_TEST(read_beside_a_pending_write_is_served_at_once)
{
	int uffd = open_uffd(), fd = pattern_file(4 * PAGE), k;
	char *src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static char far[PAGE], near[PAGE], data[PAGE];
	struct uffdio_register reg = {
		.range = { (unsigned long)src, PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_copy copy = { (unsigned long)src, (unsigned long)data, PAGE, 0, 0 };
	struct aiocb w, rf, rn;

	unsetenv("RTAIO_INLINE_READS");	/* main() turned them off for the other test */
	ck_assert_int_ge(uffd, 0);
	ck_assert_ptr_ne(src, MAP_FAILED);
	ck_assert_int_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	prep_aiocb(&w, fd, src, PAGE, 0);
	ck_assert_int_eq(aio_write(&w), 0);
	ck_assert_msg(fault_seen(uffd, src), "the write never touched its source page");

	prep_aiocb(&rf, fd, far, PAGE, 2 * PAGE);
	ck_assert_int_eq(aio_read(&rf), 0);
	ck_assert_msg(aio_error(&rf) == 0, "a read of other bytes was not served at once: %s",
		      strerror(aio_error(&rf)));
	ck_assert_int_eq(aio_return(&rf), PAGE);
	for (k = 0; k < PAGE; k++)
		ck_assert_uint_eq((unsigned char)far[k], pattern_byte(2 * PAGE + (uint64_t)k));

	prep_aiocb(&rn, fd, near, PAGE, PAGE / 2);
	ck_assert_int_eq(aio_read(&rn), 0);
	ck_assert_int_eq(aio_error(&rn), EINPROGRESS);
	ck_assert_int_eq(aio_error(&w), EINPROGRESS);

	release_write(uffd, &copy, data, 'W', &w);
	wait_final(&rn, 10000);
	ck_assert_int_eq(aio_return(&rn), PAGE);
	for (k = 0; k < PAGE; k++)
		ck_assert_uint_eq((unsigned char)near[k],
				  k < PAGE / 2 ? 'W' : pattern_byte(PAGE + (uint64_t)k - PAGE / 2));
	munmap(src, PAGE);
	close(uffd);
	close(fd);
}
END_TEST

/* A read of len bytes at off into buf, queued. */
static void queue_read(struct aiocb *cb, int fd, char *buf, size_t len, off_t off)
{
	prep_aiocb(cb, fd, buf, len, off);
	ck_assert_int_eq(aio_read(cb), 0);
}

/*
 * A read of chunk 5, which shares its slot with chunk 773 and no byte with
 * any write, queued after the reads that must wait: it runs, and the one
 * worker for reads takes them in turn, so a read queued before it that had
 * not waited would have run first.
 */
static void read_of_other_bytes_runs(struct aiocb *cb, int fd, char *buf)
{
	queue_read(cb, fd, buf, PAGE, 5 * PAGE);
	wait_final(cb, 10000);
	ck_assert_int_eq(aio_return(cb), PAGE);
}

/* A write of len bytes of `byte` at off, from buf, queued. */
static void queue_write(struct aiocb *cb, int fd, char *buf, size_t len, off_t off, char byte)
{
	memset(buf, byte, len);
	prep_aiocb(cb, fd, buf, len, off);
	ck_assert_int_eq(aio_write(cb), 0);
}

/*
 * A read must wait for every earlier unfinished write of some of its bytes,
 * however the fd's table finds them: rtaio counts an fd's requests by 4 KiB
 * chunk in 256 slots once it has 4 at an offset, and looks through them
 * only when a slot of the new request's chunks counts something, or when a
 * request of more than 16 chunks is unfinished.  Here a write whose source
 * page userfaultfd holds back keeps the fd's writes from running (they run
 * one at a time), and the pool has one more worker for the reads.  Reads
 * of bytes that queued writes write must not run: one on the 2nd chunk of
 * a write across two, one on a write 3 MiB into the file (its chunk's
 * slot that of chunk 5), and, once a write of 256 KiB is queued, one
 * inside it.  After each, a read of other bytes in a slot that counts
 * something runs (read_of_other_bytes_runs).  Then the page
 * is released, and every read returns the bytes of the write before it.
 */
START_TEST(reads_wait_for_writes_found_by_their_chunks)
{
	enum { MB = 1 << 20 };
	int uffd = open_uffd(), fd = pattern_file(4 * MB);
	char *src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static char data[PAGE], small[4][PAGE], wide[256 << 10];
	static char across_got[1], far_got[16], wide_got[PAGE], other_got[2][PAGE];
	struct uffdio_register reg = {
		.range = { (unsigned long)src, PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_copy copy = { (unsigned long)src, (unsigned long)data, PAGE, 0, 0 };
	struct aiocb first, w[4], ww, across, far, in_wide, other[2];
	const off_t far_off = 3 * MB + 5 * PAGE, wide_off = 2 * MB;
	int i, k;

	ck_assert_int_ge(uffd, 0);
	ck_assert_ptr_ne(src, MAP_FAILED);
	ck_assert_int_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	set_pool(2, 4);
	prep_aiocb(&first, fd, src, PAGE, 0);
	ck_assert_int_eq(aio_write(&first), 0);
	ck_assert_msg(fault_seen(uffd, src), "the write never touched its source page");
	queue_write(&w[0], fd, small[0], 20, 2 * PAGE - 10, 'A');	/* chunks 1 and 2 */
	queue_write(&w[1], fd, small[1], PAGE, far_off, 'F');		/* chunk 773: slot 5 */
	queue_write(&w[2], fd, small[2], PAGE, 24 * PAGE, 'x');
	queue_write(&w[3], fd, small[3], PAGE, 40 * PAGE, 'y');

	queue_read(&across, fd, across_got, sizeof across_got, 2 * PAGE + 5);
	queue_read(&far, fd, far_got, sizeof far_got, far_off + 100);
	read_of_other_bytes_runs(&other[0], fd, other_got[0]);
	ck_assert_msg(aio_error(&across) == EINPROGRESS,
		      "a read of the 2nd chunk of a queued write ran before it");
	ck_assert_msg(aio_error(&far) == EINPROGRESS,
		      "a read of a queued write 3 MiB into the file ran before it");

	queue_write(&ww, fd, wide, sizeof wide, wide_off, 'W');
	queue_read(&in_wide, fd, wide_got, PAGE, wide_off + (128 << 10) + 7);
	read_of_other_bytes_runs(&other[1], fd, other_got[1]);
	ck_assert_msg(aio_error(&in_wide) == EINPROGRESS,
		      "a read inside a queued 256 KiB write ran before it");
	ck_assert_int_eq(aio_error(&first), EINPROGRESS);

	release_write(uffd, &copy, data, 'P', &first);
	for (i = 0; i < 4; i++)
		wait_final(&w[i], 10000);
	wait_final(&ww, 10000);
	wait_final(&across, 10000);
	wait_final(&far, 10000);
	wait_final(&in_wide, 10000);
	ck_assert_int_eq(aio_return(&across), 1);
	ck_assert_int_eq(across_got[0], 'A');
	ck_assert_int_eq(aio_return(&far), (ssize_t)sizeof far_got);
	for (k = 0; k < (int)sizeof far_got; k++)
		ck_assert_int_eq(far_got[k], 'F');
	ck_assert_int_eq(aio_return(&in_wide), PAGE);
	for (k = 0; k < PAGE; k++)
		ck_assert_int_eq(wide_got[k], 'W');
	for (i = 0; i < 2; i++)
		for (k = 0; k < PAGE; k++)
			ck_assert_uint_eq((unsigned char)other_got[i][k],
					  pattern_byte(5 * PAGE + (uint64_t)k));
	munmap(src, PAGE);
	close(uffd);
	close(fd);
}
END_TEST

/*
 * 100,000 reads of one page queued behind a write of it that userfaultfd
 * holds in the kernel, with a write of the page between the first read and
 * the others, and one after them all.  The fd's table found what each new
 * request waits for, and what each finished one lets start, by walking all
 * the fd's requests: this program took a minute, quadratic in the reads.
 * The middle write is cancelled: the reads after it then wait for the
 * first write only, and the read before it still waits (the cancelled
 * write let only later requests go).  Then the first write is released:
 * every read returns its bytes, and the last write lands after them all.
 */
START_TEST(hundred_thousand_reads_of_a_page_behind_its_writes)
{
	enum { N_READS = 100000, LEN = 64 };
	int uffd = open_uffd(), fd = pattern_file(8 * PAGE);
	char *src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static char data[PAGE], mid_buf[PAGE], last_buf[PAGE], first_got[LEN], other_got[PAGE];
	struct aiocb *reads = calloc(N_READS, sizeof *reads);
	char *got = malloc((size_t)N_READS * LEN), page[PAGE];
	struct uffdio_register reg = {
		.range = { (unsigned long)src, PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_copy copy = { (unsigned long)src, (unsigned long)data, PAGE, 0, 0 };
	struct aiocb first, first_read, mid, last, other;
	int i, k;

	ck_assert_int_ge(uffd, 0);
	ck_assert_ptr_ne(src, MAP_FAILED);
	ck_assert_ptr_nonnull(reads);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	set_pool(2, 4);
	prep_aiocb(&first, fd, src, PAGE, 0);
	ck_assert_int_eq(aio_write(&first), 0);
	ck_assert_msg(fault_seen(uffd, src), "the write never touched its source page");
	queue_read(&first_read, fd, first_got, LEN, 0);
	queue_write(&mid, fd, mid_buf, PAGE, 0, 'M');
	for (i = 0; i < N_READS; i++)
		queue_read(&reads[i], fd, got + (size_t)i * LEN, LEN, (off_t)(i % (PAGE / LEN)) * LEN);
	queue_write(&last, fd, last_buf, PAGE, 0, 'V');

	ck_assert_int_eq(aio_cancel(fd, &mid), AIO_CANCELED);
	ck_assert_int_eq(aio_error(&mid), ECANCELED);
	read_of_other_bytes_runs(&other, fd, other_got);
	ck_assert_msg(aio_error(&first_read) == EINPROGRESS,
		      "a read ran before the write queued before it, once a later write was cancelled");
	for (i = 0; i < N_READS && aio_error(&reads[i]) == EINPROGRESS; i++)
		;
	ck_assert_msg(i == N_READS, "read %d ran before the write queued before it", i);
	ck_assert_int_eq(aio_error(&last), EINPROGRESS);

	release_write(uffd, &copy, data, 'W', &first);
	wait_final(&first_read, 10000);
	ck_assert_int_eq(aio_return(&first_read), LEN);
	for (i = 0; i < N_READS; i++)
		wait_final(&reads[i], 10000);
	wait_final(&last, 10000);
	ck_assert_int_eq(aio_return(&last), PAGE);
	for (k = 0; k < LEN; k++)
		ck_assert_int_eq(first_got[k], 'W');
	/* one assertion for them all: Check records each one that passes */
	for (i = 0; i < N_READS; i++)
		if (aio_return(&reads[i]) != LEN || memcmp(got + (size_t)i * LEN, first_got, LEN))
			break;
	ck_assert_msg(i == N_READS, "read %d did not return the first write's bytes", i);
	ck_assert_int_eq(pread(fd, page, PAGE, 0), PAGE);
	ck_assert_msg(!memcmp(page, last_buf, PAGE), "the last write did not land last");
	free(reads);
	free(got);
	munmap(src, PAGE);
	close(uffd);
	close(fd);
}
END_TEST

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("aio concurrency");
	TCase *t = tcase_create("one file");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, reads_on_one_file_run_concurrently);
	tcase_add_test(t, reads_wait_for_writes_found_by_their_chunks);
	tcase_add_test(t, read_beside_a_pending_write_is_served_at_once);
	tcase_add_test(t, hundred_thousand_reads_of_a_page_behind_its_writes);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr;
	int fd = open_uffd(), failed;

	if (fd < 0) {
		printf("SKIP: userfaultfd is not available here (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	/*
	 * The thread backend's property.  On io_uring the ring thread itself
	 * takes a page fault that waits for userfaultfd (see rtaio(7)).
	 */
	use_backend("threads");
	no_inline_reads();	/* or the first read blocks aio_read itself, at its fault */
	sr = srunner_create(concurrency_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
