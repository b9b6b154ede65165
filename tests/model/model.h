/*
 * aio-model: random legal POSIX AIO programs, every outcome judged.
 *
 * A scenario is generated from (seed, scenario number) alone (generate.c):
 * a few targets (regular files opened in several modes, pipes, some whose
 * peer never reads, stream and datagram socketpairs, ptys, /dev/zero),
 * requests on them, and a plan of actions (submissions one by one or in
 * lio_listio lists, cancellations, pauses, closing the descriptors the
 * program did not open, waiting for a request and aio_return before its
 * aiocb is submitted again, a fork whose child does AIO of its own, an
 * O_DIRECT file's number turned a buffered file's for a moment) plus
 * the threads that wait in aio_suspend, signals that interrupt the waits,
 * and what each SIGEV_THREAD function does (block, wait for a later
 * request's function to return, pthread_exit, submit a follow-up request,
 * fork).  execute.c carries the plan out, with peer threads at the other
 * end of each stream (some held back until the requests on the other
 * targets have finished), and collects what the program saw;
 * judge.c compares it with what POSIX and rtaio's documented ordering
 * rules (man/rtaio.7) allow.  main.c runs scenarios and has a watchdog
 * report a call that never returns; leaks.c checks for descriptors,
 * threads and memory left behind.
 *
 * The program is built against the system's <aio.h> and linked with
 * nothing of rtaio's, so that it judges glibc's AIO and, under LD_PRELOAD,
 * any build of rtaio.
 */
#ifndef AIO_MODEL_H
#define AIO_MODEL_H

#include <aio.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* MAX_REQUESTS and PLAN_ACTIONS bound the plan proper; the follow-ups that
 * SIGEV_THREAD functions submit and the actions added to a plan (reaping a
 * request whose aiocb is reused, a fork, disguises) come on top. */
enum { MAX_TARGETS = 5, MAX_REQUESTS = 48, MAX_FOLLOWUPS = 16, PLAN_ACTIONS = 96,
       MAX_ACTIONS = 2 * PLAN_ACTIONS, MAX_WAITERS = 3, MAX_LIST = 8,
       IDS_PER_SCENARIO = 2 * MAX_REQUESTS, POOL_REQUESTS = MAX_REQUESTS + MAX_FOLLOWUPS,
       DGRAM_MAX = 64 << 10 /* bytes in a datagram */ };

/* Deterministic randomness: every choice of a scenario comes from here. */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
/* A number in [0, n). */
uint64_t rng_below(struct rng *r, uint64_t n);
/* True with probability pct/100. */
bool rng_chance(struct rng *r, unsigned pct);

enum target_kind {
	T_FILE,        /* regular file, buffered */
	T_FILE_DSYNC,  /* regular file, O_DSYNC */
	T_FILE_DIRECT, /* regular file, O_DIRECT (4096-aligned everything) */
	T_FILE_APPEND, /* regular file, O_APPEND: writes and flushes only */
	T_PIPE_IN,     /* we read a pipe, a peer writes it */
	T_PIPE_OUT,    /* we write a pipe, a peer reads it */
	T_SOCKET,      /* SOCK_STREAM socketpair: both directions */
	T_ZERO,        /* /dev/zero: reads only */
	T_DGRAM,       /* SOCK_DGRAM socketpair: both directions, a datagram a call */
	T_PTY,         /* a pty's master (the peer has the slave, raw): both directions */
};

struct target {
	enum target_kind kind;
	int fd;      /* ours (-1 once closed) */
	int number;  /* the number fd had, for the reports */
	int peer_fd; /* the other end (streams), -1 otherwise */
	/* files: a second open() of the same path, for the requests marked
	 * `second` (which overlap no request through fd that writes, nor write
	 * where one through fd touches: the two are independent) */
	bool two_fds;
	int fd2, number2;
	/* O_DIRECT files: the library sees fd's number as a buffered file's
	 * first (at setup, then at each A_DISGUISE), so that its first reads
	 * go the way of cached reads and find the device (rtaio's owed reads):
	 * for a moment the number is buffered_fd's, a buffered open() of the
	 * same file, then direct_fd's again */
	bool disguised;
	int buffered_fd, direct_fd;
	/* files: initial size; the content is pattern_byte(salt, offset) */
	size_t initial_size;
	uint32_t salt;
	/* streams we read: what the peer writes, and how */
	size_t peer_bytes;
	unsigned peer_delay_us; /* before its first write ("late") */
	unsigned peer_chunk;    /* bytes per write(2) */
	unsigned peer_pause_us; /* between writes ("slow") */
	/* a stream whose peer does nothing until every request on the other
	 * targets has finished: the requests blocked on it hold up no other */
	bool held;
	_Atomic bool released;
	/* a pipe we write whose peer never reads: held, then it closes its end
	 * (the writes blocked on the full pipe fail with EPIPE) */
	bool never_reads;
	int pipe_size; /* what such a pipe takes (F_GETPIPE_SZ) */
	/* streams we write: what the peer received */
	unsigned char *received;
	size_t received_len, received_cap;
	bool received_overflow;
	/* datagram socketpairs: the size of each datagram the peer sends (one
	 * for each read of a byte or more), and of each it received */
	unsigned dgram_sizes[MAX_REQUESTS];
	int ndgrams;
	unsigned received_sizes[MAX_REQUESTS];
	int nreceived;
	_Atomic bool ending; /* the requests are over: datagram peers stop */
	pthread_t writer, reader;
	bool has_writer, has_reader;
};

enum op { OP_READ, OP_WRITE, OP_FSYNC, OP_DSYNC };
enum notify { N_NONE, N_SIGNAL, N_THREAD };

/* What a request's SIGEV_THREAD function does once it has counted the
 * notification. */
enum function_kind {
	F_COUNT,  /* nothing more */
	F_BLOCK,  /* sleeps (fn_arg microseconds) before returning */
	F_WAIT,   /* waits until a later request's (fn_arg) notification is over */
	F_EXIT,   /* ends its thread with pthread_exit */
	F_SUBMIT, /* submits a follow-up request (fn_arg) and returns */
	F_FORK,   /* forks a child that does a little AIO of its own, and waits for it */
};

union any_aiocb {
	struct aiocb cb;
	struct aiocb64 cb64;
};

struct request {
	union any_aiocb *u; /* own, or that of the earlier request it reuses */
	union any_aiocb own;
	unsigned id;    /* unique in the run, the same in a replay: the notification's value */
	unsigned index; /* in the scenario, submission order */
	int target;
	enum op op;
	bool large; /* the *64 names */
	enum notify notify;
	size_t nbytes;
	off_t offset;
	unsigned char *buf;
	int list; /* lio_listio list number, -1 when submitted alone */
	enum function_kind fn; /* with SIGEV_THREAD */
	int fn_arg;
	int parent; /* a follow-up: the request whose function submits it; else -1 */
	int reuses; /* the earlier request whose aiocb it is submitted with, or -1 */
	bool second; /* through the target's fd2 */
	/* what happened */
	bool submitted; /* accepted (a refused one is judged as refused) */
	int submit_errno;
	bool cancel_touched; /* an aio_cancel named it or its fd */
	int cancel_answer;   /* of the last aio_cancel naming it alone, or -2 */
	int status;          /* aio_error once final */
	ssize_t ret;         /* aio_return once final */
	_Atomic bool published; /* submission is over: the waiter threads may look */
	/* aio_return was called and the aiocb may be in use again: its status
	 * and ret are final and nothing reads the aiocb for it any more */
	_Atomic bool reaped;
	_Atomic int call; /* of its SIGEV_THREAD function: enum call */
	/* when its submission began: a function's may overlap an aio_cancel */
	_Atomic long long submit_ns;
};
enum call { CALL_NONE, CALL_RUNNING, CALL_RETURNED };

enum action_kind {
	A_SUBMIT,        /* one request */
	A_LIST,          /* lio_listio of a list */
	A_CANCEL,        /* aio_cancel of one request */
	A_CANCEL_FD,     /* aio_cancel(fd, NULL) */
	A_PAUSE,         /* let time pass (microseconds) */
	A_CLOSE_FOREIGN, /* close every descriptor the program did not open */
	A_REAP,          /* wait for a request, aio_return it: its aiocb is reused next */
	A_FORK,          /* fork with requests in flight: the child does AIO of its own */
	A_DISGUISE,      /* a disguised target's number turns buffered for a moment */
};

struct list {
	int mode; /* LIO_WAIT or LIO_NOWAIT */
	bool large;
	int members[MAX_LIST]; /* request indexes, -1 for a LIO_NOP element */
	int count;
	enum notify notify; /* LIO_NOWAIT: the list's sigevent */
	unsigned id;
	int answer, answer_errno;
};

struct action {
	enum action_kind kind;
	int arg; /* request, list or target index; microseconds for A_PAUSE */
};

struct waiter {
	int members[MAX_REQUESTS];
	int count;
	long timeout_ns; /* 0: no timeout */
	bool large;
	pthread_t thread;
	struct scenario *sc;
};

struct scenario {
	uint64_t seed;
	unsigned number;
	struct target targets[MAX_TARGETS];
	int ntargets;
	struct request *reqs; /* MAX_REQUESTS of them, kept across scenarios */
	int nreqs;
	struct list lists[MAX_REQUESTS];
	int nlists;
	struct action actions[MAX_ACTIONS];
	int nactions;
	struct waiter waiters[MAX_WAITERS];
	int nwaiters;
	int nplanned; /* requests of the plan; the follow-ups come after them */
	/* signals sent to the main and suspend threads while they wait: 0
	 * none, else with a handler installed with SA_RESTART or without */
	enum { SIG_NONE, SIG_RESTART, SIG_INTERRUPT } signals;
	bool closed_foreign;
	const char *dir;
};

struct options {
	uint64_t seed;
	unsigned first, scenarios;
	unsigned seconds;
	bool verbose;
	bool close_foreign; /* allowed only where the library permits it */
	bool no_cancel;     /* aio_cancel left out (glibc strands requests) */
	bool fork;          /* fork with requests in flight, and in functions */
	bool rtaio_rules;   /* judged by what rtaio documents beyond POSIX */
	bool plans_only;    /* print the plans, run nothing */
	/* signals without SA_RESTART (which end a lio_listio(LIO_WAIT) with
	 * EINTR; glibc then writes to the caller's stack later) */
	bool interrupt_lio_wait;
	bool pty; /* ptys among the targets (off by default: see main.c) */
	bool disguise; /* disguised O_DIRECT files (off by default: see main.c) */
	/* ThreadSanitizer's runtime is in the process: it holds a signal that
	 * arrives outside a call it intercepts until the thread makes one, one
	 * pending instance per signal number and thread, and drops another
	 * that arrives meanwhile; queued real-time signals (SIGEV_SIGNAL
	 * notifications) can merge, so they are judged "at most once" */
	bool signals_merge;
	bool glibc_rules;
	const char *dir;
};
extern struct options opt;

/* generate.c */
void generate(struct scenario *sc, struct request *pool);
unsigned char pattern_byte(uint32_t salt, uint64_t pos);
const char *target_name(enum target_kind k);
bool is_stream(enum target_kind k);
/* A socketpair or pty: we read and write it, a peer does the same. */
bool both_ways(enum target_kind k);
/* Byte i of the k-th datagram the peer of t sends. */
unsigned char dgram_byte(const struct target *t, int k, size_t i);
bool is_file(enum target_kind k);
void describe_request(const struct scenario *sc, const struct request *r, char *out,
		      size_t len);
void print_plan(const struct scenario *sc);

/* execute.c */
void notify_setup(void);
/* Notifications counted for a request or list id so far. */
unsigned notified(unsigned id);
/* Is `got` notifications what a request or list with this sigevent kind,
 * notified `want` (0 or 1) times, may show? */
bool notified_as_allowed(enum notify kind, unsigned want, unsigned got);
/* A notification that arrived before its request (or list) was final. */
const char *notify_early(void);
void execute(struct scenario *sc);
void teardown(struct scenario *sc);
/* A failure that a SIGEV_THREAD function or a fork child met, or NULL. */
const char *function_failure(void);
/* The descriptor a request goes through. */
int fd_of(const struct scenario *sc, const struct request *r);
/* The error status of a request (that of its aiocb). */
int error_of(const struct request *r);

/* judge.c */
void judge(const struct scenario *sc);
void print_outcomes(const struct scenario *sc);

/* leaks.c: descriptors, threads and memory left behind, watched across
 * scenarios.  leaks_start takes the baselines before the first scenario and
 * says whether memory is watched (malloc is glibc's); leaks_after_scenario
 * after each, leaks_at_end after the last (ran: scenarios run, requests:
 * their requests, so far); a leak is a violation. */
bool leaks_start(void);
void leaks_after_scenario(const struct scenario *sc, unsigned ran, unsigned requests);
void leaks_at_end(const struct scenario *sc, unsigned ran, unsigned requests);
/* How memory grew since the baseline, for the summary. */
const char *leaks_summary(void);

/* main.c: report the first violation and exit 1 */
_Noreturn void violation(const struct scenario *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long long now_ns(void);
/* What the executor is doing now, for the watchdog's report. */
void progress(const char *what, int item);

#endif
