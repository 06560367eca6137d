/*
 * check_job.c - the steps of a run against a real local transport (a
 * sendmail stand-in script that records what it gets and exits with the
 * status written in a file): exactly once, retries, permanent failures,
 * digests covering only what is new.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "job.h"
#include "store.h"
#include "testutil.h"

static char *dir;
static struct mp_config *cfg;
static struct mp_store *st;

static void
set_rc(int rc)
{
	char path[4096], v[16];

	snprintf(path, sizeof(path), "%s/rc", dir);
	snprintf(v, sizeof(v), "%d\n", rc);
	tu_write(path, v);
}

static int
count_mails(void)
{
	char path[4096];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/got", dir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The deadlines and events, in a file of their own as the secretariat
 * keeps them. */
static void
write_items(const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/items.ini", dir);
	tu_write(path, text);
}

static void
reload(void)
{
	struct mp_diag d = { 0 };
	char path[4096];

	mp_config_free(cfg);
	snprintf(path, sizeof(path), "%s/magpie.ini", dir);
	ck_assert_msg(mp_config_load(path, &cfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
}

static void
setup_with(const char *extra)
{
	struct mp_diag d = { 0 };
	struct mp_err e = { 0 };
	char path[4096], sm[2048], text[16384], tmpl[3072];

	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/got", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(sm, sizeof(sm), "%s/sendmail", dir);
	snprintf(text, sizeof(text),
	    "#!/bin/sh\n"
	    "rc=$(cat '%s/rc')\n"
	    "[ \"$rc\" = 0 ] || exit \"$rc\"\n"
	    "n=$(ls '%s/got' | wc -l)\n"
	    "{ echo \"ARGV: $*\"; cat; } > '%s/got/mail.'\"$n\"\n", dir, dir, dir);
	tu_write(sm, text);
	ck_assert_int_eq(chmod(sm, 0700), 0);
	set_rc(0);
	snprintf(tmpl, sizeof(tmpl), "%s/etc/templates/digest", tu_srcdir());
	if (tmpl[0] != '/') {
		char cwd[2048];

		ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
		snprintf(tmpl, sizeof(tmpl), "%s/%s/etc/templates/digest", cwd,
		    tu_srcdir());
	}
	write_items("[deadline evals]\ndue = 2021-06-17 23:59 UTC\n"
	    "remind = 3d, 1d\nto = group:mag\npending = b\n");
	snprintf(text, sizeof(text),
	    "include = items.ini\n"
	    "[store]\npath = magpie.db\n"
	    "[list mag]\nname = MAG\nsource = mbox:list.mbox\n"
	    "list_id = mag.example.org\n"
	    "[delivery]\ntransport = sendmail:%s\n"
	    "from = Secretariat <sec@example.org>\nmax_attempts = 3\n"
	    "[digest]\ntemplate = %s\n%s"
	    "[member a]\nname = Ana\nemail = a@example.org\ngroups = mag\n"
	    "[member b]\nname = Bo\nemail = b@example.org\ntz = Asia/Tokyo\n"
	    "groups = mag\n", sm, tmpl, extra);
	snprintf(path, sizeof(path), "%s/magpie.ini", dir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &cfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
	ck_assert_msg(mp_store_open(cfg->store_path, &st, &e) == 0, "%s",
	    e.msg);
}

static void
setup(void)
{
	setup_with("");
}

static void
teardown(void)
{
	mp_store_close(st);
	mp_config_free(cfg);
	tu_rmtree(dir);
	free(dir);
}

static void
remind(const char *now, long sent, long temp, long perm)
{
	struct mp_err e = { 0 };
	struct mp_job j;

	mp_job_init(&j, cfg, st, tu_time(now), 0);
	ck_assert_msg(mp_job_remind(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.sent, sent);
	ck_assert_int_eq(j.temp_failed, temp);
	ck_assert_int_eq(j.perm_failed, perm);
}

START_TEST(test_retry_then_once)
{
	/* 3d reminder due (14 Jun 23:59); the server is "down" */
	set_rc(75);
	remind("2021-06-15T12:00:00Z", 0, 2, 0);
	ck_assert_int_eq(count_mails(), 0);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 2);
	/* back up: both go, once */
	set_rc(0);
	remind("2021-06-15T12:15:00Z", 2, 0, 0);
	ck_assert_int_eq(count_mails(), 2);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_SENT), 2);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 0);
	remind("2021-06-15T12:30:00Z", 0, 0, 0);
	ck_assert_int_eq(count_mails(), 2);
	/* the 1d reminder: only b is still pending */
	remind("2021-06-17T00:00:00Z", 1, 0, 0);
	ck_assert_int_eq(count_mails(), 3);
	/* after the deadline: nothing */
	remind("2021-06-18T00:00:00Z", 0, 0, 0);
	ck_assert_int_eq(count_mails(), 3);
}
END_TEST

START_TEST(test_permanent_and_attempts)
{
	set_rc(1);
	remind("2021-06-15T12:00:00Z", 0, 0, 2);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_FAILED), 2);
	set_rc(0);
	/* failed is final: not sent again */
	remind("2021-06-15T12:15:00Z", 0, 0, 0);
	ck_assert_int_eq(count_mails(), 0);
	/* the 1d reminder to b: three temporary failures, then given up */
	set_rc(75);
	remind("2021-06-17T00:00:00Z", 0, 1, 0);
	remind("2021-06-17T00:15:00Z", 0, 1, 0);
	remind("2021-06-17T00:30:00Z", 0, 0, 1);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_FAILED), 3);
	set_rc(0);
	remind("2021-06-17T00:45:00Z", 0, 0, 0);
	ck_assert_int_eq(count_mails(), 0);
}
END_TEST

static const char mbox1[] =
"From a@example.org Mon Jun 14 08:00:00 2021\n"
"From: Ana <a@example.org>\nTo: mag@example.org\n"
"Subject: [MAG] Agenda\nDate: Mon, 14 Jun 2021 08:00:00 +0000\n"
"Message-ID: <m1@example.org>\nList-Id: MAG <mag.example.org>\n\n"
"Please send your comments by 16 June.\n\n"
"From x@example.net Mon Jun 14 09:00:00 2021\n"
"From: X <x@example.net>\nTo: other@example.net\n"
"Subject: other list\nDate: Mon, 14 Jun 2021 09:00:00 +0000\n"
"Message-ID: <x1@example.net>\nList-Id: <other.example.net>\n\nhello\n\n";

static const char mbox2[] =
"From b@example.org Tue Jun 15 08:00:00 2021\n"
"From: Bo <b@example.org>\nTo: mag@example.org\n"
"Subject: Re: [MAG] Agenda\nDate: Tue, 15 Jun 2021 08:00:00 +0000\n"
"Message-ID: <m2@example.org>\nIn-Reply-To: <m1@example.org>\n"
"References: <m1@example.org>\nList-Id: MAG <mag.example.org>\n\n"
"Agreed.\n\n";

static void
fetch_and_digest(const char *now, long stored, long sent, long skipped)
{
	struct mp_err e = { 0 };
	struct mp_job j;

	mp_job_init(&j, cfg, st, tu_time(now), 0);
	ck_assert_msg(mp_job_fetch(&j, &e) == 0, "%s", e.msg);
	ck_assert_msg(mp_job_thread(&j, &e) == 0, "%s", e.msg);
	ck_assert_msg(mp_job_digests(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.stored, stored);
	ck_assert_int_eq(j.sent, sent);
	ck_assert_int_eq(j.skipped, skipped);
}

static char *
mail(int n)
{
	char path[4096], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/got/mail.%d", dir, n);
	ck_assert_int_eq(mp_read_file(path, 1 << 20, &text, &len), 0);
	return text;
}

START_TEST(test_digests_cover_only_new)
{
	char path[4096], *m;
	int64_t seq, slot;

	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	tu_write(path, mbox1);
	/* 14 Jun 12:00 UTC: a's slot is 07:00 UTC, b's 07:00 JST */
	fetch_and_digest("2021-06-14T12:00:00Z", 1, 2, 0);
	ck_assert_int_eq(count_mails(), 2);
	m = mail(0);
	ck_assert_msg(strstr(m, "ARGV: -i -f sec@example.org -- a@example.org")
	    != NULL, "%s", m);
	ck_assert_msg(strstr(m, "X-Magpie-Kind: digest") != NULL, "%s", m);
	ck_assert_msg(strstr(m, "1. Agenda") != NULL, "%s", m);
	free(m);
	ck_assert_int_eq(mp_store_digest_get(st, "a@example.org", &seq, &slot),
	    0);
	ck_assert_int_eq(slot, tu_time("2021-06-14T07:00:00Z"));
	/* same day again: nothing */
	fetch_and_digest("2021-06-14T18:00:00Z", 0, 0, 0);
	/* next day with one new message: covers only it */
	tu_write(path, mbox2);
	fetch_and_digest("2021-06-15T12:00:00Z", 1, 2, 0);
	m = mail(2);
	ck_assert_msg(strstr(m, "1 new messages in 1 threads") != NULL ||
	    strstr(m, "1 new message") != NULL, "%s", m);
	ck_assert_msg(strstr(m, "With: Bo") != NULL, "%s", m);
	ck_assert_msg(strstr(m, "Ana") == NULL || strstr(m, "With: Ana") ==
	    NULL, "%s", m);
	free(m);
	/* a day with nothing new and no deadline ahead within 14 days of
	 * 2021-07-01: not sent (send_empty = no) */
	fetch_and_digest("2021-07-01T12:00:00Z", 0, 0, 2);
	ck_assert_int_eq(count_mails(), 4);
}
END_TEST

/* The text/calendar part of a mail, decoded from base64. */
static char *
calendar_of(const char *m)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct mp_buf out = MP_BUF_INIT;
	const char *p = strstr(m, "Content-Type: text/calendar");
	unsigned v = 0;
	int bits = 0;

	ck_assert_ptr_nonnull(p);
	p = strstr(p, "\n\n");
	ck_assert_ptr_nonnull(p);
	for (p += 2; *p && *p != '-'; p++) {
		const char *c = strchr(b64, *p);

		if (*p == '=' || c == NULL || *p == '\0')
			continue;
		v = v << 6 | (unsigned)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			mp_buf_addc(&out, (char)(v >> bits & 0xff));
		}
	}
	return mp_buf_detach(&out);
}

static void
changes_and_remind(const char *now, long sent)
{
	struct mp_err e = { 0 };
	struct mp_job j;

	mp_job_init(&j, cfg, st, tu_time(now), 0);
	ck_assert_msg(mp_job_changes(&j, &e) == 0, "%s", e.msg);
	ck_assert_msg(mp_job_remind(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.sent, sent);
}

static int
count_kind(const char *kind)
{
	char want[64];
	int i, n = 0, total = count_mails();

	snprintf(want, sizeof(want), "X-Magpie-Kind: %s\n", kind);
	for (i = 0; i < total; i++) {
		char *m = mail(i);

		n += strstr(m, want) != NULL;
		free(m);
	}
	return n;
}

START_TEST(test_changed_and_cancelled)
{
	char *m;
	int i;

	/* the 3d reminder goes to both; the state is remembered */
	changes_and_remind("2021-06-15T12:00:00Z", 2);
	/* the secretariat moves the deadline by a day */
	write_items("[deadline evals]\ndue = 2021-06-18 23:59 UTC\n"
	    "remind = 3d, 1d\nto = group:mag\npending = b\n");
	reload();
	/* both were reminded: one notice each; the new 3d time (15 June
	 * 23:59) has not come yet */
	changes_and_remind("2021-06-15T13:00:00Z", 2);
	ck_assert_int_eq(count_kind("changed"), 2);
	for (i = 0; i < count_mails(); i++) {
		m = mail(i);
		if (strstr(m, "X-Magpie-Kind: changed") != NULL &&
		    strstr(m, "b@example.org") != NULL) {
			char *ics = calendar_of(m);

			/* old and new time in Bo's zone (Tokyo) */
			ck_assert_msg(strstr(m, "Sat 19 Jun 2021 08:59 JST") !=
			    NULL, "%.2000s", m);
			ck_assert_msg(strstr(m, "Fri 18 Jun 2021 08:59 JST") !=
			    NULL, "%.2000s", m);
			ck_assert_msg(strstr(ics, "SEQUENCE:1") != NULL, "%s",
			    ics);
			ck_assert_msg(strstr(m, "In-Reply-To: <") != NULL,
			    "%.2000s", m);
			free(ics);
		}
		free(m);
	}
	/* nothing twice */
	changes_and_remind("2021-06-15T13:15:00Z", 0);
	/* the new 3d reminder, to both */
	changes_and_remind("2021-06-16T00:00:00Z", 2);
	/* a member never reminded gets no notice: move it again before
	 * anyone but the first two was told; then remove it */
	write_items("");
	reload();
	changes_and_remind("2021-06-16T01:00:00Z", 2);
	ck_assert_int_eq(count_kind("cancelled"), 2);
	changes_and_remind("2021-06-16T01:15:00Z", 0);
	ck_assert_int_eq(count_mails(), 8);
}
END_TEST

START_TEST(test_change_before_any_reminder)
{
	/* first seen, then moved before any reminder went: no notice */
	changes_and_remind("2021-06-01T12:00:00Z", 0);
	write_items("[deadline evals]\ndue = 2021-06-18 23:59 UTC\n"
	    "remind = 3d, 1d\nto = group:mag\n");
	reload();
	changes_and_remind("2021-06-02T12:00:00Z", 0);
	ck_assert_int_eq(count_mails(), 0);
}
END_TEST

/* A deadline moved earlier: the reminder whose time is already past at
 * the change is not sent late (the notice said it); the next one is. */
START_TEST(test_change_no_stale_reminder)
{
	changes_and_remind("2021-06-15T12:00:00Z", 2);     /* 3d, both */
	write_items("[deadline evals]\ndue = 2021-06-16 23:59 UTC\n"
	    "remind = 3d, 1d\nto = group:mag\npending = b\n");
	reload();
	/* notices only: the new 3d time (13 June) passed before the change */
	changes_and_remind("2021-06-15T13:00:00Z", 2);
	ck_assert_int_eq(count_kind("changed"), 2);
	ck_assert_int_eq(count_kind("reminder"), 2);
	/* the new 1d time (15 June 23:59), pending b only */
	changes_and_remind("2021-06-16T00:00:00Z", 1);
	ck_assert_int_eq(count_kind("reminder"), 3);
}
END_TEST

/* A day after the deadline, those still pending get one notice. */
START_TEST(test_overdue_notice)
{
	char *m;

	write_items("[deadline evals]\ndue = 2021-06-17 23:59 UTC\n"
	    "remind = 3d\noverdue = 1d\nto = group:mag\npending = b\n");
	reload();
	changes_and_remind("2021-06-18T23:58:00Z", 0);
	changes_and_remind("2021-06-19T00:00:00Z", 1);
	changes_and_remind("2021-06-19T00:15:00Z", 0);
	ck_assert_int_eq(count_mails(), 1);
	m = mail(0);
	ck_assert_msg(strstr(m, "X-Magpie-Kind: notice\n") != NULL, "%.1500s",
	    m);
	ck_assert_msg(strstr(m, "-- b@example.org") != NULL, "%.300s", m);
	ck_assert_msg(strstr(m, "Subject: Overdue: evals was due") != NULL,
	    "%.1500s", m);
	ck_assert_msg(strstr(m, "was due 1 day ago") != NULL, "%.3000s", m);
	free(m);
}
END_TEST

/* An SMTP server that cannot be reached (a loopback port bound but not
 * listening: connection refused) is not the email's fault: the email a
 * run tries first stays pending however many runs the outage lasts, or
 * six hours of downtime (24 runs) would fail it for good at
 * max_attempts (3 here) and lose it. */
START_TEST(test_server_down_not_an_attempt)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct mp_err e = { 0 };
	struct mp_job j;
	char path[4096], *old, *tr, *eol, text[16384];
	size_t len;
	int fd, i;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(path, sizeof(path), "%s/magpie.ini", dir);
	ck_assert_int_eq(mp_read_file(path, 1 << 20, &old, &len), 0);
	tr = strstr(old, "transport = ");
	ck_assert_ptr_nonnull(tr);
	eol = strchr(tr, '\n');
	ck_assert_ptr_nonnull(eol);
	snprintf(text, sizeof(text), "%.*stransport = smtp://127.0.0.1:%d\n"
	    "tls = none%s", (int)(tr - old), old, ntohs(sa.sin_port), eol);
	free(old);
	tu_write(path, text);
	reload();
	for (i = 0; i < 6; i++) {
		mp_job_init(&j, cfg, st, tu_time("2021-06-15T12:00:00Z") + i * 900, 0);
		ck_assert_int_eq(mp_job_remind(&j, &e), -1);
		ck_assert_int_eq(e.code, MP_EX_TEMPFAIL);
		mp_job_finish(&j);
		ck_assert_int_eq(j.sent, 0);
		ck_assert_int_eq(j.perm_failed, 0);
	}
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_FAILED), 0);
	ck_assert_int_eq(mp_store_ledger_count(st, MP_LEDGER_PENDING), 1);
	close(fd);
}
END_TEST

static const char mbox3[] =
"From b@example.org Thu Jul  1 13:00:00 2021\n"
"From: Bo <b@example.org>\nTo: mag@example.org\n"
"Subject: [MAG] July\nDate: Thu, 1 Jul 2021 13:00:00 +0000\n"
"Message-ID: <m3@example.org>\nList-Id: MAG <mag.example.org>\n\n"
"Hello.\n\n";

/* A slot found empty (send_empty = no) is served: mail that comes later
 * that day waits for the next slot instead of making a digest go out at
 * some hour of the afternoon, and the skip is counted once. */
START_TEST(test_empty_slot_served)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	tu_write(path, mbox1);
	fetch_and_digest("2021-06-14T12:00:00Z", 1, 2, 0);
	/* nothing new, nothing ahead: a's 07:00 UTC and b's 07:00 JST
	 * slots of 1 July are skipped, once */
	fetch_and_digest("2021-07-01T12:00:00Z", 0, 0, 2);
	fetch_and_digest("2021-07-01T12:15:00Z", 0, 0, 0);
	/* a message at 13:00 UTC: no digest before the next slots */
	tu_write(path, mbox3);
	fetch_and_digest("2021-07-01T14:00:00Z", 1, 0, 0);
	ck_assert_int_eq(count_mails(), 2);
	/* b's slot (07:00 JST = 22:00 UTC), then a's, cover it */
	fetch_and_digest("2021-07-01T22:00:00Z", 0, 1, 0);
	fetch_and_digest("2021-07-02T07:00:00Z", 0, 1, 0);
	ck_assert_int_eq(count_mails(), 4);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_retry_then_once);
	tcase_add_test(tc, test_permanent_and_attempts);
	tcase_add_test(tc, test_digests_cover_only_new);
	tcase_add_test(tc, test_changed_and_cancelled);
	tcase_add_test(tc, test_change_before_any_reminder);
	tcase_add_test(tc, test_change_no_stale_reminder);
	tcase_add_test(tc, test_overdue_notice);
	tcase_add_test(tc, test_server_down_not_an_attempt);
	tcase_add_test(tc, test_empty_slot_served);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
