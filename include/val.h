/*
 * val.h - a small tree of values (null, bool, number, string, list, map)
 * that templates render from. Built by the digest/reminder code, or read
 * from JSON for `magpie render --data`. A container owns what is put in it.
 */
#ifndef MP_VAL_H
#define MP_VAL_H

#include <stddef.h>

struct mp_err;

enum mp_val_type {
	MP_V_NULL = 0, MP_V_BOOL, MP_V_NUM, MP_V_STR, MP_V_LIST, MP_V_MAP
};

struct mp_val;

struct mp_val *mp_val_null(void);
struct mp_val *mp_val_bool(int b);
struct mp_val *mp_val_num(double d);
struct mp_val *mp_val_str(const char *s);          /* copies s */
struct mp_val *mp_val_strn(const char *s, size_t n);
struct mp_val *mp_val_list(void);
struct mp_val *mp_val_map(void);

/* Take ownership of v. Returns v (or the map value) for chaining; a NULL
 * v stores null. On a container of the wrong type v is freed and NULL
 * returned. */
struct mp_val *mp_val_push(struct mp_val *list, struct mp_val *v);
/* Replaces an existing key. */
struct mp_val *mp_val_set(struct mp_val *map, const char *key,
    struct mp_val *v);
/* Shorthands: mp_val_set(map, key, mp_val_str(s)) etc. */
void mp_val_set_str(struct mp_val *map, const char *key, const char *s);
void mp_val_set_num(struct mp_val *map, const char *key, double d);
void mp_val_set_bool(struct mp_val *map, const char *key, int b);

enum mp_val_type mp_val_type(const struct mp_val *v);
/* Mustache falsiness: NULL, null, false, "" and the empty list are falsy;
 * every number (0 too) and every map (even empty) is truthy. */
int mp_val_truthy(const struct mp_val *v);
const char *mp_val_get_str(const struct mp_val *v);  /* NULL unless STR */
double mp_val_get_num(const struct mp_val *v);       /* 0 unless NUM */
size_t mp_val_len(const struct mp_val *v);           /* list/map size */
const struct mp_val *mp_val_at(const struct mp_val *list, size_t i);
const struct mp_val *mp_val_get(const struct mp_val *map, const char *key);
/* The same for a key given by length (need not be NUL terminated), and a
 * string with its length (NULL unless STR): the template engine's hot
 * path. */
const struct mp_val *mp_val_getn(const struct mp_val *map, const char *key,
    size_t klen);
const char *mp_val_get_strn(const struct mp_val *v, size_t *len);
/* i-th entry of a map in insertion order. */
const char *mp_val_key_at(const struct mp_val *map, size_t i);

void mp_val_free(struct mp_val *v);

/* Parse JSON text (RFC 8259, via json-c) into a value tree; numbers
 * become doubles. NULL with MP_EX_DATAERR and json-c's message plus the
 * byte offset ("JSON: unexpected end of data at offset 4") on bad input.
 * The caller frees the result with mp_val_free. */
struct mp_val *mp_val_from_json(const char *text, size_t len,
    struct mp_err *e);

#endif
