/* check_val.c - value trees and their JSON reader. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "testutil.h"
#include "val.h"

START_TEST(test_scalars)
{
	struct mp_val *v;

	v = mp_val_null();
	ck_assert_int_eq(mp_val_type(v), MP_V_NULL);
	ck_assert_int_eq(mp_val_truthy(v), 0);
	ck_assert_ptr_null(mp_val_get_str(v));
	mp_val_free(v);

	v = mp_val_bool(5);
	ck_assert_int_eq(mp_val_type(v), MP_V_BOOL);
	ck_assert_int_eq(mp_val_truthy(v), 1);
	mp_val_free(v);
	v = mp_val_bool(0);
	ck_assert_int_eq(mp_val_truthy(v), 0);
	mp_val_free(v);

	v = mp_val_num(2.5);
	ck_assert_int_eq(mp_val_type(v), MP_V_NUM);
	ck_assert(mp_val_get_num(v) == 2.5);
	ck_assert_ptr_null(mp_val_get_str(v));
	ck_assert_int_eq(mp_val_len(v), 0);
	mp_val_free(v);
	v = mp_val_num(0);
	ck_assert_int_eq(mp_val_truthy(v), 1);
	mp_val_free(v);

	v = mp_val_strn("abcdef", 3);
	ck_assert_int_eq(mp_val_type(v), MP_V_STR);
	ck_assert_str_eq(mp_val_get_str(v), "abc");
	ck_assert(mp_val_get_num(v) == 0);
	ck_assert_int_eq(mp_val_truthy(v), 1);
	mp_val_free(v);
	v = mp_val_str("");
	ck_assert_str_eq(mp_val_get_str(v), "");
	ck_assert_int_eq(mp_val_truthy(v), 0);
	mp_val_free(v);

	ck_assert_int_eq(mp_val_type(NULL), MP_V_NULL);
	ck_assert_int_eq(mp_val_truthy(NULL), 0);
	mp_val_free(NULL);
}
END_TEST

START_TEST(test_list)
{
	struct mp_val *l = mp_val_list(), *s, *x;

	ck_assert_int_eq(mp_val_truthy(l), 0);
	ck_assert_int_eq(mp_val_len(l), 0);
	ck_assert_ptr_null(mp_val_at(l, 0));
	s = mp_val_push(l, mp_val_str("a"));
	ck_assert_str_eq(mp_val_get_str(s), "a");
	mp_val_push(l, mp_val_num(1));
	mp_val_push(l, mp_val_list());
	ck_assert_int_eq(mp_val_truthy(l), 1);
	ck_assert_int_eq(mp_val_len(l), 3);
	ck_assert_ptr_eq(mp_val_at(l, 0), s);
	ck_assert(mp_val_get_num(mp_val_at(l, 1)) == 1);
	ck_assert_int_eq(mp_val_type(mp_val_at(l, 2)), MP_V_LIST);
	ck_assert_ptr_null(mp_val_at(l, 3));
	ck_assert_ptr_null(mp_val_get(l, "a"));
	ck_assert_ptr_null(mp_val_key_at(l, 0));

	/* Pushing onto a non-list frees the value and returns NULL. */
	x = mp_val_str("x");
	ck_assert_ptr_null(mp_val_push(x, mp_val_str("leak?")));
	mp_val_free(x);
	ck_assert_ptr_null(mp_val_push(NULL, mp_val_num(1)));
	mp_val_free(l);
}
END_TEST

START_TEST(test_map)
{
	struct mp_val *m = mp_val_map(), *sub;
	char key[16];
	int i;

	ck_assert_int_eq(mp_val_truthy(m), 1);
	mp_val_set_str(m, "b", "one");
	mp_val_set_num(m, "a", 2);
	mp_val_set_bool(m, "c", 1);
	sub = mp_val_set(m, "d", mp_val_map());
	mp_val_set_str(sub, "x", "deep");
	ck_assert_int_eq(mp_val_len(m), 4);
	ck_assert_str_eq(mp_val_key_at(m, 0), "b");
	ck_assert_str_eq(mp_val_key_at(m, 1), "a");
	ck_assert_str_eq(mp_val_key_at(m, 2), "c");
	ck_assert_str_eq(mp_val_key_at(m, 3), "d");
	ck_assert_ptr_null(mp_val_key_at(m, 4));
	ck_assert_str_eq(mp_val_get_str(mp_val_get(m, "b")), "one");
	ck_assert_str_eq(mp_val_get_str(mp_val_get(mp_val_get(m, "d"), "x")),
	                 "deep");
	ck_assert_ptr_eq(mp_val_at(m, 1), mp_val_get(m, "a"));

	/* Replacing keeps the key's place and the size. */
	mp_val_set_str(m, "a", "two");
	ck_assert_int_eq(mp_val_len(m), 4);
	ck_assert_str_eq(mp_val_key_at(m, 1), "a");
	ck_assert_str_eq(mp_val_get_str(mp_val_get(m, "a")), "two");
	mp_val_set_str(m, "b", NULL);
	ck_assert_int_eq(mp_val_type(mp_val_get(m, "b")), MP_V_NULL);
	ck_assert_ptr_null(mp_val_get(m, "zz"));
	ck_assert_ptr_null(mp_val_get(m, NULL));
	/* Setting on a non-map frees the value and returns NULL. */
	sub = mp_val_list();
	ck_assert_ptr_null(mp_val_set(sub, "k", mp_val_str("v")));
	ck_assert_int_eq(mp_val_len(sub), 0);
	mp_val_free(sub);

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		mp_val_set_num(m, key, i);
	}
	ck_assert_int_eq(mp_val_len(m), 104);
	ck_assert_str_eq(mp_val_key_at(m, 103), "k99");
	ck_assert(mp_val_get_num(mp_val_get(m, "k57")) == 57);
	mp_val_free(m);
}
END_TEST

static struct mp_val *
json(const char *s)
{
	struct mp_err e;
	struct mp_val *v = mp_val_from_json(s, strlen(s), &e);

	ck_assert_msg(v != NULL, "%s: %s", s, e.msg);
	return v;
}

START_TEST(test_json)
{
	struct mp_val *v;
	const struct mp_val *l;

	v = json("{\"z\":1,\"a\":[true,null,\"s\\u00e9\",-2.5e1],"
	         "\"m\":{\"k\":{}},\"z2\":9007199254740993}");
	ck_assert_int_eq(mp_val_len(v), 4);
	ck_assert_str_eq(mp_val_key_at(v, 0), "z");
	ck_assert_str_eq(mp_val_key_at(v, 1), "a");
	ck_assert_str_eq(mp_val_key_at(v, 2), "m");
	ck_assert(mp_val_get_num(mp_val_get(v, "z")) == 1);
	l = mp_val_get(v, "a");
	ck_assert_int_eq(mp_val_len(l), 4);
	ck_assert_int_eq(mp_val_type(mp_val_at(l, 0)), MP_V_BOOL);
	ck_assert_int_eq(mp_val_truthy(mp_val_at(l, 0)), 1);
	ck_assert_int_eq(mp_val_type(mp_val_at(l, 1)), MP_V_NULL);
	ck_assert_str_eq(mp_val_get_str(mp_val_at(l, 2)), "s\xc3\xa9");
	ck_assert(mp_val_get_num(mp_val_at(l, 3)) == -25);
	ck_assert_int_eq(mp_val_type(mp_val_get(mp_val_get(v, "m"), "k")),
	                 MP_V_MAP);
	ck_assert(mp_val_get_num(mp_val_get(v, "z2")) == 9007199254740992.0);
	mp_val_free(v);

	/* Duplicate keys: the last one wins. */
	v = json("{\"a\":1,\"a\":2}");
	ck_assert_int_eq(mp_val_len(v), 1);
	ck_assert(mp_val_get_num(mp_val_get(v, "a")) == 2);
	mp_val_free(v);

	/* Top-level scalars, with surrounding white space. */
	v = json(" 42 ");
	ck_assert(mp_val_get_num(v) == 42);
	mp_val_free(v);
	v = json("7");
	ck_assert(mp_val_get_num(v) == 7);
	mp_val_free(v);
	v = json("null");
	ck_assert_int_eq(mp_val_type(v), MP_V_NULL);
	mp_val_free(v);
	v = json("\"x\"\n");
	ck_assert_str_eq(mp_val_get_str(v), "x");
	mp_val_free(v);
}
END_TEST

static void
assert_json_error(const char *s, const char *msg)
{
	struct mp_err e;
	struct mp_val *v;

	mp_err_clear(&e);
	v = mp_val_from_json(s, strlen(s), &e);
	ck_assert_msg(v == NULL, "accepted %s", s);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_str_eq(e.msg, msg);
}

START_TEST(test_json_errors)
{
	assert_json_error("[1,2", "JSON: unexpected end of data at offset 4");
	assert_json_error("", "JSON: unexpected end of data at offset 0");
	assert_json_error("{\"a\":1,}",
	                  "JSON: unexpected character at offset 7");
	assert_json_error("[1] x",
	                  "JSON: unexpected data after the value at offset 4");
	assert_json_error(
	    "{\"a\" 1}",
	    "JSON: object property name separator ':' expected at offset 5");
	assert_json_error("tru", "JSON: unexpected end of data at offset 3");
	/* Only len bytes count, even when more follow in memory. */
	{
		struct mp_err e;

		ck_assert_ptr_null(mp_val_from_json("[1]", 2, &e));
		ck_assert_str_eq(e.msg,
		                 "JSON: unexpected end of data at offset 2");
	}
	ck_assert_ptr_null(mp_val_from_json("[", 1, NULL));
}
END_TEST

START_TEST(test_getn_strn)
{
	struct mp_val *m = mp_val_map();
	const char *s;
	size_t len = 99;

	mp_val_set_str(m, "name", "Ana");
	mp_val_set_str(m, "na", "short");
	mp_val_set_str(m, "", "empty key");
	mp_val_set(m, "s", mp_val_strn("a\0b", 3));
	ck_assert_str_eq(mp_val_get_str(mp_val_getn(m, "name.x", 4)), "Ana");
	ck_assert_str_eq(mp_val_get_str(mp_val_getn(m, "name", 2)), "short");
	ck_assert_ptr_null(mp_val_getn(m, "nam", 3));
	ck_assert_ptr_null(mp_val_getn(m, "names", 5));
	ck_assert_str_eq(mp_val_get_str(mp_val_getn(m, ".x", 0)), "empty key");
	ck_assert_ptr_null(mp_val_getn(NULL, "x", 1));
	ck_assert_ptr_null(mp_val_getn(mp_val_getn(m, "name", 4), "x", 1));
	s = mp_val_get_strn(mp_val_get(m, "s"), &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(s, "a\0b", 3), 0);
	ck_assert_ptr_null(mp_val_get_strn(m, &len));
	ck_assert_uint_eq(len, 0);
	mp_val_free(m);
}
END_TEST

static Suite *
val_suite(void)
{
	Suite *s = suite_create("val");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_json_errors);
	tcase_add_test(tc, test_getn_strn);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(val_suite());
}
