/* check_util.c - buffers, errors, diagnostics, logging. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "testutil.h"

START_TEST(test_buf)
{
	struct mp_buf b = MP_BUF_INIT;
	char *s;
	int i;

	ck_assert_str_eq(mp_buf_str(&b), "");
	mp_buf_adds(&b, "abc");
	mp_buf_addc(&b, '-');
	mp_buf_printf(&b, "%d/%s", 42, "x");
	ck_assert_str_eq(mp_buf_str(&b), "abc-42/x");
	ck_assert_uint_eq(b.len, 8);
	mp_buf_reset(&b);
	ck_assert_str_eq(mp_buf_str(&b), "");
	for (i = 0; i < 10000; i++)
		mp_buf_add(&b, "0123456789", 10);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(b.data[b.len], '\0');
	s = mp_buf_detach(&b);
	ck_assert_uint_eq(strlen(s), 100000);
	ck_assert_ptr_null(b.data);
	free(s);
	s = mp_buf_detach(&b);
	ck_assert_str_eq(s, "");
	free(s);
	mp_buf_free(&b);
	mp_buf_free(NULL);
}
END_TEST

/* Reserved room is one allocation: adding within it never moves the
 * data; the buffer stays a string (empty, or what it held). */
START_TEST(test_buf_reserve)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *before;
	int i;

	mp_buf_reserve(&b, 10);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(mp_buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	mp_buf_adds(&b, "abc");
	mp_buf_reserve(&b, 1000);
	ck_assert_str_eq(mp_buf_str(&b), "abc");
	ck_assert_uint_ge(b.cap, 1004);
	before = b.data;
	for (i = 0; i < 100; i++)
		mp_buf_add(&b, "0123456789", 10);
	ck_assert_ptr_eq(b.data, before);
	ck_assert_uint_eq(b.len, 1003);
	ck_assert_int_eq(b.data[b.len], '\0');
	mp_buf_addc(&b, '!');
	ck_assert_uint_eq(b.len, 1004);
	ck_assert_int_eq(b.data[1003], '!');
	mp_buf_reserve(&b, 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	mp_buf_free(&b);
}
END_TEST

/* The inline classes answer what <ctype.h> does in the C locale, for
 * every byte. */
START_TEST(test_ascii)
{
	int c;

	for (c = 0; c < 256; c++) {
		ck_assert_int_eq(mp_is_digit((unsigned char)c), !!isdigit(c));
		ck_assert_int_eq(mp_is_upper((unsigned char)c), !!isupper(c));
		ck_assert_int_eq(mp_is_alpha((unsigned char)c), !!isalpha(c));
		ck_assert_int_eq(mp_is_space((unsigned char)c), !!isspace(c));
	}
}
END_TEST

/* Equal bytes hash equal wherever they are; every byte counts, none
 * past n; one byte changed anywhere in a Message-ID-long string, or a
 * length one shorter, gives another hash. */
START_TEST(test_hash)
{
	const char *id = "CAeuS2Nn69iX8r1D8WZDjhvu_-gzJLS1K9Z_FhTSYx14b5e@mail.gmail"
	    ".example.com";
	size_t n = strlen(id), i, k;
	uint64_t h[80];
	char *c = mp_xstrdup(id);

	ck_assert_uint_eq(mp_hash(id, n), mp_hash(c, n));
	ck_assert_uint_eq(mp_hash("abcdefghX", 8), mp_hash("abcdefghY", 8));
	ck_assert_uint_ne(mp_hash("", 0), mp_hash("\0", 1));
	ck_assert(n + 2 <= 80);
	for (i = 0; i < n; i++) {
		c[i] ^= 1;
		h[i] = mp_hash(c, n);
		c[i] ^= 1;
	}
	h[n] = mp_hash(id, n - 1);
	h[n + 1] = mp_hash(id, n);
	for (i = 0; i <= n + 1; i++)
		for (k = i + 1; k <= n + 1; k++)
			ck_assert_uint_ne(h[i], h[k]);
	free(c);
}
END_TEST

START_TEST(test_json_str)
{
	struct mp_buf b = MP_BUF_INIT;

	mp_buf_json_str(&b, "a\"b\\c\nd\te\x01 é");
	ck_assert_str_eq(mp_buf_str(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001 é\"");
	mp_buf_reset(&b);
	mp_buf_json_str(&b, NULL);
	ck_assert_str_eq(mp_buf_str(&b), "null");
	mp_buf_free(&b);
}
END_TEST

START_TEST(test_read_file)
{
	char *dir = tu_tmpdir(), path[4096], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/f", dir);
	tu_write(path, "hello\n");
	ck_assert_int_eq(mp_read_file(path, 100, &text, &len), 0);
	ck_assert_str_eq(text, "hello\n");
	ck_assert_uint_eq(len, 6);
	free(text);
	ck_assert_int_eq(mp_read_file(path, 5, &text, &len), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_ptr_null(text);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(mp_read_file(path, 5, &text, &len), -1);
	ck_assert_int_eq(errno, ENOENT);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* With the time; a file read to its size, one larger than the bound
 * refused before reading, an empty one read as ""; what is not a
 * regular file (a pipe) read to its end. */
START_TEST(test_read_file_time)
{
	char *dir = tu_tmpdir(), path[4096], *text, big[200000];
	struct timeval tv[2] = { { 1623924001, 0 }, { 1623924001, 0 } };
	int64_t mtime = 0;
	size_t len;
	int fd[2];

	snprintf(path, sizeof(path), "%s/f", dir);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tu_write(path, big);
	ck_assert_int_eq(utimes(path, tv), 0);
	ck_assert_int_eq(mp_read_file_time(path, sizeof(big), &text, &len,
	    &mtime), 0);
	ck_assert_uint_eq(len, sizeof(big) - 1);
	ck_assert_int_eq(memcmp(text, big, len), 0);
	ck_assert_int_eq(text[len], '\0');
	ck_assert_int_eq(mtime, 1623924001);
	free(text);
	ck_assert_int_eq(mp_read_file_time(path, 100, &text, &len, &mtime),
	    -1);
	ck_assert_int_eq(errno, EFBIG);
	tu_write(path, "");
	ck_assert_int_eq(mp_read_file_time(path, 100, &text, &len, NULL), 0);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(len, 0);
	free(text);
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], "piped\n", 6), 6);
	close(fd[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd[0]);
	ck_assert_int_eq(mp_read_file_time(path, 100, &text, &len, NULL), 0);
	ck_assert_str_eq(text, "piped\n");
	free(text);
	close(fd[0]);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_err_and_diag)
{
	struct mp_err e = { 0 };
	struct mp_diag d = { 0 };
	int i;

	ck_assert_int_eq(mp_err_set(&e, MP_EX_TEMPFAIL, "down: %s", "x"), -1);
	ck_assert_int_eq(e.code, 75);
	ck_assert_int_eq(e.temporary, 1);
	ck_assert_str_eq(e.msg, "down: x");
	mp_err_set(&e, MP_EX_CONFIG, "bad");
	ck_assert_int_eq(e.temporary, 0);
	mp_err_clear(&e);
	ck_assert_int_eq(e.code, 0);
	ck_assert_str_eq(e.msg, "");
	ck_assert_int_eq(mp_err_set(NULL, 1, "x"), -1);

	mp_diag_add(&d, "etc/a.ini", 12, "unknown key '%s'", "foo");
	mp_diag_add(&d, "etc/b.ini", 0, "cannot read");
	for (i = 0; i < 20; i++)
		mp_diag_add(&d, "f", i + 1, "m");
	ck_assert_uint_eq(d.n, 22);
	ck_assert_str_eq(d.lines[0], "etc/a.ini:12: unknown key 'foo'");
	ck_assert_str_eq(d.lines[1], "etc/b.ini: cannot read");
	ck_assert_str_eq(d.lines[21], "f:20: m");
	mp_diag_free(&d);
	ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(test_log_levels)
{
	mp_log_set(MP_LOG_QUIET);
	ck_assert_int_eq(mp_log_get(), MP_LOG_QUIET);
	mp_log_set(MP_LOG_VERBOSE);
	ck_assert_int_eq(mp_log_get(), MP_LOG_VERBOSE);
	mp_log_set(MP_LOG_NORMAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf);
	tcase_add_test(tc, test_buf_reserve);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_ascii);
	tcase_add_test(tc, test_json_str);
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_read_file_time);
	tcase_add_test(tc, test_err_and_diag);
	tcase_add_test(tc, test_log_levels);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
