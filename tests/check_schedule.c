/* check_schedule.c - digest slots, due reminders, agenda. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "datetime.h"
#include "err.h"
#include "schedule.h"
#include "testutil.h"

static char *dir;
static struct mp_config *cfg;

static const char conf[] =
"[store]\n"
"path = magpie.db\n"
"[delivery]\n"
"transport = maildir:outbox\n"
"from = Secretariat <sec@example.org>\n"
"[digest]\n"
"time = 07:00\n"
"weekday = monday\n"
"[member tokyo]\n"
"email = tokyo@example.org\n"
"tz = Asia/Tokyo\n"
"groups = mag\n"
"[member ny]\n"
"email = ny@example.org\n"
"tz = America/New_York\n"
"digest = weekly\n"
"groups = mag\n"
"[member off]\n"
"email = off@example.org\n"
"digest = off\n"
"groups = mag\n"
"[deadline evals]\n"
"due = 2021-06-17 23:59 UTC\n"
"remind = 7d, 3d, 1d, 6h\n"
"to = group:mag\n"
"pending = ny@example.org\n"
"[event consult]\n"
"starts = 2021-06-22 13:00 UTC\n"
"ends = 2021-06-22 16:00 UTC\n"
"remind = 2d, 1h\n"
"to = tokyo, guest@example.net\n"
"[reminder poll]\n"
"at = 2021-06-24 09:00 UTC\n"
"to = group:mag\n"
"subject = Poll\n"
"[reminder weekly]\n"
"at = 2021-06-07 08:00 UTC\n"
"repeat = weekly\n"
"until = 2021-06-21 08:00 UTC\n"
"to = tokyo\n"
"subject = Weekly\n";

static void
setup(void)
{
	struct mp_diag d = { 0 };
	char path[4096];

	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/m.ini", dir);
	tu_write(path, conf);
	ck_assert_msg(mp_config_load(path, &cfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
}

static void
teardown(void)
{
	mp_config_free(cfg);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(test_digest_slot_daily)
{
	const struct mp_member *m = mp_config_member(cfg, "tokyo");

	/* 21:00 JST on the 14th: today's 07:00 JST */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-06-14T12:00:00Z")), tu_time("2021-06-14 07:00 Asia/Tokyo"));
	/* 06:59 JST: still yesterday's */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-06-13T21:59:00Z")), tu_time("2021-06-13 07:00 Asia/Tokyo"));
	/* exactly 07:00 JST */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-06-13T22:00:00Z")), tu_time("2021-06-14 07:00 Asia/Tokyo"));
	ck_assert_int_eq(mp_schedule_digest_slot(mp_config_member(cfg, "off"),
	    &cfg->digest, tu_time("2021-06-13T22:00:00Z")), 0);
}
END_TEST

START_TEST(test_digest_slot_weekly_and_dst)
{
	const struct mp_member *m = mp_config_member(cfg, "ny");
	struct mp_member copy = *m;
	struct mp_digest_cfg d = cfg->digest;

	/* Monday 2021-06-14 07:00 EDT = 11:00 UTC */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-06-16T00:00:00Z")), tu_time("2021-06-14T11:00:00Z"));
	/* Monday 10:59 UTC is 06:59 EDT: the Monday before */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-06-14T10:59:00Z")), tu_time("2021-06-07T11:00:00Z"));
	/* Across the spring change: Monday 2021-03-15 07:00 EDT is 11:00
	 * UTC, the Monday before (EST) 12:00 UTC. */
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-03-15T11:30:00Z")), tu_time("2021-03-15T11:00:00Z"));
	ck_assert_int_eq(mp_schedule_digest_slot(m, &cfg->digest,
	    tu_time("2021-03-15T10:30:00Z")), tu_time("2021-03-08T12:00:00Z"));
	/* Daily at 02:30 on the spring-forward day (no such local time):
	 * 03:30 EDT = 07:30 UTC. */
	copy.digest = MP_DIGEST_DAILY;
	d.minute = 150;
	ck_assert_int_eq(mp_schedule_digest_slot(&copy, &d,
	    tu_time("2021-03-14T12:00:00Z")), tu_time("2021-03-14T07:30:00Z"));
}
END_TEST

/* The plans of one item (or all, item NULL) at now. */
static size_t
plans_of(const char *item, int64_t now, struct mp_plan **p)
{
	size_t n, i, k = 0;

	ck_assert_int_eq(mp_schedule_reminders(cfg, now, p, &n), 0);
	for (i = 0; i < n; i++)
		if (item == NULL || strcmp((*p)[i].item->id, item) == 0)
			(*p)[k++] = (*p)[i];
	return k;
}

#define plans(now, p) plans_of(NULL, now, p)

START_TEST(test_reminders_latest_offset)
{
	struct mp_plan *p;
	size_t n;

	/* before the first offset (7d before = 10 Jun 23:59) */
	n = plans_of("evals", tu_time("2021-06-10T23:58:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	/* 7d due: everyone in group:mag (3 members); the weekly
	 * reminder of the 14th is due too */
	n = plans(tu_time("2021-06-14T12:00:00Z"), &p);
	ck_assert_uint_eq(n, 4);
	free(p);
	n = plans_of("evals", tu_time("2021-06-14T12:00:00Z"), &p);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(p[0].item->id, "evals");
	ck_assert_int_eq(p[0].offset, 7 * 86400);
	ck_assert_int_eq(p[0].first, 1);
	ck_assert_str_eq(p[0].rcpt.email, "tokyo@example.org");
	ck_assert_str_eq(p[0].rcpt.tz, "Asia/Tokyo");
	ck_assert_str_eq(p[2].rcpt.email, "off@example.org");
	free(p);
	/* a week late: only the 6h offset, only to pending */
	n = plans(tu_time("2021-06-17T20:00:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0].offset, 6 * 3600);
	ck_assert_int_eq(p[0].first, 0);
	ck_assert_str_eq(p[0].rcpt.email, "ny@example.org");
	ck_assert_int_eq(p[0].fire, tu_time("2021-06-17T17:59:00Z"));
	free(p);
	/* after the deadline: nothing */
	n = plans(tu_time("2021-06-18T00:00:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

START_TEST(test_reminders_event_and_chair)
{
	struct mp_plan *p;
	size_t n, i;

	/* 2d before the consultation: tokyo and the guest address */
	n = plans(tu_time("2021-06-20T13:00:00Z"), &p);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(p[0].rcpt.email, "tokyo@example.org");
	ck_assert_str_eq(p[1].rcpt.email, "guest@example.net");
	ck_assert_str_eq(p[1].rcpt.tz, "UTC");
	ck_assert_ptr_null(p[1].rcpt.member);
	free(p);
	/* the chair's poll, half an hour after its time */
	n = plans(tu_time("2021-06-24T09:30:00Z"), &p);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(p[i].item->id, "poll");
		ck_assert_int_eq(p[i].due, tu_time("2021-06-24T09:00:00Z"));
	}
	free(p);
	/* a day and more later it is stale */
	n = plans(tu_time("2021-06-25T09:00:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	/* weekly: occurrences 7, 14, 21 June at 08:00 */
	n = plans_of("weekly", tu_time("2021-06-14T08:05:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0].item->id, "weekly");
	ck_assert_int_eq(p[0].due, tu_time("2021-06-14T08:00:00Z"));
	free(p);
	n = plans_of("weekly", tu_time("2021-06-21T09:00:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0].due, tu_time("2021-06-21T08:00:00Z"));
	free(p);
	/* past until: nothing */
	n = plans(tu_time("2021-06-28T08:30:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

START_TEST(test_agenda)
{
	struct mp_agenda *it;
	size_t n;
	int64_t f[MP_MAX_REMIND];

	ck_assert_int_eq(mp_schedule_agenda(cfg, tu_time("2021-06-10T00:00:00Z"),
	    14 * 86400, &it, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(it[0].item->id, "weekly");
	ck_assert_int_eq(it[0].at, tu_time("2021-06-14T08:00:00Z"));
	ck_assert_str_eq(it[1].item->id, "evals");
	ck_assert_str_eq(it[2].item->id, "consult");
	free(it);
	ck_assert_int_eq(mp_schedule_agenda(cfg, tu_time("2021-06-10T00:00:00Z"),
	    8 * 86400, &it, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(it[0].item->id, "weekly");
	ck_assert_str_eq(it[1].item->id, "evals");
	free(it);
	/* an event under way stays on the agenda until it ends */
	ck_assert_int_eq(mp_schedule_agenda(cfg, tu_time("2021-06-22T14:00:00Z"),
	    86400, &it, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(it[0].item->id, "consult");
	free(it);
	ck_assert_uint_eq(mp_schedule_fire_times(mp_config_item(cfg, "evals"),
	    f, MP_MAX_REMIND), 4);
	ck_assert_int_eq(f[0], tu_time("2021-06-10T23:59:00Z"));
	ck_assert_int_eq(f[3], tu_time("2021-06-17T17:59:00Z"));
}
END_TEST

static const char conf_cal[] =
"[delivery]\n"
"transport = maildir:outbox\n"
"from = Secretariat <sec@example.org>\n"
"[calendar]\n"
"skip_weekends = yes\n"
"quiet = 2021-08-01..2021-08-31, 2021-12-24\n"
"[member utc]\n"
"email = utc@example.org\n"
"groups = mag\n"
"[member akl]\n"
"email = akl@example.org\n"
"tz = Pacific/Auckland\n"
"groups = mag\n"
"[deadline monday]\n"
"due = 2021-06-21 12:00 UTC\n"
"remind = 2d, 1h\n"
"to = group:mag\n"
"overdue = 1d\n"
"pending = akl\n"
"[deadline september]\n"
"due = 2021-09-01 12:00 UTC\n"
"remind = 7d\n"
"to = utc\n"
"[reminder sat]\n"
"at = 2021-06-26 09:00 UTC\n"
"to = utc\n"
"subject = On a Saturday\n";

static struct mp_config *
load_text(const char *text)
{
	struct mp_config *c = NULL;
	struct mp_diag d = { 0 };
	char path[4096];

	snprintf(path, sizeof(path), "%s/cal.ini", dir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &c, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
	return c;
}

START_TEST(test_omitted_and_before)
{
	struct mp_config *c = load_text(conf_cal);
	const struct mp_calendar_cfg *cal = &c->calendar;

	/* Saturday 19 June 12:00 UTC */
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-06-19T12:00:00Z"),
	    "UTC"), 1);
	/* Friday 18 June 13:00 UTC is Saturday 01:00 in Auckland */
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-06-18T13:00:00Z"),
	    "UTC"), 0);
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-06-18T13:00:00Z"),
	    "Pacific/Auckland"), 1);
	/* quiet August, and a single quiet day */
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-08-11T12:00:00Z"),
	    "UTC"), 1);
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-12-24T12:00:00Z"),
	    "UTC"), 1);
	ck_assert_int_eq(mp_schedule_omitted(cal, tu_time("2021-12-23T12:00:00Z"),
	    "UTC"), 0);
	/* Saturday -> Friday, same local time */
	ck_assert_int_eq(mp_schedule_before(cal, tu_time("2021-06-19T12:00:00Z"),
	    "UTC"), tu_time("2021-06-18T12:00:00Z"));
	ck_assert_int_eq(mp_schedule_before(cal, tu_time("2021-06-18T13:00:00Z"),
	    "Pacific/Auckland"), tu_time("2021-06-17T13:00:00Z"));
	/* all of August, then the weekend before: Friday 30 July */
	ck_assert_int_eq(mp_schedule_before(cal, tu_time("2021-08-25T12:00:00Z"),
	    "UTC"), tu_time("2021-07-30T12:00:00Z"));
	/* a working day stays */
	ck_assert_int_eq(mp_schedule_before(cal, tu_time("2021-06-17T12:00:00Z"),
	    "UTC"), tu_time("2021-06-17T12:00:00Z"));
	mp_config_free(c);
}
END_TEST

START_TEST(test_reminders_moved_and_overdue)
{
	struct mp_config *saved = cfg;
	struct mp_plan *p;
	size_t n;

	cfg = load_text(conf_cal);
	/* 2d before Monday noon UTC is Saturday noon: sent on Friday noon
	 * in UTC. In Auckland it is Sunday 00:00, moved to Friday 00:00
	 * NZST, which is Thursday noon UTC. */
	n = plans_of("monday", tu_time("2021-06-17T11:59:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	n = plans_of("monday", tu_time("2021-06-18T11:59:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0].rcpt.email, "akl@example.org");
	ck_assert_int_eq(p[0].fire, tu_time("2021-06-17T12:00:00Z"));
	free(p);
	n = plans_of("monday", tu_time("2021-06-18T12:00:00Z"), &p);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(p[0].rcpt.email, "utc@example.org");
	ck_assert_int_eq(p[0].fire, tu_time("2021-06-18T12:00:00Z"));
	ck_assert_int_eq(p[0].offset, 2 * 86400);
	free(p);
	/* the 1h reminder on Monday, to pending akl only */
	n = plans_of("monday", tu_time("2021-06-21T11:30:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0].rcpt.email, "akl@example.org");
	ck_assert_int_eq(p[0].offset, 3600);
	free(p);
	/* overdue notice a day after, to pending only, for one day */
	n = plans_of("monday", tu_time("2021-06-22T11:59:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	n = plans_of("monday", tu_time("2021-06-22T12:30:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0].kind, MP_PLAN_OVERDUE);
	ck_assert_int_eq(p[0].offset, -86400);
	ck_assert_str_eq(p[0].rcpt.email, "akl@example.org");
	free(p);
	n = plans_of("monday", tu_time("2021-06-23T12:00:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	/* 7d before 1 September is in the quiet August: 30 July */
	n = plans_of("september", tu_time("2021-07-30T12:00:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0].fire, tu_time("2021-07-30T12:00:00Z"));
	free(p);
	/* the chair's Saturday reminder goes on Friday, and only once */
	n = plans_of("sat", tu_time("2021-06-25T09:00:00Z"), &p);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0].due, tu_time("2021-06-26T09:00:00Z"));
	ck_assert_int_eq(p[0].fire, tu_time("2021-06-25T09:00:00Z"));
	free(p);
	n = plans_of("sat", tu_time("2021-06-26T09:30:00Z"), &p);
	ck_assert_uint_eq(n, 0);
	free(p);
	mp_config_free(cfg);
	cfg = saved;
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_digest_slot_daily);
	tcase_add_test(tc, test_digest_slot_weekly_and_dst);
	tcase_add_test(tc, test_reminders_latest_offset);
	tcase_add_test(tc, test_reminders_event_and_chair);
	tcase_add_test(tc, test_agenda);
	tcase_add_test(tc, test_omitted_and_before);
	tcase_add_test(tc, test_reminders_moved_and_overdue);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
