/* check_wordset.c - membership in fixed word lists. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordset.h"
#include "testutil.h"

static const char *const days[] = { "mon", "tue", "wed", "thu", "fri",
	NULL };
static const char *const work[] = { "mon", "send", "review", "", NULL };
static const char *const none[] = { NULL };

START_TEST(test_members)
{
	ck_assert_int_eq(mp_word_in("mon", days), 1);
	ck_assert_int_eq(mp_word_in("fri", days), 1);
	ck_assert_int_eq(mp_word_in("sat", days), 0);
	ck_assert_int_eq(mp_word_in("Mon", days), 0);
	ck_assert_int_eq(mp_word_in("mo", days), 0);
	ck_assert_int_eq(mp_word_in("monday", days), 0);
	ck_assert_int_eq(mp_word_in("", days), 0);
	/* each list on its own, whatever the others hold */
	ck_assert_int_eq(mp_word_in("send", days), 0);
	ck_assert_int_eq(mp_word_in("send", work), 1);
	ck_assert_int_eq(mp_word_in("mon", work), 1);
	ck_assert_int_eq(mp_word_in("tue", work), 0);
	ck_assert_int_eq(mp_word_in("", work), 1);
	ck_assert_int_eq(mp_word_in("mon", none), 0);
}
END_TEST

/* With the hash given: the same answers, in every list. */
START_TEST(test_hash_given)
{
	static const char *const *lists[] = { days, work, none };
	static const char *const words[] = { "mon", "fri", "sat", "send", "",
		"Mon", "review", "reviews" };
	size_t i, k;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			ck_assert_int_eq(mp_word_in_h(words[k],
			    mp_word_hash(words[k]), lists[i]),
			    mp_word_in(words[k], lists[i]));
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		unsigned h = MP_WORD_HASH_INIT;
		const char *c;

		for (c = words[k]; *c; c++)
			h = mp_word_hash_add(h, (unsigned char)*c);
		ck_assert_uint_eq(h, mp_word_hash(words[k]));
	}
	/* with the length too, long words (all of 31 bytes and more share
	 * one length bit) included */
	{
		static const char *const lng[] = { "a",
			"internationalisation-of-domain-names-x", NULL };
		static const char *const more[] = { "a", "ab",
			"internationalisation-of-domain-names-x",
			"internationalisation-of-domain-names-y",
			"internationalisation-of-domain-namesx", NULL };

		for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
			for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
				ck_assert_int_eq(mp_word_in_n(words[k],
				    strlen(words[k]), mp_word_hash(words[k]),
				    lists[i]), mp_word_in(words[k], lists[i]));
		for (k = 0; more[k] != NULL; k++)
			ck_assert_int_eq(mp_word_in_n(more[k], strlen(more[k]),
			    mp_word_hash(more[k]), lng), k != 1 && k < 3);
	}
	ck_assert_uint_eq(mp_word_hash("send"), mp_word_hash("send"));
	ck_assert_uint_ne(mp_word_hash("send"), mp_word_hash("sent"));
}
END_TEST

/* A list of the largest size: every word found, no other. */
START_TEST(test_full_list)
{
	static const char *big[MP_WORDSET_WORDS + 1];
	static char words[MP_WORDSET_WORDS][16];
	char other[16];
	int i;

	for (i = 0; i < MP_WORDSET_WORDS; i++) {
		snprintf(words[i], sizeof(words[i]), "w%d", i);
		big[i] = words[i];
	}
	big[MP_WORDSET_WORDS] = NULL;
	for (i = 0; i < MP_WORDSET_WORDS; i++)
		ck_assert_int_eq(mp_word_in(words[i], big), 1);
	for (i = MP_WORDSET_WORDS; i < 4 * MP_WORDSET_WORDS; i++) {
		snprintf(other, sizeof(other), "w%d", i);
		ck_assert_int_eq(mp_word_in(other, big), 0);
	}
}
END_TEST

static const char *const shared[] = { "alpha", "beta", "gamma", "delta",
	NULL };

static void *
look(void *arg)
{
	long found = 0;
	int i;

	(void)arg;
	for (i = 0; i < 20000; i++)
		found += mp_word_in(i % 2 ? "gamma" : "omega", shared);
	return (void *)found;
}

/* Threads that all look a list up for the first time at once. */
START_TEST(test_threads)
{
	pthread_t t[4];
	void *r;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, look, NULL), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &r), 0);
		ck_assert_int_eq((long)r, 10000);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("wordset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_members);
	tcase_add_test(tc, test_hash_given);
	tcase_add_test(tc, test_full_list);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
