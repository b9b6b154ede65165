/* Chains: calls linked with asys_link run in list order, and pass results on. */
#include <fcntl.h>
#include <limits.h>

#include "testutil.h"

static int hooks[64];

static void hook(struct asys_call *c)
{
	__atomic_fetch_add(&hooks[(long)c->data], 1, __ATOMIC_SEQ_CST);
}

static void prep(struct asys_call *c, long idx, long nr, long a0, long a1, long a2, long a3)
{
	if (nr == SYS_pread64 || nr == SYS_pwrite64)
		prep_at(c, nr, a0, a1, a2, a3);	/* a3: the offset */
	else
		asys_prep(c, nr, a0, a1, a2, a3, 0, 0);
	c->done = hook;
	c->data = (void *)idx;
}

static void submit_wait(struct asys_call *c, size_t n)
{
	struct asys_call *list[64];
	size_t i;

	for (i = 0; i < n; i++)
		list[i] = &c[i];
	ck_assert_msg(asys_submit(list, n) == 0, "submit: %s", strerror(errno));
	for (i = 0; i < n; i++)
		wait_done(&c[i]);
	/* a waiter can wake before the hook of the call has returned */
	for (i = 0; i < n; i++)
		while (__atomic_load_n(&hooks[i], __ATOMIC_SEQ_CST) == 0)
			sched_yield();
	for (i = 0; i < n; i++)
		ck_assert_int_eq(hooks[i], 1);
}

static void named_pattern_file(char *path, size_t size)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	unsigned char buf[4096];
	size_t i;
	int fd;

	snprintf(path, PATH_MAX, "%s/asys-chain-XXXXXX", dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < size && i < sizeof buf; i++)
		buf[i] = pattern_byte(i);
	ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
	close(fd);
}

START_TEST(open_read_close_passes_the_fd)
{
	char path[PATH_MAX], buf[4096];
	struct asys_call c[3];
	int i;

	named_pattern_file(path, 3000);
	prep(&c[0], 0, SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	prep(&c[1], 1, SYS_read, -1, (long)buf, sizeof buf, 0);
	asys_link(&c[1], 0, 0);
	prep(&c[2], 2, SYS_close, -1, 0, 0, 0);
	asys_link(&c[2], 0, 0);
	submit_wait(c, 3);
	unlink(path);
	ck_assert_int_ge(c[0].result, 0);
	ck_assert_int_eq(c[1].result, 3000);
	ck_assert_int_eq(c[2].result, 0);
	for (i = 0; i < 3000; i++)
		ck_assert_uint_eq((unsigned char)buf[i], pattern_byte(i));
	/* the fd that the chain opened is closed again */
	ck_assert_int_eq(fcntl((int)c[0].result, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(failed_link_cancels_dependents)
{
	char buf[16];
	struct asys_call c[3];
	int i;

	prep(&c[0], 0, SYS_openat, AT_FDCWD, (long)"/nonexistent/asys", O_RDONLY, 0);
	prep(&c[1], 1, SYS_read, -1, (long)buf, sizeof buf, 0);
	asys_link(&c[1], 0, 0);
	prep(&c[2], 2, SYS_close, -1, 0, 0, 0);
	asys_link(&c[2], 0, 0);
	submit_wait(c, 3);
	ck_assert_int_eq(c[0].result, -ENOENT);
	ck_assert_uint_eq(asys_state(&c[0]), ASYS_DONE);
	for (i = 1; i < 3; i++) {
		ck_assert_uint_eq(asys_state(&c[i]), ASYS_CANCELED);
		ck_assert_int_eq(c[i].result, -ECANCELED);
	}
}
END_TEST

/* Only calls linked to the failed one are cancelled: close still runs after a failed read. */
START_TEST(failure_spreads_only_along_links)
{
	char path[PATH_MAX];
	struct asys_call c[4];

	named_pattern_file(path, 100);
	prep(&c[0], 0, SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	prep(&c[1], 1, SYS_read, -1, 0 /* EFAULT */, 10, 0);
	asys_link(&c[1], 0, 0);
	prep(&c[2], 2, SYS_fsync, -1, 0, 0, 0);	/* linked to the failed read */
	asys_link(&c[2], 1, -1);
	prep(&c[3], 3, SYS_close, -1, 0, 0, 0);
	asys_link(&c[3], 0, 0);
	submit_wait(c, 4);
	unlink(path);
	ck_assert_int_ge(c[0].result, 0);
	ck_assert_int_eq(c[1].result, -EFAULT);
	ck_assert_uint_eq(asys_state(&c[2]), ASYS_CANCELED);
	ck_assert_int_eq(c[2].result, -ECANCELED);
	ck_assert_uint_eq(asys_state(&c[3]), ASYS_DONE);
	ck_assert_int_eq(c[3].result, 0);
}
END_TEST

/* A result can feed any argument: write exactly as many bytes as were read. */
START_TEST(result_feeds_any_argument)
{
	int src = pattern_file(777), p[2];
	unsigned char buf[2048], back[2048];
	struct asys_call c[2];
	int i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep(&c[0], 0, SYS_pread64, src, (long)buf, sizeof buf, 0);
	prep(&c[1], 1, SYS_write, p[1], (long)buf, 0, 0);
	asys_link(&c[1], 0, 2);
	submit_wait(c, 2);
	ck_assert_int_eq(c[0].result, 777);
	ck_assert_int_eq(c[1].result, 777);
	ck_assert_int_eq(read(p[0], back, sizeof back), 777);
	for (i = 0; i < 777; i++)
		ck_assert_uint_eq(back[i], pattern_byte(i));
	close(p[0]);
	close(p[1]);
	close(src);
}
END_TEST

/* Linked calls run one at a time in list order, even when they do not pass results. */
START_TEST(chain_runs_in_list_order)
{
	struct asys_call c[64];
	char out[64];
	int p[2], i;

	memset(hooks, 0, sizeof hooks);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 64; i++) {
		static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";

		prep(&c[i], i, SYS_write, p[1], (long)&digits[i], 1, 0);
		if (i)
			asys_link(&c[i], (unsigned)(i - 1), -1);
	}
	submit_wait(c, 64);
	ck_assert_int_eq(read(p[0], out, 64), 64);
	ck_assert_int_eq(memcmp(out, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-", 64), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Several chains and loose calls in one list: each chain keeps its order and its fds. */
START_TEST(interleaved_chains_stay_apart)
{
	char path[4][PATH_MAX];
	char buf[4][128];
	struct asys_call c[12];
	int k, i;

	memset(hooks, 0, sizeof hooks);
	for (k = 0; k < 4; k++)
		named_pattern_file(path[k], 100 + k);
	/* opens first, then reads, then closes, each linked to its own open */
	for (k = 0; k < 4; k++) {
		prep(&c[k], k, SYS_openat, AT_FDCWD, (long)path[k], O_RDONLY | O_CLOEXEC, 0);
		prep(&c[4 + k], 4 + k, SYS_read, -1, (long)buf[k], sizeof buf[k], 0);
		asys_link(&c[4 + k], (unsigned)k, 0);
		prep(&c[8 + k], 8 + k, SYS_close, -1, 0, 0, 0);
		asys_link(&c[8 + k], (unsigned)k, 0);
	}
	submit_wait(c, 12);
	for (k = 0; k < 4; k++) {
		unlink(path[k]);
		ck_assert_int_eq(c[4 + k].result, 100 + k);
		ck_assert_int_eq(c[8 + k].result, 0);
		for (i = 0; i < 100 + k; i++)
			ck_assert_uint_eq((unsigned char)buf[k][i], pattern_byte(i));
	}
}
END_TEST

/* Many chains in a row: every result right, and every fd they opened closed again. */
START_TEST(chains_repeat_without_leaks)
{
	char path[PATH_MAX], buf[64];
	struct asys_call c[3];
	unsigned long n = scaled(20000), i;
	int before = open("/dev/null", O_RDONLY | O_CLOEXEC);

	named_pattern_file(path, 64);
	for (i = 0; i < n; i++) {
		memset(hooks, 0, sizeof hooks);
		prep(&c[0], 0, SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
		prep(&c[1], 1, SYS_pread64, -1, (long)buf, sizeof buf, (long)(i % 32));
		asys_link(&c[1], 0, 0);
		prep(&c[2], 2, SYS_close, -1, 0, 0, 0);
		asys_link(&c[2], 0, 0);
		submit_wait(c, 3);
		ck_assert_int_eq(c[1].result, 64 - (long)(i % 32));
		ck_assert_uint_eq((unsigned char)buf[0], pattern_byte(i % 32));
		ck_assert_int_eq(c[2].result, 0);
	}
	unlink(path);
	/* every fd the chains opened was closed: the next free fd is where it was */
	close(before);
	ck_assert_int_eq(open("/dev/null", O_RDONLY | O_CLOEXEC), before);
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("asys chains");
	TCase *t = tcase_create("chains");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, open_read_close_passes_the_fd);
	tcase_add_test(t, failed_link_cancels_dependents);
	tcase_add_test(t, failure_spreads_only_along_links);
	tcase_add_test(t, result_feeds_any_argument);
	tcase_add_test(t, chain_runs_in_list_order);
	tcase_add_test(t, interleaved_chains_stay_apart);
	tcase_add_test(t, chains_repeat_without_leaks);
	suite_add_tcase(s, t);
	return s;
}

TEST_MAIN(chain_suite)
