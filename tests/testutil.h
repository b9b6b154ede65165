/*
 * Helpers shared by the test programs.  Those that call no Check function
 * (no ck_*) also serve the standalone programs (tests/stress.c,
 * tests/fuzz_aio.c), which report failures their own way.
 */
#ifndef RTAIO_TESTUTIL_H
#define RTAIO_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"
#include "../lib/asys/sysarg.h"

#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD 1
#endif
#endif
#ifdef TSAN_BUILD
/*
 * Tests fork children that start threads (the engine's workers), which
 * ThreadSanitizer kills unless told otherwise (die_after_fork=0).  The
 * children leave with _exit(), which runs no library destructor: TSan's
 * one-second pause at exit would let their idle workers finish unjoined
 * and be reported as leaked threads (atexit_sleep_ms=0).
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0:atexit_sleep_ms=0";
}
#endif

/*
 * The largest value of a signed integer type, whatever its width on the
 * architecture (off_t, time_t: 32 or 64 bits).
 */
#define SIGNED_MAX(type) ((type)(((uintmax_t)1 << (sizeof(type) * 8 - 1)) - 1))

/*
 * An unlinked, empty temporary file in $TMPDIR (or /tmp), open
 * O_RDWR|O_CLOEXEC; -1 (errno set) on failure.
 */
static inline int temp_file(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/* Byte `off` of every pattern file: position-dependent, so misplaced data shows. */
static inline unsigned char pattern_byte(uint64_t off)
{
	return (unsigned char)((off * 131) ^ (off >> 12));
}

/* An unlinked temporary file of `size` pattern bytes, open O_RDWR|O_CLOEXEC. */
static inline int pattern_file(size_t size)
{
	unsigned char buf[65536];
	size_t done = 0;
	int fd = temp_file();

	ck_assert_msg(fd >= 0, "O_TMPFILE in $TMPDIR or /tmp: %s", strerror(errno));
	while (done < size) {
		size_t i, n = size - done < sizeof buf ? size - done : sizeof buf;

		for (i = 0; i < n; i++)
			buf[i] = pattern_byte(done + i);
		ck_assert_int_eq(pwrite(fd, buf, n, (off_t)done), (ssize_t)n);
		done += n;
	}
	return fd;
}

/*
 * From the fields of /proc/.../stat after the name: is the task in
 * do_exit (PF_EXITING)?  pthread_join() can return while the kernel still
 * runs the end of the thread's exit.
 */
static inline bool exiting(const char *fields)
{
	unsigned flags = 0;
	char state;

	return sscanf(fields, "%c %*d %*d %*d %*d %*d %u", &state, &flags) == 2 &&
	       (flags & 0x4);
}

/*
 * Live threads of process pid (0: this one) from /proc/PID/task: all of
 * them (prefix NULL), or those whose name starts with prefix ("rtaio-":
 * rtaio's; sanitizers add threads of their own).  A thread that has exited
 * can linger there for a moment after pthread_join() returns (exiting, or
 * state Z or X): it is not counted.  state: only those in that state ('R'
 * running, 'T' stopped), or 0 for any.  -1 if the directory cannot be read.
 */
static inline int count_tasks_of(pid_t pid, const char *prefix, char state_wanted)
{
	char dir[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (pid)
		snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	else
		snprintf(dir, sizeof dir, "/proc/self/task");
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[400], line[512];
		const char *name, *state;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* gone meanwhile */
		if (fgets(line, sizeof line, f) && (name = strchr(line, '(')) &&
		    (state = strrchr(line, ')')) && state[1] == ' ' && state[2] != 'Z' &&
		    state[2] != 'X' && !exiting(state + 2) &&
		    (!prefix || !strncmp(name + 1, prefix, strlen(prefix))) &&
		    (!state_wanted || state[2] == state_wanted))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* This process's threads (count_tasks_of); running: only those in state R. */
static inline int count_tasks(const char *prefix, int running)
{
	return count_tasks_of(0, prefix, running ? 'R' : 0);
}

/* count_tasks() in a Check test: unreadable /proc/self/task fails it. */
static inline int count_threads(const char *prefix, int running)
{
	int n = count_tasks(prefix, running);

	ck_assert_msg(n >= 0, "/proc/self/task: %s", strerror(errno));
	return n;
}

static inline int thread_count(void)
{
	return count_threads(NULL, 0);
}

static inline int rtaio_thread_count(void)
{
	return count_threads("rtaio-", 0);
}

static inline struct timespec ms_ts(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return ts;
}

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * In a child: stop process pid as Ctrl-Z would, wait (at most ms) until
 * every thread of it has stopped, io_uring's own workers aside (they take
 * no signals), and let it continue.  Exits 0 once it saw them stopped.
 */
static inline _Noreturn void stop_and_continue(pid_t pid, long ms)
{
	double end = now_sec() + (double)ms / 1000;
	struct timespec pause = { 0, 1000000 };
	int stopped = 0;

	kill(pid, SIGSTOP);
	while (!stopped && now_sec() < end) {
		int all = count_tasks_of(pid, NULL, 0), io = count_tasks_of(pid, "iou-", 0);

		stopped = all > 0 && count_tasks_of(pid, NULL, 'T') >= all - io;
		if (!stopped)
			nanosleep(&pause, NULL);
	}
	kill(pid, SIGCONT);
	_exit(stopped ? 0 : 1);
}

/* Have a child stop this process and let it continue (stop_and_continue). */
static inline void stop_and_continue_once(long ms)
{
	pid_t child = fork();
	int status;

	ck_assert_int_ge(child, 0);
	if (!child)
		stop_and_continue(getppid(), ms);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "the process was not seen stopped");
}

/* A CLOCK_REALTIME deadline ms from now, for pthread timed waits. */
static inline struct timespec deadline_rt(long ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	return dl;
}

/* Join th if it finishes within ms: false if it is still running then. */
static inline bool joined_within(pthread_t th, long ms)
{
	struct timespec dl = deadline_rt(ms);

	return pthread_timedjoin_np(th, NULL, &dl) == 0;
}

/*
 * Wait for child pid, at most timeout_ms: its wait status; -1 if it is
 * still running then (left running: the caller may look at it before it
 * kills it); -2 if waitpid fails.  Sleeps in poll() on a pidfd, or without
 * pidfd_open (Linux before 5.3) polls the status every millisecond.
 */
static inline int wait_child(pid_t pid, long timeout_ms)
{
	double end = now_sec() + (double)timeout_ms / 1000;
	int pfd = -1, status, ret;

#ifdef SYS_pidfd_open
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		long left = (long)((end - now_sec()) * 1000);

		if (r == pid || (r < 0 && errno != EINTR)) {
			ret = r == pid ? status : -2;
			break;
		}
		if (left <= 0) {
			ret = -1;
			break;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, (int)left);
		} else {
			struct timespec ms = ms_ts(1);

			nanosleep(&ms, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return ret;
}

/* wait_child() in a Check test: a child still running after ms is killed and fails it. */
static inline int reap_child(pid_t pid, long ms)
{
	int status = wait_child(pid, ms);

	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_abort_msg("child %d still running after %ld ms", (int)pid, ms);
	}
	ck_assert_msg(status >= 0, "waitpid(%d): %s", (int)pid, strerror(errno));
	return status;
}

/*
 * Before a fork: wait (at most ms) until none of rtaio's threads is
 * running, so that none is starting up inside the sanitizer runtime's
 * allocator, whose lock GCC 12's ASan does not take around fork.
 */
static inline void settle_rtaio_threads(long ms)
{
	double end = now_sec() + (double)ms / 1000;
	struct timespec pause = { 0, 1000000 };

	while (count_threads("rtaio-", 1) && now_sec() < end)
		nanosleep(&pause, NULL);
}

/*
 * Iteration counts shrink under sanitizers (RTAIO_TEST_SCALE=10 divides by
 * ten), so that the TSan and ASan builds finish in CI's time.
 */
static inline unsigned long scaled(unsigned long n)
{
	const char *s = getenv("RTAIO_TEST_SCALE");
	unsigned long d = s ? strtoul(s, NULL, 10) : 1;

	return d > 1 ? (n / d ? n / d : 1) : n;
}

/*
 * scaled(n), but no fewer than min: a race test needs enough rounds for
 * each side of its race to show, under sanitizers too.
 */
static inline unsigned long scaled_at_least(unsigned long n, unsigned long min)
{
	unsigned long k = scaled(n);

	return k > min ? k : min;
}

/* A small deterministic generator, so that a failing run can be replayed. */
static inline unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * Busy-wait for a random number (below max) of rounds: a race test puts it
 * between the two sides of its race so that each side wins now and then;
 * no system call, which would give the other side's thread a head start
 * every time.
 */
static inline void spin_random(unsigned *seed, unsigned max)
{
	unsigned n = next_rand(seed) % max, i;

	for (i = 0; i < n; i++)
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Thread `tid`'s voluntary context switches so far: each sleep in the kernel counts. */
static inline long thread_sleeps(pid_t tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	ck_assert_int_ge(n, 0);
	return n;
}

/*
 * Poll until thread `tid` of this process sleeps (state S in
 * /proc/self/task/<tid>/stat), for at most `ms` milliseconds: 1 if it does,
 * 0 if not.  Lets a test act once another thread is blocked (in a futex
 * wait, say) without sleeping to synchronise.
 */
static inline int thread_asleep(pid_t tid, long ms)
{
	double end = now_sec() + (double)ms / 1000;
	struct timespec pause = { 0, 1000000 };
	char path[64], line[512];

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	do {
		FILE *f = fopen(path, "r");
		char *p = NULL;

		if (f) {
			if (fgets(line, sizeof line, f))
				p = strrchr(line, ')');
			fclose(f);
		}
		if (p && p[1] == ' ' && p[2] == 'S')
			return 1;
		nanosleep(&pause, NULL);
	} while (now_sec() < end);
	return 0;
}

/* Wait for a call with a generous bound, failing the test instead of hanging. */
static inline void wait_done(struct asys_call *c)
{
	struct timespec t = ms_ts(30000);

	ck_assert_msg(asys_wait(c, &t) == 0, "asys_wait: %s", strerror(errno));
}

/*
 * A system call whose C prototype has n arguments v, those whose bit is set
 * in wide 64-bit (loff_t: fallocate, readahead, fadvise64_64,
 * sync_file_range), each placed as this architecture's kernel takes it: one
 * long on 64-bit architectures, a register pair on i386, an aligned pair on
 * ARM EABI (sysarg.h), the arguments after it shifted accordingly.
 */
static inline void prep_wide(struct asys_call *c, long nr, unsigned wide, unsigned n,
			     const int64_t *v)
{
	unsigned i, k = 0;

	/*
	 * No Check call: fork children use it (a passing ck_assert writes to
	 * Check's channel, whose lock another thread may hold at the fork).
	 * Arguments past the sixth long are a caller's mistake: abort().
	 */
	asys_prep(c, nr, 0, 0, 0, 0, 0, 0);
	for (i = 0; i < n; i++) {
		if (wide & (1u << i)) {
			if (asys__arg64_next(k) > ASYS_MAX_ARGS)
				abort();
			asys__arg64_put(c->arg, k, v[i]);
			k = asys__arg64_next(k);
		} else {
			if (k >= ASYS_MAX_ARGS)
				abort();
			c->arg[k++] = (long)v[i];
		}
	}
}

/*
 * pread64 or pwrite64 at off: the offset where this architecture's kernel
 * takes it (a register pair on i386, an aligned one on ARM EABI), as the
 * library places its own.
 */
static inline void prep_at(struct asys_call *c, long nr, long fd, long buf, long len, int64_t off)
{
	const int64_t v[] = { fd, buf, len, off };

	prep_wide(c, nr, 1u << 3, 4, v);
}

/*
 * fstat and fstatat as the engine runs them (raw system calls): on 64-bit
 * architectures fstat and newfstatat, which fill glibc's struct stat (the
 * kernel's); on 32-bit ones fstat64 and fstatat64, which fill struct stat64
 * (their fstat fills an older struct with a 32-bit size, and they have no
 * newfstatat).
 */
#ifdef SYS_newfstatat
#define SYS_fstat_k SYS_fstat
#define SYS_fstatat_k SYS_newfstatat
typedef struct stat kstat_t;
#else
#define SYS_fstat_k SYS_fstat64
#define SYS_fstatat_k SYS_fstatat64
typedef struct stat64 kstat_t;
#endif

/*
 * A read on the read end of a pipe: it occupies a worker until the pipe is
 * written to.  With `bounded` it takes a bounded worker's slot (the flag's
 * promise is broken on purpose), which lets a test fill the bounded pool.
 */
static inline void prep_pipe_read(struct asys_call *c, int rfd, void *buf, size_t len,
				  int bounded)
{
	asys_prep(c, SYS_read, rfd, (long)buf, (long)len, 0, 0, 0);
	if (bounded)
		c->flags |= ASYS_BOUNDED;
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifdef ASAN_BUILD
/*
 * ASan before LLVM 18 (GCC 12's libasan among them) does not lock its
 * allocator around fork (llvm-project PR #75290 added that): a child forked
 * while another thread holds an allocator lock deadlocks at its first
 * allocation.  Engine workers allocate while they start (AsanThread::Init ->
 * pthread_getattr_np -> calloc), so under ASan every test starts all the
 * workers the engine may use before it forks, and keeps them (idle_msec), so
 * that no thread is starting or exiting when a fork happens.  The plain and
 * TSan builds fork with workers starting: there it does nothing.
 */
static inline void start_all_workers(void)
{
	struct asys_config set = { .idle_msec = 600000 }, cfg;
	struct asys_call *calls, **l;
	unsigned i, n;
	char *bytes;
	int p[2];

	ck_assert_int_eq(asys_configure(&set, &cfg), 0);
	n = cfg.max_threads + cfg.max_blocking_threads;
	calls = calloc(n, sizeof *calls);
	l = calloc(n, sizeof *l);
	bytes = calloc(n, 1);
	ck_assert(calls && l && bytes);
	ck_assert_int_eq(pipe(p), 0);
	/* One pipe read per worker, bounded ones first: every worker starts. */
	for (i = 0; i < n; i++) {
		prep_pipe_read(&calls[i], p[0], &bytes[i], 1, i < cfg.max_threads);
		l[i] = &calls[i];
	}
	ck_assert_int_eq(asys_submit(l, n), 0);
	for (i = 0; i < n; i++) {
		double end = now_sec() + 30;
		struct timespec ms = ms_ts(1);

		while (asys_state(&calls[i]) != ASYS_RUNNING) {
			ck_assert_msg(now_sec() < end, "worker %u never started", i);
			nanosleep(&ms, NULL);
		}
	}
	for (i = 0; i < n; i++)
		ck_assert_int_eq(write(p[1], "w", 1), 1);
	for (i = 0; i < n; i++) {
		wait_done(&calls[i]);
		ck_assert_int_eq(calls[i].result, 1);
	}
	close(p[0]);
	close(p[1]);
	free(calls);
	free(l);
	free(bytes);
}

#else
static inline void start_all_workers(void)
{
}
#endif

/*
 * In a test's own process before its first request: reads wait for a
 * worker or the ring even when the page cache holds their data, so that a
 * test can keep them queued.
 */
static inline void no_inline_reads(void)
{
	setenv("RTAIO_INLINE_READS", "0", 1);
}

/* Can this process set up an io_uring (seccomp, kernel.io_uring_disabled, old kernels)? */
static inline bool uring_available(void)
{
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	long fd = syscall(SYS_io_uring_setup, 1, params);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/*
 * Does qemu-user run this program (tests/cross.sh sets
 * RTAIO_TEST_UNDER_QEMU=1)?  The emulator is not the target's kernel: it
 * has no io_uring, no RWF_NOWAIT, it checks buffers that the kernel would
 * not touch, /proc/.../syscall shows its own system calls (the build
 * machine's numbers), and Debian 12's qemu 7.2 aborts in a child forked by
 * a process with threads (Check's own fork per test, from a process
 * without threads, works).
 */
static inline bool under_qemu(void)
{
	const char *q = getenv("RTAIO_TEST_UNDER_QEMU");

	return q && !strcmp(q, "1");
}

/* What a test that forks a process with threads says under qemu-user (see above). */
#define QEMU_FORK_WITH_THREADS "a fork in a process with threads aborts qemu 7.2"

/*
 * The program itself run again (execve of /proc/self/exe), as a probe in a
 * fresh process: qemu-user hands the target's executable to the build
 * machine's kernel, which cannot run it (no binfmt_misc entry for qemu).
 */
#define QEMU_EXEC_SELF "execve of the target's program (the host kernel cannot run it)"

/*
 * Is a thread other than the caller, whose name starts with name (any,
 * with NULL), inside system call nr (any, with -1) with fd for its first
 * argument (any, with -1)?  1 or 0 (/proc/self/task/T/syscall), -1 when
 * /proc/self/task cannot be read; no Check call, for a child.  Under
 * qemu-user, any call: the emulator's own, by the build machine's number.
 */
static inline int task_in_syscall(const char *name, long nr, int fd)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;
	pid_t self = gettid();

	if (!d)
		return -1;
	while (!found && (e = readdir(d))) {
		char path[320], comm[32] = "";
		unsigned long a0;
		long in;
		FILE *f;

		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		if (name) {
			snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
			f = fopen(path, "r");
			if (f && !fgets(comm, sizeof comm, f))
				comm[0] = '\0';
			if (f)
				fclose(f);
			if (strncmp(comm, name, strlen(name)))
				continue;	/* another thread, or one that has exited */
		}
		snprintf(path, sizeof path, "/proc/self/task/%s/syscall", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* the thread has exited */
		if (fscanf(f, "%ld 0x%lx", &in, &a0) == 2 && (nr < 0 || in == nr || under_qemu()) &&
		    (fd < 0 || a0 == (unsigned long)fd))
			found = true;
		fclose(f);
	}
	closedir(d);
	return found;
}

/* task_in_syscall() of any thread on fd, in a Check test. */
static inline bool thread_in_syscall(long nr, int fd)
{
	int in = task_in_syscall(NULL, nr, fd);

	ck_assert_msg(in >= 0, "/proc/self/task: %s", strerror(errno));
	return in;
}

/*
 * Wait (10 s at most) until another thread is inside system call nr on fd,
 * or, given ended, until ended(arg) says that the call is over.
 */
static inline void wait_in_syscall_or(long nr, int fd, bool (*ended)(const void *),
				      const void *arg)
{
	double end = now_sec() + 10.0;
	struct timespec ms = ms_ts(1);

	while (!(ended && ended(arg)) && !thread_in_syscall(nr, fd)) {
		ck_assert_msg(now_sec() < end, "no thread entered system call %ld on fd %d", nr,
			      fd);
		nanosleep(&ms, NULL);
	}
}

static inline void wait_in_syscall(long nr, int fd)
{
	wait_in_syscall_or(nr, fd, NULL, NULL);
}

/*
 * For a test, or a part of one, that needs what qemu-user lacks (why:
 * what): true (the test then leaves that out, having said why) under
 * qemu-user.
 */
static inline bool skip_under_qemu(const char *why)
{
	if (!under_qemu())
		return false;
	fprintf(stderr, "under qemu-user, %s: not checked\n", why);
	return true;
}

/*
 * Make the engine use a backend (RTAIO_BACKEND), in a test's own process
 * before its first call: Check runs each test in a fresh child.
 */
static inline void use_backend(const char *name)
{
	setenv("RTAIO_BACKEND", name, 1);
}

/* Does the engine use io_uring in this test? */
static inline bool backend_is_uring(void)
{
	const char *b = getenv("RTAIO_BACKEND");

	return !(b && !strcmp(b, "threads")) && uring_available();
}

/*
 * For a test about the io_uring backend alone: false (the test then returns
 * at once, having said why) when the machine has no io_uring.
 */
static inline bool require_uring(void)
{
	if (!uring_available()) {
		fprintf(stderr, "no io_uring here (%s): the test has nothing to check\n",
			strerror(errno));
		return false;
	}
	use_backend("uring");
	return true;
}

/* Complete one call, so that the engine has set up whatever it keeps. */
static inline void warm_up_engine(void)
{
	struct asys_call c, *l[1] = { &c };
	struct timespec t = { 30, 0 };

	asys_prep(&c, SYS_close, -1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(asys_submit(l, 1), 0);
	ck_assert_int_eq(asys_wait(&c, &t), 0);
	ck_assert_int_eq(c.result, -EBADF);
}

/* Run the suite under one backend; the number of failed tests. */
static inline int run_suite_with(Suite *(*make_suite)(void), const char *backend)
{
	SRunner *sr = srunner_create(make_suite());
	int failed;

	if (backend) {
		use_backend(backend);
		printf("Running under RTAIO_BACKEND=%s\n", backend);
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

/*
 * Run the suite under the thread backend, then under io_uring when the
 * machine has it; exit 0 only if every test passed under both.  Each test
 * runs in its own child (Check's fork mode), where the engine starts fresh
 * with the backend asked for.  Without fork mode (CK_FORK=no, to debug),
 * once, under the backend the environment gives.  RTAIO_TEST_BACKEND=uring
 * (or threads) runs it under that one alone (tests/old-kernels.sh); 77, a
 * skip, for io_uring on a machine without it.
 */
static inline int run_suite_both(Suite *(*make_suite)(void))
{
	const char *fork_mode = getenv("CK_FORK");
	const char *only = getenv("RTAIO_TEST_BACKEND");
	int failed;

	if (fork_mode && !strcmp(fork_mode, "no"))
		return run_suite_with(make_suite, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
	if (only && !strcmp(only, "uring") && !uring_available()) {
		printf("No io_uring here (%s): nothing to run\n", strerror(errno));
		return 77;
	}
	if (only)
		return run_suite_with(make_suite, only) ? EXIT_FAILURE : EXIT_SUCCESS;
	failed = run_suite_with(make_suite, "threads");
	if (uring_available())
		failed += run_suite_with(make_suite, "uring");
	else
		printf("No io_uring here (%s): the suite ran under the thread backend only\n",
		       strerror(errno));
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define TEST_MAIN(make_suite)                           \
	int main(void)                                  \
	{                                               \
		return run_suite_both(make_suite);      \
	}

#endif
