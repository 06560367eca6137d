/* check_render.c - digest and reminder data rendered through the
 * templates of etc/templates. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "datetime.h"
#include "err.h"
#include "mime.h"
#include "render.h"
#include "schedule.h"
#include "store.h"
#include "testutil.h"

static char *dir;
static struct mp_config *cfg;
static struct mp_store *st;

static void
add(const char *id, const char *thread, const char *from, const char *subj,
    const char *when, const char *own)
{
	struct mp_msg m;
	struct mp_err e = { 0 };
	int added;

	memset(&m, 0, sizeof(m));
	m.message_id = (char *)id;
	m.from.name = (char *)from;
	m.from.addr = (char *)"x@example.org";
	m.subject = (char *)subj;
	m.subject_norm = (char *)subj;
	m.date = tu_time(when);
	m.own = (char *)own;
	m.body = (char *)own;
	ck_assert_int_eq(mp_store_add_msg(st, &m, NULL, "mag", 0, &added, &e), 0);
	ck_assert_int_eq(mp_store_set_thread(st, id, thread, &e), 0);
}

static void
setup(void)
{
	struct mp_diag d = { 0 };
	struct mp_err e = { 0 };
	char path[4096], text[4096], cwd[2048];

	dir = tu_tmpdir();
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(text, sizeof(text),
	    "[store]\npath = s.db\n"
	    "[list mag]\nname = IGF MAG\nsource = mbox:x.mbox\n"
	    "[delivery]\ntransport = maildir:out\n"
	    "from = Secretariat <sec@example.org>\n"
	    "[digest]\ntemplate = %s/%s/etc/templates/digest\n"
	    "[member k]\nname = Kenji\nemail = k@example.org\n"
	    "tz = Asia/Tokyo\ngroups = mag\n"
	    "[member o]\nemail = o@example.org\ngroups = other\n"
	    "[deadline evals]\ntitle = Workshop evaluations\n"
	    "due = 2021-06-17 23:59 UTC\nremind = 3d\nto = group:mag\n"
	    "note = No extension this year.\n"
	    "[event call]\ntitle = WG call\nstarts = 2021-06-18 14:00 UTC\n"
	    "ends = 2021-06-18 15:00 UTC\nremind = 1h\nto = group:other\n",
	    tu_srcdir()[0] == '/' ? "" : cwd, tu_srcdir());
	snprintf(path, sizeof(path), "%s/m.ini", dir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &cfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
	ck_assert_int_eq(mp_store_open(cfg->store_path, &st, &e), 0);
}

static void
teardown(void)
{
	mp_store_close(st);
	mp_config_free(cfg);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(test_digest)
{
	const struct mp_member *k = mp_config_member(cfg, "k");
	struct mp_rendered r;
	struct mp_err e = { 0 };
	const char *a, *b;

	add("1@x", "1@x", "Ana", "Budget", "2021-06-14T08:00:00Z",
	    "First.");
	add("2@x", "2@x", "Bo", "Agenda", "2021-06-14T09:00:00Z", "Hi.");
	add("3@x", "2@x", "Cy", "Agenda", "2021-06-14T10:00:00Z",
	    "Agreed, with one change:\nmove item 3 up.");
	ck_assert_int_eq(mp_render_digest(cfg, st, k, 0,
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	ck_assert_str_eq(r.subject,
	    "[IGF MAG] Digest Tue 15 Jun 2021: 3 messages in 2 threads");
	ck_assert_int_eq(r.upto_seq, 3);
	ck_assert_int_eq(r.empty, 0);
	ck_assert_ptr_nonnull(r.html);
	ck_assert_msg(strstr(r.html, "Agenda") != NULL, "%s", r.html);
	/* most active first */
	a = strstr(r.text, "1. Agenda");
	b = strstr(r.text, "2. Budget");
	ck_assert_msg(a != NULL && b != NULL && a < b, "%s", r.text);
	ck_assert_msg(strstr(r.text, "With: Bo, Cy") != NULL, "%s", r.text);
	ck_assert_msg(strstr(r.text, "\"Agreed, with one change: move item 3 "
	    "up.\"") != NULL, "%s", r.text);
	/* the deadline ahead in Kenji's zone; the event is not his */
	ck_assert_msg(strstr(r.text, "- Fri 18 Jun 2021 08:59 JST: Workshop "
	    "evaluations (deadline), in 2 days\n  23 hours") != NULL, "%s",
	    r.text);
	ck_assert_msg(strstr(r.text, "WG call") == NULL, "%s", r.text);
	ck_assert_msg(strstr(r.text, "Hello Kenji,") == r.text, "%s", r.text);
	mp_rendered_free(&r);

	/* after seq 3: nothing new; a deadline is still ahead */
	ck_assert_int_eq(mp_render_digest(cfg, st, k, 3,
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	ck_assert_int_eq(r.empty, 0);
	ck_assert_str_eq(r.subject,
	    "[IGF MAG] Digest Tue 15 Jun 2021: no new messages");
	mp_rendered_free(&r);
	/* and nothing at all a month later */
	ck_assert_int_eq(mp_render_digest(cfg, st, k, 3,
	    tu_time("2021-07-15T00:00:00Z"), &r, &e), 0);
	ck_assert_int_eq(r.empty, 1);
	mp_rendered_free(&r);
}
END_TEST

START_TEST(test_reminder)
{
	struct mp_plan *p;
	struct mp_rendered r;
	struct mp_err e = { 0 };
	size_t n;

	ck_assert_int_eq(mp_schedule_reminders(cfg, tu_time("2021-06-15T00:00:00Z"),
	    &p, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mp_render_reminder(cfg, &p[0],
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	ck_assert_str_eq(r.subject, "Reminder: Workshop evaluations due in "
	    "2 days 23 hours (Fri 18 Jun 08:59 JST)");
	ck_assert_msg(strstr(r.text, "Due:    Fri 18 Jun 2021 08:59 JST\n"
	    "          Thu 17 Jun 23:59 UTC\n") != NULL, "%s", r.text);
	ck_assert_msg(strstr(r.text, "No extension this year.") != NULL, "%s",
	    r.text);
	mp_rendered_free(&r);
	free(p);
}
END_TEST

START_TEST(test_template_path)
{
	char *p = mp_render_template_path(cfg, "reminder", ".txt");

	ck_assert_msg(strstr(p, "etc/templates/reminder.txt") != NULL, "%s", p);
	free(p);
}
END_TEST

static void
action(const char *id, const char *kind, const char *due, const char *text)
{
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_store_add_action(st, id, kind, NULL, due, text,
	    &e), 0);
}

/* The action data, seen through a template of the test's own. */
START_TEST(test_digest_actions)
{
	struct mp_config *c2 = NULL;
	struct mp_diag d = { 0 };
	struct mp_rendered r;
	struct mp_err e = { 0 };
	char path[4096], text[2048];

	snprintf(path, sizeof(path), "%s/digest.txt", dir);
	tu_write(path, "{{#action_threads}}[{{subject}}]\n{{#items}}{{kind}}"
	    "@{{when}}\n{{/items}}{{/action_threads}}|\n{{#unlisted}}{{text}}\n"
	    "{{/unlisted}}");
	snprintf(text, sizeof(text),
	    "[delivery]\ntransport = maildir:out\nfrom = s@example.org\n"
	    "[digest]\ntemplate = digest\n"
	    "[member k]\nemail = k@example.org\ntz = Asia/Tokyo\n"
	    "groups = mag, secretariat\n"
	    "[member p]\nemail = p@example.org\ngroups = mag\n"
	    "[deadline evals]\ndue = 2021-06-17 23:59 UTC\nto = group:mag\n");
	snprintf(path, sizeof(path), "%s/a.ini", dir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &c2, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	add("1@x", "1@x", "Ana", "Budget", "2021-06-14T08:00:00Z", "x");
	add("2@x", "2@x", "Bo", "Agenda", "2021-06-14T09:00:00Z", "y");
	add("3@x", "2@x", "Cy", "Agenda", "2021-06-14T10:00:00Z", "z");
	action("1@x", "request", "", "Send the budget.");
	action("1@x", "event", "2021-06-25", "Budget call on 25 June.");
	action("2@x", "deadline", "2021-06-17T23:59:00Z", "Evaluations due.");
	action("3@x", "event", "2021-06-10", "We met on 10 June.");
	action("3@x", "deadline", "2021-06-20T12:00:00Z", "Agenda by 20 June.");
	/* Kenji (Tokyo, secretariat), 15 June: the Agenda thread first
	 * (soonest: 18 Jun 08:59 JST), the past event dropped, the budget
	 * thread after; the 20 June and 25 June dates are not in the
	 * calendar, the 17 June deadline is. */
	ck_assert_int_eq(mp_render_digest(c2, st, mp_config_member(c2, "k"), 0,
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	ck_assert_str_eq(r.text, "[Agenda]\ndeadline@Fri 18 Jun 08:59 JST\n"
	    "deadline@Sun 20 Jun 21:00 JST\n[Budget]\nevent@Fri 25 Jun\n"
	    "request@\n|\nAgenda by 20 June.\nBudget call on 25 June.\n");
	mp_rendered_free(&r);
	/* Paul is not staff: no unlisted dates */
	ck_assert_int_eq(mp_render_digest(c2, st, mp_config_member(c2, "p"), 0,
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	ck_assert_msg(strstr(r.text, "|") != NULL && strcmp(strstr(r.text,
	    "|"), "|\n") == 0, "%s", r.text);
	mp_rendered_free(&r);
	mp_diag_free(&d);
	mp_config_free(c2);
}
END_TEST

/* Text parts wrap at 72 columns, with list markers hanging, and never
 * cut a long word. */
START_TEST(test_wrap)
{
	struct mp_config *c2 = NULL;
	struct mp_diag d = { 0 };
	struct mp_rendered r;
	struct mp_err e = { 0 };
	char path[4096], text[2048];

	snprintf(path, sizeof(path), "%s/wrap.txt", dir);
	tu_write(path, "{{#threads}}{{rank}}. {{snippet}}\n{{/threads}}"
	    "- a list item whose text goes on and on well past the end of one "
	    "line of mail\nhttps://example.org/a/very/long/path/that/is/much/"
	    "longer/than/the/line/and/must/not/be/cut/anywhere.html end\n-- \n"
	    "short\n[1] https://example.org/another/long/path/that/is/longer/"
	    "than/the/line/itself.html\n");
	snprintf(text, sizeof(text),
	    "[delivery]\ntransport = maildir:out\nfrom = s@example.org\n"
	    "[digest]\ntemplate = wrap\n"
	    "[member k]\nemail = k@example.org\n");
	snprintf(path, sizeof(path), "%s/w.ini", dir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &c2, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	add("1@x", "1@x", "Ana", "Budget", "2021-06-14T08:00:00Z",
	    "Zoë wrote a long message about the budget of the meeting in "
	    "Katowice, with many words so that the line wraps twice at least "
	    "in the digest.");
	ck_assert_int_eq(mp_render_digest(c2, st, mp_config_member(c2, "k"), 0,
	    tu_time("2021-06-15T00:00:00Z"), &r, &e), 0);
	/* 72 columns (Zoë's ë is one), greedy */
	ck_assert_str_eq(r.text,
	    "1. Zoë wrote a long message about the budget of the meeting in "
	    "Katowice,\n"
	    "   with many words so that the line wraps twice at least in the "
	    "digest.\n"
	    "- a list item whose text goes on and on well past the end of one "
	    "line of\n"
	    "  mail\n"
	    "https://example.org/a/very/long/path/that/is/much/longer/than/the/"
	    "line/and/must/not/be/cut/anywhere.html\nend\n-- \nshort\n"
	    "[1] https://example.org/another/long/path/that/is/longer/than/the/"
	    "line/itself.html\n");
	mp_rendered_free(&r);
	mp_diag_free(&d);
	mp_config_free(c2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_reminder);
	tcase_add_test(tc, test_template_path);
	tcase_add_test(tc, test_digest_actions);
	tcase_add_test(tc, test_wrap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
