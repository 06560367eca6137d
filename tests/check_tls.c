/* check_tls.c - certificate chain and host name verification, with a
 * test CA and certificates made by certtool (gnutls-bin). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tls.h"
#include "testutil.h"

static char *dir;

/* DER of DIR/name.pem, converted by certtool; owned by the caller. */
static struct mp_tls_cert
der(const char *name)
{
	char cmd[8192], path[4200];
	struct mp_tls_cert c;
	char *data = NULL;
	size_t len = 0;

	snprintf(cmd, sizeof(cmd), "certtool --certificate-info --infile "
	    "'%s/%s.pem' --outder --outfile '%s/%s.der' >/dev/null 2>&1", dir,
	    name, dir, name);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/%s.der", dir, name);
	ck_assert_int_eq(mp_read_file(path, 1 << 20, &data, &len), 0);
	c.der = (const unsigned char *)data;
	c.len = len;
	return c;
}

static char *
ca(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
	return path;
}

static void
setup(void)
{
	char cmd[8192];

	dir = tu_tmpdir();
	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/lib/mkca.sh '%s'",
	    tu_srcdir(), dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

static void
refused(const char *cert, const char *host, const char *cafile, int code,
    const char *want)
{
	struct mp_tls_cert c = der(cert);
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_tls_verify(&c, 1, host, cafile, &e), -1);
	ck_assert_int_eq(e.code, code);
	ck_assert_msg(strstr(e.msg, want) != NULL, "no '%s' in '%s'", want,
	    e.msg);
	ck_assert_msg(strncmp(e.msg, host, strlen(host)) == 0,
	    "'%s' does not name %s", e.msg, host);
	free((void *)c.der);
}

START_TEST(test_trusted)
{
	struct mp_tls_cert c = der("good"), w = der("wronghost");
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_tls_verify(&c, 1, "127.0.0.1", ca("ca"), &e), 0);
	ck_assert_int_eq(mp_tls_verify(&c, 1, "localhost", ca("ca"), &e), 0);
	ck_assert_int_eq(mp_tls_verify(&w, 1, "imap.example.org", ca("ca"),
	    &e), 0);
	/* names are case-insensitive */
	ck_assert_int_eq(mp_tls_verify(&w, 1, "IMAP.Example.ORG", ca("ca"),
	    &e), 0);
	free((void *)c.der);
	free((void *)w.der);
}
END_TEST

START_TEST(test_refused)
{
	refused("good", "imap.example.org", ca("ca"), MP_EX_UNAVAILABLE,
	    "is for another host name");
	refused("good", "127.0.0.2", ca("ca"), MP_EX_UNAVAILABLE,
	    "is for another host name");
	refused("wronghost", "127.0.0.1", ca("ca"), MP_EX_UNAVAILABLE,
	    "is for another host name");
	refused("expired", "127.0.0.1", ca("ca"), MP_EX_UNAVAILABLE,
	    "has expired (2020-01-01 00:00:00 UTC)");
	refused("rogue", "127.0.0.1", ca("ca"), MP_EX_UNAVAILABLE,
	    "is not trusted: its issuer is not a known authority (ca_file ");
	/* the test CA is not in the system store */
	refused("good", "localhost", NULL, MP_EX_UNAVAILABLE,
	    "(the system trust store)");
	/* a CA file that is missing or holds no certificate */
	refused("good", "localhost", ca("nonexistent"), MP_EX_CONFIG,
	    "cannot use ca_file");
	tu_write(ca("empty"), "no certificate here\n");
	refused("good", "localhost", ca("empty"), MP_EX_CONFIG,
	    "cannot use ca_file");
}
END_TEST

START_TEST(test_bad_input)
{
	struct mp_tls_cert junk = { (const unsigned char *)"not DER", 7 };
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_tls_verify(NULL, 0, "h.example", ca("ca"), &e), -1);
	ck_assert_str_eq(e.msg, "h.example: the server sent no certificate; "
	    "not logging in");
	ck_assert_int_eq(mp_tls_verify(&junk, 1, "h.example", ca("ca"), &e),
	    -1);
	ck_assert_msg(strstr(e.msg, "cannot read the server certificate") !=
	    NULL, "%s", e.msg);
	mp_tls_close(NULL);
}
END_TEST

/* The whole chain counts: a leaf alone from an intermediate-less CA is
 * fine, and an extra unrelated certificate after it does not help a
 * rogue leaf. */
START_TEST(test_chain)
{
	struct mp_tls_cert ch[2] = { der("rogue"), der("ca") };
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_tls_verify(ch, 2, "127.0.0.1", ca("ca"), &e), -1);
	free((void *)ch[0].der);
	ch[0] = der("good");
	ck_assert_int_eq(mp_tls_verify(ch, 2, "127.0.0.1", ca("ca"), &e), 0);
	free((void *)ch[0].der);
	free((void *)ch[1].der);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("verify");

	if (system("command -v certtool >/dev/null 2>&1") != 0) {
		puts("SKIP: certtool (gnutls-bin) is not installed");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_trusted);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_chain);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
