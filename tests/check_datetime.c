/* check_datetime.c - zones, DST, config times, durations. */
#include <check.h>
#include <stdint.h>

#include "datetime.h"
#include "err.h"
#include "testutil.h"

static int64_t
parse_ok(const char *s, const char *defzone, char *zone, size_t zl)
{
	struct mp_err e = { 0 };
	int64_t t = -1;

	ck_assert_msg(mp_dt_parse(s, defzone, &t, zone, zl, &e) == 0,
	    "parse '%s': %s", s, e.msg);
	return t;
}

static void
parse_bad(const char *s, const char *defzone, const char *msg)
{
	struct mp_err e = { 0 };
	int64_t t;

	ck_assert_msg(mp_dt_parse(s, defzone, &t, NULL, 0, &e) == -1,
	    "'%s' parsed", s);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_msg(strstr(e.msg, msg) != NULL, "'%s': got '%s'", s, e.msg);
}

START_TEST(test_parse_config_times)
{
	char zone[64];

	/* 2021-06-17 23:59 UTC = 1623974340 */
	ck_assert_int_eq(parse_ok("2021-06-17 23:59 UTC", NULL, zone, 64),
	    1623974340);
	ck_assert_str_eq(zone, "UTC");
	ck_assert_int_eq(parse_ok("2021-06-17T23:59:00Z", NULL, zone, 64),
	    1623974340);
	ck_assert_str_eq(zone, "Z");
	ck_assert_int_eq(parse_ok("2021-06-18T01:59:00+02:00", NULL, NULL, 0),
	    1623974340);
	ck_assert_int_eq(parse_ok("2021-06-17 19:59 -0400", NULL, NULL, 0),
	    1623974340);
	ck_assert_int_eq(parse_ok("2021-06-17 23:59:30 GMT", NULL, NULL, 0),
	    1623974370);
	/* Warsaw is CEST (+02:00) in June: 13:00 local = 11:00 UTC. */
	ck_assert_int_eq(parse_ok("2021-06-22 13:00 Europe/Warsaw", NULL, zone,
	    64), 1624359600);
	ck_assert_str_eq(zone, "Europe/Warsaw");
	/* and CET (+01:00) in January. */
	ck_assert_int_eq(parse_ok("2021-01-22 13:00 Europe/Warsaw", NULL, NULL,
	    0), 1611316800);
	/* date only: midnight in the zone */
	ck_assert_int_eq(parse_ok("2021-06-22 UTC", NULL, NULL, 0), 1624320000);
	ck_assert_int_eq(parse_ok("2021-06-22", "Asia/Tokyo", zone, 64),
	    1624320000 - 9 * 3600);
	ck_assert_str_eq(zone, "Asia/Tokyo");
	ck_assert_int_eq(parse_ok("  2021-06-22 13:00  UTC  ", NULL, NULL, 0),
	    1624366800);
}
END_TEST

START_TEST(test_parse_errors)
{
	parse_bad("2021-06-17 23:59", NULL, "no time zone");
	parse_bad("2021-06-17 23:59 Mars/Olympus", NULL,
	    "unknown time zone 'Mars/Olympus'");
	parse_bad("2021-02-30 10:00 UTC", NULL, "no such date");
	parse_bad("2021-06-17 24:00 UTC", NULL, "no such date");
	parse_bad("17 June 2021", NULL, "expected a date");
	parse_bad("2021-06-17 9:00 UTC", NULL, "expected a time");
	parse_bad("2021-06-17 10:00 +25:00", NULL, "bad UTC offset");
	parse_bad("2021-06-17 10:00 ../../etc/passwd", NULL,
	    "unknown time zone");
	parse_bad("", NULL, "expected a date");
}
END_TEST

START_TEST(test_zone_valid)
{
	ck_assert_int_eq(mp_tz_valid("UTC"), 1);
	ck_assert_int_eq(mp_tz_valid("Europe/Warsaw"), 1);
	ck_assert_int_eq(mp_tz_valid("America/Sao_Paulo"), 1);
	ck_assert_int_eq(mp_tz_valid("Pacific/Auckland"), 1);
	ck_assert_int_eq(mp_tz_valid("Europe/Nowhere"), 0);
	ck_assert_int_eq(mp_tz_valid("Europe"), 0);     /* a directory */
	ck_assert_int_eq(mp_tz_valid("/etc/passwd"), 0);
	ck_assert_int_eq(mp_tz_valid("../zoneinfo/UTC"), 0);
	ck_assert_int_eq(mp_tz_valid(""), 0);
	ck_assert_int_eq(mp_tz_valid(NULL), 0);
}
END_TEST

START_TEST(test_local_and_dst)
{
	struct mp_tm tm;
	char buf[64];

	/* 1623974340 = 2021-06-17 23:59 UTC */
	ck_assert_int_eq(mp_dt_local(1623974340, "Asia/Tokyo", &tm), 0);
	ck_assert_int_eq(tm.year, 2021);
	ck_assert_int_eq(tm.mon, 6);
	ck_assert_int_eq(tm.mday, 18);
	ck_assert_int_eq(tm.hour, 8);
	ck_assert_int_eq(tm.min, 59);
	ck_assert_int_eq(tm.wday, 5);
	ck_assert_int_eq(tm.gmtoff, 9 * 3600);
	ck_assert_str_eq(tm.abbr, "JST");
	ck_assert_int_eq(mp_dt_local(1623974340, "America/New_York", &tm), 0);
	ck_assert_int_eq(tm.hour, 19);
	ck_assert_str_eq(tm.abbr, "EDT");
	ck_assert_int_eq(mp_dt_local(1623974340, "Nowhere/Land", &tm), -1);

	/* Europe/Warsaw springs forward 2021-03-28 02:00 CET -> 03:00 CEST
	 * (01:00 UTC). One second before and at the change: */
	ck_assert_int_eq(mp_dt_local(1616893199, "Europe/Warsaw", &tm), 0);
	ck_assert_int_eq(tm.hour, 1);
	ck_assert_int_eq(tm.min, 59);
	ck_assert_str_eq(tm.abbr, "CET");
	ck_assert_int_eq(mp_dt_local(1616893200, "Europe/Warsaw", &tm), 0);
	ck_assert_int_eq(tm.hour, 3);
	ck_assert_str_eq(tm.abbr, "CEST");
	/* Autumn: 2021-10-31 03:00 CEST -> 02:00 CET at 01:00 UTC. */
	ck_assert_int_eq(mp_dt_local(1635642000, "Europe/Warsaw", &tm), 0);
	ck_assert_int_eq(tm.hour, 2);
	ck_assert_str_eq(tm.abbr, "CET");

	/* Southern hemisphere: Auckland is +12 in June, +13 in December. */
	mp_dt_format(1623974340, "Pacific/Auckland", "%H:%M %Z", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "11:59 NZST");
	mp_dt_format(1639785540, "Pacific/Auckland", "%Y-%m-%d %H:%M %Z", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "2021-12-18 12:59 NZDT");
	/* Far beyond the last explicit transition (footer rule). */
	mp_dt_format(4102444800 + 182 * 86400, "America/New_York", "%Z", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "EDT");
}
END_TEST

START_TEST(test_from_local)
{
	struct mp_tm tm = { 0 };
	int64_t t;

	tm.year = 2021; tm.mon = 6; tm.mday = 22; tm.hour = 13;
	ck_assert_int_eq(mp_dt_from_local(&tm, "Europe/Warsaw", &t), 0);
	ck_assert_int_eq(t, 1624359600);
	/* spring-forward gap: 02:30 does not exist, resolves to 03:30 CEST
	 * = 01:30 UTC */
	tm.year = 2021; tm.mon = 3; tm.mday = 28; tm.hour = 2; tm.min = 30;
	ck_assert_int_eq(mp_dt_from_local(&tm, "Europe/Warsaw", &t), 0);
	ck_assert_int_eq(t, 1616893200 + 1800);
	/* autumn overlap: 02:30 happens twice; the earlier (CEST) wins:
	 * 00:30 UTC */
	tm.mon = 10; tm.mday = 31; tm.hour = 2; tm.min = 30;
	ck_assert_int_eq(mp_dt_from_local(&tm, "Europe/Warsaw", &t), 0);
	ck_assert_int_eq(t, 1635642000 - 1800);
	/* New York, 2021-03-14 02:30 does not exist: 03:30 EDT = 07:30 UTC */
	tm.mon = 3; tm.mday = 14; tm.hour = 2; tm.min = 30;
	ck_assert_int_eq(mp_dt_from_local(&tm, "America/New_York", &t), 0);
	ck_assert_int_eq(t, 1615707000);
	/* invalid fields */
	tm.mon = 2; tm.mday = 29;
	ck_assert_int_eq(mp_dt_from_local(&tm, "UTC", &t), -1);
	tm.year = 2024;
	ck_assert_int_eq(mp_dt_from_local(&tm, "UTC", &t), 0);
	/* round trip every hour of a year in a zone with DST */
	for (t = 1609459200; t < 1609459200 + 365 * 86400; t += 3600) {
		struct mp_tm l;
		int64_t back;

		ck_assert_int_eq(mp_dt_local(t, "America/Sao_Paulo", &l), 0);
		ck_assert_int_eq(mp_dt_from_local(&l, "America/Sao_Paulo",
		    &back), 0);
		ck_assert_int_eq(back, t);
	}
}
END_TEST

START_TEST(test_durations)
{
	int64_t d[8];
	struct mp_err e = { 0 };

	ck_assert_int_eq(mp_dt_parse_duration("7d"), 7 * 86400);
	ck_assert_int_eq(mp_dt_parse_duration("6h"), 6 * 3600);
	ck_assert_int_eq(mp_dt_parse_duration("90m"), 90 * 60);
	ck_assert_int_eq(mp_dt_parse_duration("45s"), 45);
	ck_assert_int_eq(mp_dt_parse_duration("2w"), 14 * 86400);
	ck_assert_int_eq(mp_dt_parse_duration("1d12h"), 36 * 3600);
	ck_assert_int_eq(mp_dt_parse_duration("1d 12h"), 36 * 3600);
	ck_assert_int_eq(mp_dt_parse_duration(""), -1);
	ck_assert_int_eq(mp_dt_parse_duration("7"), -1);
	ck_assert_int_eq(mp_dt_parse_duration("7x"), -1);
	ck_assert_int_eq(mp_dt_parse_duration("0d"), -1);
	ck_assert_int_eq(mp_dt_parse_duration("-1d"), -1);
	ck_assert_int_eq(mp_dt_parse_duration("99999999999d"), -1);

	ck_assert_int_eq(mp_dt_parse_durations("1d, 7d,3d , 6h, 1d", d, 8, &e),
	    4);
	ck_assert_int_eq(d[0], 7 * 86400);
	ck_assert_int_eq(d[1], 3 * 86400);
	ck_assert_int_eq(d[2], 86400);
	ck_assert_int_eq(d[3], 6 * 3600);
	ck_assert_int_eq(mp_dt_parse_durations("7d, soon", d, 8, &e), -1);
	ck_assert_str_eq(e.msg, "bad duration 'soon'");
	ck_assert_int_eq(mp_dt_parse_durations("7d,,1d", d, 8, &e), -1);
	ck_assert_int_eq(mp_dt_parse_durations("1d,2d,3d", d, 2, &e), -1);

	ck_assert_int_eq(mp_dt_parse_hhmm("07:00"), 420);
	ck_assert_int_eq(mp_dt_parse_hhmm("7:05"), 425);
	ck_assert_int_eq(mp_dt_parse_hhmm("23:59"), 1439);
	ck_assert_int_eq(mp_dt_parse_hhmm("24:00"), -1);
	ck_assert_int_eq(mp_dt_parse_hhmm("7"), -1);
	ck_assert_int_eq(mp_dt_parse_hhmm("07:0"), -1);
}
END_TEST

START_TEST(test_format)
{
	char buf[64];

	mp_dt_iso_utc(1623974340, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2021-06-17T23:59:00Z");
	mp_dt_iso_utc(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	mp_dt_rfc5322(1623974340, "UTC", buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 17 Jun 2021 23:59:00 +0000");
	mp_dt_rfc5322(1623974340, "Asia/Kolkata", buf, sizeof(buf));
	ck_assert_str_eq(buf, "Fri, 18 Jun 2021 05:29:00 +0530");
	mp_dt_rfc5322(1623974340, "America/Sao_Paulo", buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 17 Jun 2021 20:59:00 -0300");
	mp_dt_span(3 * 86400 + 4 * 3600 + 59, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3 days 4 hours");
	mp_dt_span(86400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1 day");
	mp_dt_span(-5400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1 hour 30 minutes");
	mp_dt_span(59, buf, sizeof(buf));
	ck_assert_str_eq(buf, "less than a minute");
}
END_TEST

START_TEST(test_clock_and_civil)
{
	int y, m, d;

	mp_dt_set_now(1623974340);
	ck_assert_int_eq(mp_dt_now(), 1623974340);
	mp_dt_set_now(-1);
	ck_assert_int_gt(mp_dt_now(), 1700000000);
	ck_assert_int_eq(mp_dt_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(mp_dt_days_from_civil(2021, 6, 17), 18795);
	mp_dt_civil_from_days(18795, &y, &m, &d);
	ck_assert_int_eq(y, 2021);
	ck_assert_int_eq(m, 6);
	ck_assert_int_eq(d, 17);
	mp_dt_civil_from_days(-1, &y, &m, &d);
	ck_assert_int_eq(y, 1969);
	ck_assert_int_eq(m, 12);
	ck_assert_int_eq(d, 31);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("datetime");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_config_times);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_zone_valid);
	tcase_add_test(tc, test_local_and_dst);
	tcase_add_test(tc, test_from_local);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_clock_and_civil);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
