/*
 * check_deliver.c - tests for deliver.c: maildir and sendmail transports,
 * and SMTP against the real aiosmtpd test server
 * (tests/integration/lib/smtpd.py, plain SMTP on 127.0.0.1 with
 * tls = none: TLS itself is covered by tests/integration/smtp.sh). The
 * server tests are skipped when /usr/bin/python3 has no aiosmtpd.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static void stop_server(void);

static void
teardown(void)
{
	stop_server();
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

START_TEST(test_unknown_schemes)
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

	ck_assert_ptr_null(t);
	mp_deliver_close(NULL);
}
END_TEST

/* ---- smtp ---------------------------------------------------------------- */

static pid_t server_pid;
static char server_dir[4096];

static void
stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = 0;
}

/* Start the test server with args (NULL-terminated, at most 8); returns
 * its port, or 0 when aiosmtpd is not there (the caller skips). */
static int
start_server(const char *const *args)
{
	char script[4096], path[4200], *port;
	const char *argv[16];
	int i, n = 0, p;

	if (system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0) {
		fprintf(stderr, "aiosmtpd missing: SMTP test skipped\n");
		return 0;
	}
	snprintf(script, sizeof(script), "%s/tests/integration/lib/smtpd.py",
	    tu_srcdir());
	snprintf(server_dir, sizeof(server_dir), "%s/srv", dir);
	argv[n++] = "/usr/bin/python3";
	argv[n++] = script;
	argv[n++] = "--dir";
	argv[n++] = server_dir;
	for (i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0) {
		/* A failed assertion exits without teardown: the server
		 * must not outlive the test. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/port", server_dir);
	for (i = 0; i < 400 && access(path, R_OK) != 0; i++) {
		struct timespec ts = { 0, 25 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	port = slurp(path);
	p = atoi(port);
	free(port);
	ck_assert_int_gt(p, 0);
	return p;
}

static int
connections(void)
{
	char path[4200];
	char *s, *q;
	int n = 0;

	snprintf(path, sizeof(path), "%s/connections", server_dir);
	s = slurp(path);
	for (q = s; *q != '\0'; q++)
		n += *q == '\n';
	free(s);
	return n;
}

static struct mp_transport *
open_plain(int port, struct mp_delivery_cfg *c)
{
	static char tr[64];
	struct mp_transport *t = NULL;
	struct mp_err e;

	snprintf(tr, sizeof(tr), "smtp://127.0.0.1:%d", port);
	c->transport = tr;
	c->tls = MP_TLS_NONE;
	ck_assert_msg(mp_deliver_open(c, &t, &e) == 0, "%s", e.msg);
	return t;
}

START_TEST(test_smtp_config)
{
	struct mp_delivery_cfg c;
	struct mp_transport *t = NULL;
	struct mp_err e;
	char pw[1024];

	c = cfg_for("smtp://user:s3cret@mail.example.org:587");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_ptr_null(strstr(e.msg, "s3cret"));
	ck_assert_ptr_nonnull(strstr(e.msg, "no password in the URL"));

	c = cfg_for("smtp://mail.example.org:587/client.example");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	c = cfg_for("smtp://mail.example.org:99999");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_str_eq(e.msg, "smtp transport: bad port");
	c = cfg_for("smtp://:587");
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_str_eq(e.msg, "smtp transport: bad host");

	/* Clear text only to loopback, and never for smtps. */
	c = cfg_for("smtp://mail.example.org");
	c.tls = MP_TLS_NONE;
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "loopback"));
	c = cfg_for("smtps://127.0.0.1");
	c.tls = MP_TLS_NONE;
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);

	/* A user needs a password source, which must be private. */
	c = cfg_for("smtp://mail.example.org");
	c.user = (char *)"sec";
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	tu_write(pw, "s3cret\n");
	ck_assert_int_eq(chmod(pw, 0644), 0);
	c.password_file = pw;
	ck_assert_int_eq(mp_deliver_open(&c, &t, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_ptr_null(strstr(e.msg, "s3cret"));
	ck_assert_int_eq(chmod(pw, 0600), 0);
	ck_assert_msg(mp_deliver_open(&c, &t, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(mp_deliver_down(t, &e), 0);
	mp_deliver_close(t);

	/* User from the URL; smtps and IPv6 literals parse. */
	c = cfg_for("smtps://sec@[::1]:465/");
	c.password_file = pw;
	ck_assert_msg(mp_deliver_open(&c, &t, &e) == 0, "%s", e.msg);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_smtp_refused)
{
	struct mp_delivery_cfg c = cfg_for(NULL);
	struct mp_transport *t;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct mp_err e, e2;
	char want[64];
	int fd, port;

	/* A port that was just free: nothing listens there. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);

	t = open_plain(port, &c);
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_int_eq(e.temporary, 1);
	snprintf(want, sizeof(want), "smtp 127.0.0.1:%d: ", port);
	ck_assert_int_eq(strncmp(e.msg, want, strlen(want)), 0);
	ck_assert_int_eq(mp_deliver_down(t, &e2), 1);
	ck_assert_str_eq(e2.msg, e.msg);
	/* Not tried again in this run. */
	memset(&e2, 0, sizeof(e2));
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "c@example.org",
	    "x\r\n", 3, NULL, 0, &e2), -1);
	ck_assert_str_eq(e2.msg, e.msg);
	mp_deliver_close(t);
}
END_TEST

START_TEST(test_smtp_session)
{
	static const char *const args[] = { NULL };
	/* Lines that start with a dot must come out as they went in
	 * (RFC 5321 4.5.2 transparency). */
	static const char msg[] = "From: a@example.org\r\nTo: b@example.org\r\n"
	    "Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n";
	struct mp_delivery_cfg c = cfg_for(NULL);
	struct mp_transport *t;
	char reply[300], path[4200], *got;
	struct mp_err e;
	int port = start_server(args);

	if (port == 0)
		return;
	t = open_plain(port, &c);
	ck_assert_msg(mp_deliver_send(t, "bounce@example.org", "b@example.org",
	    msg, strlen(msg), reply, sizeof(reply), &e) == 0, "%s", e.msg);
	ck_assert_str_eq(reply, "250 2.0.0 queued as M000001");
	ck_assert_msg(mp_deliver_send(t, "", "c@example.org", msg_crlf,
	    strlen(msg_crlf), reply, sizeof(reply), &e) == 0, "%s", e.msg);
	ck_assert_str_eq(reply, "250 2.0.0 queued as M000002");
	mp_deliver_close(t);
	stop_server();

	snprintf(path, sizeof(path), "%s/msgs/000001.eml", server_dir);
	got = slurp(path);
	ck_assert_str_eq(got, msg);
	free(got);
	snprintf(path, sizeof(path), "%s/msgs/000001.env", server_dir);
	got = slurp(path);
	ck_assert_str_eq(got, "from bounce@example.org\nrcpt b@example.org\n"
	    "conn 1\nauth -\ntls no\n");
	free(got);
	snprintf(path, sizeof(path), "%s/msgs/000002.eml", server_dir);
	got = slurp(path);
	ck_assert_str_eq(got, msg_crlf);
	free(got);
	/* The null sender <>, and the same connection. */
	snprintf(path, sizeof(path), "%s/msgs/000002.env", server_dir);
	got = slurp(path);
	ck_assert_str_eq(got, "from <>\nrcpt c@example.org\nconn 1\nauth -\n"
	    "tls no\n");
	free(got);
	ck_assert_int_eq(connections(), 1);
}
END_TEST

START_TEST(test_smtp_reconnect_idle)
{
	static const char *const args[] = { "--idle", "0.5", NULL };
	struct mp_delivery_cfg c = cfg_for(NULL);
	struct timespec nap = { 1, 200 * 1000 * 1000 };
	struct mp_transport *t;
	char reply[300];
	struct mp_err e;
	int port = start_server(args);

	if (port == 0)
		return;
	t = open_plain(port, &c);
	ck_assert_msg(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e) == 0, "%s",
	    e.msg);
	/* The server drops the idle connection; the next send reconnects. */
	nanosleep(&nap, NULL);
	ck_assert_msg(mp_deliver_send(t, "a@example.org", "c@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(reply, "250 2.0.0 queued as M000002");
	ck_assert_int_eq(mp_deliver_down(t, NULL), 0);
	mp_deliver_close(t);
	ck_assert_int_eq(connections(), 2);
	stop_server();
}
END_TEST

START_TEST(test_smtp_failure_classes)
{
	static const char *const args[] = { "--reject", "bad@example.org",
		"--tempfail", "1", NULL };
	struct mp_delivery_cfg c = cfg_for(NULL);
	struct mp_transport *t;
	char reply[300];
	struct mp_err e;
	int port = start_server(args);

	if (port == 0)
		return;
	t = open_plain(port, &c);
	/* 5xx for a recipient: final for that one only. */
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "bad@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_int_eq(e.temporary, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "recipient <bad@example.org> "
	    "refused: 550 5.1.1 <bad@example.org>: mailbox unavailable"));
	ck_assert_int_eq(mp_deliver_down(t, NULL), 0);
	/* 451 at the end of the data: temporary. */
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_int_eq(e.temporary, 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "451 4.3.0 try again later"));
	ck_assert_int_eq(mp_deliver_down(t, NULL), 0);
	ck_assert_msg(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(reply, "250 2.0.0 queued as M000001");
	mp_deliver_close(t);
	stop_server();
}
END_TEST

START_TEST(test_smtp_wrong_password)
{
	static const char *const args[] = { "--user", "sec", "--password",
		"right-one", NULL };
	struct mp_delivery_cfg c = cfg_for(NULL);
	struct mp_transport *t;
	char pw[1024], reply[300];
	struct mp_err e;
	int port = start_server(args);

	if (port == 0)
		return;
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	tu_write(pw, "Wr0ng-Pw-42\n");
	ck_assert_int_eq(chmod(pw, 0600), 0);
	c.user = (char *)"sec";
	c.password_file = pw;
	t = open_plain(port, &c);
	ck_assert_int_eq(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e), -1);
	ck_assert_int_eq(e.code, MP_EX_NOPERM);
	ck_assert_int_eq(e.temporary, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "authentication failed: 535"));
	ck_assert_ptr_null(strstr(e.msg, "Wr0ng"));
	ck_assert_int_eq(mp_deliver_down(t, NULL), 1);
	mp_deliver_close(t);

	tu_write(pw, "right-one\n");
	t = open_plain(port, &c);
	ck_assert_msg(mp_deliver_send(t, "a@example.org", "b@example.org",
	    msg_crlf, strlen(msg_crlf), reply, sizeof(reply), &e) == 0, "%s",
	    e.msg);
	mp_deliver_close(t);
	ck_assert_int_eq(connections(), 2);
	stop_server();
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
	tcase_add_test(tc, test_unknown_schemes);
	tcase_add_test(tc, test_smtp_config);
	tcase_add_test(tc, test_smtp_refused);
	tcase_add_test(tc, test_smtp_session);
	tcase_add_test(tc, test_smtp_reconnect_idle);
	tcase_add_test(tc, test_smtp_failure_classes);
	tcase_add_test(tc, test_smtp_wrong_password);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(deliver_suite());
}
