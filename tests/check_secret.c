/* check_secret.c - passwords from files and commands. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "secret.h"
#include "testutil.h"

static char *dir;

static char *
file_with(const char *name, const char *text, mode_t mode)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write(path, text);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static void
setup(void)
{
	dir = tu_tmpdir();
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

START_TEST(test_file)
{
	struct mp_err e = { 0 };
	char *pw = NULL;

	ck_assert_int_eq(mp_secret_get(file_with("p", "s3cr3t pass\nline 2\n",
	    0600), NULL, &pw, &e), 0);
	ck_assert_str_eq(pw, "s3cr3t pass");
	mp_secret_free(pw);
	ck_assert_int_eq(mp_secret_get(file_with("crlf", "abc\r\n", 0400),
	    NULL, &pw, &e), 0);
	ck_assert_str_eq(pw, "abc");
	mp_secret_free(pw);
	/* no final newline */
	ck_assert_int_eq(mp_secret_get(file_with("nonl", "xyz", 0600), NULL,
	    &pw, &e), 0);
	ck_assert_str_eq(pw, "xyz");
	mp_secret_free(pw);
	mp_secret_free(NULL);
}
END_TEST

START_TEST(test_file_refused)
{
	struct mp_err e = { 0 };
	char *pw = (char *)1;
	char *path = file_with("open", "s3cr3t\n", 0644);

	ck_assert_int_eq(mp_secret_get(path, NULL, &pw, &e), -1);
	ck_assert_ptr_null(pw);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_msg(strstr(e.msg, "readable by group or others") != NULL,
	    "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "s3cr3t") == NULL, "secret in message");
	path = file_with("grp", "s3cr3t\n", 0640);
	ck_assert_int_eq(mp_secret_get(path, NULL, &pw, &e), -1);
	path = file_with("empty", "\nsecond\n", 0600);
	ck_assert_int_eq(mp_secret_get(path, NULL, &pw, &e), -1);
	ck_assert_msg(strstr(e.msg, "no password") != NULL, "%s", e.msg);
	ck_assert_int_eq(mp_secret_get("/nonexistent/pw", NULL, &pw, &e), -1);
	ck_assert_msg(strstr(e.msg, "No such file") != NULL, "%s", e.msg);
	ck_assert_int_eq(mp_secret_get(dir, NULL, &pw, &e), -1);
	ck_assert_int_eq(mp_secret_get(NULL, NULL, &pw, &e), -1);
}
END_TEST

START_TEST(test_command)
{
	struct mp_err e = { 0 };
	char *pw = NULL;

	ck_assert_int_eq(mp_secret_get(NULL, "printf 'from cmd\\nmore\\n'", &pw,
	    &e), 0);
	ck_assert_str_eq(pw, "from cmd");
	mp_secret_free(pw);
	/* a long output is read only up to the limit, and drained */
	ck_assert_int_eq(mp_secret_get(NULL, "echo ok; yes | head -c 200000",
	    &pw, &e), 0);
	ck_assert_str_eq(pw, "ok");
	mp_secret_free(pw);
	ck_assert_int_eq(mp_secret_get(NULL, "echo s3cr3t; exit 3", &pw, &e),
	    -1);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(e.msg, "password_command failed (exit 3)");
	ck_assert_int_eq(mp_secret_get(NULL, "true", &pw, &e), -1);
	ck_assert_str_eq(e.msg, "password_command printed no password");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_refused);
	tcase_add_test(tc, test_command);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
