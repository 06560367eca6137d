/* check_extract.c - action items from a message's own text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_iso_date_and_kind_names)
{
	struct mp_action *a;
	size_t n = run("Submit the form no later than 2021-06-15.", &a);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(a[0].kind, MP_ACT_DEADLINE);
	ck_assert_str_eq(a[0].due, "2021-06-15");
	mp_actions_free(a, n);
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_DEADLINE), "deadline");
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_REQUEST), "request");
	ck_assert_str_eq(mp_action_kind_name(MP_ACT_EVENT), "event");
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
	tcase_add_test(tc, test_iso_date_and_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
