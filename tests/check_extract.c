/* check_extract.c - action items from a message's own text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extract.h"
#include "mime.h"
#include "testutil.h"

/* Thursday 10 June 2021 09:00 +02:00 */
#define MSG_DATE 1623308400

static size_t
run(const char *own, struct mp_action **a)
{
	struct mp_msg m;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.message_id = "x@example.org";
	m.date = MSG_DATE;
	m.date_off = 7200;
	m.own = (char *)own;
	ck_assert_int_eq(mp_extract(&m, NULL, a, &n), 0);
	return n;
}

START_TEST(test_deadline_with_time)
{
	struct mp_action *a;
	size_t n = run("Dear all,\n\nIndividual workshop evaluations are due "
	    "on 17 June at 23:59 UTC. There is no room to extend.\n", &a);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(a[0].kind, MP_ACT_DEADLINE);
	ck_assert_str_eq(a[0].due, "2021-06-17T23:59:00Z");
	ck_assert_str_eq(a[0].text, "Individual workshop evaluations are due "
	    "on 17 June at 23:59 UTC.");
	ck_assert_ptr_null(a[0].assignee);
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_request_event_and_dates)
{
	struct mp_action *a;
	size_t n = run("Please log in to the review tool and check your "
	    "assignments.\nThe open consultations take place on June 22nd, "
	    "2021.\nWim, could you share the draft agenda? We met on 3 June "
	    "to discuss it and that meeting went well.\n", &a);

	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(a[0].kind, MP_ACT_REQUEST);
	ck_assert_str_eq(a[0].due, "");
	ck_assert_int_eq(a[1].kind, MP_ACT_EVENT);
	ck_assert_str_eq(a[1].due, "2021-06-22");
	ck_assert_int_eq(a[2].kind, MP_ACT_REQUEST);
	ck_assert_str_eq(a[2].assignee, "Wim");
	ck_assert_str_eq(a[2].text, "Wim, could you share the draft agenda?");
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_negatives)
{
	struct mp_action *a;
	size_t n = run("We received 17 participants and 2021 proposals.\n"
	    "The meeting on 3 June was useful.\nCall me at +41 22 917 1234.\n",
	    &a);

	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(a);
	n = run("", &a);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* Absences and called-off meetings are not items; the same sentences
 * without the phrase are. */
START_TEST(test_absence_phrases)
{
	static const char *const phrases[] = { "I am out of the office",
		"I am out of office", "Out of office", "The call was called off",
		"Ana is on leave" };
	char text[256];
	struct mp_action *a;
	size_t i, n;

	for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		snprintf(text, sizeof(text), "%s: please send the report by "
		    "17 June.\n", phrases[i]);
		n = run(text, &a);
		ck_assert_msg(n == 0, "%s: %zu items", text, n);
		snprintf(text, sizeof(text), "%s. Please send the report by "
		    "17 June.\n", phrases[i]);
		n = run(text, &a);
		ck_assert_msg(n == 1, "%s: %zu items", text, n);
		mp_actions_free(a, n);
	}
}
END_TEST

START_TEST(test_iso_date_and_kind_names)
{
	struct mp_action *a;
	size_t n = run("Submit the form no later than 2021-06-15.\n"
	    "The form is due no later than 2021-06-16.", &a);

	/* an imperative is a request even with a date; a statement is not */
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(a[0].kind, MP_ACT_REQUEST);
	ck_assert_str_eq(a[0].due, "2021-06-15");
	ck_assert_int_eq(a[1].kind, MP_ACT_DEADLINE);
	ck_assert_str_eq(a[1].due, "2021-06-16");
	mp_actions_free(a, n);
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_DEADLINE), "deadline");
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_REQUEST), "request");
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_EVENT), "event");
	ck_assert_str_eq(mp_action_kind_name((enum mp_action_kind)9), "?");
}
END_TEST

/* The greeting names the reader; groups give no assignee. */
START_TEST(test_greeting_and_vocatives)
{
	struct mp_action *a;
	size_t n = run("Dear Anja,\n\nThank you. Could you confirm by "
	    "tomorrow whether that is still possible?\nMAG members, please "
	    "fill in the survey by Friday.\nJos\xc3\xa9 Mar\xc3\xad" "a, could "
	    "you review the section?\nI will send the name separately.\n",
	    &a);

	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(a[0].kind, MP_ACT_REQUEST);
	ck_assert_str_eq(a[0].assignee, "Anja");
	ck_assert_str_eq(a[0].due, "2021-06-11");
	ck_assert_ptr_null(a[1].assignee);
	ck_assert_str_eq(a[1].due, "2021-06-11");
	ck_assert_str_eq(a[2].assignee, "Jos\xc3\xa9 Mar\xc3\xad" "a");
	ck_assert_str_eq(a[2].due, "");
	mp_actions_free(a, n);
	n = run("Dear MAG members,\n\nCould you share the link?\n", &a);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_null(a[0].assignee);
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_action_list_and_members)
{
	struct mp_member mb[2];
	struct mp_config cfg;
	struct mp_extract_opts o = { 0, &cfg };
	struct mp_action *a;
	struct mp_msg m;
	size_t n;

	memset(mb, 0, sizeof(mb));
	memset(&cfg, 0, sizeof(cfg));
	mb[0].id = "wim";
	mb[0].name = "Wim Degezelle";
	mb[1].id = "tereza";
	mb[1].name = "Tereza Horejsova";
	cfg.members = mb;
	cfg.nmembers = 2;
	memset(&m, 0, sizeof(m));
	m.message_id = "x@example.org";
	m.date = MSG_DATE;
	m.date_off = 7200;
	m.own = "Action items:\n1. Wim to send the notes to the "
	    "Secretariat.\n2. All MAG members to send comments by Monday 28 "
	    "June.\n3. The Secretariat to run a poll.\n4. Mateus will "
	    "circulate the updated draft.\n";
	ck_assert_int_eq(mp_extract(&m, &o, &a, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(a[0].assignee, "Wim");
	ck_assert_str_eq(a[0].member, "wim");
	ck_assert_str_eq(a[0].text, "Wim to send the notes to the "
	    "Secretariat.");
	ck_assert_ptr_null(a[1].assignee);
	ck_assert_str_eq(a[1].due, "2021-06-28");
	ck_assert_ptr_null(a[2].assignee);
	ck_assert_str_eq(a[3].assignee, "Mateus");
	ck_assert_ptr_null(a[3].member);
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_events_and_clauses)
{
	struct mp_action *a;
	size_t n = run("The first day of the MAG meeting is Wednesday 23 June, "
	    "13:00-15:30 UTC, and the second day will be held on Wednesday 30 "
	    "June at the same time.\nThe MAG meeting next Wednesday will start "
	    "at 13:00 UTC as usual.\nOur regular Wednesday call is cancelled "
	    "this week.\nI attended the briefing on Monday.\n", &a);

	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(a[0].kind, MP_ACT_EVENT);
	ck_assert_str_eq(a[0].due, "2021-06-23T13:00:00Z");
	ck_assert_str_eq(a[0].text, "The first day of the MAG meeting is "
	    "Wednesday 23 June, 13:00-15:30 UTC");
	ck_assert_int_eq(a[1].kind, MP_ACT_EVENT);
	ck_assert_str_eq(a[1].due, "2021-06-30T13:00:00Z");
	ck_assert_int_eq(a[2].kind, MP_ACT_EVENT);
	ck_assert_str_eq(a[2].due, "2021-06-16T13:00:00Z");
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_deadline_statements)
{
	struct mp_action *a;
	size_t n = run("The completed reports are due in two weeks.\n"
	    "Coalitions should tell us by the end of the month.\n"
	    "We will send the list by 17 June.\nThe results will be "
	    "circulated on Monday 21 June.\nAfter 17 June the coordinators "
	    "will start drafting.\nComments are due next week.\n"
	    "The team will meet in September.\n", &a);

	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(a[0].due, "2021-06-24");
	ck_assert_str_eq(a[1].due, "2021-06-30");
	ck_assert_str_eq(a[2].due, "2021-06-17");
	ck_assert_str_eq(a[3].due, "2021-06-21");
	ck_assert_int_eq(a[4].kind, MP_ACT_DEADLINE);
	ck_assert_str_eq(a[4].due, "");
	ck_assert_str_eq(a[4].text, "Comments are due next week.");
	mp_actions_free(a, n);
}
END_TEST

START_TEST(test_questions_and_month_first)
{
	struct mp_extract_opts o = { 1, NULL };
	struct mp_action *a;
	struct mp_msg m;
	size_t n = run("Will there be interpretation on the 22nd?\nCould the "
	    "Secretariat confirm how many slots remain?\nCould the "
	    "Secretariat repeat the poll?\n", &a);

	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0].text, "Could the Secretariat repeat the poll?");
	ck_assert_ptr_null(a[0].assignee);
	mp_actions_free(a, n);

	memset(&m, 0, sizeof(m));
	m.message_id = "x@example.org";
	m.date = MSG_DATE;
	m.date_off = 7200;
	m.own = "Please register by 07/06/2021.";
	ck_assert_int_eq(mp_extract(&m, &o, &a, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0].due, "2021-07-06");
	mp_actions_free(a, n);
	o.month_first = 0;
	ck_assert_int_eq(mp_extract(&m, &o, &a, &n), 0);
	/* 7 June is past: still asked, but no due */
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0].due, "");
	mp_actions_free(a, n);
	m.own = NULL;
	ck_assert_int_eq(mp_extract(&m, &o, &a, &n), 0);
	ck_assert_uint_eq(n, 0);
	mp_actions_free(NULL, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("extract");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_deadline_with_time);
	tcase_add_test(tc, test_request_event_and_dates);
	tcase_add_test(tc, test_negatives);
	tcase_add_test(tc, test_absence_phrases);
	tcase_add_test(tc, test_iso_date_and_kind_names);
	tcase_add_test(tc, test_greeting_and_vocatives);
	tcase_add_test(tc, test_action_list_and_members);
	tcase_add_test(tc, test_events_and_clauses);
	tcase_add_test(tc, test_deadline_statements);
	tcase_add_test(tc, test_questions_and_month_first);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
