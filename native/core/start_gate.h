/* Threads that start their measured work together, or not at all. A
 * pthread barrier counts on every thread being created: when one cannot be
 * (EAGAIN under RLIMIT_NPROC, no memory for a stack), the threads already
 * waiting could never be released. The gate is opened or cancelled by the
 * creator once it knows, and every waiting thread learns which. */
#ifndef DMAHEAP_START_GATE_H
#define DMAHEAP_START_GATE_H

#include <pthread.h>
#include <stdbool.h>

struct start_gate {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool decided, go;
};

static inline void start_gate_init(struct start_gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->changed, NULL);
	g->decided = g->go = false;
}

/* Called by the creator: go (every thread was created) or cancel. */
static inline void start_gate_open(struct start_gate *g, bool go)
{
	pthread_mutex_lock(&g->lock);
	g->decided = true;
	g->go = go;
	pthread_cond_broadcast(&g->changed);
	pthread_mutex_unlock(&g->lock);
}

/* Called by each thread: true to do its work, false to return at once. */
static inline bool start_gate_wait(struct start_gate *g)
{
	bool go;
	pthread_mutex_lock(&g->lock);
	while (!g->decided)
		pthread_cond_wait(&g->changed, &g->lock);
	go = g->go;
	pthread_mutex_unlock(&g->lock);
	return go;
}

static inline void start_gate_destroy(struct start_gate *g)
{
	pthread_cond_destroy(&g->changed);
	pthread_mutex_destroy(&g->lock);
}

#endif
