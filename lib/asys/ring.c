/* A minimal io_uring ring over the raw system calls: see ring.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

static long sys_result(long r)
{
	return r < 0 ? -errno : r;
}

/* Fill in r->supported from IORING_REGISTER_PROBE; none when the kernel lacks it. */
static void probe(struct asys__ring *r)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);
	unsigned i;

	memset(r->supported, 0, sizeof r->supported);
	if (!p)
		return;
	if (asys__ring_register(r, IORING_REGISTER_PROBE, p, 256) == 0)
		for (i = 0; i < p->ops_len && i < 8 * sizeof r->supported; i++)
			if (p->ops[i].flags & IO_URING_OP_SUPPORTED)
				r->supported[i / 8] |= (uint8_t)(1u << (i % 8));
	free(p);
}

int asys__ring_setup(struct asys__ring *r, unsigned sq_entries, unsigned cq_entries)
{
	struct io_uring_params p;
	char *rings;
	long fd;

	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = cq_entries;
	fd = sys_result(syscall(SYS_io_uring_setup, sq_entries, &p));
	if (fd < 0)
		return (int)fd;
	/* One mapping for both rings (5.4), and no CQE ever dropped (5.5). */
	if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_NODROP)) {
		close((int)fd);
		return -ENOSYS;
	}
	r->fd = (int)fd;
	r->registered = r->no_register = false;
	r->kept.fd = -1;
	r->rings_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	if (r->rings_len < p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe))
		r->rings_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	rings = mmap(NULL, r->rings_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		     r->fd, IORING_OFF_SQ_RING);
	if (rings == MAP_FAILED) {
		close(r->fd);
		return -ENOMEM;
	}
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		munmap(rings, r->rings_len);
		close(r->fd);
		return -ENOMEM;
	}
	r->rings = rings;
	r->sq_entries = p.sq_entries;
	r->cq_entries = p.cq_entries;
	r->sq_head = (unsigned *)(rings + p.sq_off.head);
	r->sq_tail = (unsigned *)(rings + p.sq_off.tail);
	r->sq_mask = *(unsigned *)(rings + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(rings + p.sq_off.array);
	r->cq_head = (unsigned *)(rings + p.cq_off.head);
	r->cq_tail = (unsigned *)(rings + p.cq_off.tail);
	r->cq_mask = *(unsigned *)(rings + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
	r->sq_local_tail = *r->sq_tail;
	probe(r);
	return 0;
}

int asys__ring_probe(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof p);
	fd = sys_result(syscall(SYS_io_uring_setup, 1, &p));
	if (fd < 0)
		return (int)fd;
	close((int)fd);
	return 1;
}

/* The registration of asys__ring_own(): 0, or -errno with the fd as it was. */
static int register_ring(struct asys__ring *r)
{
	struct io_uring_rsrc_update slot = { .offset = -1u, .data = (uint64_t)r->fd };
	struct io_uring_probe none;
	long n;

	n = syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_RING_FDS, &slot, 1);
	if (n != 1)
		return n < 0 ? -errno : -EIO;
	/*
	 * Can io_uring_register(2) too take the index (6.3)?  An empty probe
	 * asks.  If not, io_uring_enter(2) still can (5.18): the fd goes all
	 * the same, and nothing more is registered.
	 */
	memset(&none, 0, sizeof none);
	r->no_register = syscall(SYS_io_uring_register, slot.offset,
				 IORING_REGISTER_PROBE | ASYS__REGISTER_USE_REGISTERED_RING,
				 &none, 0) < 0;
	close(r->fd);
	r->fd = (int)slot.offset;
	r->registered = true;
	return 0;
}

int asys__ring_own(struct asys__ring *r)
{
	int err = register_ring(r);

	if (err) {
		asys__fd_put_aside(&r->kept, r->fd);
		r->fd = r->kept.fd;
	}
	return err;
}

bool asys__ring_still_ours(const struct asys__ring *r)
{
	return r->registered || r->kept.fd < 0 || asys__fd_still_aside(&r->kept);
}

void asys__ring_disown(struct asys__ring *r)
{
	struct io_uring_rsrc_update slot = { .offset = (unsigned)r->fd };

	if (!r->registered || r->no_register)
		return;	/* the thread's exit drops it */
	syscall(SYS_io_uring_register, r->fd,
		IORING_UNREGISTER_RING_FDS | ASYS__REGISTER_USE_REGISTERED_RING, &slot, 1);
}

void asys__ring_close(struct asys__ring *r)
{
	munmap(r->sqes, r->sqes_len);
	munmap(r->rings, r->rings_len);
	/* a registered ring goes with its owner thread and the mappings */
	if (r->kept.fd >= 0)
		asys__fd_close_aside(&r->kept);
	else if (!r->registered && r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

bool asys__ring_has_op(const struct asys__ring *r, unsigned op)
{
	return op < 8 * sizeof r->supported && (r->supported[op / 8] & (1u << (op % 8)));
}

struct io_uring_sqe *asys__ring_sqe(struct asys__ring *r)
{
	unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	struct io_uring_sqe *sqe;
	unsigned i;

	if (r->sq_local_tail - head >= r->sq_entries)
		return NULL;
	i = r->sq_local_tail & r->sq_mask;
	r->sq_array[i] = i;
	sqe = &r->sqes[i];
	memset(sqe, 0, sizeof *sqe);
	r->sq_local_tail++;
	return sqe;
}

unsigned asys__ring_untaken(struct asys__ring *r, uint64_t *user_data)
{
	unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	unsigned n = 0;

	for (; head != r->sq_local_tail; head++)
		user_data[n++] = r->sqes[head & r->sq_mask].user_data;
	r->sq_local_tail -= n;
	asys__ring_commit(r);
	return n;
}

void asys__ring_commit(struct asys__ring *r)
{
	/* the SQEs' contents before the tail that publishes them */
	__atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
}

unsigned asys__ring_room(const struct asys__ring *r)
{
	return r->sq_entries - (r->sq_local_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE));
}

unsigned asys__ring_pending(const struct asys__ring *r)
{
	return __atomic_load_n(r->sq_tail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}

int asys__ring_enter(struct asys__ring *r, unsigned min_complete)
{
	unsigned flags = (min_complete ? IORING_ENTER_GETEVENTS : 0) |
			 (r->registered ? IORING_ENTER_REGISTERED_RING : 0);

	return (int)sys_result(syscall(SYS_io_uring_enter, r->fd, asys__ring_pending(r),
				       min_complete, flags, NULL, 0));
}

bool asys__ring_ready(const struct asys__ring *r)
{
	return __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head;
}

unsigned asys__ring_reap(struct asys__ring *r, struct io_uring_cqe *out, unsigned max)
{
	unsigned head = *r->cq_head;
	unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
	unsigned n = 0;

	while (head != tail && n < max)
		out[n++] = r->cqes[head++ & r->cq_mask];
	/* the CQEs are copied before the kernel may reuse their slots */
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	return n;
}

int asys__ring_register(struct asys__ring *r, unsigned op, void *arg, unsigned nargs)
{
	if (r->no_register)
		return -EBADF;
	if (r->registered)
		op |= ASYS__REGISTER_USE_REGISTERED_RING;
	return (int)sys_result(syscall(SYS_io_uring_register, r->fd, op, arg, nargs));
}
