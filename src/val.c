/* val.c - value trees for templates, and their JSON reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "val.h"

struct mp_val {
	enum mp_val_type type;
	int b;
	double num;
	char *str; /* owned, STR only */
	size_t slen;
	struct mp_val **items; /* owned, LIST and MAP values */
	char **keys;           /* owned, MAP only */
	size_t n, cap;
};

static struct mp_val *
new_val(enum mp_val_type t)
{
	struct mp_val *v = mp_xcalloc(1, sizeof(*v));

	v->type = t;
	return v;
}

struct mp_val *
mp_val_null(void)
{
	return new_val(MP_V_NULL);
}

struct mp_val *
mp_val_bool(int b)
{
	struct mp_val *v = new_val(MP_V_BOOL);

	v->b = b != 0;
	return v;
}

struct mp_val *
mp_val_num(double d)
{
	struct mp_val *v = new_val(MP_V_NUM);

	v->num = d;
	return v;
}

struct mp_val *
mp_val_strn(const char *s, size_t n)
{
	struct mp_val *v = new_val(MP_V_STR);

	v->str = mp_xstrndup(s != NULL ? s : "", s != NULL ? n : 0);
	v->slen = s != NULL ? n : 0;
	return v;
}

struct mp_val *
mp_val_str(const char *s)
{
	return mp_val_strn(s, s != NULL ? strlen(s) : 0);
}

struct mp_val *
mp_val_list(void)
{
	return new_val(MP_V_LIST);
}

struct mp_val *
mp_val_map(void)
{
	return new_val(MP_V_MAP);
}

static void
grow(struct mp_val *c)
{
	if (c->n < c->cap)
		return;
	c->cap = c->cap ? c->cap * 2 : 4;
	c->items = mp_xrealloc(c->items, c->cap * sizeof(*c->items));
	if (c->type == MP_V_MAP)
		c->keys = mp_xrealloc(c->keys, c->cap * sizeof(*c->keys));
}

struct mp_val *
mp_val_push(struct mp_val *list, struct mp_val *v)
{
	if (v == NULL)
		v = mp_val_null();
	if (list == NULL || list->type != MP_V_LIST) {
		mp_val_free(v);
		return NULL;
	}
	grow(list);
	list->items[list->n++] = v;
	return v;
}

static size_t
find_key(const struct mp_val *map, const char *key)
{
	size_t i;

	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return i;
	return SIZE_MAX;
}

struct mp_val *
mp_val_set(struct mp_val *map, const char *key, struct mp_val *v)
{
	size_t i;

	if (v == NULL)
		v = mp_val_null();
	if (map == NULL || map->type != MP_V_MAP || key == NULL) {
		mp_val_free(v);
		return NULL;
	}
	i = find_key(map, key);
	if (i != SIZE_MAX) {
		mp_val_free(map->items[i]);
		map->items[i] = v;
		return v;
	}
	grow(map);
	map->keys[map->n] = mp_xstrdup(key);
	map->items[map->n++] = v;
	return v;
}

void
mp_val_set_str(struct mp_val *map, const char *key, const char *s)
{
	mp_val_set(map, key, s != NULL ? mp_val_str(s) : mp_val_null());
}

void
mp_val_set_num(struct mp_val *map, const char *key, double d)
{
	mp_val_set(map, key, mp_val_num(d));
}

void
mp_val_set_bool(struct mp_val *map, const char *key, int b)
{
	mp_val_set(map, key, mp_val_bool(b));
}

enum mp_val_type
mp_val_type(const struct mp_val *v)
{
	return v != NULL ? v->type : MP_V_NULL;
}

int
mp_val_truthy(const struct mp_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case MP_V_NULL:
		return 0;
	case MP_V_BOOL:
		return v->b;
	case MP_V_STR:
		return v->slen > 0;
	case MP_V_LIST:
		return v->n > 0;
	case MP_V_NUM:
	case MP_V_MAP:
		break;
	}
	return 1;
}

const char *
mp_val_get_str(const struct mp_val *v)
{
	return v != NULL && v->type == MP_V_STR ? v->str : NULL;
}

double
mp_val_get_num(const struct mp_val *v)
{
	return v != NULL && v->type == MP_V_NUM ? v->num : 0;
}

size_t
mp_val_len(const struct mp_val *v)
{
	if (v == NULL || (v->type != MP_V_LIST && v->type != MP_V_MAP))
		return 0;
	return v->n;
}

const struct mp_val *
mp_val_at(const struct mp_val *list, size_t i)
{
	if (list == NULL ||
	    (list->type != MP_V_LIST && list->type != MP_V_MAP) || i >= list->n)
		return NULL;
	return list->items[i];
}

const struct mp_val *
mp_val_get(const struct mp_val *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != MP_V_MAP || key == NULL)
		return NULL;
	i = find_key(map, key);
	return i != SIZE_MAX ? map->items[i] : NULL;
}

const struct mp_val *
mp_val_getn(const struct mp_val *map, const char *key, size_t klen)
{
	size_t i;

	if (map == NULL || map->type != MP_V_MAP || key == NULL)
		return NULL;
	for (i = 0; i < map->n; i++)
		if ((klen == 0 || map->keys[i][0] == key[0]) &&
		    strncmp(map->keys[i], key, klen) == 0 &&
		    map->keys[i][klen] == '\0')
			return map->items[i];
	return NULL;
}

const char *
mp_val_get_strn(const struct mp_val *v, size_t *len)
{
	if (v == NULL || v->type != MP_V_STR) {
		*len = 0;
		return NULL;
	}
	*len = v->slen;
	return v->str;
}

const char *
mp_val_key_at(const struct mp_val *map, size_t i)
{
	if (map == NULL || map->type != MP_V_MAP || i >= map->n)
		return NULL;
	return map->keys[i];
}

void
mp_val_free(struct mp_val *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		mp_val_free(v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static struct mp_val *
from_json(struct json_object *j)
{
	struct json_object_iterator it, last;
	struct mp_val *v;
	size_t i, n;

	switch (json_object_get_type(j)) {
	case json_type_null:
		return mp_val_null();
	case json_type_boolean:
		return mp_val_bool(json_object_get_boolean(j));
	case json_type_int:
		/* json-c keeps integers as int64 (or uint64 above
		 * INT64_MAX); a double holds them exactly up to 2^53. */
		if (json_object_get_int64(j) == INT64_MAX)
			return mp_val_num(json_object_get_double(j));
		return mp_val_num((double)json_object_get_int64(j));
	case json_type_double:
		return mp_val_num(json_object_get_double(j));
	case json_type_string:
		return mp_val_strn(json_object_get_string(j),
		                   (size_t)json_object_get_string_len(j));
	case json_type_array:
		v = mp_val_list();
		n = json_object_array_length(j);
		for (i = 0; i < n; i++)
			mp_val_push(v,
			            from_json(json_object_array_get_idx(j, i)));
		return v;
	case json_type_object:
		v = mp_val_map();
		it = json_object_iter_begin(j);
		last = json_object_iter_end(j);
		while (!json_object_iter_equal(&it, &last)) {
			mp_val_set(v, json_object_iter_peek_name(&it),
			           from_json(json_object_iter_peek_value(&it)));
			json_object_iter_next(&it);
		}
		return v;
	}
	return mp_val_null();
}

struct mp_val *
mp_val_from_json(const char *text, size_t len, struct mp_err *e)
{
	struct json_tokener *tok;
	struct json_object *j;
	enum json_tokener_error jerr;
	struct mp_val *v;
	size_t end;

	if (len > INT32_MAX) {
		mp_err_set(e, MP_EX_DATAERR, "JSON: input too large");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		mp_err_set(e, MP_EX_OSERR, "JSON: out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	                                JSON_TOKENER_ALLOW_TRAILING_CHARS);
	j = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A number at the very end is only complete once the tokener
		 * sees a terminator: hand it the NUL. */
		j = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (jerr != json_tokener_success) {
		mp_err_set(e, MP_EX_DATAERR, "JSON: %s at offset %zu",
		           json_tokener_error_desc(jerr), end);
		json_object_put(j);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", text[end]) != NULL &&
	       text[end] != '\0')
		end++;
	if (end < len) {
		json_object_put(j);
		mp_err_set(
		    e, MP_EX_DATAERR,
		    "JSON: unexpected data after the value at offset %zu", end);
		return NULL;
	}
	/* JSON null is a NULL json_object. */
	v = from_json(j);
	json_object_put(j);
	return v;
}
