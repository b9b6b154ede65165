/*
 * The pool of request records: it grows by slabs of SLAB records and never
 * shrinks, so that a request costs no malloc once the pool is warm.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLAB 256

struct slab {
	struct slab *next;
	struct aio__request r[SLAB];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct aio__request *free_list;	/* linked through fd_next */
static struct slab *slabs;
static size_t in_use;

struct aio__request *aio__request_get(void)
{
	struct aio__request *r;

	pthread_mutex_lock(&lock);
	if (!free_list) {
		struct slab *slab = calloc(1, sizeof *slab);
		int i;

		if (!slab) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		slab->next = slabs;
		slabs = slab;
		for (i = 0; i < SLAB; i++) {
			slab->r[i].fd_next = free_list;
			free_list = &slab->r[i];
		}
	}
	r = free_list;
	free_list = r->fd_next;
	in_use++;
	pthread_mutex_unlock(&lock);
	memset(r, 0, sizeof *r);
	r->refs = 1;
	return r;
}

void aio__request_ref(struct aio__request *r)
{
	__atomic_fetch_add(&r->refs, 1, __ATOMIC_RELAXED);
}

void aio__request_put(struct aio__request *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&lock);
	r->fd_next = free_list;
	free_list = r;
	in_use--;
	pthread_mutex_unlock(&lock);
}

/*
 * The child of a fork owns none of the parent's requests: every record of
 * its copy of the slabs is free.
 */
void aio__request_fork_child(void)
{
	struct slab *s;
	int i;

	pthread_mutex_init(&lock, NULL);
	free_list = NULL;
	for (s = slabs; s; s = s->next)
		for (i = 0; i < SLAB; i++) {
			s->r[i].fd_next = free_list;
			free_list = &s->r[i];
		}
	in_use = 0;
}

/*
 * Unloading the library: give the slabs back, unless a request is still
 * pending (a program exiting with I/O in flight): a worker coming back from
 * its system call must still find the record.
 */
void aio__request_unload(void)
{
	pthread_mutex_lock(&lock);
	while (slabs && !in_use) {
		struct slab *s = slabs;

		slabs = s->next;
		free(s);
		free_list = NULL;
	}
	pthread_mutex_unlock(&lock);
}
