/*
 * glibc's <aio.h> ABI, measured by the compiler: built WITHOUT rtaio's
 * include directory (see Makefile.am), so <aio.h> here is the system's.
 * test_aio_abi.c, built with rtaio's <aio.h>, asks these functions about
 * every type, member and constant by name and compares the answers with
 * its own.  Only names cross between the two objects: no aio type does.
 */
#include <aio.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

/*
 * Proof that this is glibc's header: on 64-bit targets it declares a
 * zero-length __pad member after aio_offset that rtaio's header omits.
 */
#if !defined __GLIBC__ || !defined __USE_GNU || defined __USE_FILE_OFFSET64
#error "tests/glibc_abi.c wants glibc's <aio.h> with _GNU_SOURCE and plain off_t"
#endif
_Static_assert(sizeof(((struct aiocb *)0)->__pad) == sizeof(__off64_t) - sizeof(__off_t),
	       "<aio.h> is not glibc's");

struct glibc_abi_member {
	const char *type, *name;
	size_t offset, size;
};

#define MEMBER(type, m) { #type, #m, offsetof(struct type, m), sizeof(((struct type *)0)->m) }
/* Every member of the two control blocks, internal ones and sigevent's parts included. */
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

static const struct glibc_abi_member members[] = {
	AIOCB_MEMBERS(aiocb),
	AIOCB_MEMBERS(aiocb64),
	MEMBER(aioinit, aio_threads), MEMBER(aioinit, aio_num), MEMBER(aioinit, aio_locks),
	MEMBER(aioinit, aio_usedba), MEMBER(aioinit, aio_debug),
	MEMBER(aioinit, aio_numusers), MEMBER(aioinit, aio_idle_time),
	MEMBER(aioinit, aio_reserved),
};

static const struct {
	const char *name;
	size_t size, align;
} types[] = {
	{ "aiocb", sizeof(struct aiocb), _Alignof(struct aiocb) },
	{ "aiocb64", sizeof(struct aiocb64), _Alignof(struct aiocb64) },
	{ "aioinit", sizeof(struct aioinit), _Alignof(struct aioinit) },
};

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

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int glibc_abi_type(const char *type, size_t *size, size_t *align);
int glibc_abi_member(const char *type, const char *name, size_t *offset, size_t *size);
const char *glibc_abi_member_name(const char *type, size_t i);
int glibc_abi_constant(const char *name, long *value);
const char *glibc_abi_constant_name(size_t i);

/* struct `type`'s size and alignment: 0, or -1 if glibc has no such type here. */
int glibc_abi_type(const char *type, size_t *size, size_t *align)
{
	size_t i;

	for (i = 0; i < COUNT(types); i++) {
		if (!strcmp(types[i].name, type)) {
			*size = types[i].size;
			*align = types[i].align;
			return 0;
		}
	}
	return -1;
}

/* Member `name` (may be a path: "aio_sigevent.sigev_signo") of struct `type`. */
int glibc_abi_member(const char *type, const char *name, size_t *offset, size_t *size)
{
	size_t i;

	for (i = 0; i < COUNT(members); i++) {
		if (!strcmp(members[i].type, type) && !strcmp(members[i].name, name)) {
			*offset = members[i].offset;
			*size = members[i].size;
			return 0;
		}
	}
	return -1;
}

/* The i-th member of struct `type` that this file knows, or NULL past the last. */
const char *glibc_abi_member_name(const char *type, size_t i)
{
	size_t k;

	for (k = 0; k < COUNT(members); k++)
		if (!strcmp(members[k].type, type) && i-- == 0)
			return members[k].name;
	return NULL;
}

int glibc_abi_constant(const char *name, long *value)
{
	size_t i;

	for (i = 0; i < COUNT(constants); i++) {
		if (!strcmp(constants[i].name, name)) {
			*value = constants[i].value;
			return 0;
		}
	}
	return -1;
}

const char *glibc_abi_constant_name(size_t i)
{
	return i < COUNT(constants) ? constants[i].name : NULL;
}
