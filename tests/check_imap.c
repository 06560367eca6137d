/* check_imap.c - source URLs, and the refusals that happen before any
 * password is sent: nothing listening, a server that never greets (read
 * timeout), no STARTTLS offered (a tiny server forked here), tls = none
 * to a remote host. The full protocol runs against a real Dovecot in
 * tests/integration/imap.sh. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "imap.h"
#include "store.h"
#include "testutil.h"

static char *dir;
static struct mp_store *st;

static void
setup(void)
{
	char path[4200];
	struct mp_err e = { 0 };

	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/s.db", dir);
	ck_assert_int_eq(mp_store_open(path, &st, &e), 0);
}

static void
teardown(void)
{
	mp_store_close(st);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(test_url)
{
	struct mp_imap_url u;
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_imap_url_parse("imaps://mag@imap.example.org/INBOX",
	    &u, &e), 0);
	ck_assert_int_eq(u.implicit_tls, 1);
	ck_assert_str_eq(u.user, "mag");
	ck_assert_str_eq(u.host, "imap.example.org");
	ck_assert_int_eq(u.port, 993);
	ck_assert_str_eq(u.folder, "INBOX");

	ck_assert_int_eq(mp_imap_url_parse("imap://h.example:1143", &u, &e), 0);
	ck_assert_int_eq(u.implicit_tls, 0);
	ck_assert_str_eq(u.user, "");
	ck_assert_int_eq(u.port, 1143);
	ck_assert_str_eq(u.folder, "INBOX");

	ck_assert_int_eq(mp_imap_url_parse("imap://h.example/", &u, &e), 0);
	ck_assert_int_eq(u.port, 143);
	ck_assert_str_eq(u.folder, "INBOX");

	ck_assert_int_eq(mp_imap_url_parse(
	    "imaps://list%40example.org@[::1]:9993/Lists%2FMAG%20archive",
	    &u, &e), 0);
	ck_assert_str_eq(u.user, "list@example.org");
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 9993);
	ck_assert_str_eq(u.folder, "Lists/MAG archive");

	/* the last @ before the host separates the user */
	ck_assert_int_eq(mp_imap_url_parse("imaps://a@b.org@h.example/X", &u,
	    &e), 0);
	ck_assert_str_eq(u.user, "a@b.org");
	ck_assert_str_eq(u.host, "h.example");
}
END_TEST

START_TEST(test_url_bad)
{
	static const char *bad[] = {
		"http://h.example/", "imaps://", "imaps:///INBOX",
		"imaps://h.example:0/", "imaps://h.example:65536/",
		"imaps://h.example:99x/", "imaps://[::1/INBOX",
		"imaps://h.example/IN%0D%0ABOX", "imaps://h.example/IN%00",
		"imaps://u%0aser@h.example/", NULL
	};
	struct mp_imap_url u;
	struct mp_err e;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		mp_err_clear(&e);
		ck_assert_msg(mp_imap_url_parse(bad[i], &u, &e) == -1,
		    "accepted %s", bad[i]);
		ck_assert_int_eq(e.code, MP_EX_CONFIG);
	}
}
END_TEST

static int
never(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	ck_abort_msg("no message expected");
	return -1;
}

static void
list_cfg(struct mp_list_cfg *l, const char *source)
{
	memset(l, 0, sizeof(*l));
	l->id = "mag";
	l->source = (char *)source;
	l->password_command = "echo secret";
	l->batch = 200;
	l->max_size = 25 << 20;
	l->timeout = 1;
}

/* A listening socket on 127.0.0.1; *port set. */
static int
listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
untouched(void)
{
	uint32_t v = 1, last = 1;

	ck_assert_int_eq(mp_store_count_msgs(st), 0);
	ck_assert_int_eq(mp_store_source_get(st, "mag imap://x", &v, &last), 0);
	ck_assert_int_eq(v, 0);
}

START_TEST(test_refused_connection)
{
	struct mp_list_cfg l;
	struct mp_err e = { 0 };
	char url[128];
	int port, fd = listener(&port);

	close(fd);      /* nothing listens there now */
	snprintf(url, sizeof(url), "imaps://mag@127.0.0.1:%d/INBOX", port);
	list_cfg(&l, url);
	ck_assert_int_eq(mp_imap_sync(&l, st, 0, never, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_int_eq(e.temporary, 1);
	ck_assert_msg(strstr(e.msg, "cannot connect to 127.0.0.1 port") !=
	    NULL, "%s", e.msg);
	ck_assert_msg(strstr(e.msg, "Connection refused") != NULL, "%s",
	    e.msg);
	untouched();
}
END_TEST

START_TEST(test_read_timeout)
{
	struct mp_list_cfg l;
	struct mp_err e = { 0 };
	char url[128];
	int port, fd = listener(&port);
	time_t t0 = time(NULL);

	/* The kernel completes the connection; nobody ever greets. */
	snprintf(url, sizeof(url), "imap://mag@127.0.0.1:%d/INBOX", port);
	list_cfg(&l, url);
	ck_assert_int_eq(mp_imap_sync(&l, st, 0, never, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_msg(strstr(e.msg, "timed out after 1 s during the greeting")
	    != NULL, "%s", e.msg);
	ck_assert_int_le(time(NULL) - t0, 4);
	close(fd);
	untouched();

	/* implicit TLS: the handshake times out the same way */
	fd = listener(&port);
	snprintf(url, sizeof(url), "imaps://mag@127.0.0.1:%d/INBOX", port);
	list_cfg(&l, url);
	mp_err_clear(&e);
	ck_assert_int_eq(mp_imap_sync(&l, st, 0, never, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
	ck_assert_msg(strstr(e.msg, "timed out during the TLS handshake") !=
	    NULL, "%s", e.msg);
	close(fd);
}
END_TEST

/* A server without STARTTLS: greets, answers CAPABILITY, and writes what
 * it was sent into a file. */
static pid_t
plain_server(int lfd, const char *log)
{
	pid_t pid = fork();
	char buf[4096];
	ssize_t n;
	FILE *f;
	int c;

	ck_assert_int_ge(pid, 0);
	if (pid != 0)
		return pid;
	c = accept(lfd, NULL, NULL);
	f = fopen(log, "w");
	if (c < 0 || f == NULL)
		_exit(1);
	(void)!write(c, "* OK ready\r\n", 12);
	while ((n = read(c, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		fwrite(buf, 1, (size_t)n, f);
		fflush(f);
		if (strstr(buf, "CAPABILITY") != NULL) {
			const char *r = "* CAPABILITY IMAP4rev1 AUTH=PLAIN "
			    "SASL-IR\r\n1 OK done\r\n";

			(void)!write(c, r, strlen(r));
		}
	}
	fclose(f);
	_exit(0);
}

START_TEST(test_no_starttls)
{
	struct mp_list_cfg l;
	struct mp_err e = { 0 };
	char url[128], log[4200], *seen = NULL;
	size_t len;
	int port, fd = listener(&port), status;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/server.log", dir);
	pid = plain_server(fd, log);
	snprintf(url, sizeof(url), "imap://mag@127.0.0.1:%d/INBOX", port);
	list_cfg(&l, url);
	ck_assert_int_eq(mp_imap_sync(&l, st, 0, never, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_UNAVAILABLE);
	ck_assert_msg(strstr(e.msg, "the server does not offer STARTTLS; "
	    "refusing to log in without TLS") != NULL, "%s", e.msg);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fd);
	ck_assert_int_eq(mp_read_file(log, 1 << 20, &seen, &len), 0);
	ck_assert_str_eq(seen, "1 CAPABILITY\r\n");
	free(seen);
	untouched();
}
END_TEST

START_TEST(test_plain_remote_refused)
{
	struct mp_list_cfg l;
	struct mp_err e = { 0 };

	list_cfg(&l, "imap://mag@192.0.2.1/INBOX");
	l.tls = MP_TLS_NONE;
	ck_assert_int_eq(mp_imap_sync(&l, st, 0, never, NULL, NULL, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_CONFIG);
	ck_assert_str_eq(e.msg, "192.0.2.1:143: tls = none is only allowed "
	    "for a loopback host");
	untouched();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("imap");
	TCase *tc = tcase_create("imap");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_url_bad);
	tcase_add_test(tc, test_refused_connection);
	tcase_add_test(tc, test_read_timeout);
	tcase_add_test(tc, test_no_starttls);
	tcase_add_test(tc, test_plain_remote_refused);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
