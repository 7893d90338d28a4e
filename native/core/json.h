/* Minimal JSON for the agent protocol: a request is one flat object whose
 * values are strings, numbers, booleans or null; a response is built with a
 * small string builder. Nested values are rejected on purpose: the protocol
 * never needs them on the request side, and a tiny parser is easy to trust. */
#ifndef DMAHEAP_JSON_H
#define DMAHEAP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_FIELDS 32

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

struct json_field {
	char *key;
	char *value; /* decoded string, or the number's text */
	enum json_kind kind;
};

struct json_object {
	struct json_field fields[JSON_MAX_FIELDS];
	int count;
	char *storage;
};

/* Parses one flat object; returns 0, or -1 with a message in *err. */
int json_parse_flat(const char *text, size_t len, struct json_object *out, const char **err);
void json_object_free(struct json_object *obj);
const struct json_field *json_get(const struct json_object *obj, const char *key);

/* A response under construction. When memory runs out the buffer keeps what
 * it had and drops every later write (failed is set): the caller answers
 * ENOMEM instead of a truncated object, and the agent lives on. */
struct jbuf {
	char *data;
	size_t len, cap;
	bool first;  /* no comma before the next member */
	bool failed; /* a write did not fit in memory */
};

/* jb_init leaves failed set (and data NULL) when even the first block
 * cannot be had. */
void jb_init(struct jbuf *b);
void jb_raw(struct jbuf *b, const char *s);
void jb_str_value(struct jbuf *b, const char *s, size_t n);
void jb_key(struct jbuf *b, const char *key);
void jb_str(struct jbuf *b, const char *key, const char *value);
void jb_strn(struct jbuf *b, const char *key, const char *value, size_t n);
void jb_u64(struct jbuf *b, const char *key, uint64_t v);
void jb_i64(struct jbuf *b, const char *key, int64_t v);
void jb_bool(struct jbuf *b, const char *key, bool v);
void jb_null(struct jbuf *b, const char *key);
char *jb_take(struct jbuf *b);

#endif
