/*
 * rtaio's <aio.h> against glibc's, member by member: struct aiocb, struct
 * aiocb64 and struct aioinit (sizes, alignments, every member's offset and
 * size, glibc's internal members included) and the constants.  This file
 * sees rtaio's header; glibc_abi.c, built without rtaio's include directory,
 * answers for glibc's (by name: no aio type crosses between the two).
 */
#include <aio.h>
#include <signal.h>
#include <stddef.h>

#include "testutil.h"

#ifndef __USE_GNU
#error "config.h defines _GNU_SOURCE: struct aioinit and aio_init must be visible"
#endif

/* glibc_abi.c */
int glibc_abi_type(const char *type, size_t *size, size_t *align);
int glibc_abi_member(const char *type, const char *name, size_t *offset, size_t *size);
const char *glibc_abi_member_name(const char *type, size_t i);
int glibc_abi_constant(const char *name, long *value);
const char *glibc_abi_constant_name(size_t i);

struct member {
	const char *type, *name;
	size_t offset, size;
};

/* The same list as glibc_abi.c's; the test checks that both know the same names. */
#define MEMBER(type, m) { #type, #m, offsetof(struct type, m), sizeof(((struct type *)0)->m) }
#define AIOCB_MEMBERS(t)                                               \
	MEMBER(t, aio_fildes), MEMBER(t, aio_lio_opcode), MEMBER(t, aio_reqprio),           \
	MEMBER(t, aio_buf), MEMBER(t, aio_nbytes), MEMBER(t, aio_sigevent),                \
	MEMBER(t, aio_sigevent.sigev_value), MEMBER(t, aio_sigevent.sigev_signo),          \
	MEMBER(t, aio_sigevent.sigev_notify), MEMBER(t, aio_sigevent._sigev_un),           \
	MEMBER(t, aio_sigevent._sigev_un._tid),                                            \
	MEMBER(t, aio_sigevent.sigev_notify_function),                                     \
	MEMBER(t, aio_sigevent.sigev_notify_attributes),                                   \
	MEMBER(t, __next_prio), MEMBER(t, __abs_prio), MEMBER(t, __policy),                 \
	MEMBER(t, __error_code), MEMBER(t, __return_value), MEMBER(t, aio_offset),          \
	MEMBER(t, __glibc_reserved)

static const struct member members[] = {
	AIOCB_MEMBERS(aiocb),
	AIOCB_MEMBERS(aiocb64),
	MEMBER(aioinit, aio_threads), MEMBER(aioinit, aio_num), MEMBER(aioinit, aio_locks),
	MEMBER(aioinit, aio_usedba), MEMBER(aioinit, aio_debug),
	MEMBER(aioinit, aio_numusers), MEMBER(aioinit, aio_idle_time),
	MEMBER(aioinit, aio_reserved),
};
#define N_MEMBERS (int)(sizeof members / sizeof members[0])

static const struct {
	const char *name;
	size_t size, align;
} types[] = {
	{ "aiocb", sizeof(struct aiocb), _Alignof(struct aiocb) },
	{ "aiocb64", sizeof(struct aiocb64), _Alignof(struct aiocb64) },
	{ "aioinit", sizeof(struct aioinit), _Alignof(struct aioinit) },
};
#define N_TYPES (int)(sizeof types / sizeof types[0])

#define CONSTANT(c) { #c, c }
static const struct {
	const char *name;
	long value;
} constants[] = {
	CONSTANT(AIO_CANCELED), CONSTANT(AIO_NOTCANCELED), CONSTANT(AIO_ALLDONE),
	CONSTANT(LIO_READ), CONSTANT(LIO_WRITE), CONSTANT(LIO_NOP),
	CONSTANT(LIO_WAIT), CONSTANT(LIO_NOWAIT),
	CONSTANT(SIGEV_SIGNAL), CONSTANT(SIGEV_NONE), CONSTANT(SIGEV_THREAD),
	CONSTANT(SIGEV_THREAD_ID), CONSTANT(SI_ASYNCIO),
};
#define N_CONSTANTS (int)(sizeof constants / sizeof constants[0])

/*
 * The functions have glibc's types: a mismatch here would be a silent ABI
 * break for callers that take their addresses (the prototypes are copied
 * from glibc 2.36's <aio.h>).
 */
#define HAS_TYPE(f, t) _Static_assert(_Generic(&(f), t: 1, default: 0), #f " differs from glibc's")
HAS_TYPE(aio_read, int (*)(struct aiocb *));
HAS_TYPE(aio_write, int (*)(struct aiocb *));
HAS_TYPE(lio_listio, int (*)(int, struct aiocb *const *, int, struct sigevent *));
HAS_TYPE(aio_error, int (*)(const struct aiocb *));
HAS_TYPE(aio_return, __ssize_t (*)(struct aiocb *));
HAS_TYPE(aio_cancel, int (*)(int, struct aiocb *));
HAS_TYPE(aio_suspend, int (*)(const struct aiocb *const *, int, const struct timespec *));
HAS_TYPE(aio_fsync, int (*)(int, struct aiocb *));
HAS_TYPE(aio_read64, int (*)(struct aiocb64 *));
HAS_TYPE(aio_write64, int (*)(struct aiocb64 *));
HAS_TYPE(lio_listio64, int (*)(int, struct aiocb64 *const *, int, struct sigevent *));
HAS_TYPE(aio_error64, int (*)(const struct aiocb64 *));
HAS_TYPE(aio_return64, __ssize_t (*)(struct aiocb64 *));
HAS_TYPE(aio_cancel64, int (*)(int, struct aiocb64 *));
HAS_TYPE(aio_suspend64, int (*)(const struct aiocb64 *const *, int, const struct timespec *));
HAS_TYPE(aio_fsync64, int (*)(int, struct aiocb64 *));
HAS_TYPE(aio_init, void (*)(const struct aioinit *));

START_TEST(type_size_and_alignment_match_glibc)
{
	size_t size, align;

	ck_assert_msg(glibc_abi_type(types[_i].name, &size, &align) == 0,
		      "glibc_abi.c does not know struct %s", types[_i].name);
	ck_assert_msg(types[_i].size == size, "sizeof(struct %s): rtaio %zu, glibc %zu",
		      types[_i].name, types[_i].size, size);
	ck_assert_msg(types[_i].align == align, "_Alignof(struct %s): rtaio %zu, glibc %zu",
		      types[_i].name, types[_i].align, align);
}
END_TEST

START_TEST(member_offset_and_size_match_glibc)
{
	const struct member *m = &members[_i];
	size_t offset, size;

	ck_assert_msg(glibc_abi_member(m->type, m->name, &offset, &size) == 0,
		      "glibc_abi.c does not know struct %s member %s", m->type, m->name);
	ck_assert_msg(m->offset == offset, "offsetof(struct %s, %s): rtaio %zu, glibc %zu",
		      m->type, m->name, m->offset, offset);
	ck_assert_msg(m->size == size, "sizeof(struct %s .%s): rtaio %zu, glibc %zu", m->type,
		      m->name, m->size, size);
}
END_TEST

/* Both sides describe the same members: none of glibc's goes unchecked. */
START_TEST(every_glibc_member_is_compared)
{
	const char *name;
	size_t i, known = 0;
	int k, found;

	for (k = 0; k < N_TYPES; k++) {
		for (i = 0; (name = glibc_abi_member_name(types[k].name, i)); i++, known++) {
			int j;

			for (found = 0, j = 0; j < N_MEMBERS && !found; j++)
				found = !strcmp(members[j].type, types[k].name) &&
					!strcmp(members[j].name, name);
			ck_assert_msg(found, "struct %s member %s is not compared", types[k].name,
				      name);
		}
	}
	ck_assert_uint_eq(known, N_MEMBERS);
}
END_TEST

START_TEST(constant_matches_glibc)
{
	long value;

	ck_assert_msg(glibc_abi_constant(constants[_i].name, &value) == 0,
		      "glibc_abi.c does not know %s", constants[_i].name);
	ck_assert_msg(constants[_i].value == value, "%s: rtaio %ld, glibc %ld",
		      constants[_i].name, constants[_i].value, value);
}
END_TEST

START_TEST(every_glibc_constant_is_compared)
{
	const char *name;
	int i, j, found;

	for (i = 0; (name = glibc_abi_constant_name((size_t)i)); i++) {
		for (found = 0, j = 0; j < N_CONSTANTS && !found; j++)
			found = !strcmp(constants[j].name, name);
		ck_assert_msg(found, "%s is not compared", name);
	}
	ck_assert_int_eq(i, N_CONSTANTS);
}
END_TEST

/*
 * aio_read64 and aio_read are one function on LP64 (as in glibc): the two
 * control blocks must be the same, member for member.
 */
START_TEST(aiocb64_is_aiocb_on_lp64)
{
	int i, j;

	if (sizeof(long) != 8)
		return;
	ck_assert_uint_eq(sizeof(struct aiocb), sizeof(struct aiocb64));
	for (i = 0; i < N_MEMBERS; i++) {
		if (strcmp(members[i].type, "aiocb"))
			continue;
		for (j = 0; j < N_MEMBERS; j++)
			if (!strcmp(members[j].type, "aiocb64") &&
			    !strcmp(members[j].name, members[i].name))
				break;
		ck_assert_int_lt(j, N_MEMBERS);
		ck_assert_uint_eq(members[i].offset, members[j].offset);
		ck_assert_uint_eq(members[i].size, members[j].size);
	}
}
END_TEST

/* The figures of glibc-aio-abi.md, section 1, as documented for x86_64. */
START_TEST(x86_64_layout_is_the_documented_one)
{
#if defined __x86_64__ && !defined __ILP32__
	ck_assert_uint_eq(sizeof(struct aiocb), 168);
	ck_assert_uint_eq(_Alignof(struct aiocb), 8);
	ck_assert_uint_eq(offsetof(struct aiocb, aio_sigevent), 32);
	ck_assert_uint_eq(offsetof(struct aiocb, __next_prio), 96);
	ck_assert_uint_eq(offsetof(struct aiocb, __error_code), 112);
	ck_assert_uint_eq(offsetof(struct aiocb, __return_value), 120);
	ck_assert_uint_eq(offsetof(struct aiocb, aio_offset), 128);
	ck_assert_uint_eq(offsetof(struct aiocb, __glibc_reserved), 136);
	ck_assert_uint_eq(sizeof(struct aioinit), 32);
#endif
}
END_TEST

static Suite *abi_suite(void)
{
	Suite *s = suite_create("aio ABI");
	TCase *l = tcase_create("layout");
	TCase *c = tcase_create("constants");

	tcase_add_loop_test(l, type_size_and_alignment_match_glibc, 0, N_TYPES);
	tcase_add_loop_test(l, member_offset_and_size_match_glibc, 0, N_MEMBERS);
	tcase_add_test(l, every_glibc_member_is_compared);
	tcase_add_test(l, aiocb64_is_aiocb_on_lp64);
	tcase_add_test(l, x86_64_layout_is_the_documented_one);
	suite_add_tcase(s, l);
	tcase_add_loop_test(c, constant_matches_glibc, 0, N_CONSTANTS);
	tcase_add_test(c, every_glibc_constant_is_compared);
	suite_add_tcase(s, c);
	return s;
}

TEST_MAIN(abi_suite)
