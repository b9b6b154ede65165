/*
 * The statistics report (RTAIO_STATS, rtaio_stats(3)): a child does known
 * work with RTAIO_STATS=FILE and exits, and its report's counts are checked
 * exactly; %p in FILE; no report from a process that made no request;
 * rtaio_stats() on demand, with statistics on and off.
 * (That a setgid program ignores RTAIO_STATS is tests/secure-env.sh's.)
 */
#include <aio.h>
#include <dirent.h>
#include <rtaio.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "aioutil.h"

#define WAIT_MS 20000L
#define FILE_READS 10
#define PIPE_READS 3		/* on a pipe that holds their bytes */
#define THREAD_NOTES 2		/* of the pipe reads, with SIGEV_THREAD */
#define FSYNCS 3		/* one notified by a signal, one by signal 0 (none) */
#define SIG_NOTE (SIGRTMIN + 4)
#define LIST_WRITES 2		/* in one lio_listio(LIO_WAIT) list */

/* --- reading a report --- */

/* The whole of a file, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
	static char text[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, text, sizeof text - 1);
	ck_assert_int_ge(n, 0);
	text[n] = '\0';
	close(fd);
	return text;
}

/*
 * In the report's line "label: ...", the number after name ("label: name N,
 * ..." or "..., name N"), or with name NULL the one after the label
 * ("label: N"); fails the test if there is none.
 */
static unsigned long count_of(const char *report, const char *label, const char *name)
{
	char head[64], key[64];
	const char *line = report, *end, *at;

	snprintf(head, sizeof head, "%s: ", label);
	while (line && strncmp(line, head, strlen(head))) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	ck_assert_msg(line, "no line \"%s\" in the report:\n%s", head, report);
	if (!name)
		return strtoul(line + strlen(head), NULL, 10);
	end = strchr(line, '\n');
	snprintf(key, sizeof key, " %s ", name);
	at = strstr(line + strlen(head) - 1, key);
	ck_assert_msg(at && (!end || at < end), "no \"%s\" in line \"%s\" of the report:\n%s",
		      name, head, report);
	return strtoul(at + strlen(key), NULL, 10);
}

/* --- the known work --- */

static atomic_int notes_run;

static void note_fn(union sigval v)
{
	(void)v;
	atomic_fetch_add(&notes_run, 1);
}

static void wait_notes(int n)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	struct timespec ms = ms_ts(1);

	while (atomic_load(&notes_run) < n) {
		ck_assert_msg(now_sec() < end, "%d of %d SIGEV_THREAD functions ran",
			      atomic_load(&notes_run), n);
		nanosleep(&ms, NULL);
	}
}

/*
 * FILE_READS reads the page cache serves at submission, PIPE_READS reads
 * of a full pipe (THREAD_NOTES of them notified by SIGEV_THREAD), a list
 * of LIST_WRITES writes, FSYNCS fsyncs (one notified by a signal, one by
 * signal 0), and on an empty pipe a read that
 * waits for data and one behind it that aio_cancel takes out (AIO_CANCELED).
 */
static void known_work(void)
{
	static char buf[FILE_READS + PIPE_READS + 2][512];
	struct aiocb reads[FILE_READS], pipe_reads[PIPE_READS], writes[LIST_WRITES], syncs[FSYNCS];
	struct aiocb waiting, behind, *list[LIST_WRITES];
	int fd = pattern_file(1 << 16), full[2], empty[2], i;
	long page = sysconf(_SC_PAGESIZE);

	ck_assert_int_eq(pipe(full), 0);
	ck_assert_int_eq(pipe(empty), 0);
	ck_assert_int_eq(write(full[1], "abc", PIPE_READS), PIPE_READS);
	for (i = 0; i < FILE_READS; i++) {
		ck_assert(page_cached(fd, (off_t)i * 512 / page * page));
		prep_aiocb(&reads[i], fd, buf[i], 512, (off_t)i * 512);
		submit_read(&reads[i]);
		ck_assert_msg(aio_error(&reads[i]) == 0, "read %d not completed at submission", i);
	}
	for (i = 0; i < PIPE_READS; i++) {
		prep_aiocb(&pipe_reads[i], full[0], buf[FILE_READS + i], 1, 0);
		if (i < THREAD_NOTES) {
			pipe_reads[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
			pipe_reads[i].aio_sigevent.sigev_notify_function = note_fn;
		}
		submit_read(&pipe_reads[i]);
	}
	for (i = 0; i < LIST_WRITES; i++) {
		prep_aiocb(&writes[i], fd, buf[i], 512, (off_t)(1 << 16) + i * 512);
		writes[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &writes[i];
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, LIST_WRITES, NULL), 0);
	/* ignored: SIGEV_THREAD functions run with every signal unblocked, in any thread */
	signal(SIG_NOTE, SIG_IGN);
	for (i = 0; i < FSYNCS; i++) {
		prep_aiocb(&syncs[i], fd, NULL, 0, 0);
		if (i < 2) {
			syncs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
			syncs[i].aio_sigevent.sigev_signo = i ? 0 : SIG_NOTE;
		}
		ck_assert_int_eq(aio_fsync(O_SYNC, &syncs[i]), 0);
	}
	/* a stream's requests run in turn: `behind` waits for `waiting`, which waits for data */
	prep_aiocb(&waiting, empty[0], buf[FILE_READS + PIPE_READS], 1, 0);
	prep_aiocb(&behind, empty[0], buf[FILE_READS + PIPE_READS + 1], 1, 0);
	submit_read(&waiting);
	submit_read(&behind);
	ck_assert_int_eq(aio_cancel(empty[0], &behind), AIO_CANCELED);
	ck_assert_int_eq(write(empty[1], "x", 1), 1);
	wait_final(&waiting, WAIT_MS);
	assert_status(&waiting, 0, 1);
	assert_status(&behind, ECANCELED, -1);
	for (i = 0; i < PIPE_READS; i++) {
		wait_final(&pipe_reads[i], WAIT_MS);
		assert_status(&pipe_reads[i], 0, 1);
	}
	for (i = 0; i < FSYNCS; i++) {
		wait_final(&syncs[i], WAIT_MS);
		assert_status(&syncs[i], 0, 0);
	}
	wait_notes(THREAD_NOTES);
}

/* A fresh directory for reports, under $TMPDIR or /tmp. */
static void report_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, size, "%s/rtaio-stats-XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Run work in a child whose RTAIO_STATS is pattern; its pid once it exited 0. */
static pid_t run_child(const char *pattern, void (*work)(void))
{
	pid_t pid;
	int status;

	setenv("RTAIO_STATS", pattern, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (work)
			work();
		exit(0);
	}
	status = reap_child(pid, WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "child status %#x", status);
	return pid;
}

/* How many entries dir holds, beside . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* --- tests --- */

START_TEST(exit_report_counts_known_work)
{
	char dir[256], pattern[300], path[300];
	const char *r;
	int probe = pattern_file(512);
	bool at_once = !skip_without_nowait_reads(probe);	/* known_work's file reads */
	pid_t pid;

	close(probe);
	if (!at_once)
		return;
	report_dir(dir, sizeof dir);
	snprintf(pattern, sizeof pattern, "%s/stats.%%p", dir);
	pid = run_child(pattern, known_work);
	snprintf(path, sizeof path, "%s/stats.%d", dir, (int)pid);
	r = slurp(path);
	ck_assert_msg(strstr(r, backend_is_uring() ? "\nbackend: io_uring (RTAIO_BACKEND=uring"
						    : "\nbackend: threads (RTAIO_BACKEND=threads)"),
		      "backend line:\n%s", r);
	ck_assert_uint_eq(count_of(r, "requests", "read"), FILE_READS + PIPE_READS + 2);
	ck_assert_uint_eq(count_of(r, "requests", "write"), LIST_WRITES);
	ck_assert_uint_eq(count_of(r, "requests", "fsync"), FSYNCS);
	ck_assert_uint_eq(count_of(r, "requests", "fdatasync"), 0);
	ck_assert_uint_eq(count_of(r, "requests", "invalid"), 0);
	ck_assert_uint_eq(count_of(r, "fd kinds", "file"), FILE_READS + LIST_WRITES + FSYNCS);
	ck_assert_uint_eq(count_of(r, "fd kinds", "pipe-or-socket"), PIPE_READS + 2);
	ck_assert_uint_eq(count_of(r, "fd kinds", "direct"), 0);
	ck_assert_uint_eq(count_of(r, "fd kinds", "other"), 0);
	ck_assert_uint_eq(count_of(r, "completed at submission", NULL), FILE_READS);
	ck_assert_uint_eq(count_of(r, "lio_listio lists", NULL), 1);
	/* the file reads at submission found the file plain a moment before */
	ck_assert_uint_eq(count_of(r, "writes sent on a look at their fd under a second old", NULL),
			  LIST_WRITES);
	ck_assert_uint_eq(count_of(r, "writes that found a stream where a file was", NULL), 0);
	/* the fsyncs in a row share a result if the first had not finished yet */
	ck_assert_uint_le(count_of(r, "fsyncs that shared the result of the one before them", NULL),
			  FSYNCS - 1);
	ck_assert_uint_eq(count_of(r, "refused by the engine", NULL), 0);
	ck_assert_uint_ge(count_of(r, "pending", "peak"), 2);	/* waiting and behind */
	ck_assert_uint_eq(count_of(r, "pending", "now"), 0);
	ck_assert_uint_eq(count_of(r, "latency read", "count"), FILE_READS + PIPE_READS + 2);
	ck_assert_uint_eq(count_of(r, "latency write", "count"), LIST_WRITES);
	ck_assert_uint_eq(count_of(r, "latency fsync", "count"), FSYNCS);
	ck_assert_uint_eq(count_of(r, "notifications asked", "thread"), THREAD_NOTES);
	/* every other request, and the list (LIO_WAIT: none) */
	ck_assert_uint_eq(count_of(r, "notifications asked", "none"),
			  FILE_READS + PIPE_READS + 2 - THREAD_NOTES + LIST_WRITES + FSYNCS - 1 + 1);
	ck_assert_uint_eq(count_of(r, "notifications asked", "signal"), 1);
	ck_assert_uint_eq(count_of(r, "notifications asked", "thread_id"), 0);
	ck_assert_uint_eq(count_of(r, "aio_cancel", "AIO_CANCELED"), 1);
	ck_assert_uint_eq(count_of(r, "aio_cancel", "AIO_NOTCANCELED"), 0);
	ck_assert_uint_eq(count_of(r, "aio_cancel", "AIO_ALLDONE"), 0);
	ck_assert_uint_ge(count_of(r, "threads started", "notification"), 1);
	if (backend_is_uring())
		ck_assert_uint_eq(count_of(r, "threads started", "ring"), 1);
	else
		ck_assert_uint_ge(count_of(r, "threads started", "workers"), 1);
	/* the pid went into the name, and that is the only report */
	ck_assert_int_eq(entries(dir), 1);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A preloaded rtaio is in every process a command starts: those without AIO stay quiet. */
START_TEST(no_report_without_requests)
{
	char dir[256], pattern[300];

	report_dir(dir, sizeof dir);
	snprintf(pattern, sizeof pattern, "%s/stats.%%p", dir);
	run_child(pattern, NULL);
	ck_assert_int_eq(entries(dir), 0);
	rmdir(dir);
}
END_TEST

/* rtaio_stats(fd) on demand: the requests so far, with none pending. */
START_TEST(on_demand_report)
{
	char dir[256], pattern[300], buf[512], report[4096];
	int fd = temp_file(), out = temp_file();
	struct aiocb cb;
	const char *r;
	ssize_t n;

	report_dir(dir, sizeof dir);
	snprintf(pattern, sizeof pattern, "%s/stats.%%p", dir);
	setenv("RTAIO_STATS", pattern, 1);	/* the exit report goes there, not to stderr */
	memset(buf, 'w', sizeof buf);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	wait_final(&cb, WAIT_MS);
	assert_status(&cb, 0, sizeof buf);
	ck_assert_int_eq(rtaio_stats(out), 0);
	n = pread(out, report, sizeof report - 1, 0);
	ck_assert_int_gt(n, 0);
	report[n] = '\0';
	r = report;
	ck_assert_uint_eq(count_of(r, "requests", "write"), 1);
	ck_assert_uint_eq(count_of(r, "requests", "read"), 0);
	ck_assert_uint_eq(count_of(r, "latency write", "count"), 1);
	ck_assert_uint_eq(count_of(r, "pending", "now"), 0);
	ck_assert_uint_ge(count_of(r, "request records", NULL), 1);	/* the write's */
	errno = 0;
	ck_assert_int_eq(rtaio_stats(-1), -1);
	ck_assert_int_eq(errno, EBADF);
	unsetenv("RTAIO_STATS");
}
END_TEST

/*
 * Off, the report still tells the backend, the threads and the request
 * records, and says requests were not counted.
 */
START_TEST(on_demand_report_when_off)
{
	char buf[2048];
	int fd = temp_file(), out = temp_file();
	struct aiocb cb;
	ssize_t n;

	unsetenv("RTAIO_STATS");
	memset(buf, 'w', 512);
	prep_aiocb(&cb, fd, buf, 512, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	wait_final(&cb, WAIT_MS);
	ck_assert_int_eq(rtaio_stats(out), 0);
	n = pread(out, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "\nbackend: ") && strstr(buf, "\nthreads started: ") &&
			      strstr(buf, "\nrequest records: ") &&
			      strstr(buf, "\nrequests: not counted (RTAIO_STATS unset)\n"),
		      "report when off:\n%s", buf);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("report");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exit_report_counts_known_work);
	tcase_add_test(tc, no_report_without_requests);
	tcase_add_test(tc, on_demand_report);
	tcase_add_test(tc, on_demand_report_when_off);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(stats_suite)
