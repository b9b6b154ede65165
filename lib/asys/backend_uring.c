/*
 * The io_uring backend: one ring per process, set up by the first call that
 * needs it, and one ring thread that hands SQEs to the kernel and completes
 * what the kernel reports.
 *
 * Routing: a call goes to the ring when the kernel has an operation that
 * does exactly what the system call does with these arguments (see
 * ring_opcode); anything else (an operation the kernel lacks, a positioned
 * read on a pipe, a negative offset that io_uring would read as "the file
 * position", a length past 32 bits) goes to the thread backend, which runs
 * the real system call.  So do bounded ASYS_SERIAL calls (buffered writes
 * to a file): io_uring would run them one at a time too, on a kernel worker
 * of its own (io-wq hashes them by inode), but each would then cost a
 * hand-off to that worker and back to the ring thread, where the thread
 * backend's worker runs them back to back.  If no ring can be set up
 * (seccomp, an old kernel, kernel.io_uring_disabled), every call goes to
 * the thread backend, unless RTAIO_BACKEND=uring asked for io_uring only:
 * every call then fails with EAGAIN, those that would have run on the
 * thread backend too, so that the mode means one thing (asys__ring_missing
 * tells the layers above, whose reads at submission obey it as well).
 *
 * Only the ring thread calls io_uring_enter.  The kernel ties a request to
 * the thread that submitted it, and finishes a pipe read or a buffered read
 * still waiting when that thread exits with -ECANCELED; a POSIX request
 * belongs to the process and must outlive the thread that made it.  So a
 * submitting thread only fills in SQEs, under uring.lock, and rings the
 * doorbell when the ring thread sleeps; a busy ring thread picks the SQEs
 * up on its next round, with no system call on the submitting side.  With
 * calls in flight, the ring thread sleeps in io_uring_enter, and the
 * doorbell is a wait on the futex `asleep` that it puts in the ring as it
 * goes to sleep (IORING_OP_FUTEX_WAIT, Linux 6.7), or on older kernels an
 * eventfd that it keeps polled in the ring.  With none, it sleeps on the
 * futex itself, whose wake-up is cheaper: no completion to post, reap and
 * arm again (a program with one O_DIRECT read at a time rings for every
 * read).
 *
 * Descriptors: the program may close any fd number, rtaio's among them
 * (daemons close every fd they did not open, closefrom() before exec).
 * So the ring thread registers the ring with itself (IORING_REGISTER_RING_FDS)
 * and closes its fd (asys__ring_own, Linux 5.18), and the futex doorbell
 * needs no fd: from then on rtaio holds no descriptor that the program
 * could close or reuse under it.  For the same reason the ring thread is
 * the only one to register anything with the ring (the io-wq limits).
 * Before Linux 6.7 the eventfd stays, and before 5.18 the ring's fd too,
 * put aside (fd_aside.h).
 * A program that closes them anyway retires the ring (retire()): the
 * doorbell is looked at before a call goes where only it would start it,
 * and before every use; calls not in the kernel go to the thread backend,
 * and those in the kernel are reaped without the fd (reap_without_fd()).
 *
 * Writes to pipes, sockets and terminals: io_uring ends one short as soon
 * as the fd takes less than the whole (a pipe holds 64 KiB), where write(2)
 * on a blocking fd returns only once everything is written.  A short
 * write(2) or send(2) in the ring is therefore continued from where it
 * stopped, by the ring thread as it reaps the CQE, until it is whole, fails
 * or is interrupted (the result is then the count written so far, as for
 * write(2) interrupted by a signal); on an O_NONBLOCK fd (see nonblocking())
 * or for a send with MSG_DONTWAIT, the short count is final, as for
 * write(2).  A read(2) of /dev/zero and the like, which io_uring's
 * first, non-blocking try ends at a reschedule point (the kernel goes on
 * with a short read only on files and block devices), goes on the same
 * way.  asys__goes_on() says which calls go on; the thread backend goes on
 * with the same ones, which a stop cuts short there.  The progress is kept
 * in call->result, which nobody reads before the call is final.  writev,
 * pwritev2 and sendmsg on streams, whose continuation would need the iovec
 * walked, go to the thread backend.
 *
 * A call in the ring is RUNNING: the kernel may be executing it.  Calls
 * that complete in bounded time (files) are held to what the CQ has room
 * for, so that their completions never wait in the kernel's overflow list.
 * Calls that may wait for ever (pipes, sockets) are not held at all: the
 * kernel keeps each on a poll, with no thread, and the completions beyond
 * the CQ's room wait in the overflow list (IORING_FEAT_NODROP, Linux 5.5,
 * older than the 5.6 that the ring needs) until the ring thread reaps.
 * So no number of idle pipe reads keeps a file call, or a pipe read whose
 * data is there, out of the ring.  Calls that find no room (the bounded
 * share taken, or the SQ full) wait, QUEUED and cancellable, in a backlog
 * of their class, which the ring thread feeds into the ring, bounded calls
 * first, as room frees up.
 *
 * Interrupting a RUNNING call (asys_cancel on a pipe or socket read): the
 * canceller sets INTERRUPT in the call's __bstate and queues
 * IORING_OP_ASYNC_CANCEL; whichever of the canceller and the ring thread
 * comes second by the INTERRUPT/REAPED bits owns the completion.  If the
 * ring thread sees INTERRUPT, it leaves the result in call->result, sets
 * REAPED and wakes the canceller, which completes the call itself (so that,
 * as on the thread backend, asys_cancel returns once the done hook has run).
 *
 * Locks: uring.lock guards the SQ, the backlog and the counts; it comes
 * after the engine's chain_lock and before the thread backend's lock.  The
 * ring thread is the CQ's only consumer and reads it without the lock.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crew.h"
#include "engine.h"
#include "fd_aside.h"
#include "internal.h"
#include "ring.h"
#include "sysarg.h"

#define SQ_ENTRIES 256
#define CQ_ENTRIES 4096		/* also the most calls in the kernel at once */
#define REAP_BATCH 64
#define DOORBELL ((uint64_t)1)	/* user_data of the doorbell's poll */
#define RESERVED 16		/* SQ and CQ slots kept for the backend's own SQEs */

/* __bstate bits */
#define IN_RING 0x1u		/* routed to the ring (else to the thread backend) */
#define INTERRUPT 0x2u		/* a canceller wants the completion */
#define REAPED 0x4u		/* the ring thread has seen the CQE */
#define NONBLOCK 0x8u		/* on an O_NONBLOCK pipe or socket: never waits */
#define OP_SHIFT 8		/* above: the IORING_OP_ a call in the ring uses */

#define LINKED (ASYS_LINK | ASYS_LINK_ARG)

/* uring.asleep */
enum { AWAKE, ASLEEP_IN_RING, ASLEEP_IDLE };

static struct {
	pthread_mutex_t lock;
	struct asys__ring ring;
	int status;			/* 0: not set up yet; 1: ready; -errno: no ring */
	unsigned inflight;		/* SQEs handed out, their CQE not reaped */
	unsigned inflight_blocking;	/* of which calls that may never end */
	struct backlog {
		struct asys_call *head, *tail;
	} backlog[ASYS__NCLASSES];	/* per class: pipe reads never hold up files */
	struct asys__fd_aside bell;	/* the eventfd, or fd -1: the doorbell is the futex `asleep` */
	uint32_t asleep;		/* where the ring thread sleeps, if it does */
	bool armed;			/* the doorbell's SQE is in the ring */
	bool new_limits;		/* for the ring thread to register */
	int probed;			/* asys__ring_missing(): 0 not asked, 1 rings work, or -errno */
	struct asys__crew crew;		/* the ring thread */
	pthread_t thread;
	bool alive;			/* the ring thread runs */
	bool retired;			/* takes no more calls: its descriptors are gone (retire()) */
	bool fd_gone;			/* nor can it be entered (take_back()) */
	bool owned;			/* the ring thread has taken the ring (asys__ring_own) */
	pthread_cond_t owned_cv;
	bool stopping;
	int outcome;			/* for the report: 1 a ring, or why none (-errno); atomic */
} uring = { .lock = PTHREAD_MUTEX_INITIALIZER, .owned_cv = PTHREAD_COND_INITIALIZER,
	    .crew = ASYS__CREW_INITIALIZER(&uring.lock) };

/* The call's arguments, with the linked call's result passed in. */
static void args_of(const struct asys_call *c, long a[ASYS_MAX_ARGS])
{
	int i;

	for (i = 0; i < ASYS_MAX_ARGS; i++)
		a[i] = c->arg[i];
	if (c->flags & ASYS_LINK_ARG)
		a[c->link_arg] = c->__input;
}

static bool fits_u32(long v)
{
	return v >= 0 && (unsigned long)v <= UINT32_MAX;
}

/*
 * clock_nanosleep(CLOCK_MONOTONIC, 0 or TIMER_ABSTIME, valid time, NULL):
 * an io_uring timeout does exactly that, and takes no thread while it
 * waits, where a worker would sleep.  So a layer above can have something
 * happen later when no thread can be had at all (the POSIX layer's
 * notifications do).  With a pointer for the time left, or an invalid time
 * (io_uring reads a tv_nsec past a second as valid), the system call runs;
 * so it does when the time cannot be read here (a bad pointer, or a
 * seccomp filter that refuses process_vm_readv): two system calls, for a
 * call that sleeps anyway.
 */
static bool sleeps_in_ring(const long a[ASYS_MAX_ARGS])
{
	struct timespec t;
	struct iovec mine = { &t, sizeof t }, given = { (void *)a[2], sizeof t };

	if (a[0] != CLOCK_MONOTONIC || (a[1] & ~(long)TIMER_ABSTIME) || a[3])
		return false;
	/* a bad pointer must not crash the submitter: the system call says EFAULT */
	if (process_vm_readv(getpid(), &mine, 1, &given, 1, 0) != (ssize_t)sizeof t)
		return false;
	return t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000L;
}

/*
 * The io_uring operation that does exactly what the call does, or -1.
 * Positioned I/O goes to the ring only on files classified as seekable:
 * io_uring ignores the offset on a pipe, where pread(2) fails with ESPIPE.
 */
static int ring_opcode(const struct asys_call *c, const long a[ASYS_MAX_ARGS])
{
	bool seekable = c->__class == ASYS__BOUNDED;

	if (seekable && (c->flags & ASYS_SERIAL))
		return -1;
	switch (c->nr) {
	case SYS_read:
		return fits_u32(a[2]) ? IORING_OP_READ : -1;
	case SYS_write:
		return fits_u32(a[2]) ? IORING_OP_WRITE : -1;
	case SYS_pread64:
		return seekable && asys__arg64(a, 3) >= 0 && fits_u32(a[2]) ? IORING_OP_READ : -1;
	case SYS_pwrite64:
		return seekable && asys__arg64(a, 3) >= 0 && fits_u32(a[2]) ? IORING_OP_WRITE : -1;
	case SYS_readv:
		return fits_u32(a[2]) ? IORING_OP_READV : -1;
	case SYS_writev:	/* on a stream: whole only through writev(2) itself */
		return seekable && fits_u32(a[2]) ? IORING_OP_WRITEV : -1;
	case SYS_preadv:
		return seekable && asys__arg_lohi(a, 3) >= 0 && fits_u32(a[2]) ? IORING_OP_READV : -1;
	case SYS_pwritev:
		return seekable && asys__arg_lohi(a, 3) >= 0 && fits_u32(a[2]) ? IORING_OP_WRITEV : -1;
	case SYS_preadv2:	/* offset -1: the file position, as in io_uring */
		return (seekable || asys__arg_lohi(a, 3) == -1) && asys__arg_lohi(a, 3) >= -1 &&
		       fits_u32(a[2]) && fits_u32(a[5]) ? IORING_OP_READV : -1;
	case SYS_pwritev2:
		return seekable && asys__arg_lohi(a, 3) >= -1 && fits_u32(a[2]) && fits_u32(a[5]) ?
			       IORING_OP_WRITEV : -1;
	case SYS_fsync:
	case SYS_fdatasync:
		return IORING_OP_FSYNC;
	case SYS_openat:
		return fits_u32(a[2]) && fits_u32(a[3]) ? IORING_OP_OPENAT : -1;
	case SYS_close:
		return IORING_OP_CLOSE;
	case SYS_statx:
		return fits_u32(a[2]) && fits_u32(a[3]) ? IORING_OP_STATX : -1;
	case SYS_fallocate:
		return fits_u32(a[1]) ? IORING_OP_FALLOCATE : -1;
	case SYS_sendmsg:	/* continuing one on a stream: see above */
		return -1;
	/*
	 * MSG_WAITALL: on SOCK_SEQPACKET, recv(2) returns one record, and
	 * io_uring goes on to fill the buffer with the next ones (the call
	 * waited for a third record after two in a test).  The real system
	 * call is right on every socket type.
	 */
	case SYS_recvmsg:
		return fits_u32(a[2]) && !(a[2] & MSG_WAITALL) ? IORING_OP_RECVMSG : -1;
	case SYS_sendto:	/* without a destination: send(2) */
		return !a[4] && fits_u32(a[2]) && fits_u32(a[3]) ? IORING_OP_SEND : -1;
	case SYS_recvfrom:	/* without a source address: recv(2) */
		return !a[4] && fits_u32(a[2]) && fits_u32(a[3]) && !(a[3] & MSG_WAITALL) ?
			       IORING_OP_RECV : -1;
	case SYS_accept4:
		return fits_u32(a[3]) ? IORING_OP_ACCEPT : -1;
	case SYS_connect:
		return IORING_OP_CONNECT;
	case SYS_clock_nanosleep:	/* io_uring's timespec is 64-bit: not this one's on 32-bit */
		return sizeof(long) == sizeof(int64_t) && sleeps_in_ring(a) ? IORING_OP_TIMEOUT : -1;
	default:
		return -1;
	}
}

static void fill(struct io_uring_sqe *sqe, const struct asys_call *c, int op,
		 const long a[ASYS_MAX_ARGS])
{
	sqe->opcode = (uint8_t)op;
	sqe->fd = (int)a[0];
	sqe->user_data = (uint64_t)(uintptr_t)c;
	switch (c->nr) {
	case SYS_read:
	case SYS_write:
	case SYS_readv:
	case SYS_writev:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->len = (uint32_t)a[2];
		sqe->off = (uint64_t)-1;
		break;
	case SYS_pread64:
	case SYS_pwrite64:
	case SYS_preadv:
	case SYS_pwritev:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->len = (uint32_t)a[2];
		sqe->off = (uint64_t)(c->nr == SYS_pread64 || c->nr == SYS_pwrite64 ?
					      asys__arg64(a, 3) : asys__arg_lohi(a, 3));
		break;
	case SYS_preadv2:
	case SYS_pwritev2:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->len = (uint32_t)a[2];
		sqe->off = (uint64_t)asys__arg_lohi(a, 3);
		sqe->rw_flags = (int)a[5];
		break;
	case SYS_fdatasync:
		sqe->fsync_flags = IORING_FSYNC_DATASYNC;
		break;
	case SYS_openat:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->open_flags = (uint32_t)a[2];
		sqe->len = (uint32_t)a[3];
		break;
	case SYS_statx:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->statx_flags = (uint32_t)a[2];
		sqe->len = (uint32_t)a[3];
		sqe->addr2 = asys__arg_ptr(a[4]);
		break;
	case SYS_fallocate:	/* fd, mode, offset, len (io_uring takes the length in addr) */
		sqe->len = (uint32_t)a[1];
		sqe->off = (uint64_t)asys__arg64(a, 2);
		sqe->addr = (uint64_t)asys__arg64(a, asys__arg64_next(2));
		break;
	case SYS_recvmsg:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->msg_flags = (uint32_t)a[2];
		break;
	case SYS_sendto:
	case SYS_recvfrom:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->len = (uint32_t)a[2];
		sqe->msg_flags = (uint32_t)a[3];
		break;
	case SYS_accept4:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->addr2 = asys__arg_ptr(a[2]);
		sqe->accept_flags = (uint32_t)a[3];
		break;
	case SYS_connect:
		sqe->addr = asys__arg_ptr(a[1]);
		sqe->off = (uint64_t)a[2];
		break;
	case SYS_clock_nanosleep:	/* a timeout that waits for no completion */
		sqe->fd = -1;
		sqe->addr = asys__arg_ptr(a[2]);
		sqe->len = 1;
		sqe->timeout_flags = a[1] & TIMER_ABSTIME ? IORING_TIMEOUT_ABS : 0;
		break;
	default:	/* fsync, close: the fd alone */
		break;
	}
	if (__atomic_load_n(&c->__bstate, __ATOMIC_RELAXED) & NONBLOCK) {
		if (op == IORING_OP_SEND || op == IORING_OP_RECV || op == IORING_OP_RECVMSG)
			sqe->msg_flags |= MSG_DONTWAIT;
		else
			sqe->rw_flags |= RWF_NOWAIT;
	}
}

/* Where the call went; its other bits change under the ring thread's feet. */
static bool in_ring(const struct asys_call *c)
{
	return __atomic_load_n(&c->__bstate, __ATOMIC_RELAXED) & IN_RING;
}

/* The io_uring operation for the call as it stands (its input passed in), or -1. */
static int ring_op(const struct asys_call *c)
{
	long a[ASYS_MAX_ARGS];

	args_of(c, a);
	return ring_opcode(c, a);
}

/*
 * Calls that go to the thread backend whatever their fd's flags, because
 * io_uring would not do what the system call does:
 * - those on a character device other than the kernel's memory devices
 *   (major 1).  A terminal's write (n_tty) waits for room inside
 *   io_uring's first, supposedly non-blocking try, so the ring thread
 *   itself sat in it and every other call stalled, and an io_uring wake-up
 *   then ended the write with EINTR (aio-model --pty yes, seeds 4/265 and
 *   9/117); other drivers may do as much;
 * - those on a socket with a timeout for their direction (asys__times_out):
 *   io_uring waits for the socket to be ready however long, where the
 *   system call ends at the timeout (a read with SO_RCVTIMEO hung);
 * - receives on a socket with a low-water mark above a byte (SO_RCVLOWAT):
 *   the system call waits until that much has come, where io_uring's first
 *   try takes what there is (a read of 200 bytes returned the 10 there,
 *   with the mark at 100).
 */
static bool system_call_only(int fd, int op)
{
	socklen_t len = sizeof(int);
	struct stat st;
	int low = 1;

	if (fstat(fd, &st))
		return false;
	if (S_ISCHR(st.st_mode))
		return major(st.st_rdev) != 1;
	if (!S_ISSOCK(st.st_mode))
		return false;
	switch (op) {
	case IORING_OP_WRITE:
	case IORING_OP_SEND:
	case IORING_OP_CONNECT:
		return asys__times_out(fd, SO_SNDTIMEO);
	default:
		return asys__times_out(fd, SO_RCVTIMEO) ||
		       (!getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &low, &len) && low > 1);
	}
}

/*
 * io_uring waits for a pipe or socket to be ready even when its fd is
 * O_NONBLOCK, where read(2) and write(2) fail with EAGAIN or take what
 * fits: such a call carries RWF_NOWAIT or MSG_DONTWAIT into the ring
 * (NONBLOCK), and one that can carry neither goes to the thread backend,
 * which runs the system call itself (~0u), as do the calls that
 * system_call_only() names.  Files never wait on O_NONBLOCK.
 */
static uint32_t nonblocking(const struct asys_call *c, int op)
{
	long a[ASYS_MAX_ARGS];
	int fl;

	if (c->__class != ASYS__BLOCKING || op == IORING_OP_TIMEOUT)	/* a sleep: no fd */
		return 0;
	args_of(c, a);
	if (system_call_only((int)a[0], op))
		return ~0u;
	fl = fcntl((int)a[0], F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK))
		return 0;
	switch (op) {
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_READV:
	case IORING_OP_SEND:
	case IORING_OP_RECV:
	case IORING_OP_RECVMSG:
		return NONBLOCK;
	default:
		return ~0u;
	}
}

/*
 * With the lock, once ring_ready() has told whether there is a ring: the
 * call's __bstate, IN_RING with its operation, or 0 for the thread backend.
 */
static uint32_t route(const struct asys_call *c, int op, bool ready)
{
	uint32_t nowait;

	if (!ready || op < 0 || !asys__ring_has_op(&uring.ring, (unsigned)op))
		return 0;
	nowait = nonblocking(c, op);
	if (nowait == ~0u)
		return 0;
	return IN_RING | nowait | (uint32_t)op << OP_SHIFT;
}

static bool bell_intact(void);
static void retire(void);

/*
 * With the lock: publish the SQEs filled in, and find out whether the ring
 * thread sleeps.  It sets `asleep` before it looks for SQEs one last time,
 * and this clears it after publishing them: one side or the other sees the
 * SQEs.  True if the thread sleeps on the futex `asleep` (in the ring or
 * idle): the caller wakes it with unlock_and_ring() once the lock is
 * released.  Woken under the lock, the ring thread took the submitter's CPU
 * only to wait for the lock, and gave it back (two switches per doorbell in
 * an O_DIRECT qd 32 trace, the scheduler having put both threads on one
 * CPU).  The eventfd doorbell is written here: retire() needs the lock.
 */
static bool flush(void)
{
	uint64_t one = 1;

	asys__ring_commit(&uring.ring);
	switch (__atomic_exchange_n(&uring.asleep, AWAKE, __ATOMIC_SEQ_CST)) {
	case ASLEEP_IN_RING:
		if (uring.bell.fd < 0)
			return true;
		if (bell_intact() && write(uring.bell.fd, &one, sizeof one) < 0 && errno == EBADF) {
			/*
			 * Closed since bell_intact() looked (which retires a
			 * ring whose doorbell is gone already): the SQEs wait
			 * for the ring thread's next completion.  EAGAIN: the
			 * counter is full, a wake-up is pending anyway.
			 */
			retire();
		}
		return false;
	case ASLEEP_IDLE:
		return true;
	default:
		return false;
	}
}

/*
 * Release the lock, then wake the ring thread if flush() said so.  A late
 * wake is harmless: `asleep` reads AWAKE since flush(), so the thread goes
 * to sleep again only after it has looked at the SQ.
 */
static void unlock_and_ring(bool wake)
{
	pthread_mutex_unlock(&uring.lock);
	if (wake)
		asys__wake(&uring.asleep);
}

/*
 * With the lock: an SQE for call c, counted in flight, or NULL when there is
 * no room for it; the last RESERVED slots are kept for the backend's own
 * SQEs (c NULL: the doorbell, cancellations, wake-ups), so that they always
 * find room.
 */
static struct io_uring_sqe *get_sqe(const struct asys_call *c)
{
	struct io_uring_sqe *sqe;

	if (c && (asys__ring_room(&uring.ring) <= RESERVED ||
		  (c->__class == ASYS__BOUNDED &&
		   uring.inflight - uring.inflight_blocking >= uring.ring.cq_entries - RESERVED)))
		return NULL;
	sqe = asys__ring_sqe(&uring.ring);
	if (sqe)
		uring.inflight++;
	return sqe;
}

/*
 * With the lock: the call goes into the kernel through sqe, RUNNING from
 * now on.  Nobody else claims it meanwhile: a canceller claims a queued
 * call under the lock (uring_cancel).
 */
static void start(struct asys_call *c, struct io_uring_sqe *sqe)
{
	long a[ASYS_MAX_ARGS];

	args_of(c, a);
	fill(sqe, c, (int)(c->__bstate >> OP_SHIFT), a);
	c->result = 0;	/* bytes so far, for a call that goes on (go_on) */
	asys__transition(c, ASYS_QUEUED, ASYS_RUNNING);
	if (c->__class == ASYS__BLOCKING)
		uring.inflight_blocking++;
}

/* With the lock: put a queued call in the ring, or in its class's backlog. */
static void enqueue(struct asys_call *c)
{
	struct backlog *b = &uring.backlog[c->__class];
	struct io_uring_sqe *sqe = NULL;

	if (!b->head)
		sqe = get_sqe(c);
	if (!sqe) {
		c->__qnext = NULL;
		c->__qprev = b->tail;
		if (b->tail)
			b->tail->__qnext = c;
		else
			b->head = c;
		b->tail = c;
		return;
	}
	start(c, sqe);
}

static void backlog_unlink(struct asys_call *c)
{
	struct backlog *b = &uring.backlog[c->__class];

	if (c->__qprev)
		c->__qprev->__qnext = c->__qnext;
	else
		b->head = c->__qnext;
	if (c->__qnext)
		c->__qnext->__qprev = c->__qprev;
	else
		b->tail = c->__qprev;
}

/*
 * With the lock: the program closed the eventfd doorbell or the ring's fd,
 * or gave the number to a file of its own (kernels older than 6.7 and 5.18:
 * see above).  A ring thread asleep in the ring can no longer be woken, or
 * the ring no longer be entered: the ring takes no more calls.  Those
 * waiting for room in it, and every later one, go to the thread backend,
 * under RTAIO_BACKEND=uring too (calls already accepted must complete);
 * rtaio touches neither number again.
 */
static void retire(void)
{
	struct asys_call *c;
	int class;

	if (uring.retired)
		return;
	uring.retired = true;
	__atomic_store_n(&uring.outcome, -EBADF, __ATOMIC_RELAXED);
	for (class = 0; class < ASYS__NCLASSES; class++)
		while ((c = uring.backlog[class].head)) {
			backlog_unlink(c);
			__atomic_store_n(&c->__bstate, 0, __ATOMIC_RELAXED);
			asys__threads.requeue(c);
		}
}

/* With the lock: is the eventfd doorbell still there?  If not, retire(). */
static bool bell_intact(void)
{
	if (asys__fd_still_aside(&uring.bell))
		return true;
	retire();
	return false;
}

/* With the lock: move backlog calls into the ring while it has room, files first. */
static unsigned feed(void)
{
	unsigned moved = 0;
	int class;

	for (class = 0; class < ASYS__NCLASSES; class++) {
		struct asys_call *c;
		struct io_uring_sqe *sqe;

		while ((c = uring.backlog[class].head) && (sqe = get_sqe(c))) {
			backlog_unlink(c);
			start(c, sqe);
			moved++;
		}
	}
	return moved;
}

/*
 * The ring thread, with nothing to reap: calls wait in a backlog for room
 * in the SQ, which only its own io_uring_enter makes.  Hand the SQ to the
 * kernel and move them in; true if any moved (look again before sleeping).
 */
static bool feed_backlog(void)
{
	bool moved;

	pthread_mutex_lock(&uring.lock);
	if (!uring.backlog[ASYS__BOUNDED].head && !uring.backlog[ASYS__BLOCKING].head) {
		pthread_mutex_unlock(&uring.lock);
		return false;
	}
	if (asys__ring_pending(&uring.ring)) {
		pthread_mutex_unlock(&uring.lock);
		asys__ring_enter(&uring.ring, 0);
		pthread_mutex_lock(&uring.lock);
	}
	moved = feed() > 0;
	asys__ring_commit(&uring.ring);
	pthread_mutex_unlock(&uring.lock);
	return moved;
}

/*
 * A call that the kernel ended short, with `done` bytes in all so far:
 * true if the rest went back into the ring, in the slot the call holds,
 * when its system call would go on (asys__goes_on), but not once a
 * canceller has asked for the call (INTERRUPT, set under the lock): its
 * ASYNC_CANCEL would miss an SQE queued after it.
 */
static bool go_on(struct asys_call *c, long done)
{
	long a[ASYS_MAX_ARGS];
	struct io_uring_sqe *sqe;

	args_of(c, a);
	if (!asys__goes_on(c->nr, a, done,
			   (__atomic_load_n(&c->__bstate, __ATOMIC_RELAXED) & NONBLOCK) != 0))
		return false;
	pthread_mutex_lock(&uring.lock);
	sqe = NULL;
	if (!(__atomic_load_n(&c->__bstate, __ATOMIC_RELAXED) & INTERRUPT) && !uring.fd_gone) {
		sqe = asys__ring_sqe(&uring.ring);
		if (!sqe) {
			/* the ring thread may always hand the SQ to the kernel */
			asys__ring_commit(&uring.ring);
			asys__ring_enter(&uring.ring, 0);
			sqe = asys__ring_sqe(&uring.ring);
		}
	}
	if (sqe) {
		a[1] += done;
		a[2] -= done;
		fill(sqe, c, (int)(c->__bstate >> OP_SHIFT), a);
		c->result = done;
		/* complete_batch() counts the CQE reaped out of flight */
		uring.inflight++;
		if (c->__class == ASYS__BLOCKING)
			uring.inflight_blocking++;
	}
	pthread_mutex_unlock(&uring.lock);
	return sqe;
}

/* One CQE of a call: complete it, or hand it to the canceller that asked for it. */
static void reaped(struct asys_call *c, long res)
{
	long done = c->result;	/* by the call's earlier rounds */
	uint32_t old;

	if (res == -ETIME && (c->__bstate >> OP_SHIFT) == IORING_OP_TIMEOUT)
		res = 0;	/* a sleep's time is up: clock_nanosleep's success */
	if (res > 0 && go_on(c, done + res))
		return;
	if (done > 0)
		res = done + (res > 0 ? res : 0);
	c->result = res;
	old = __atomic_fetch_or(&c->__bstate, REAPED, __ATOMIC_ACQ_REL);
	if (old & INTERRUPT) {
		asys__wake(&c->__bstate);
		return;
	}
	asys__settle(c, res, ASYS_DONE, true, false);
}

static void apply_limits(void);

/*
 * With the lock: (re)arm the doorbell (submitted, as everything, by the
 * ring thread): a poll on the eventfd, or a wait on `asleep` that ends at
 * once if it no longer reads ASLEEP_IN_RING when the kernel looks, and
 * otherwise at the FUTEX_WAKE of flush().
 */
static void arm_doorbell(void)
{
	struct io_uring_sqe *sqe;
	uint64_t count;

	if (uring.retired || (uring.bell.fd >= 0 && !bell_intact()))
		return;	/* nothing will ring it */
	sqe = get_sqe(NULL);
	if (!sqe)
		return;	/* the SQ is full: wait_for_work() arms it before sleeping */
	uring.armed = true;
	sqe->user_data = DOORBELL;
	if (uring.bell.fd < 0) {
		sqe->opcode = ASYS__OP_FUTEX_WAIT;
		sqe->addr = (uint64_t)(uintptr_t)&uring.asleep;
		sqe->addr2 = ASLEEP_IN_RING;
		sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
		sqe->fd = ASYS__FUTEX2_WORD32_PRIVATE;
	} else {
		if (read(uring.bell.fd, &count, sizeof count) < 0) {
			/* EAGAIN: nobody rang */
		}
		sqe->opcode = IORING_OP_POLL_ADD;
		sqe->fd = uring.bell.fd;
		sqe->poll32_events = POLLIN;
	}
	asys__ring_commit(&uring.ring);
}

/*
 * Submit the SQEs published so far and sleep until a completion or the
 * doorbell (see flush()), in one io_uring_enter: in the kernel's ring
 * while calls are in flight or about to be, on the futex `asleep` while
 * only the doorbell's poll is.  SQEs published after the enter began ring
 * the doorbell, whose poll is armed before the thread sleeps.
 */
static int wait_for_work(void)
{
	uint32_t where;
	int r;

	pthread_mutex_lock(&uring.lock);
	if (uring.new_limits) {
		uring.new_limits = false;
		apply_limits();
	}
	/* an eventfd's poll stays armed; a futex wait is armed to sleep in the ring */
	if (!uring.armed && uring.bell.fd >= 0)
		arm_doorbell();
	where = uring.inflight == uring.armed && !asys__ring_pending(&uring.ring) ?
			ASLEEP_IDLE : ASLEEP_IN_RING;
	if (!uring.armed && where == ASLEEP_IN_RING)
		arm_doorbell();
	/* retired, with no doorbell: only the calls in the kernel wake it */
	if (!uring.armed && where == ASLEEP_IN_RING && !uring.retired) {
		/* the SQ is full: submit what it holds, and arm next time */
		pthread_mutex_unlock(&uring.lock);
		return asys__ring_enter(&uring.ring, 0);
	}
	/*
	 * Under the lock, so that a submitter that finds the thread awake
	 * has its SQEs counted in `where`, and one that finds it asleep in the
	 * ring looks at an eventfd doorbell before it publishes any
	 * (ring_usable()).
	 */
	__atomic_store_n(&uring.asleep, where, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&uring.lock);
	if (asys__ring_ready(&uring.ring) ||
	    (where == ASLEEP_IDLE && asys__ring_pending(&uring.ring))) {
		__atomic_store_n(&uring.asleep, AWAKE, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (where == ASLEEP_IDLE)
		r = asys__futex_wait(&uring.asleep, ASLEEP_IDLE, NULL);
	else
		r = asys__ring_enter(&uring.ring, 1);
	__atomic_store_n(&uring.asleep, AWAKE, __ATOMIC_SEQ_CST);
	return r;
}

/* Complete a batch of CQEs; false once the ring thread should leave. */
static bool complete_batch(const struct io_uring_cqe *cqe, unsigned n)
{
	unsigned i, blocking = 0;
	bool rearm = false, leave;

	for (i = 0; i < n; i++) {
		struct asys_call *c = (struct asys_call *)(uintptr_t)cqe[i].user_data;

		if (cqe[i].user_data == DOORBELL) {
			rearm = true;
			continue;
		}
		if (!c)
			continue;	/* an ASYNC_CANCEL's own, or a wake-up */
		if (c->__class == ASYS__BLOCKING)
			blocking++;
		reaped(c, cqe[i].res);
	}
	pthread_mutex_lock(&uring.lock);
	uring.inflight -= n;
	uring.inflight_blocking -= blocking;
	if (rearm) {
		uring.armed = false;
		if (uring.bell.fd >= 0)
			arm_doorbell();
	}
	feed();
	asys__ring_commit(&uring.ring);
	/* unloading: done once only calls that may never end are left (and the doorbell) */
	leave = uring.stopping && uring.inflight == uring.inflight_blocking + uring.armed;
	pthread_mutex_unlock(&uring.lock);
	return !leave;
}

/*
 * The ring thread, when the program has closed the ring's fd (a kernel
 * older than 5.18): no call that the kernel never took is lost.  Those in
 * SQEs it did not take go to the thread backend (retire() sends the
 * others), unless a canceller waits for one, which then has it as
 * cancelled; a write that was going on ends with what it wrote, as do
 * those that would go on later (go_on()).
 */
static void take_back(void)
{
	uint64_t untaken[SQ_ENTRIES];
	struct asys_call *ending[SQ_ENTRIES];
	unsigned i, n, k = 0;

	pthread_mutex_lock(&uring.lock);
	retire();
	uring.fd_gone = true;
	n = asys__ring_untaken(&uring.ring, untaken);
	uring.inflight -= n;	/* counted as they were filled in */
	for (i = 0; i < n; i++) {
		struct asys_call *c = (struct asys_call *)(uintptr_t)untaken[i];

		if (untaken[i] == DOORBELL)
			uring.armed = false;
		if (untaken[i] == DOORBELL || !c)
			continue;	/* the backend's own */
		if (c->__class == ASYS__BLOCKING)
			uring.inflight_blocking--;
		if (c->result > 0 || (__atomic_load_n(&c->__bstate, __ATOMIC_RELAXED) & INTERRUPT)) {
			ending[k++] = c;
			continue;
		}
		__atomic_store_n(&c->__bstate, 0, __ATOMIC_RELAXED);
		asys__transition(c, ASYS_RUNNING, ASYS_QUEUED);
		asys__threads.requeue(c);
	}
	pthread_mutex_unlock(&uring.lock);
	/* outside the lock, which comes after the chain's */
	for (i = 0; i < k; i++)
		reaped(ending[i], ending[i]->result > 0 ? 0 : -ECANCELED);
}

/*
 * The ring thread, the ring's fd gone: the calls that the kernel has go on
 * and post their completions in the CQ, which stays mapped, but nothing
 * can sleep until one comes.  So it looks at the CQ after pauses that grow
 * from 1 ms to 1 s, until none is left in the kernel but the doorbell's
 * poll (while unloading, none but those that may never end).
 */
static void reap_without_fd(void)
{
	struct io_uring_cqe cqe[REAP_BATCH];
	long pause_ns = 1000000;
	bool left;

	for (;;) {
		unsigned n = asys__ring_reap(&uring.ring, cqe, REAP_BATCH);

		if (n) {
			if (!complete_batch(cqe, n))
				return;
			pause_ns = 1000000;
			continue;
		}
		pthread_mutex_lock(&uring.lock);
		left = uring.inflight == uring.armed +
				(uring.stopping ? uring.inflight_blocking : 0);
		pthread_mutex_unlock(&uring.lock);
		if (left)
			return;
		nanosleep(&(struct timespec){ pause_ns / 1000000000, pause_ns % 1000000000 }, NULL);
		pause_ns = pause_ns < 500000000 ? 2 * pause_ns : 1000000000;
	}
}

static void *ring_thread(struct asys__member *self)
{
	struct io_uring_cqe cqe[REAP_BATCH];

	pthread_mutex_lock(&uring.lock);
	uring.thread = pthread_self();
	/* before asys__ring_own(), which may leave nothing registrable (5.18 to 6.2) */
	apply_limits();
	/* -EINVAL (older than 5.18): the ring keeps its fd, put aside */
	asys__ring_own(&uring.ring);
	uring.owned = true;
	pthread_cond_broadcast(&uring.owned_cv);
	pthread_mutex_unlock(&uring.lock);
	for (;;) {
		unsigned n = asys__ring_reap(&uring.ring, cqe, REAP_BATCH);
		int r;

		if (n) {
			if (!complete_batch(cqe, n))
				break;
			continue;
		}
		if (feed_backlog())
			continue;
		r = wait_for_work();
		if (r == -EBADF || r == -EOPNOTSUPP) {
			/* the program closed the ring's fd */
			take_back();
			reap_without_fd();
			break;
		}
	}
	pthread_mutex_lock(&uring.lock);
	uring.alive = false;
	asys__crew_leave(&uring.crew, self);
	pthread_mutex_unlock(&uring.lock);
	return NULL;
}

/*
 * The ring thread, with the lock: io-wq (the kernel's workers for calls it
 * cannot run asynchronously) may run as many calls as the thread backend
 * would.  Limits changed later are not applied on Linux 5.18 to 6.2, where
 * nothing can be registered with the ring once its fd is closed.
 */
static void apply_limits(void)
{
	unsigned limits[2] = { asys__engine.config.max_threads,
			       asys__engine.config.max_blocking_threads };

	if (!asys__ring_still_ours(&uring.ring))
		return;	/* its number is the program's now */
	asys__ring_register(&uring.ring, IORING_REGISTER_IOWQ_MAX_WORKERS, limits, 2);
}

/* With the lock: the ring and its thread, on first use. */
static void setup(void)
{
	int err = asys__ring_setup(&uring.ring, SQ_ENTRIES, CQ_ENTRIES);

	if (!err && (!asys__ring_has_op(&uring.ring, IORING_OP_ASYNC_CANCEL) ||
		     !asys__ring_has_op(&uring.ring, IORING_OP_READ))) {
		asys__ring_close(&uring.ring);
		err = -ENOSYS;	/* older than 5.6: not worth it */
	}
	uring.bell.fd = -1;
	if (!err && !asys__ring_has_op(&uring.ring, ASYS__OP_FUTEX_WAIT)) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			err = -errno;
			asys__ring_close(&uring.ring);
		} else {
			asys__fd_put_aside(&uring.bell, fd);
		}
	}
	if (!err) {
		uring.owned = false;
		err = asys__crew_start(&uring.crew, ring_thread, "rtaio-ring", 0);
		if (err) {
			asys__fd_close_aside(&uring.bell);
			asys__ring_close(&uring.ring);
		}
	}
	__atomic_store_n(&uring.outcome, err ? err : 1, __ATOMIC_RELAXED);
	if (err) {
		/* a lack of threads may pass; a refusal by the kernel will not */
		if (err != -EAGAIN)
			uring.status = err;
		return;
	}
	uring.alive = true;
	uring.status = 1;	/* before the lock is let go: one ring, one thread */
	if (uring.bell.fd >= 0)
		arm_doorbell();
	/* before the program can close the ring's fd (see above) */
	while (!uring.owned)
		pthread_cond_wait(&uring.owned_cv, &uring.lock);
}

/*
 * With the lock: does the ring take calls?  A ring thread asleep in the
 * ring wakes to the doorbell only: an eventfd that the program closed is
 * found out before a call goes where only the doorbell would start it.
 */
static bool ring_usable(void)
{
	if (uring.status != 1 || !uring.alive || uring.retired)
		return false;
	if (uring.bell.fd >= 0 && __atomic_load_n(&uring.asleep, __ATOMIC_RELAXED) == ASLEEP_IN_RING)
		return bell_intact();
	return true;
}

/* With the lock: is the ring usable, setting it up on first use? */
static bool ring_ready(void)
{
	if (!uring.status && !uring.stopping)
		setup();
	return ring_usable();
}

/*
 * Calls for the ring are linked through __qnext as they are routed: once
 * the thread backend has its share, those calls may run, complete and be
 * submitted again by another thread, so they are not looked at again.
 */
static int uring_submit(struct asys_call *const calls[], size_t n)
{
	struct asys_call *ring_calls = NULL, **ring_tail = &ring_calls, *c, *next;
	size_t i, to_threads = 0;
	bool ready, asked, wake = false;
	int err;

	pthread_mutex_lock(&uring.lock);
	ready = asked = ring_usable();
	/* a ring the program took away (retire()): its calls go to threads all the same */
	if (!ready && asys__engine.choice == ASYS__URING_ONLY && !uring.retired) {
		ready = asked = ring_ready();
		if (!ready) {
			pthread_mutex_unlock(&uring.lock);
			return -EAGAIN;
		}
	}
	for (i = 0; i < n; i++) {
		int op;

		c = calls[i];
		if (c->flags & LINKED)
			continue;
		op = ring_op(c);
		/* a process whose calls io_uring lacks never sets up a ring */
		if (op >= 0 && !asked) {
			ready = ring_ready();
			asked = true;
		}
		/* atomic: a canceller may look at it (internal.h, on __saved) */
		__atomic_store_n(&c->__bstate, route(c, op, ready), __ATOMIC_RELAXED);
		if (c->__bstate) {
			*ring_tail = c;
			ring_tail = &c->__qnext;
		} else {
			to_threads++;
		}
	}
	*ring_tail = NULL;
	/* first the part that can fail, so that all or nothing is queued */
	err = to_threads ? asys__threads.submit(calls, n) : 0;
	if (!err && ring_calls) {
		for (c = ring_calls; c; c = next) {
			next = c->__qnext;
			__atomic_fetch_and(&c->state, ~ASYS__SUBMITTING, __ATOMIC_RELEASE);
			enqueue(c);
		}
		wake = flush();
	}
	unlock_and_ring(wake);
	return err;
}

/*
 * Before the first call for the ring, whether the kernel gives this process
 * rings at all is asked once, without setting one up: a program whose reads
 * the page cache serves needs no ring thread.
 */
bool asys__ring_missing(void)
{
	static bool present;	/* once a ring could be had: no lock on every read */
	bool missing;

	if (asys__engine.choice != ASYS__URING_ONLY || __atomic_load_n(&present, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&uring.lock);
	if (!uring.status && !uring.probed) {
		uring.probed = asys__ring_probe();
		if (uring.probed < 0)
			__atomic_store_n(&uring.outcome, uring.probed, __ATOMIC_RELAXED);
	}
	missing = uring.status ? uring.status != 1 || !uring.alive : uring.probed < 0;
	pthread_mutex_unlock(&uring.lock);
	if (!missing)
		__atomic_store_n(&present, true, __ATOMIC_RELAXED);
	return missing;
}

/*
 * All under the lock, the choice of backend too: a call that the thread
 * backend held when the canceller looked may since have run, failed, and
 * come back into the ring (a write that found a stream).  The thread
 * backend's claim of such a call would take it while it waits in the
 * backlog or is about to start(), and the kernel would run a cancelled
 * call.  Routes change under the lock only, so it holds __bstate still.
 */
static int uring_cancel(struct asys_call *c)
{
	int err = 0;

	pthread_mutex_lock(&uring.lock);
	if (!in_ring(c))
		err = asys__threads.cancel(c);
	else if (asys__transition(c, ASYS_QUEUED, ASYS_RUNNING))
		backlog_unlink(c);
	else
		err = -EBUSY;
	pthread_mutex_unlock(&uring.lock);
	return err;
}

/*
 * Interrupt a RUNNING call that may block forever: 0 with its result in
 * *result once the kernel has given it up (the caller completes it), or
 * -EBUSY when it is not in the ring, not interruptible, or already done.
 */
static int uring_interrupt(struct asys_call *c, long *result)
{
	struct io_uring_sqe *sqe;
	struct timespec never;
	uint32_t old;

	pthread_mutex_lock(&uring.lock);
	/*
	 * Where the call is and what it is, under the lock (see uring_cancel);
	 * the ring thread cannot wait for itself.
	 */
	if (!in_ring(c) || c->__class != ASYS__BLOCKING || !ring_usable() ||
	    pthread_equal(pthread_self(), uring.thread) || asys_state(c) != ASYS_RUNNING) {
		pthread_mutex_unlock(&uring.lock);
		return -EBUSY;
	}
	sqe = get_sqe(NULL);
	if (!sqe) {
		pthread_mutex_unlock(&uring.lock);
		return -EBUSY;
	}
	old = __atomic_fetch_or(&c->__bstate, INTERRUPT, __ATOMIC_ACQ_REL);
	/* completing anyway, or another canceller has it: the SQE is spent on a no-op */
	sqe->opcode = old & (REAPED | INTERRUPT) ? IORING_OP_NOP : IORING_OP_ASYNC_CANCEL;
	sqe->addr = (uint64_t)(uintptr_t)c;
	unlock_and_ring(flush());
	if (old & (REAPED | INTERRUPT))
		return -EBUSY;
	/* bounded: the kernel gives up a wait on a pipe or socket at once */
	asys__deadline(NULL, &never);
	while (!((old = __atomic_load_n(&c->__bstate, __ATOMIC_ACQUIRE)) & REAPED))
		asys__futex_wait(&c->__bstate, old, &never);
	*result = c->result;
	return 0;
}

static void uring_requeue(struct asys_call *c)
{
	int op = ring_op(c);

	pthread_mutex_lock(&uring.lock);
	__atomic_store_n(&c->__bstate, route(c, op, op >= 0 && ring_ready()), __ATOMIC_RELAXED);
	if (c->__bstate) {
		enqueue(c);
		unlock_and_ring(flush());
		return;
	}
	pthread_mutex_unlock(&uring.lock);
	asys__threads.requeue(c);
}

static void uring_init(void)
{
	asys__threads.init();
}

static void uring_lock_config(void)
{
	asys__threads.lock_config();
}

static void uring_unlock_config(void)
{
	bool wake = false;

	asys__threads.unlock_config();
	pthread_mutex_lock(&uring.lock);
	if (uring.status == 1) {
		uring.new_limits = true;	/* the ring thread registers them */
		wake = flush();
	}
	unlock_and_ring(wake);
}

static void uring_fork_prepare(void)
{
	pthread_mutex_lock(&uring.lock);
	asys__crew_reap(&uring.crew);
	asys__threads.fork_prepare();
}

static void uring_fork_parent(void)
{
	asys__threads.fork_parent();
	pthread_mutex_unlock(&uring.lock);
}

/* The child never touches the parent's ring: it sets up its own when it needs one. */
static void uring_fork_child(void)
{
	asys__threads.fork_child();
	if (uring.status == 1) {
		asys__ring_close(&uring.ring);
		asys__fd_close_aside(&uring.bell);
	}
	uring.status = 0;
	__atomic_store_n(&uring.outcome, 0, __ATOMIC_RELAXED);
	uring.inflight = uring.inflight_blocking = 0;
	memset(uring.backlog, 0, sizeof uring.backlog);
	uring.asleep = AWAKE;
	uring.armed = false;
	uring.alive = false;
	uring.retired = uring.fd_gone = false;
	pthread_cond_init(&uring.owned_cv, NULL);
	asys__crew_forget(&uring.crew);
	pthread_mutex_unlock(&uring.lock);	/* held since uring_fork_prepare() */
}

/*
 * Unloading: the ring thread finishes every call that will end, then
 * leaves; the ring stays for calls that may never end (exit ends them;
 * dlclose() with such calls pending is the program's error).  At exit()
 * nothing is waited for (asys__exiting).
 */
static void uring_unload(void)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&uring.lock);
	uring.stopping = !asys__exiting();
	if (uring.alive && uring.stopping) {
		/* a completion to wake the ring thread (with no fd, it looks by itself) */
		sqe = uring.fd_gone ? NULL : get_sqe(NULL);
		if (sqe)
			sqe->opcode = IORING_OP_NOP;
		if (flush())
			asys__wake(&uring.asleep);	/* the wait below releases the lock */
		while (uring.alive)
			pthread_cond_wait(&uring.crew.gone, &uring.lock);
	}
	asys__crew_reap(&uring.crew);
	pthread_mutex_unlock(&uring.lock);
	asys__threads.unload();
}

static void uring_stats(struct asys__stats *out)
{
	asys__threads.stats(out);
	out->ring = __atomic_load_n(&uring.outcome, __ATOMIC_RELAXED);
	out->ring_threads = asys__crew_started(&uring.crew);
}

const struct asys__backend asys__uring = {
	.name = "uring",
	.init = uring_init,
	.submit = uring_submit,
	.cancel = uring_cancel,
	.interrupt = uring_interrupt,
	.requeue = uring_requeue,
	.lock_config = uring_lock_config,
	.unlock_config = uring_unlock_config,
	.fork_prepare = uring_fork_prepare,
	.fork_parent = uring_fork_parent,
	.fork_child = uring_fork_child,
	.unload = uring_unload,
	.stats = uring_stats,
};
