/*
 * check_e2e.c - the whole job on the embedded default: a copy of etc/ in
 * a temporary folder, `magpie run` on it, and the outbox Maildir checked
 * email by email; a second run must add nothing.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "testutil.h"

static const char *
bin(void)
{
	const char *b = getenv("MAGPIE_BIN");

	return b != NULL && *b ? b : "./magpie";
}

/* Run a shell command line; output (stdout+stderr) into out. */
static int
sh(struct mp_buf *out, const char *fmt, ...)
{
	char cmd[8192], chunk[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	mp_buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		mp_buf_add(out, chunk, n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A copy of etc/ in a fresh folder; returns the folder. */
static char *
setup(void)
{
	struct mp_buf out = MP_BUF_INIT;
	char *dir = tu_tmpdir();

	ck_assert_int_eq(sh(&out, "cp -R '%s/etc' '%s/etc' 2>&1", tu_srcdir(),
	    dir), 0);
	mp_buf_free(&out);
	return dir;
}

struct mail {
	char *to, *kind, *item, *text;
};

/* A header's value (unfolded lines are enough here); Maildir files use
 * the local newline convention, LF. */
static char *
header(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	while (*p && *p != '\n') {
		const char *end = strchr(p, '\n');

		if (end == NULL)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(end - v));
		}
		p = end + 1;
	}
	return NULL;
}

static size_t
read_outbox(const char *dir, struct mail **out)
{
	char path[4096];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/var/outbox/new", dir);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char file[8192], *text;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		ck_assert_int_eq(mp_read_file(file, 1 << 24, &text, &len), 0);
		*out = realloc(*out, (n + 1) * sizeof(**out));
		(*out)[n].text = text;
		(*out)[n].to = header(text, "To");
		(*out)[n].kind = header(text, "X-Magpie-Kind");
		(*out)[n].item = header(text, "X-Magpie-Item");
		n++;
	}
	closedir(d);
	return n;
}

static void
free_mails(struct mail *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(m[i].to);
		free(m[i].kind);
		free(m[i].item);
		free(m[i].text);
	}
	free(m);
}

static void
assert_rfc5322(const struct mail *m)
{
	static const char *const need[] = { "Date", "From", "To", "Subject",
		"Message-ID", "MIME-Version", "Auto-Submitted", "Precedence",
		"List-Id" };
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char *v = header(m->text, need[i]);

		ck_assert_msg(v != NULL, "no %s header", need[i]);
		free(v);
	}
	/* LF line ends in the Maildir, never a CR left over */
	for (p = m->text; *p; p++)
		ck_assert_msg(*p != '\r', "CR in a Maildir file");
	ck_assert_msg(strstr(m->text, "\n\n") != NULL, "no body");
}

static struct mp_config *
load(const char *dir)
{
	struct mp_config *c = NULL;
	struct mp_diag d = { 0 };
	char path[4096];

	snprintf(path, sizeof(path), "%s/etc/example.ini", dir);
	ck_assert_msg(mp_config_load(path, &c, &d) == 0, "%s",
	    d.n ? d.lines[0] : "?");
	mp_diag_free(&d);
	return c;
}

/* The quick start: `run` on the example, real clock. One digest per
 * daily member, nothing else; again adds nothing. */
START_TEST(test_run_example_twice)
{
	struct mp_buf out = MP_BUF_INIT;
	char *dir = setup();
	struct mp_config *c = load(dir);
	struct mail *m;
	size_t i, k, n, daily = 0;

	ck_assert_int_eq(sh(&out, "cd '%s' && '%s' -q -c etc/example.ini run "
	    "2>&1", dir, bin()), 0);
	ck_assert_msg(out.len == 0, "run -q printed: %s", mp_buf_str(&out));
	n = read_outbox(dir, &m);
	for (i = 0; i < c->nmembers; i++) {
		int found = 0;

		if (c->members[i].digest != MP_DIGEST_DAILY)
			continue;
		daily++;
		for (k = 0; k < n; k++)
			found += strstr(m[k].to, c->members[i].email) != NULL;
		ck_assert_msg(found == 1, "%s got %d digests",
		    c->members[i].email, found);
	}
	ck_assert_uint_gt(daily, 5);
	ck_assert_uint_eq(n, daily);
	for (k = 0; k < n; k++) {
		ck_assert_str_eq(m[k].kind, "digest");
		assert_rfc5322(&m[k]);
	}
	free_mails(m, n);

	ck_assert_int_eq(sh(&out, "cd '%s' && '%s' -q -c etc/example.ini run "
	    "2>&1", dir, bin()), 0);
	ck_assert_msg(out.len == 0, "second run printed: %s", mp_buf_str(&out));
	n = read_outbox(dir, &m);
	ck_assert_uint_eq(n, daily);
	free_mails(m, n);

	/* the store holds the whole sample archive, threaded */
	ck_assert_int_eq(sh(&out, "cd '%s' && '%s' -c etc/example.ini threads "
	    "--json | wc -l", dir, bin()), 0);
	ck_assert_int_ge(atoi(mp_buf_str(&out)), 10);
	mp_buf_free(&out);
	mp_config_free(c);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* 14 June 2021, 12:00 UTC: the 7-day reminder of the workshop
 * evaluations (due 17 June 23:59 UTC; 7d before = 10 June 23:59) is the
 * latest offset due; it goes to group:mag. */
START_TEST(test_run_june_reminders)
{
	struct mp_buf out = MP_BUF_INIT;
	char *dir = setup();
	struct mp_config *c = load(dir);
	const struct mp_item *ev = mp_config_item(c, "workshop-evaluations");
	struct mp_rcpt *r;
	struct mail *m;
	size_t i, k, n, nr, reminders = 0;

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(sh(&out, "cd '%s' && '%s' -q -c etc/example.ini "
	    "--now 2021-06-14T12:00:00Z run 2>&1", dir, bin()), 0);
	ck_assert_msg(out.len == 0, "run printed: %s", mp_buf_str(&out));
	n = read_outbox(dir, &m);
	ck_assert_int_eq(mp_config_recipients(c, ev, &r, &nr), 0);
	for (k = 0; k < n; k++) {
		assert_rfc5322(&m[k]);
		if (strcmp(m[k].kind, "reminder") != 0)
			continue;
		ck_assert_ptr_nonnull(m[k].item);
		ck_assert_str_eq(m[k].item, "workshop-evaluations");
		reminders++;
	}
	ck_assert_uint_eq(reminders, nr);
	for (i = 0; i < nr; i++) {
		int found = 0;

		for (k = 0; k < n; k++)
			found += strcmp(m[k].kind, "reminder") == 0 &&
			    strstr(m[k].to, r[i].email) != NULL;
		ck_assert_msg(found == 1, "%s: %d reminders", r[i].email, found);
	}
	free(r);
	free_mails(m, n);
	/* an hour later nothing new is due */
	ck_assert_int_eq(sh(&out, "cd '%s' && '%s' -q -c etc/example.ini "
	    "--now 2021-06-14T13:00:00Z run 2>&1", dir, bin()), 0);
	ck_assert_uint_eq(read_outbox(dir, &m), n);
	free_mails(m, n);
	mp_buf_free(&out);
	mp_config_free(c);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_check_and_agenda)
{
	struct mp_buf out = MP_BUF_INIT;

	ck_assert_int_eq(sh(&out, "'%s' -c '%s/etc/example.ini' check 2>&1",
	    bin(), tu_srcdir()), 0);
	ck_assert_msg(out.len == 0, "check printed: %s", mp_buf_str(&out));
	ck_assert_int_eq(sh(&out, "'%s' -c '%s/etc/example.ini' --now "
	    "2021-06-10T00:00:00Z agenda --tz Asia/Tokyo 2>&1", bin(),
	    tu_srcdir()), 0);
	/* 2021-06-17 23:59 UTC is 08:59 JST on Friday 18 June */
	ck_assert_msg(strstr(mp_buf_str(&out), "Fri 18 Jun 2021 08:59 JST") !=
	    NULL, "%s", mp_buf_str(&out));
	ck_assert_msg(strstr(mp_buf_str(&out), "workshop-evaluations") != NULL,
	    "%s", mp_buf_str(&out));
	ck_assert_int_eq(sh(&out, "'%s' -c /nonexistent/magpie.ini check 2>&1",
	    bin()), 78);
	ck_assert_int_eq(sh(&out, "'%s' frobnicate 2>&1", bin()), 64);
	mp_buf_free(&out);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("e2e");
	TCase *tc = tcase_create("run");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_run_example_twice);
	tcase_add_test(tc, test_run_june_reminders);
	tcase_add_test(tc, test_check_and_agenda);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
