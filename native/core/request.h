/* What every op shares: the request being answered, the field readers, and
 * the tables of open heaps and mappings that requests refer to by handle.
 * All of it is used under the dispatch lock (dispatch.c). */
#ifndef DMAHEAP_REQUEST_H
#define DMAHEAP_REQUEST_H

#include "flags.h"
#include "json.h"
#include "pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_HEAPS 64
#define MAX_MAPS 256

struct heap_slot {
	bool used;
	bool reference;
	unsigned faults; /* reference heap fault profile */
	int fd;          /* the /dev/dma_heap node; -1 for the reference heap */
};

struct map_slot {
	bool used;
	bool model;      /* a reference model buffer's mapping */
	uint8_t *addr;
	size_t len;
	/* The PROT_NONE page right after the mapping as it was made. Only it
	 * and the mapping are unmapped on release, never the whole range first
	 * reserved: what mremap shrank off or moved away from is no longer
	 * ours, and may be someone else's mapping by then. */
	uint8_t *guard;
};

extern struct heap_slot heaps[MAX_HEAPS];
extern struct map_slot maps[MAX_MAPS];

struct request {
	const struct json_object *obj;
	struct jbuf *out;
	const char *error; /* set by a failed field read; answered as a bad request */
	int err;           /* errno of the failed syscall, 0 on success */
	int fault_sig;     /* a touch of a mapping faulted (fault_guard.h): the signal */
	char fault[256];   /* and where it struck, answered as `fault` */
};

uint64_t now_ns(void);

/* An errno's name for a reply field, "none" for 0. */
const char *errno_or_none(int e);

/* Field readers: on a missing or malformed field they record an error and
 * return a zero value; an op checks r->error before acting. */
void bad_field(struct request *r, const char *key, const char *why);
uint64_t get_u64_opt(struct request *r, const char *key, uint64_t dflt);
uint64_t get_u64(struct request *r, const char *key);
int64_t get_i64(struct request *r, const char *key);
const char *get_str_opt(struct request *r, const char *key, const char *dflt);
const char *get_str(struct request *r, const char *key);
bool get_bool_opt(struct request *r, const char *key, bool dflt);
uint64_t get_flags(struct request *r, const char *key, const struct flag_name *table, uint64_t dflt);
int get_fd(struct request *r, const char *key);
struct heap_slot *get_heap(struct request *r);
struct map_slot *get_map(struct request *r);
bool get_range(struct request *r, const struct map_slot *m, uint64_t *off, uint64_t *len);
bool get_pattern(struct request *r, struct pattern *p);

/* Unmaps a mapping and its guard page and frees the slot; 0 or errno. */
int map_slot_release(struct map_slot *m);

/* A free slot in heaps[] or maps[]; -1 (with a bad-request error) when full. */
int free_heap_slot(struct request *r);
int free_map_slot(struct request *r);

/* Forks a child that reports to the parent through a pipe: returns the pid
 * with pipefd[0] open in the parent and pipefd[1] open in the child, or -1
 * with r->err set. */
int fork_reporting(struct request *r, int pipefd[2]);

/* waitpid for a child, through EINTR: 0 with *status, or the errno (then
 * *status is 0, which reads as "exited 0": callers that need to tell check
 * the return). */
int wait_child(int pid, int *status);

/* Answers `text` under `key` (ENOMEM when it ran out of memory) and frees it. */
void answer_text(struct request *r, const char *key, struct jbuf *text);

/* Reads a whole (small) text file into the response under `key`; 0 or errno. */
int read_text_file(const char *path, struct jbuf *out, const char *key);

/* Writes `text` to a /proc, /sys or tracefs control file (truncating); 0 or errno. */
int write_text_file(const char *path, const char *text);

/* Appends the messages readable on an O_NONBLOCK /dev/kmsg fd, one per
 * line, only those containing `match` when it is not NULL. */
void kmsg_read_messages(int fd, struct jbuf *text, const char *match);

typedef void (*op_fn)(struct request *);

#endif
