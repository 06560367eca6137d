/*
 * check_job.c - the steps of a run against a real local transport (a
 * sendmail stand-in script that records what it gets and exits with the
 * status written in a file): exactly once, retries, permanent failures,
 * digests covering only what is new.
 */
#define _GNU_SOURCE             /* sched_setaffinity */
#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "job.h"
#include "mime.h"
#include "source.h"
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

/* ---- incremental threading ---- */

/*
 * Messages threaded as they arrive, a batch at a time, must end in the
 * threads a rebuild of the whole store gives: after importing in pieces,
 * mp_job_thread() must find nothing to change. The corpus covers every
 * way threads meet: References chains, In-Reply-To only, subject-only
 * replies, generic subjects repeated over months (the subject window),
 * missing parents, and messages arriving in any order, so that late
 * messages merge threads.
 */
static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

struct gmsg {
	char *text;
	char *refs;             /* "<a> <b>" */
	int thread_subject;
	int64_t date;
	int dropped;
};

static const char *const subjects[] = {
	"Minutes", "Agenda", "Workshop evaluations", "Call for inputs",
	"Next meeting", "Summary of the open consultations", "Poll",
	"Intersessional work", "Travel support", "Best practice forums",
};

#define NSUBJ (sizeof(subjects) / sizeof(subjects[0]))

static struct gmsg *
gen_msgs(int n, uint32_t seed)
{
	struct gmsg *g = mp_xcalloc((size_t)n, sizeof(*g));
	uint32_t x = seed;
	int i;

	for (i = 0; i < n; i++) {
		struct mp_buf b = MP_BUF_INIT, refs = MP_BUF_INIT;
		int root = i < 5 || rnd(&x) % 100 < 25, p = -1, kind;
		char date[64];

		if (root) {
			/* generic subjects, or one of its own */
			g[i].thread_subject = rnd(&x) % 100 < 40 ?
			    (int)NSUBJ + i : (int)(rnd(&x) % NSUBJ);
			g[i].date = (int64_t)1600000000 + (int64_t)i * 4000 +
			    (int64_t)(rnd(&x) % 3600);
		} else {
			/* a parent among the last 150 messages */
			int back = 1 + (int)(rnd(&x) % 150);

			p = i - back < 0 ? 0 : i - back;
			g[i].thread_subject = g[p].thread_subject;
			g[i].date = g[p].date + (int64_t)(rnd(&x) % (5 * 86400));
		}
		kind = (int)(rnd(&x) % 100);
		mp_buf_printf(&b, "From: U%u <u%u@example.org>\n",
		    rnd(&x) % 40, rnd(&x) % 40);
		mp_buf_printf(&b, "Subject: %s", p < 0 ? (kind < 8 ? "Re: " :
		    "") : kind < 50 ? "Re: " : "RE: [MAG] ");
		if (p >= 0 && kind > 95)
			mp_buf_adds(&b, "Something else\n");
		else if (g[i].thread_subject >= (int)NSUBJ)
			mp_buf_printf(&b, "Topic %d\n", g[i].thread_subject);
		else
			mp_buf_printf(&b, "%s\n", subjects[g[i].thread_subject]);
		mp_dt_rfc5322(g[i].date, "UTC", date, sizeof(date));
		mp_buf_printf(&b, "Date: %s\nMessage-ID: <g%d.%u@example.org>\n",
		    date, i, seed);
		if (p >= 0) {
			/* the parent's chain, then the parent */
			if (kind < 70 && g[p].refs != NULL)
				mp_buf_printf(&refs, "%s ", g[p].refs);
			else if (kind < 80 && g[p].refs != NULL)
				/* a gateway kept only the first */
				mp_buf_printf(&refs, "%.*s ",
				    (int)strcspn(g[p].refs, " "), g[p].refs);
			mp_buf_printf(&refs, "<g%d.%u@example.org>", p, seed);
			if (kind < 85)
				mp_buf_printf(&b, "References: %s\n",
				    mp_buf_str(&refs));
			if (kind >= 75 && kind < 92)
				mp_buf_printf(&b, "In-Reply-To: "
				    "<g%d.%u@example.org>\n", p, seed);
			/* kind >= 92: a subject-only reply */
			g[i].refs = mp_buf_detach(&refs);
		}
		mp_buf_printf(&b, "\nText %d.\n", i);
		g[i].text = mp_buf_detach(&b);
		g[i].dropped = rnd(&x) % 100 < 4;       /* never archived */
		mp_buf_free(&refs);
	}
	return g;
}

static void
gen_free(struct gmsg *g, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(g[i].text);
		free(g[i].refs);
	}
	free(g);
}

/* Write texts[order[from..to)] as Maildir dir/NAME. */
static char *
write_maildir(const char *name, char **texts, const int *order, int from,
    int to)
{
	char path[4096], f[4200];
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(f, sizeof(f), "%s/new", path);
	ck_assert_int_eq(mkdir(f, 0700), 0);
	snprintf(f, sizeof(f), "%s/tmp", path);
	ck_assert_int_eq(mkdir(f, 0700), 0);
	snprintf(f, sizeof(f), "%s/cur", path);
	ck_assert_int_eq(mkdir(f, 0700), 0);
	for (i = from; i < to; i++) {
		snprintf(f, sizeof(f), "%s/cur/%08d", path, i);
		tu_write(f, texts[order[i]]);
	}
	return mp_xstrdup(path);
}

static void
shuffle(int *order, int n, uint32_t seed)
{
	uint32_t x = seed;
	int i, k, t;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		k = (int)(rnd(&x) % (uint32_t)(i + 1));
		t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
}

/* Import texts[0..n) in nparts pieces, in the order given (or shuffled),
 * then rebuild: returns how many messages the rebuild moved (must be 0)
 * and, in *moved, how many the imports moved, in *loaded how many stored
 * messages incremental threading read (the first pieces are many against
 * the store, so they are threaded by a rebuild: the rest are not). */
static long
import_in_parts(char **texts, int n, int nparts, uint32_t seed, long *moved,
    long *stored, long *loaded)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	int *order = mp_xcalloc((size_t)n, sizeof(int)), k;

	*moved = 0;
	*stored = 0;
	*loaded = 0;
	shuffle(order, n, seed);
	if (seed == 0)
		for (k = 0; k < n; k++)
			order[k] = k;
	for (k = 0; k < nparts; k++) {
		char name[32], *path;

		snprintf(name, sizeof(name), "part%u.%d", seed, k);
		path = write_maildir(name, texts, order, n * k / nparts,
		    n * (k + 1) / nparts);
		mp_job_init(&j, cfg, st, 0, 0);
		ck_assert_msg(mp_job_import(&j, path, NULL, "t", &e) == 0,
		    "%s", e.msg);
		mp_job_finish(&j);
		*moved += j.rethreaded;
		*stored += j.stored;
		*loaded += j.thread_loaded;
		free(path);
	}
	free(order);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_thread(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	return j.rethreaded;
}

static char **
kept_texts(struct gmsg *g, int n, int *kept)
{
	char **t = mp_xcalloc((size_t)n, sizeof(*t));
	int i;

	*kept = 0;
	for (i = 0; i < n; i++)
		if (!g[i].dropped)
			t[(*kept)++] = g[i].text;
	return t;
}

START_TEST(test_incremental_threads_shuffled)
{
	struct gmsg *g = gen_msgs(1500, 7);
	long moved, stored, loaded;
	int kept;
	char **t = kept_texts(g, 1500, &kept);

	/* one message at a time would take long; 25 pieces in random order
	 * give many late merges */
	ck_assert_int_eq(import_in_parts(t, kept, 25, 11, &moved, &stored,
	    &loaded), 0);
	ck_assert_int_eq(stored, kept);
	/* the corpus did make late messages merge threads, and most pieces
	 * were threaded incrementally */
	ck_assert_int_gt(moved, 10);
	ck_assert_int_gt(loaded, 1000);
	free(t);
	gen_free(g, 1500);
}
END_TEST

/* With shorter subject windows (replies come up to 5 days after their
 * parent, so subject chains break), or none, incremental threading still
 * gives what a rebuild gives. (Before the store kept reply roots, 1 day
 * did not: a thread that reached a stored one only through the range of
 * its other messages was joined by a rebuild alone.) */
START_TEST(test_incremental_threads_window)
{
	static const char *const windows[] = { "12h", "1d", "2d", "3d", "off" };
	struct gmsg *g = gen_msgs(1000, 5);
	long moved, stored, loaded;
	int kept, w;
	char **t = kept_texts(g, 1000, &kept), extra[64];

	for (w = 0; w < (int)(sizeof(windows) / sizeof(*windows)); w++) {
		teardown();
		snprintf(extra, sizeof(extra), "[threads]\nsubject_window = "
		    "%s\n", windows[w]);
		setup_with(extra);
		ck_assert_int_eq(import_in_parts(t, kept, 20, 13, &moved,
		    &stored, &loaded), 0);
		ck_assert_int_eq(stored, kept);
		ck_assert_int_gt(moved, 5);
	}
	free(t);
	gen_free(g, 1000);
}
END_TEST

START_TEST(test_incremental_threads_in_order)
{
	struct gmsg *g = gen_msgs(1200, 3);
	long moved, stored, loaded;
	int kept;
	char **t = kept_texts(g, 1200, &kept);

	ck_assert_int_eq(import_in_parts(t, kept, 20, 0, &moved, &stored,
	    &loaded), 0);
	ck_assert_int_gt(loaded, 100);
	ck_assert_int_eq(stored, kept);
	free(t);
	gen_free(g, 1200);
}
END_TEST

/* Every stored message has a thread, and a full rebuild moves none. */
static void
assert_threaded_as_rebuild(void)
{
	struct mp_err e = { 0 };
	struct mp_job j;

	ck_assert_int_eq(mp_store_count_unthreaded(st), 0);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_thread(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.rethreaded, 0);
}

/* texts in an mbox (gzip-compressed when gz), in the order given */
static void
write_mbox(const char *path, char **texts, const int *order, int n, int gz)
{
	struct mp_buf b = MP_BUF_INIT;
	int i;

	for (i = 0; i < n; i++)
		mp_buf_printf(&b, "From list@example.org Thu Jan  1 00:00:00"
		    " 2020\n%s\n", texts[order[i]]);
	if (gz) {
		gzFile f = gzopen(path, "wb");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(gzwrite(f, b.data, (unsigned)b.len), (int)b.len);
		ck_assert_int_eq(gzclose(f), Z_OK);
	} else {
		tu_write(path, mp_buf_str(&b));
	}
	mp_buf_free(&b);
}

/* One archive of more messages than are threaded at once, shuffled: the
 * later batches are threaded against the threads the earlier ones
 * stored, in the same run, and the result is the rebuild's. */
/* An mbox in dir of 12,000 generated messages (seed gseed) in a shuffled
 * order (seed oseed); returns how many it holds. */
static int
write_shuffled(const char *name, uint32_t gseed, uint32_t oseed,
    char *path, size_t size)
{
	struct gmsg *g = gen_msgs(12000, gseed);
	int kept, *order;
	char **t = kept_texts(g, 12000, &kept);

	order = mp_xcalloc((size_t)kept, sizeof(int));
	shuffle(order, kept, oseed);
	snprintf(path, size, "%s/%s", dir, name);
	write_mbox(path, t, order, kept, 0);
	free(order);
	free(t);
	gen_free(g, 12000);
	return kept;
}

/* stat(2) of the file named path + suffix. */
static int
stat_suffix(const char *path, const char *suffix)
{
	char p[4096];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &sb);
}

/* Import path with a new job, which must succeed. */
static void
import_ok(struct mp_job *j, const char *path)
{
	struct mp_err e = { 0 };

	mp_job_init(j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_import(j, path, NULL, "t", &e) == 0, "%s",
	    e.msg);
	mp_job_finish(j);
}

START_TEST(test_import_beyond_one_batch)
{
	struct mp_job j;
	char path[4096];
	int kept = write_shuffled("big.mbox", 13, 17, path, sizeof(path));

	import_ok(&j, path);
	ck_assert_int_eq(j.stored, kept);
	ck_assert_int_eq(j.duplicates, 0);
	ck_assert_int_gt(j.thread_loaded, 1000);
	/* imported with a rollback journal (mp_store_bulk), in WAL mode
	 * again after */
	ck_assert_int_eq(stat_suffix(cfg->store_path, "-journal"), -1);
	ck_assert_int_eq(stat_suffix(cfg->store_path, "-wal"), 0);
	/* most come from the batch before, not the store */
	ck_assert_int_gt(j.thread_warm, j.thread_loaded / 2);
	assert_threaded_as_rebuild();
}
END_TEST

/* Pinned to one core, import parses on the thread that stores (no
 * pipeline): the same result, threads, duplicates. */
START_TEST(test_import_on_one_core)
{
	struct mp_job j;
	char path[4096];
	int kept = write_shuffled("one.mbox", 23, 29, path, sizeof(path));
	int k, cpu = -1;
	cpu_set_t all, one;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	for (k = 0; k < CPU_SETSIZE && cpu < 0; k++)
		if (CPU_ISSET(k, &all))
			cpu = k;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	import_ok(&j, path);
	ck_assert_int_eq(j.stored, kept);
	ck_assert_int_eq(j.duplicates, 0);
	ck_assert_int_gt(j.thread_loaded, 1000);
	import_ok(&j, path);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(all), &all), 0);
	ck_assert_int_eq(j.stored, 0);
	ck_assert_int_eq(j.duplicates, kept);
	ck_assert_int_eq(mp_store_count_msgs(st), kept);
	assert_threaded_as_rebuild();
}
END_TEST

static int
count_msgs(const char *raw, size_t len, int64_t delivered,
    const char *origin, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* An archive that breaks after many messages (a truncated gzip stream):
 * the import fails, what was read before the break is stored, and the
 * next run threads it. */
START_TEST(test_broken_archive_keeps_what_was_read)
{
	struct gmsg *g = gen_msgs(9000, 19);
	struct mp_err e = { 0 };
	struct mp_job j;
	char path[4096], *data;
	size_t len;
	int kept, *order, k, read = 0;
	char **t = kept_texts(g, 9000, &kept);
	int64_t n;

	order = mp_xcalloc((size_t)kept, sizeof(int));
	for (k = 0; k < kept; k++)
		order[k] = k;
	snprintf(path, sizeof(path), "%s/broken.mbox.gz", dir);
	write_mbox(path, t, order, kept, 1);
	/* the last fifth of the compressed stream is missing */
	ck_assert_int_eq(mp_read_file(path, 1 << 26, &data, &len), 0);
	{
		FILE *f = fopen(path, "wb");

		ck_assert_ptr_nonnull(f);
		len -= len / 5;
		ck_assert_uint_eq(fwrite(data, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
	}
	free(data);
	/* what the archive gives before it breaks */
	ck_assert_int_eq(mp_source_read(path, count_msgs, &read, &e), -1);
	ck_assert_int_gt(read, 5000);
	ck_assert_int_lt(read, kept);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_int_eq(mp_job_import(&j, path, NULL, "t", &e), -1);
	mp_job_finish(&j);
	/* more than one batch was read before the break, all of it kept */
	n = mp_store_count_msgs(st);
	ck_assert_int_eq(n, read);
	ck_assert_int_eq(j.duplicates, 0);
	ck_assert_int_eq(j.stored, n);
	assert_threaded_as_rebuild();
	free(order);
	free(t);
	gen_free(g, 9000);
}
END_TEST

static int
collect_text(const char *raw, size_t len, int64_t delivered,
    const char *origin, void *ctx)
{
	struct { char **v; int n, cap; } *c = ctx;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = mp_xrealloc(c->v, (size_t)c->cap * sizeof(*c->v));
	}
	c->v[c->n] = mp_xmalloc(len + 1);
	memcpy(c->v[c->n], raw, len);
	c->v[c->n++][len] = '\0';
	return 0;
}

/* The same on the real fedora-devel archive and a gen-corpus archive,
 * when ../shared is there. */
START_TEST(test_incremental_threads_corpora)
{
	struct { char **v; int n, cap; } c = { NULL, 0, 0 };
	const char *sh = tu_shared();
	char path[8192], cmd[16384];
	struct mp_err e = { 0 };
	long moved, stored, loaded;
	int i;

	if (sh == NULL)
		return;         /* ../shared absent: nothing more to check */
	snprintf(path, sizeof(path), "%s/testdata/threads/fedora-devel-2010-01/"
	    "2010-January.txt.gz", sh);
	if (access(path, R_OK) == 0)
		ck_assert_msg(mp_source_read(path, collect_text, &c, &e) == 0,
		    "%s", e.msg);
	snprintf(path, sizeof(path), "%s/gen.mbox", dir);
	snprintf(cmd, sizeof(cmd), "'%s/tools/gen-corpus' -q -n 3000 --format"
	    " mbox -o '%s' >/dev/null 2>&1", sh, path);
	if (system(cmd) == 0)
		ck_assert_msg(mp_source_read(path, collect_text, &c, &e) == 0,
		    "%s", e.msg);
	if (c.n > 0)
		ck_assert_int_eq(import_in_parts(c.v, c.n, 12, 5, &moved,
		    &stored, &loaded), 0);
	for (i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
}
END_TEST

/* A message stored without a thread (a crash between storing and
 * threading) is threaded by the next import or fetch. */
struct thread_of {
	const char *id;
	char *thread;
};

static int
find_thread(const struct mp_thread_row *r, void *ctx)
{
	struct thread_of *t = ctx;

	if (strcmp(r->message_id, t->id) == 0 && r->thread != NULL)
		t->thread = mp_xstrdup(r->thread);
	return 0;
}

/* The stored thread of a message ("" when it has none). */
static char *
thread_of(const char *id)
{
	struct thread_of t = { id, NULL };
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_each_trow(st, NULL, find_thread, &t, &e), 0);
	return t.thread != NULL ? t.thread : mp_xstrdup("");
}

static void
write_list(const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	tu_write(path, text);
}

START_TEST(test_unthreaded_picked_up)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	struct mp_msg m;
	char *t;
	int added;

	memset(&m, 0, sizeof(m));
	m.message_id = "m0@example.org";
	m.subject = "Agenda";
	m.subject_norm = "Agenda";
	ck_assert_int_eq(mp_store_add_msg(st, &m, NULL, "t", 0, &added, &e),
	    0);
	t = thread_of("m0@example.org");
	ck_assert_str_eq(t, "");
	free(t);
	write_list(mbox2);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_fetch(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	t = thread_of("m0@example.org");
	ck_assert_str_eq(t, "m0@example.org");
	free(t);
	t = thread_of("m2@example.org");
	ck_assert_str_eq(t, "m2@example.org");
	free(t);
}
END_TEST

static int
find_subject(const struct mp_thread_row *r, void *ctx)
{
	struct thread_of *t = ctx;

	if (strcmp(r->message_id, t->id) == 0)
		t->thread = mp_xstrdup(r->subject);
	return 0;
}

/* A Message-ID twice in one archive, and one already stored: the first
 * copy is kept, the others are counted as duplicates. */
START_TEST(test_duplicates_in_one_run)
{
	struct thread_of sub = { "d1@example.org", NULL };
	struct mp_err e = { 0 };
	struct mp_job j;
	char path[4096], *t;

	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	write_list(mbox1);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_import(&j, path, NULL, "t", &e) == 0, "%s",
	    e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.stored, 2);
	write_list("From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <d1@example.org>\nSubject: First copy\n"
	    "Date: Mon, 14 Jun 2021 09:00:00 +0000\n\nOne.\n\n"
	    "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <d1@example.org>\nSubject: Second copy\n"
	    "Date: Mon, 14 Jun 2021 10:00:00 +0000\n\nTwo.\n\n"
	    "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <m1@example.org>\nSubject: Again\n"
	    "Date: Mon, 14 Jun 2021 11:00:00 +0000\n\nThree.\n");
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_import(&j, path, NULL, "t", &e) == 0, "%s",
	    e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.stored, 1);
	ck_assert_int_eq(j.duplicates, 2);
	ck_assert_int_eq(mp_store_count_msgs(st), 3);
	ck_assert_int_eq(mp_store_each_trow(st, NULL, find_subject, &sub, &e),
	    0);
	ck_assert_str_eq(sub.thread, "First copy");
	free(sub.thread);
	t = thread_of("d1@example.org");
	ck_assert_str_eq(t, "d1@example.org");
	free(t);
}
END_TEST

/* A store upgraded from version 2 (flag "rethread") has every thread
 * rebuilt once, then threads incrementally again. */
START_TEST(test_rethread_after_upgrade)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_job j;
	char *t;

	mp_buf_printf(&b, "%s%s", mbox1, mbox2);
	write_list(mp_buf_str(&b));
	mp_buf_free(&b);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_fetch(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	t = thread_of("m2@example.org");
	ck_assert_str_eq(t, "m1@example.org");
	free(t);
	/* a state only a rebuild mends, and the upgrade's flag */
	ck_assert_int_eq(mp_store_set_thread(st, "m2@example.org", "stray",
	    &e), 0);
	ck_assert_int_eq(mp_store_flag_set(st, "rethread", 1, &e), 0);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_fetch(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.stored, 0);
	ck_assert_int_eq(j.rethreaded, 1);
	ck_assert_int_eq(mp_store_flag_get(st, "rethread"), 0);
	t = thread_of("m2@example.org");
	ck_assert_str_eq(t, "m1@example.org");
	free(t);
	/* once only */
	ck_assert_int_eq(mp_store_set_thread(st, "m2@example.org", "stray",
	    &e), 0);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_fetch(&j, &e) == 0, "%s", e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.rethreaded, 0);
}
END_TEST

/* A reply by subject alone, 50 days after the thread it answers. */
static const char window_mbox[] =
    "From a@x Thu Jan  1 00:00:00 2020\n"
    "Message-ID: <w1@example.org>\nSubject: Budget\n"
    "Date: Fri, 01 Jan 2021 09:00:00 +0000\n\nThe budget.\n\n"
    "From a@x Thu Jan  1 00:00:00 2020\n"
    "Message-ID: <w2@example.org>\nSubject: Re: Budget\n"
    "Date: Sat, 20 Feb 2021 09:00:00 +0000\n\nLate answer.\n";

/* [threads] subject_window = v ("" : none), and the config read again. */
static void
set_window(const char *v)
{
	char path[4096], *text, *cut;
	struct mp_buf b = MP_BUF_INIT;
	size_t len;

	snprintf(path, sizeof(path), "%s/magpie.ini", dir);
	ck_assert_int_eq(mp_read_file(path, 1 << 20, &text, &len), 0);
	if ((cut = strstr(text, "[threads]")) != NULL)
		*cut = '\0';
	mp_buf_adds(&b, text);
	if (*v != '\0')
		mp_buf_printf(&b, "[threads]\nsubject_window = %s\n", v);
	tu_write(path, mp_buf_str(&b));
	mp_buf_free(&b);
	free(text);
	reload();
}

/* Imports list.mbox: how many times every thread was made anew. */
static long
import_list(void)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	char path[4096];

	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_import(&j, path, NULL, "t", &e) == 0, "%s",
	    e.msg);
	mp_job_finish(&j);
	return j.rebuilds;
}

static int
count_thread(const struct mp_thread_view *t, void *ctx)
{
	(void)t;
	(*(int *)ctx)++;
	return 0;
}

static int
view_threads(void)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	int n = 0;

	mp_job_init(&j, cfg, st, 0, 1);
	ck_assert_msg(mp_job_each_thread(&j, 0, count_thread, &n, &e) == 0,
	    "%s", e.msg);
	mp_job_finish(&j);
	return n;
}

static void
assert_thread(const char *id, const char *thread)
{
	char *t = thread_of(id);

	ck_assert_str_eq(t, thread);
	free(t);
}

/* [threads] subject_window: the reply 50 days on joins its thread only
 * with a window that long. The store records the window its threads were
 * made with: when the setting changes, every thread is made again, once;
 * an empty store takes the setting at once (no rebuild after). */
START_TEST(test_subject_window)
{
	write_list(window_mbox);
	ck_assert_int_eq(import_list(), 0);
	assert_thread("w2@example.org", "w2@example.org");
	ck_assert_int_eq(mp_store_flag_get(st, "subject_window"), 30 * 86400);
	ck_assert_int_eq(view_threads(), 2);
	set_window("60d");
	ck_assert_int_eq(view_threads(), 1);
	ck_assert_int_eq(import_list(), 1);
	assert_thread("w2@example.org", "w1@example.org");
	ck_assert_int_eq(mp_store_flag_get(st, "subject_window"), 60 * 86400);
	ck_assert_int_eq(import_list(), 0);
	set_window("off");
	ck_assert_int_eq(import_list(), 1);
	assert_thread("w1@example.org", "w1@example.org");
	assert_thread("w2@example.org", "w2@example.org");
	ck_assert_int_eq(view_threads(), 2);
	ck_assert_int_eq(import_list(), 0);
	set_window("");
	ck_assert_int_eq(import_list(), 1);
	/* none recorded (a store from before the key): the default */
	ck_assert_int_eq(mp_store_flag_set(st, "subject_window", 0, NULL), 0);
	ck_assert_int_eq(import_list(), 0);
	set_window("60d");
	ck_assert_int_eq(import_list(), 1);
}
END_TEST

/* An empty store imported into with a window threads with it from the
 * first message, and needs no rebuild after; a reply imported later
 * finds the stored thread within the window. */
START_TEST(test_subject_window_new_store)
{
	const char *second = strstr(window_mbox, "\n\nFrom ") + 2;
	char *first = mp_xstrndup(window_mbox, (size_t)(second - window_mbox));

	teardown();
	setup_with("[threads]\nsubject_window = 60d\n");
	write_list(first);
	ck_assert_int_eq(import_list(), 0);
	ck_assert_int_eq(mp_store_flag_get(st, "subject_window"), 60 * 86400);
	write_list(second);
	ck_assert_int_eq(import_list(), 0);
	assert_thread("w2@example.org", "w1@example.org");
	write_list(window_mbox);
	ck_assert_int_eq(import_list(), 0);
	free(first);
}
END_TEST

/* A reply whose parent never came is a thread alone; a thread of its
 * subject that starts days before, imported later, gathers it as a
 * rebuild does: the store finds it by its reply root. The new thread's
 * range reaches the 1-day window only through a reply with another
 * subject; no message of its subject is within a day of the stored one. */
static const char *const late_root[] = {
	"Message-ID: <r1@example.org>\nSubject: Re: Budget lines\n"
	"In-Reply-To: <gone@example.org>\n"
	"Date: Fri, 08 Jan 2021 09:00:00 +0000\n\nAgreed.\n",
	"Message-ID: <a1@example.org>\nSubject: Budget lines\n"
	"Date: Mon, 04 Jan 2021 09:00:00 +0000\n\nThe lines.\n",
	"Message-ID: <a2@example.org>\nSubject: Re: Budget lines: figures\n"
	"In-Reply-To: <a1@example.org>\n"
	"Date: Thu, 07 Jan 2021 10:00:00 +0000\n\nNoted.\n",
};

static int
add_name(const char *name, void *ctx)
{
	mp_buf_printf(ctx, "%s;", name);
	return 0;
}

START_TEST(test_late_thread_gathers_reply_root)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };
	long moved, stored, loaded;
	char *t[3];
	int i;

	teardown();
	setup_with("[threads]\nsubject_window = 1d\n");
	mp_buf_printf(&b, "From a@x Thu Jan  1 00:00:00 2020\n%s", late_root[0]);
	write_list(mp_buf_str(&b));
	ck_assert_int_eq(import_list(), 0);
	mp_buf_reset(&b);
	/* its date range, within the window of 6-9 January */
	ck_assert_int_eq(mp_store_reply_roots_near(st, "Budget lines",
	    1609923600, 1610182800, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "r1@example.org;");
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_reply_roots_near(st, "Budget lines",
	    1610100000, 1610182800, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "");
	mp_buf_reset(&b);
	for (i = 1; i < 3; i++)
		mp_buf_printf(&b, "From a@x Thu Jan  1 00:00:00 2020\n%s\n",
		    late_root[i]);
	write_list(mp_buf_str(&b));
	ck_assert_int_eq(import_list(), 0);
	assert_thread("a1@example.org", "r1@example.org");
	assert_thread("a2@example.org", "r1@example.org");
	/* joined, and still a reply root of its References tree */
	mp_buf_reset(&b);
	ck_assert_int_eq(mp_store_reply_roots_near(st, "Budget lines", 0,
	    INT64_MAX, add_name, &b, &e), 0);
	ck_assert_str_eq(mp_buf_str(&b), "r1@example.org;");
	/* a rebuild agrees, whatever the order the parts came in */
	for (i = 0; i < 3; i++)
		t[i] = (char *)late_root[i];
	ck_assert_int_eq(import_in_parts(t, 3, 3, 0, &moved, &stored,
	    &loaded), 0);
	ck_assert_int_eq(import_in_parts(t, 3, 3, 5, &moved, &stored,
	    &loaded), 0);
	mp_buf_free(&b);
}
END_TEST

/* Threads kept from one batch for the next are stored threads there,
 * not new mail: the subject fallback asks nothing for their trees. A
 * reply to a1 in the second batch reads a1's thread (a1, and the reply
 * root r1 joined to it by subject) and nothing else; b1, another thread
 * of the subject near r1, stays unread (it was read when r1 counted as
 * new in the second batch too). */
START_TEST(test_kept_threads_not_new)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_job j;
	char path[4096];
	int i;

	mp_buf_adds(&b, "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <a1@example.org>\nSubject: Plan\n"
	    "Date: Fri, 01 Jan 2021 09:00:00 +0000\n\nThe plan.\n\n"
	    "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <r1@example.org>\nSubject: Re: Plan\n"
	    "In-Reply-To: <gone@example.org>\n"
	    "Date: Sun, 03 Jan 2021 09:00:00 +0000\n\nYes.\n\n"
	    "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <b1@example.org>\nSubject: Plan\n"
	    "Date: Sun, 10 Jan 2021 09:00:00 +0000\n\nAnother.\n\n");
	/* the rest of the first batch of 3,000 */
	for (i = 0; i < 2997; i++)
		mp_buf_printf(&b, "From a@x Thu Jan  1 00:00:00 2020\n"
		    "Message-ID: <n%d@example.org>\nSubject: Note %d\n"
		    "Date: Mon, 01 Mar 2021 09:00:00 +0000\n\nNote.\n\n",
		    i, i);
	mp_buf_adds(&b, "From a@x Thu Jan  1 00:00:00 2020\n"
	    "Message-ID: <a2@example.org>\nSubject: Re: Plan\n"
	    "In-Reply-To: <a1@example.org>\n"
	    "Date: Sat, 02 Jan 2021 09:00:00 +0000\n\nAgreed.\n");
	write_list(mp_buf_str(&b));
	snprintf(path, sizeof(path), "%s/list.mbox", dir);
	mp_job_init(&j, cfg, st, 0, 0);
	ck_assert_msg(mp_job_import(&j, path, NULL, "t", &e) == 0, "%s",
	    e.msg);
	mp_job_finish(&j);
	ck_assert_int_eq(j.stored, 3001);
	ck_assert_int_eq(j.thread_loaded, 2);
	ck_assert_int_eq(j.thread_warm, 2);
	assert_thread("a2@example.org", "a1@example.org");
	assert_thread("r1@example.org", "a1@example.org");
	assert_thread("b1@example.org", "b1@example.org");
	mp_buf_free(&b);
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
	tcase_add_test(tc, test_unthreaded_picked_up);
	tcase_add_test(tc, test_rethread_after_upgrade);
	tcase_add_test(tc, test_subject_window);
	tcase_add_test(tc, test_subject_window_new_store);
	tcase_add_test(tc, test_duplicates_in_one_run);
	suite_add_tcase(s, tc);
	tc = tcase_create("threading");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_incremental_threads_shuffled);
	tcase_add_test(tc, test_incremental_threads_window);
	tcase_add_test(tc, test_late_thread_gathers_reply_root);
	tcase_add_test(tc, test_kept_threads_not_new);
	tcase_add_test(tc, test_incremental_threads_in_order);
	tcase_add_test(tc, test_incremental_threads_corpora);
	tcase_add_test(tc, test_import_beyond_one_batch);
	tcase_add_test(tc, test_import_on_one_core);
	tcase_add_test(tc, test_broken_archive_keeps_what_was_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
