/* check_ics.c - calendar attachments, read back with libical. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "config.h"
#include "err.h"
#include "ics.h"
#include "render.h"
#include "testutil.h"

/* 2021-06-17T23:59:00Z and 2021-06-14T08:00:00Z */
#define T_DUE 1623974340
#define T_NOW 1623657600

static const char long_summary[] =
    "Оценка заявок на семинары — 研讨会提案评估截止日期 — "
    "تقييم مقترحات ورش العمل 🦉🐦‍⬛🎉 and a long tail of ASCII words";

static struct mp_ics_event
sample(void)
{
	struct mp_ics_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.uid = "workshop-evaluations@example.org";
	ev.start = T_DUE - 1800;
	ev.end = T_DUE;
	ev.stamp = T_NOW;
	ev.summary = long_summary;
	ev.description = "Due Thu 17 Jun 2021 23:59 UTC.\n\nNo room to "
	    "extend; really, none.";
	ev.url = "https://www.intgovforum.org/mag-dashboard?a=1&b=2";
	ev.location = "Online";
	ev.sequence = 3;
	ev.alarm = 3600;
	ev.alarm_at_end = 1;
	return ev;
}

static icalcomponent *
parse_event(const char *text, icalcomponent **cal)
{
	icalcomponent *ev;

	*cal = icalparser_parse_string(text);
	ck_assert_ptr_nonnull(*cal);
	ck_assert_int_eq(icalcomponent_isa(*cal), ICAL_VCALENDAR_COMPONENT);
	ck_assert_int_eq(icalcomponent_count_errors(*cal), 0);
	ck_assert_int_eq(icalcomponent_count_components(*cal,
	    ICAL_VEVENT_COMPONENT), 1);
	ev = icalcomponent_get_first_component(*cal, ICAL_VEVENT_COMPONENT);
	ck_assert_ptr_nonnull(ev);
	return ev;
}

static void
assert_lines(const char *s)
{
	const char *p = s, *eol;

	while (*p != '\0') {
		eol = strstr(p, "\r\n");
		ck_assert_msg(eol != NULL, "line without CRLF: %s", p);
		ck_assert_ptr_null(memchr(p, '\n', (size_t)(eol - p)));
		/* RFC 5545 3.1: lines SHOULD NOT be longer than 75 octets */
		ck_assert_int_le((int)(eol - p), 75);
		p = eol + 2;
	}
}

START_TEST(test_event_fields)
{
	struct mp_ics_event in = sample();
	struct mp_err e = { 0 };
	icalcomponent *cal, *ev, *al;
	icalproperty *p;
	struct icaltriggertype trig;
	char *s = mp_ics_event(&in, &e);

	ck_assert_msg(s != NULL, "%s", e.msg);
	assert_lines(s);
	ck_assert_int_eq(strncmp(s, "BEGIN:VCALENDAR\r\n", 17), 0);
	ev = parse_event(s, &cal);
	ck_assert_int_eq(icalcomponent_get_method(cal), ICAL_METHOD_PUBLISH);
	p = icalcomponent_get_first_property(cal, ICAL_VERSION_PROPERTY);
	ck_assert_str_eq(icalproperty_get_version(p), "2.0");
	ck_assert_ptr_nonnull(icalcomponent_get_first_property(cal,
	    ICAL_PRODID_PROPERTY));

	ck_assert_str_eq(icalcomponent_get_uid(ev),
	    "workshop-evaluations@example.org");
	ck_assert_str_eq(icalcomponent_get_summary(ev), long_summary);
	ck_assert_str_eq(icalcomponent_get_description(ev), in.description);
	ck_assert_str_eq(icalcomponent_get_location(ev), "Online");
	p = icalcomponent_get_first_property(ev, ICAL_URL_PROPERTY);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(icalproperty_get_url(p), in.url);
	ck_assert_int_eq(icalcomponent_get_sequence(ev), 3);
	ck_assert_int_eq(icalcomponent_get_status(ev), ICAL_STATUS_CONFIRMED);
	/* UTC instants, written with Z */
	ck_assert(icaltime_is_utc(icalcomponent_get_dtstart(ev)));
	ck_assert(icaltime_is_utc(icalcomponent_get_dtend(ev)));
	ck_assert_int_eq((long)icaltime_as_timet(icalcomponent_get_dtstart(ev)),
	    T_DUE - 1800);
	ck_assert_int_eq((long)icaltime_as_timet(icalcomponent_get_dtend(ev)),
	    T_DUE);
	ck_assert_int_eq((long)icaltime_as_timet(icalcomponent_get_dtstamp(ev)),
	    T_NOW);
	ck_assert_ptr_nonnull(strstr(s, "\r\nDTSTART:20210617T232900Z\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "\r\nDTEND:20210617T235900Z\r\n"));

	ck_assert_int_eq(icalcomponent_count_components(ev,
	    ICAL_VALARM_COMPONENT), 1);
	al = icalcomponent_get_first_component(ev, ICAL_VALARM_COMPONENT);
	p = icalcomponent_get_first_property(al, ICAL_ACTION_PROPERTY);
	ck_assert_int_eq(icalproperty_get_action(p), ICAL_ACTION_DISPLAY);
	p = icalcomponent_get_first_property(al, ICAL_DESCRIPTION_PROPERTY);
	ck_assert_ptr_nonnull(p);
	p = icalcomponent_get_first_property(al, ICAL_TRIGGER_PROPERTY);
	trig = icalproperty_get_trigger(p);
	ck_assert_int_eq(icaldurationtype_as_int(trig.duration), -3600);
	ck_assert_ptr_nonnull(icalproperty_get_first_parameter(p,
	    ICAL_RELATED_PARAMETER));
	ck_assert_int_eq(icalparameter_get_related(
	    icalproperty_get_first_parameter(p, ICAL_RELATED_PARAMETER)),
	    ICAL_RELATED_END);
	icalcomponent_free(cal);
	free(s);
}
END_TEST

START_TEST(test_cancelled_and_controls)
{
	struct mp_ics_event in = sample();
	struct mp_err e = { 0 };
	icalcomponent *cal, *ev;
	char *s;

	in.cancelled = 1;
	in.summary = "Line\r\nBREAK:x\x01y";
	in.description = "one\ntwo\rthree";
	in.alarm_at_end = 0;
	in.sequence = -4;
	s = mp_ics_event(&in, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	assert_lines(s);
	ck_assert_ptr_null(strstr(s, "\r\nBREAK:"));
	ev = parse_event(s, &cal);
	ck_assert_int_eq(icalcomponent_get_status(ev), ICAL_STATUS_CANCELLED);
	ck_assert_int_eq(icalcomponent_count_components(ev,
	    ICAL_VALARM_COMPONENT), 0);
	ck_assert_int_eq(icalcomponent_get_sequence(ev), 0);
	ck_assert_str_eq(icalcomponent_get_summary(ev), "Line  BREAK:x y");
	ck_assert_str_eq(icalcomponent_get_description(ev), "one\ntwo three");
	icalcomponent_free(cal);
	free(s);

	/* no alarm when asked for none */
	in = sample();
	in.alarm = -1;
	s = mp_ics_event(&in, &e);
	ev = parse_event(s, &cal);
	ck_assert_int_eq(icalcomponent_count_components(ev,
	    ICAL_VALARM_COMPONENT), 0);
	icalcomponent_free(cal);
	free(s);
}
END_TEST

START_TEST(test_refused)
{
	struct mp_ics_event in;
	struct mp_err e;

	in = sample();
	in.uid = NULL;
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	in = sample();
	in.summary = "";
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	in = sample();
	in.end = in.start;
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	in = sample();
	in.summary = "bad \xc3\x28 utf-8";
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	in = sample();
	in.location = "\xed\xa0\x80";
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	in = sample();
	in.url = "https://x.example/\r\nX-EVIL:1";
	ck_assert_ptr_null(mp_ics_event(&in, &e));
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
}
END_TEST

START_TEST(test_uid)
{
	char b[64];

	mp_ics_uid("workshop-evaluations", "mag-secretariat@example.org", b,
	    sizeof(b));
	ck_assert_str_eq(b, "workshop-evaluations@example.org");
	mp_ics_uid("x", "nodomain", b, sizeof(b));
	ck_assert_str_eq(b, "x@magpie.invalid");
	mp_ics_uid("x", NULL, b, sizeof(b));
	ck_assert_str_eq(b, "x@magpie.invalid");
	mp_ics_uid("abcdef", "a@example.org", b, 4);
	ck_assert_str_eq(b, "abc");
}
END_TEST

/* The attachments of real items: the same UID in every email, times in
 * UTC, the sequence passed in. */
START_TEST(test_render_ics)
{
	struct mp_diag d = { 0 };
	struct mp_err e = { 0 };
	struct mp_config *cfg;
	const struct mp_item *dl, *evn, *rem;
	icalcomponent *cal, *ev;
	char *dir = tu_tmpdir(), path[4200], *s, *s2;

	snprintf(path, sizeof(path), "%s/m.ini", dir);
	tu_write(path,
	    "[list mag]\nname = IGF MAG\nsource = mbox:x.mbox\n"
	    "[delivery]\ntransport = maildir:out\n"
	    "from = Sec <sec@lists.example.org>\n"
	    "[member k]\nemail = k@example.org\ngroups = mag\n"
	    "[deadline evals]\ntitle = Evaluations\n"
	    "due = 2021-06-17 23:59 UTC\nremind = 3d\nto = group:mag\n"
	    "note = No extension.\nurl = https://x.example/d\n"
	    "[event call]\ntitle = WG call\n"
	    "starts = 2021-06-18 16:00 Europe/Warsaw\n"
	    "ends = 2021-06-18 17:30 Europe/Warsaw\nremind = 1h\n"
	    "to = group:mag\nlocation = Room 3\n"
	    "[reminder poll]\nat = 2021-06-24 09:00 UTC\nto = group:mag\n"
	    "subject = Poll\nbody = Answer it.\n");
	ck_assert_msg(mp_config_load(path, &cfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	dl = mp_config_item(cfg, "evals");
	evn = mp_config_item(cfg, "call");
	rem = mp_config_item(cfg, "poll");

	ck_assert_int_eq(mp_render_ics(cfg, dl, 0, 0, T_NOW, &s, &e), 0);
	ev = parse_event(s, &cal);
	ck_assert_str_eq(icalcomponent_get_uid(ev), "evals@lists.example.org");
	ck_assert_str_eq(icalcomponent_get_summary(ev), "Deadline: Evaluations");
	ck_assert_str_eq(icalcomponent_get_description(ev), "Evaluations is "
	    "due Thu 17 Jun 2021 23:59 UTC.\n\nNo extension.\n\n"
	    "https://x.example/d");
	ck_assert_int_eq((long)icaltime_as_timet(icalcomponent_get_dtend(ev)),
	    T_DUE);
	ck_assert_int_eq(icalcomponent_get_sequence(ev), 0);
	icalcomponent_free(cal);
	/* a later email of the same item: same UID, higher sequence */
	ck_assert_int_eq(mp_render_ics(cfg, dl, 2, 0, T_NOW + 86400, &s2, &e),
	    0);
	ev = parse_event(s2, &cal);
	ck_assert_str_eq(icalcomponent_get_uid(ev), "evals@lists.example.org");
	ck_assert_int_eq(icalcomponent_get_sequence(ev), 2);
	icalcomponent_free(cal);
	free(s);
	free(s2);

	ck_assert_int_eq(mp_render_ics(cfg, evn, 1, 0, T_NOW, &s, &e), 0);
	ck_assert_ptr_nonnull(strstr(s, "\r\nDTSTART:20210618T140000Z\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "\r\nDTEND:20210618T153000Z\r\n"));
	ev = parse_event(s, &cal);
	ck_assert_str_eq(icalcomponent_get_summary(ev), "WG call");
	ck_assert_str_eq(icalcomponent_get_location(ev), "Room 3");
	ck_assert_ptr_nonnull(strstr(s, "TRIGGER:-PT15M\r\n"));
	icalcomponent_free(cal);
	free(s);

	/* the chair's reminders carry no calendar entry */
	s = (char *)"unchanged";
	ck_assert_int_eq(mp_render_ics(cfg, rem, 0, 0, T_NOW, &s, &e), 0);
	ck_assert_ptr_null(s);

	mp_config_free(cfg);
	mp_diag_free(&d);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_event_fields);
	tcase_add_test(tc, test_cancelled_and_controls);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_uid);
	tcase_add_test(tc, test_render_ics);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
