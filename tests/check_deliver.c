/* check_deliver.c - tests for deliver.c (maildir and sendmail transports). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "deliver.h"
#include "err.h"
#include "testutil.h"

static const char msg_crlf[] = "From: sec@example.org\r\n"
    "To: chair@example.org\r\nSubject: hi\r\n\r\nline one\r\n.\r\n"
    "lone\rcr\r\n";
static const char msg_lf[] = "From: sec@example.org\n"
    "To: chair@example.org\nSubject: hi\n\nline one\n.\nlone\rcr\n";

static char *dir;

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

static struct mp_delivery_cfg
cfg_for(const char *transport)
{
	struct mp_delivery_cfg c;

	memset(&c, 0, sizeof(c));
	c.transport = (char *)transport;
	c.from_addr = (char *)"sec@example.org";
	c.timeout = 10;
	return c;
}

/* Number of entries in path (without . and ..); the last name in *name. */
static int
count_dir(const char *path, char *name, size_t n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int count = 0;

	ck_assert_msg(d != NULL, "opendir %s", path);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (name != NULL)
			snprintf(name, n, "%s", de->d_name);
		count++;
	}
	closedir(d);
	return count;
}

static void
assert_dir_0700(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "missing %s", path);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
}

static char *
slurp(const char *path)
{
	char *s = NULL;
	size_t len;

	ck_assert_msg(mp_read_file(path, 1 << 24, &s, &len) == 0, "read %s",
	    path);
	return s;
}

START_TEST(test_maildir_delivery)
{
	char tr[2048], box[1024], path[4096], name[256], reply[300];
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL;
	struct mp_err e;
	char *got;

	snprintf(box, sizeof(box), "%s/var/outbox", dir);
	snprintf(tr, sizeof(tr), "maildir:%s", box);
	c = cfg_for(tr);
	ck_assert_msg(mp_deliver_open(&c, &t, &e) == 0, "%s", e.msg);
	ck_assert_ptr_nonnull(t);
	assert_dir_0700(box);
	snprintf(path, sizeof(path), "%s/tmp", box);
	assert_dir_0700(path);
	snprintf(path, sizeof(path), "%s/new", box);
	assert_dir_0700(path);
	snprintf(path, sizeof(path), "%s/cur", box);
	assert_dir_0700(path);

	ck_assert_int_eq(mp_deliver_send(t, "sec@example.org",
	    "chair@example.org", msg_crlf, strlen(msg_crlf), reply,
	    sizeof(reply), &e), 0);
	snprintf(path, sizeof(path), "%s/new", box);
	ck_assert_int_eq(count_dir(path, name, sizeof(name)), 1);
	ck_assert_int_eq(strncmp(reply, "maildir: new/", 13), 0);
	ck_assert_str_eq(reply + 13, name);
	ck_assert_ptr_null(strchr(name, '/'));
	ck_assert_ptr_null(strchr(name, ':'));
	snprintf(path, sizeof(path), "%s/new/%s", box, name);
	got = slurp(path);
	ck_assert_str_eq(got, msg_lf);
	free(got);
	snprintf(path, sizeof(path), "%s/tmp", box);
	ck_assert_int_eq(count_dir(path, NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/cur", box);
	ck_assert_int_eq(count_dir(path, NULL, 0), 0);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_maildir_two_sends_two_files)
{
	char tr[2048], path[4096], r1[300], r2[300];
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL, *t2 = NULL;
	struct mp_err e;

	snprintf(tr, sizeof(tr), "maildir:%s", dir);
	c = cfg_for(tr);
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), 0);
	/* A second transport on the same folder, reusing existing dirs. */
	ck_assert_int_eq(mp_deliver_open(&c, &t2, &e), 0);
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "b@example.org",
	    "one\r\n", 5, r1, sizeof(r1), &e), 0);
	ck_assert_int_eq(mp_deliver_send(t2, "a@example.org", "b@example.org",
	    "two\r\n", 5, r2, sizeof(r2), &e), 0);
	ck_assert_str_ne(r1, r2);
	snprintf(path, sizeof(path), "%s/new", dir);
	ck_assert_int_eq(count_dir(path, NULL, 0), 2);
	mp_deliver_close(t);
	mp_deliver_close(t2);
}
END_TEST

START_TEST(test_maildir_cannot_create)
{
	char tr[2048], path[1024];
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL;
	struct mp_err e;

	snprintf(path, sizeof(path), "%s/file", dir);
	tu_write(path, "not a directory");
	snprintf(tr, sizeof(tr), "maildir:%s/file/box", dir);
	c = cfg_for(tr);
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(e.code, MP_EX_CANTCREAT);
	c = cfg_for("maildir:");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
}
END_TEST

/* A fake sendmail that records its argv and stdin beside itself. */
static void
fake_sendmail(char *path, size_t n, const char *tail)
{
	char text[1024];

	snprintf(path, n, "%s/sendmail", dir);
	snprintf(text, sizeof(text), "#!/bin/sh\n"
	    "printf '%%s\\n' \"$0\" \"$@\" > \"$0.args\"\n%s\n", tail);
	tu_write(path, text);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

static struct mp_transport *
open_sendmail(const char *prog, int timeout)
{
	char tr[2048];
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL;
	struct mp_err e;

	snprintf(tr, sizeof(tr), "sendmail:%s", prog);
	c = cfg_for(tr);
	c.timeout = timeout;
	ck_assert_msg(mp_deliver_open(&c, &t, &e) == 0, "%s", e.msg);
	return t;
}

START_TEST(test_sendmail_ok)
{
	char prog[1024], path[2048], want[2048], reply[300];
	struct mp_transport *t;
	struct mp_err e;
	char *got;

	fake_sendmail(prog, sizeof(prog), "cat > \"$0.stdin\"\nexit 0");
	t = open_sendmail(prog, 10);
	ck_assert_msg(mp_deliver_send(t, "bounce@example.org",
	    "chair@example.org", msg_crlf, strlen(msg_crlf), reply,
	    sizeof(reply), &e) == 0, "%s", e.msg);
	ck_assert_str_eq(reply, "sendmail: ok");
	snprintf(path, sizeof(path), "%s.args", prog);
	got = slurp(path);
	snprintf(want, sizeof(want),
	    "%s\n-i\n-f\nbounce@example.org\n--\nchair@example.org\n", prog);
	ck_assert_str_eq(got, want);
	free(got);
	snprintf(path, sizeof(path), "%s.stdin", prog);
	got = slurp(path);
	ck_assert_str_eq(got, msg_lf);
	free(got);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_sendmail_tempfail)
{
	char prog[1024], reply[300];
	struct mp_transport *t;
	struct mp_err e;

	fake_sendmail(prog, sizeof(prog),
	    "cat > /dev/null\necho 'queue full' >&2\nexit 75");
	t = open_sendmail(prog, 10);
	ck_assert_int_eq(mp_deliver_send(t, "bounce@example.org",
	    "chair@example.org", msg_crlf, strlen(msg_crlf), reply,
	    sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_int_eq(e.temporary, 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "exit 75"));
	ck_assert_ptr_nonnull(strstr(e.msg, "queue full"));
	ck_assert_str_eq(reply, "");
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_sendmail_permanent)
{
	char prog[1024], reply[300];
	struct mp_transport *t;
	struct mp_err e;

	fake_sendmail(prog, sizeof(prog),
	    "cat > /dev/null\necho 'no such user' >&2\nexit 1");
	t = open_sendmail(prog, 10);
	ck_assert_int_eq(mp_deliver_send(t, "bounce@example.org",
	    "nobody@example.org", msg_crlf, strlen(msg_crlf), reply,
	    sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(e.temporary, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "exit 1"));
	ck_assert_ptr_nonnull(strstr(e.msg, "no such user"));
	mp_deliver_close(t);
}
END_TEST

/* A sendmail that never reads must neither kill us (SIGPIPE) nor count as
 * delivered. */
START_TEST(test_sendmail_not_reading)
{
	char prog[1024], reply[300];
	struct mp_transport *t;
	struct mp_err e;
	size_t n = 4 << 20;
	char *big = malloc(n);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	fake_sendmail(prog, sizeof(prog), "exit 0");
	t = open_sendmail(prog, 10);
	ck_assert_int_eq(mp_deliver_send(t, "bounce@example.org",
	    "chair@example.org", big, n, reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(e.msg, "without reading"));
	free(big);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_sendmail_timeout)
{
	char prog[1024], reply[300];
	struct mp_transport *t;
	struct mp_err e;
	time_t t0 = time(NULL);

	fake_sendmail(prog, sizeof(prog), "exec sleep 30");
	t = open_sendmail(prog, 1);
	ck_assert_int_eq(mp_deliver_send(t, "bounce@example.org",
	    "chair@example.org", msg_crlf, strlen(msg_crlf), reply,
	    sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(e.msg, "no answer within 1 s"));
	ck_assert_int_lt(time(NULL) - t0, 10);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_sendmail_not_executable)
{
	char tr[2048], path[1024];
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL;
	struct mp_err e;

	snprintf(path, sizeof(path), "%s/sendmail", dir);
	tu_write(path, "#!/bin/sh\nexit 0\n");
	ck_assert_int_eq(chmod(path, 0644), 0);
	snprintf(tr, sizeof(tr), "sendmail:%s", path);
	c = cfg_for(tr);
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_envelope_refused)
{
	const char *bad_rcpt[] = { "-oQ/tmp/x", "chair@example.org\r\nRCPT",
		"a b@example.org", "", NULL };
	char prog[1024], path[2048], reply[300];
	struct mp_transport *t;
	struct mp_err e;
	size_t i;

	fake_sendmail(prog, sizeof(prog), "cat > /dev/null");
	t = open_sendmail(prog, 10);
	for (i = 0; i < sizeof(bad_rcpt) / sizeof(bad_rcpt[0]); i++) {
		ck_assert_int_eq(mp_deliver_send(t, "bounce@example.org",
		    bad_rcpt[i], "x\r\n", 3, reply, sizeof(reply), &e), -1);
		ck_assert_int_eq(e.code, MP_EX_DATAERR);
		ck_assert_int_eq(e.temporary, 0);
	}
	ck_assert_int_eq(mp_deliver_send(t, "-fevil@example.org",
	    "chair@example.org", "x\r\n", 3, reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org\n",
	    "chair@example.org", "x\r\n", 3, reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	/* The program never ran. */
	snprintf(path, sizeof(path), "%s.args", prog);
	ck_assert_int_eq(access(path, F_OK), -1);
	mp_deliver_close(t);
	ck_assert_int_eq(mp_deliver_send(NULL, "a@example.org",
	    "chair@example.org", "x", 1, reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_SOFTWARE);
}
END_TEST

START_TEST(test_unknown_and_unbuilt_schemes)
{
	struct mp_delivery_cfg c;
	struct mp_transport *t = (struct mp_transport *)&c;
	struct mp_err e;

	c = cfg_for("pigeon:/dev/null");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_str_eq(e.msg, "unknown transport \"pigeon\"");

	c = cfg_for("lmtp://user:s3cret@host/");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_ptr_null(strstr(e.msg, "s3cret"));

	c = cfg_for("");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	c = cfg_for(NULL);
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);

	c = cfg_for("smtp://smtp.example.org:587");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_UNAVAILABLE);
	ck_assert_str_eq(e.msg, "smtp transport not built yet");
	c = cfg_for("smtps://smtp.example.org:465");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_UNAVAILABLE);
	ck_assert_ptr_null(t);
	mp_deliver_close(NULL);
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_maildir_delivery);
	tcase_add_test(tc, test_maildir_two_sends_two_files);
	tcase_add_test(tc, test_maildir_cannot_create);
	tcase_add_test(tc, test_sendmail_ok);
	tcase_add_test(tc, test_sendmail_tempfail);
	tcase_add_test(tc, test_sendmail_permanent);
	tcase_add_test(tc, test_sendmail_not_reading);
	tcase_add_test(tc, test_sendmail_timeout);
	tcase_add_test(tc, test_sendmail_not_executable);
	tcase_add_test(tc, test_envelope_refused);
	tcase_add_test(tc, test_unknown_and_unbuilt_schemes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(deliver_suite());
}
