/* check_dateexpr.c - date and time expressions resolved against a Date. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dateexpr.h"
#include "testutil.h"

/* Monday 14 June 2021 09:05 +02:00 */
#define MON_14_JUNE 1623654300
/* Friday 25 June 2021 07:55 +09:00 (Thursday 24 June 22:55 UTC) */
#define FRI_25_JUNE_TOKYO 1624575321
/* Monday 20 December 2021 10:00 UTC */
#define MON_20_DEC 1639994400

struct row {
	const char *text;
	const char *due;        /* mp_dateexpr_due() of the first expression */
	unsigned flags;         /* flags that must be set */
	size_t used;            /* bytes parsed, 0 = the whole text */
};

static void
check_rows(const struct row *r, size_t n, int64_t t, long off, int mdy)
{
	struct mp_dateref ref = { t, off, mdy };
	struct mp_dateexpr x;
	char due[32];
	size_t i, used;

	for (i = 0; i < n; i++) {
		used = mp_dateexpr_parse(r[i].text, strlen(r[i].text), &ref,
		    &x);
		ck_assert_msg(used > 0, "no expression in '%s'", r[i].text);
		ck_assert_msg(used == (r[i].used ? r[i].used :
		    strlen(r[i].text)), "'%s': used %zu", r[i].text, used);
		mp_dateexpr_due(&x, due, sizeof(due));
		ck_assert_msg(strcmp(due, r[i].due) == 0, "'%s': %s, not %s",
		    r[i].text, due, r[i].due);
		ck_assert_msg((x.flags & r[i].flags) == r[i].flags,
		    "'%s': flags %x lack %x", r[i].text, x.flags, r[i].flags);
	}
}

START_TEST(test_absolute_dates)
{
	static const struct row r[] = {
		{ "17 June", "2021-06-17", MP_DX_DATE, 0 },
		{ "June 17th", "2021-06-17", MP_DX_DATE, 0 },
		{ "June 17th, 2021", "2021-06-17", MP_DX_DATE, 0 },
		{ "the 25th of June", "2021-06-25", MP_DX_DATE, 0 },
		{ "Thursday 17 June 2021", "2021-06-17", MP_DX_DATE, 0 },
		{ "Thu 1 July", "2021-07-01", MP_DX_DATE, 0 },
		{ "2021-06-17", "2021-06-17", MP_DX_DATE, 0 },
		{ "17/06/2021", "2021-06-17", MP_DX_DATE, 0 },
		{ "30/06/2021", "2021-06-30", MP_DX_DATE, 0 },
		{ "06/30/2021", "2021-06-30", MP_DX_DATE, 0 },
		{ "05/07/2021", "2021-07-05", MP_DX_DATE, 0 },
		{ "28.06.2021", "2021-06-28", MP_DX_DATE, 0 },
		{ "3 June", "2021-06-03", MP_DX_DATE | MP_DX_PAST, 0 },
		{ "Jan 10", "2021-01-10", MP_DX_PAST, 0 },
		{ "22\xe2\x80\x93" "23 June", "2021-06-22", MP_DX_RANGE, 0 },
		{ "June 22-23", "2021-06-22", MP_DX_RANGE, 0 },
		{ "22 June - 2 July", "2021-06-22", MP_DX_RANGE, 0 },
	};

	check_rows(r, sizeof(r) / sizeof(r[0]), MON_14_JUNE, 7200, 0);
}
END_TEST

START_TEST(test_month_first_config)
{
	static const struct row r[] = {
		{ "05/07/2021", "2021-05-07", MP_DX_DATE, 0 },
		{ "17/06/2021", "2021-06-17", MP_DX_DATE, 0 },
		{ "by 7/15", "", 0, 0 },
	};
	struct mp_dateref ref = { MON_14_JUNE, 7200, 1 };
	struct mp_dateexpr x[4];
	char due[32];

	check_rows(r, 2, MON_14_JUNE, 7200, 1);
	ck_assert_uint_eq(mp_dateexpr_scan(r[2].text, strlen(r[2].text), &ref,
	    x, 4), 1);
	mp_dateexpr_due(&x[0], due, sizeof(due));
	ck_assert_str_eq(due, "2021-07-15");
	ref.month_first = 0;
	ck_assert_uint_eq(mp_dateexpr_scan("on 25/6", 7, &ref, x, 4), 1);
	mp_dateexpr_due(&x[0], due, sizeof(due));
	ck_assert_str_eq(due, "2021-06-25");
}
END_TEST

START_TEST(test_relative_dates)
{
	static const struct row r[] = {
		{ "today", "2021-06-14", MP_DX_RELATIVE, 0 },
		{ "tonight", "2021-06-14", MP_DX_RELATIVE, 0 },
		{ "tomorrow", "2021-06-15", MP_DX_RELATIVE, 0 },
		{ "the day after tomorrow", "2021-06-16", MP_DX_RELATIVE, 0 },
		{ "yesterday", "2021-06-13", MP_DX_PAST, 0 },
		{ "Friday", "2021-06-18", MP_DX_RELATIVE, 0 },
		{ "this Friday", "2021-06-18", MP_DX_RELATIVE, 0 },
		{ "Monday", "2021-06-21", MP_DX_RELATIVE, 0 },
		{ "next Wednesday", "2021-06-23", MP_DX_RELATIVE, 0 },
		{ "Wednesday next week", "2021-06-23", MP_DX_RELATIVE, 0 },
		{ "next week Wednesday", "2021-06-23", MP_DX_RELATIVE, 0 },
		{ "Friday the 18th", "2021-06-18", MP_DX_DATE, 0 },
		{ "the 22nd", "2021-06-22", MP_DX_RELATIVE, 0 },
		{ "the 14th", "2021-06-14", MP_DX_RELATIVE, 0 },
		{ "the 2nd", "2021-07-02", MP_DX_RELATIVE, 0 },
		{ "end of the week", "2021-06-18", MP_DX_RELATIVE, 0 },
		{ "the end of next week", "2021-06-25", MP_DX_RELATIVE, 0 },
		{ "end of the month", "2021-06-30", MP_DX_RELATIVE, 0 },
		{ "the end of July", "2021-07-31", MP_DX_DATE, 0 },
		{ "in two weeks", "2021-06-28", MP_DX_RELATIVE, 0 },
		{ "within two weeks", "2021-06-28", MP_DX_RELATIVE, 0 },
		{ "a week from today", "2021-06-21", MP_DX_RELATIVE, 0 },
		{ "in 10 days", "2021-06-24", MP_DX_RELATIVE, 0 },
		{ "COB Friday", "2021-06-18", MP_DX_EOD, 0 },
		{ "end of day Friday", "2021-06-18", MP_DX_EOD, 0 },
		{ "next week", "2021-06-21", MP_DX_VAGUE, 0 },
		{ "in early July", "2021-07-01", MP_DX_VAGUE, 0 },
		{ "last Friday", "2021-06-11", MP_DX_PAST, 0 },
	};

	check_rows(r, sizeof(r) / sizeof(r[0]), MON_14_JUNE, 7200, 0);
}
END_TEST

/* The sender's local date decides: 22:55 UTC Thursday is Friday in
 * Tokyo. */
START_TEST(test_sender_zone)
{
	static const struct row r[] = {
		{ "tomorrow", "2021-06-26", MP_DX_RELATIVE, 0 },
		{ "next Monday", "2021-06-28", MP_DX_RELATIVE, 0 },
		{ "end of the week", "2021-06-25", MP_DX_RELATIVE, 0 },
		{ "9am", "2021-06-25T00:00:00Z", MP_DX_TIME, 0 },
	};
	static const struct row y[] = {
		{ "10 January", "2022-01-10", MP_DX_DATE, 0 },
		{ "17 June", "2022-06-17", MP_DX_DATE, 0 },
		{ "1 December", "2021-12-01", MP_DX_PAST, 0 },
	};

	check_rows(r, 3, FRI_25_JUNE_TOKYO, 9 * 3600, 0);
	check_rows(r + 3, 1, FRI_25_JUNE_TOKYO, 9 * 3600, 0);
	check_rows(y, sizeof(y) / sizeof(y[0]), MON_20_DEC, 0, 0);
}
END_TEST

START_TEST(test_times_and_zones)
{
	static const struct row r[] = {
		{ "17 June 2021 at 23:59 UTC", "2021-06-17T23:59:00Z",
		    MP_DX_TIME | MP_DX_ZONE, 0 },
		{ "Thursday, June 10th at 9am EDT", "2021-06-10T13:00:00Z",
		    MP_DX_TIME | MP_DX_ZONE | MP_DX_PAST, 0 },
		{ "25 June at 15:00 CEST", "2021-06-25T13:00:00Z", MP_DX_ZONE, 0 },
		{ "2021-06-30, noon UTC", "2021-06-30T12:00:00Z", MP_DX_TIME, 0 },
		{ "Thu 1 July, 23h59 UTC", "2021-07-01T23:59:00Z", MP_DX_TIME, 0 },
		{ "1 July, 23 hours 59 UTC", "2021-07-01T23:59:00Z", MP_DX_TIME,
		    0 },
		{ "15 July at 11:59 pm UTC", "2021-07-15T23:59:00Z", MP_DX_TIME,
		    0 },
		{ "17 June at 10:00 (UTC+8)", "2021-06-17T02:00:00Z", MP_DX_ZONE,
		    0 },
		{ "17 June 10:00 (UTC-3)", "2021-06-17T13:00:00Z", MP_DX_ZONE, 0 },
		{ "17 June 13:00 +02:00", "2021-06-17T11:00:00Z", MP_DX_ZONE, 0 },
		{ "17 June 13:00 Europe/Warsaw", "2021-06-17T11:00:00Z",
		    MP_DX_ZONE, 0 },
		{ "17 June 17:00 Geneva time", "2021-06-17T15:00:00Z", MP_DX_ZONE,
		    0 },
		{ "17 June 23:59 AoE", "2021-06-18T11:59:00Z", MP_DX_ZONE, 0 },
		{ "17 June 23:59 Anywhere on Earth", "2021-06-18T11:59:00Z",
		    MP_DX_ZONE, 0 },
		{ "17 June 16.00 UTC", "2021-06-17T16:00:00Z", MP_DX_ZONE, 0 },
		{ "17 June 9:30 IST", "2021-06-17T04:00:00Z", MP_DX_ZONE, 0 },
		{ "17 June 09:00 NZST", "2021-06-16T21:00:00Z", MP_DX_ZONE, 0 },
		{ "17 June at 10:00 local time", "2021-06-17T08:00:00Z",
		    MP_DX_ZONE, 0 },
		{ "17 June at midnight UTC", "2021-06-17T23:59:00Z", MP_DX_TIME,
		    0 },
		{ "17 June at 14:00", "2021-06-17T12:00:00Z", MP_DX_TIME, 0 },
		{ "Tuesday 22 June from 13:00 to 16:00 UTC",
		    "2021-06-22T13:00:00Z", MP_DX_RANGE | MP_DX_ZONE, 0 },
		{ "Wednesday 23 June, 13:00-15:30 UTC", "2021-06-23T13:00:00Z",
		    MP_DX_RANGE, 0 },
		{ "tomorrow at 14:00 UTC", "2021-06-15T14:00:00Z", MP_DX_TIME, 0 },
		{ "23:59 UTC on 17 June", "2021-06-17T23:59:00Z", MP_DX_DATE, 0 },
		{ "noon", "2021-06-14T10:00:00Z", MP_DX_TIME, 0 },
		{ "9-11am PDT", "2021-06-14T16:00:00Z", MP_DX_RANGE, 0 },
	};
	struct mp_dateref ref = { MON_14_JUNE, 7200, 0 };
	struct mp_dateexpr x;

	check_rows(r, sizeof(r) / sizeof(r[0]), MON_14_JUNE, 7200, 0);
	ck_assert_uint_gt(mp_dateexpr_parse("Tuesday 22 June from 13:00 to "
	    "16:00 UTC", 39, &ref, &x), 0);
	ck_assert_int_eq(x.end_hour, 16);
	ck_assert_int_eq(x.hour, 13);
	ck_assert_str_eq(x.zone, "UTC");
	ck_assert_int_eq(x.zone_off, 0);
	ck_assert_int_eq(x.end_instant - x.instant, 3 * 3600);
}
END_TEST

START_TEST(test_weekday_conflict)
{
	struct mp_dateref ref = { MON_14_JUNE, 7200, 0 };
	struct mp_dateexpr x;
	char due[32];

	/* 17 June 2021 is a Thursday: the date wins, the conflict shows */
	ck_assert_uint_eq(mp_dateexpr_parse("Friday 17 June", 14, &ref, &x),
	    14);
	mp_dateexpr_due(&x, due, sizeof(due));
	ck_assert_str_eq(due, "2021-06-17");
	ck_assert(x.flags & MP_DX_WDAY_CONFLICT);
	ck_assert_int_eq(x.wday, 4);
	ck_assert_uint_eq(mp_dateexpr_parse("Thursday 17 June", 16, &ref, &x),
	    16);
	ck_assert(!(x.flags & MP_DX_WDAY_CONFLICT));
}
END_TEST

START_TEST(test_not_dates)
{
	static const char *const no[] = { "17 participants", "2021 proposals",
		"proposal #17", "81%", "+41 22 917 5766", "version 2.10.1",
		"the 16th IGF", "3,000 people", "In 2020 we", "we may 2",
		"our regular Wednesday call", "every Monday", "192.168.1.1",
		"12:5", "section 2.3", "Proposals 17 and 142", "" };
	struct mp_dateref ref = { MON_14_JUNE, 7200, 0 };
	struct mp_dateexpr x[8];
	size_t i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(mp_dateexpr_scan(no[i], strlen(no[i]), &ref, x,
		    8) == 0, "'%s' read as a date", no[i]);
}
END_TEST

START_TEST(test_scan_and_combine)
{
	static const char s[] = "The MAG meeting next Wednesday will start at "
	    "13:00 UTC, not on 3 June.";
	struct mp_dateref ref = { MON_14_JUNE, 7200, 0 };
	struct mp_dateexpr x[8];
	char due[32];

	ck_assert_uint_eq(mp_dateexpr_scan(s, strlen(s), &ref, x, 8), 3);
	ck_assert_uint_eq(x[0].start, 16);
	ck_assert_uint_eq(x[0].end, 30);
	ck_assert(x[1].flags & MP_DX_TIME);
	ck_assert(!(x[1].flags & MP_DX_DATE));
	ck_assert(x[2].flags & MP_DX_PAST);
	mp_dateexpr_combine(&x[0], &x[1], &ref);
	mp_dateexpr_due(&x[0], due, sizeof(due));
	ck_assert_str_eq(due, "2021-06-23T13:00:00Z");
	/* max bounds what is stored */
	ck_assert_uint_eq(mp_dateexpr_scan(s, strlen(s), &ref, x, 1), 1);
	/* a parse must start at the first byte */
	ck_assert_uint_eq(mp_dateexpr_parse(" 17 June", 8, &ref, x), 0);
	ck_assert_uint_eq(mp_dateexpr_parse("17 June, we", 11, &ref, x), 7);
}
END_TEST

/* Expressions without a digit are still found inside a sentence (the
 * scan skips texts without a digit or a date word), through any byte
 * around them; a text of the grammar's other words alone holds none. */
START_TEST(test_scan_without_digits)
{
	static const char *const found[] = {
		"Please reply by close of business, thanks",
		"We need it by the end of the month.",
		"Can you send it this afternoon?",
		"Let us talk tonight",
		"Shall we meet later this week?",
		"See you next weekend!",
		"As I said last night:",
		"The report is due in mid-July.",
		"Drafts by EOW please",
		"Comments by EOM.",
		"The call is at noon UTC.",
		"Deadline: midnight AoE",
		"Send it in a couple of days",
		"We meet on Friday.",
		"The event is in a fortnight",
		"By Thurs. then",
		"ok\xc2\xa0tomorrow\xe2\x80\x94" "fine",
		"(Wednesday)",
		"by EOD, please",
		"in two weeks",
		NULL
	};
	static const char *const none[] = {
		"The end of the next one is close in the past, before and after.",
		"Later, early, late, latest, coming, previous, mid, at, by, until",
		"Tomorrows and Fridays and weekends",
		"",
		NULL
	};
	struct mp_dateref ref = { MON_14_JUNE, 7200, 0 };
	struct mp_dateexpr x[8];
	size_t i;

	for (i = 0; found[i] != NULL; i++)
		ck_assert_msg(mp_dateexpr_scan(found[i], strlen(found[i]), &ref,
		    x, 8) >= 1, "no date in \"%s\"", found[i]);
	for (i = 0; none[i] != NULL; i++)
		ck_assert_msg(mp_dateexpr_scan(none[i], strlen(none[i]), &ref,
		    x, 8) == 0, "a date in \"%s\"", none[i]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dateexpr");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_absolute_dates);
	tcase_add_test(t, test_month_first_config);
	tcase_add_test(t, test_relative_dates);
	tcase_add_test(t, test_sender_zone);
	tcase_add_test(t, test_times_and_zones);
	tcase_add_test(t, test_weekday_conflict);
	tcase_add_test(t, test_not_dates);
	tcase_add_test(t, test_scan_and_combine);
	tcase_add_test(t, test_scan_without_digits);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
