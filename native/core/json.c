#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Decodes a JSON string starting after the opening quote into *out (which
 * has room for at least the raw length). \uXXXX above 0x7f is encoded as
 * UTF-8; surrogate pairs are not needed by the protocol and are refused. */
static const char *parse_string(const char *p, const char *end, char **out, const char **err)
{
	char *w = *out;
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p++;
		if (c < 0x20) {
			*err = "control character in string";
			return NULL;
		}
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		if (p >= end) {
			*err = "truncated escape";
			return NULL;
		}
		c = (unsigned char)*p++;
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned v = 0;
			if (end - p < 4) {
				*err = "truncated \\u escape";
				return NULL;
			}
			for (int i = 0; i < 4; i++) {
				char h = *p++;
				v <<= 4;
				if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
				else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
				else {
					*err = "bad \\u escape";
					return NULL;
				}
			}
			if (v >= 0xd800 && v <= 0xdfff) {
				*err = "surrogate escapes are not supported";
				return NULL;
			}
			/* A NUL would cut the C string short, so that the op saw
			 * less than the host sent (a name, a path). */
			if (v == 0) {
				*err = "\\u0000 in a string";
				return NULL;
			}
			if (v < 0x80) {
				*w++ = (char)v;
			} else if (v < 0x800) {
				*w++ = (char)(0xc0 | (v >> 6));
				*w++ = (char)(0x80 | (v & 0x3f));
			} else {
				*w++ = (char)(0xe0 | (v >> 12));
				*w++ = (char)(0x80 | ((v >> 6) & 0x3f));
				*w++ = (char)(0x80 | (v & 0x3f));
			}
			break;
		}
		default:
			*err = "bad escape";
			return NULL;
		}
	}
	if (p >= end) {
		*err = "unterminated string";
		return NULL;
	}
	*w++ = '\0';
	*out = w;
	return p + 1;
}

int json_parse_flat(const char *text, size_t len, struct json_object *out, const char **err)
{
	const char *p = text, *end = text + len;
	char *w;

	memset(out, 0, sizeof(*out));
	/* Every decoded key and value is no longer than its source text. */
	out->storage = malloc(len * 2 + 2);
	if (!out->storage) {
		*err = "out of memory";
		return -1;
	}
	w = out->storage;
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{') {
		*err = "request is not a JSON object";
		goto fail;
	}
	p = skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
		goto done;
	}
	for (;;) {
		struct json_field *f;
		p = skip_ws(p, end);
		if (p >= end || *p++ != '"') {
			*err = "expected a key";
			goto fail;
		}
		if (out->count >= JSON_MAX_FIELDS) {
			*err = "too many fields";
			goto fail;
		}
		f = &out->fields[out->count++];
		f->key = w;
		p = parse_string(p, end, &w, err);
		if (!p)
			goto fail;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':') {
			*err = "expected ':'";
			goto fail;
		}
		p = skip_ws(p, end);
		if (p >= end) {
			*err = "expected a value";
			goto fail;
		}
		if (*p == '"') {
			f->kind = JSON_STRING;
			f->value = w;
			p = parse_string(p + 1, end, &w, err);
			if (!p)
				goto fail;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			const char *s = p;
			while (p < end && (*p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E' ||
					   (*p >= '0' && *p <= '9')))
				p++;
			f->kind = JSON_NUMBER;
			f->value = w;
			memcpy(w, s, (size_t)(p - s));
			w += p - s;
			*w++ = '\0';
		} else if (end - p >= 4 && !memcmp(p, "true", 4)) {
			f->kind = JSON_TRUE;
			p += 4;
		} else if (end - p >= 5 && !memcmp(p, "false", 5)) {
			f->kind = JSON_FALSE;
			p += 5;
		} else if (end - p >= 4 && !memcmp(p, "null", 4)) {
			f->kind = JSON_NULL;
			p += 4;
		} else {
			*err = "unsupported value (the protocol takes flat objects only)";
			goto fail;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}') {
			p++;
			break;
		}
		*err = "expected ',' or '}'";
		goto fail;
	}
done:
	p = skip_ws(p, end);
	if (p != end) {
		*err = "trailing characters after the object";
		goto fail;
	}
	return 0;
fail:
	json_object_free(out);
	return -1;
}

void json_object_free(struct json_object *obj)
{
	free(obj->storage);
	obj->storage = NULL;
	obj->count = 0;
}

const struct json_field *json_get(const struct json_object *obj, const char *key)
{
	for (int i = 0; i < obj->count; i++)
		if (!strcmp(obj->fields[i].key, key))
			return &obj->fields[i];
	return NULL;
}

static bool jb_reserve(struct jbuf *b, size_t extra)
{
	size_t cap = b->cap;
	char *data;

	if (b->failed)
		return false;
	if (b->len + extra + 1 <= cap)
		return true;
	if (extra > SIZE_MAX / 2 - b->len - 1)
		goto fail;
	while (b->len + extra + 1 > cap)
		cap = cap ? cap * 2 : 256;
	data = realloc(b->data, cap);
	if (!data)
		goto fail;
	b->data = data;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

void jb_init(struct jbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->first = true;
	if (jb_reserve(b, 0))
		b->data[0] = '\0';
}

void jb_raw(struct jbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (!jb_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

void jb_str_value(struct jbuf *b, const char *s, size_t n)
{
	if (n > SIZE_MAX / 6 - 2 || !jb_reserve(b, n * 6 + 2))
		return;
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			b->data[b->len++] = '\\';
			b->data[b->len++] = (char)c;
		} else if (c == '\n') {
			b->data[b->len++] = '\\';
			b->data[b->len++] = 'n';
		} else if (c == '\t') {
			b->data[b->len++] = '\\';
			b->data[b->len++] = 't';
		} else if (c < 0x20 || c == 0x7f || c >= 0x80) {
			/* Non-ASCII bytes from the target (fdinfo names, logs) are
			 * escaped byte by byte so the line is always valid JSON. */
			static const char hex[] = "0123456789abcdef";
			memcpy(b->data + b->len, "\\u00", 4);
			b->data[b->len + 4] = hex[c >> 4];
			b->data[b->len + 5] = hex[c & 15];
			b->len += 6;
		} else {
			b->data[b->len++] = (char)c;
		}
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

void jb_key(struct jbuf *b, const char *key)
{
	if (!b->first)
		jb_raw(b, ",");
	b->first = false;
	jb_str_value(b, key, strlen(key));
	jb_raw(b, ":");
}

void jb_strn(struct jbuf *b, const char *key, const char *value, size_t n)
{
	jb_key(b, key);
	jb_str_value(b, value, n);
}

void jb_str(struct jbuf *b, const char *key, const char *value)
{
	jb_strn(b, key, value, strlen(value));
}

/* 64-bit values above 2^53 are sent as decimal strings: JavaScript numbers
 * would round them, and lengths like 2^64-1 matter to the suites. */
void jb_u64(struct jbuf *b, const char *key, uint64_t v)
{
	char tmp[32];
	jb_key(b, key);
	if (v > (1ULL << 53))
		snprintf(tmp, sizeof(tmp), "\"%llu\"", (unsigned long long)v);
	else
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	jb_raw(b, tmp);
}

void jb_i64(struct jbuf *b, const char *key, int64_t v)
{
	char tmp[32];
	jb_key(b, key);
	snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	jb_raw(b, tmp);
}

void jb_bool(struct jbuf *b, const char *key, bool v)
{
	jb_key(b, key);
	jb_raw(b, v ? "true" : "false");
}

void jb_null(struct jbuf *b, const char *key)
{
	jb_key(b, key);
	jb_raw(b, "null");
}

/* The finished text, the caller's to free; NULL when a write failed. */
char *jb_take(struct jbuf *b)
{
	char *d = b->data;
	if (b->failed) {
		free(d);
		d = NULL;
	}
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}
