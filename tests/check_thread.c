/* check_thread.c - JWZ threading. */
#include <dirent.h>
#include <stdint.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "mime.h"
#include "thread.h"
#include "testutil.h"

#define REFS(...) (const char *const[]){ __VA_ARGS__ }, \
	(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define NOREFS NULL, 0
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every input message appears exactly once; depths form a tree; last is
 * the maximum date. */
static void
check_shape(const struct mp_thread_in *in, size_t n,
    const struct mp_thread *t, size_t nt)
{
	char *seen = calloc(n ? n : 1, 1);
	size_t i, k, total = 0;
	int64_t last;

	ck_assert_ptr_nonnull(seen);
	for (i = 0; i < nt; i++) {
		ck_assert_uint_gt(t[i].n, 0);
		ck_assert_ptr_nonnull(t[i].id);
		ck_assert_uint_eq(t[i].depth[0], 0);
		last = in[t[i].msgs[0]].date;
		for (k = 0; k < t[i].n; k++) {
			ck_assert_uint_lt(t[i].msgs[k], n);
			ck_assert_int_eq(seen[t[i].msgs[k]], 0);
			seen[t[i].msgs[k]] = 1;
			if (k > 0)
				ck_assert_uint_le(t[i].depth[k],
				    t[i].depth[k - 1] + 1);
			if (in[t[i].msgs[k]].date > last)
				last = in[t[i].msgs[k]].date;
		}
		ck_assert_int_eq(t[i].last, last);
		if (i > 0)
			ck_assert_int_ge(t[i - 1].last, t[i].last);
		total += t[i].n;
	}
	ck_assert_uint_eq(total, n);
	free(seen);
}

static void
assert_thread(const struct mp_thread *t, const char *id, size_t n,
    const size_t *msgs, const size_t *depth, int64_t last)
{
	size_t k;

	ck_assert_str_eq(t->id, id);
	ck_assert_uint_eq(t->n, n);
	for (k = 0; k < n; k++) {
		ck_assert_uint_eq(t->msgs[k], msgs[k]);
		ck_assert_uint_eq(t->depth[k], depth[k]);
	}
	ck_assert_int_eq(t->last, last);
}

static struct mp_thread *
build(const struct mp_thread_in *in, size_t n, size_t *nt)
{
	struct mp_thread *t = NULL;

	ck_assert_int_eq(mp_thread_build(in, n, &t, nt), 0);
	check_shape(in, n, t, *nt);
	return t;
}

START_TEST(test_chain)
{
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, NOREFS, "plan", 1, 0, NULL },
		{ "b@x", "a@x", REFS("a@x"), "plan", 2, 0, NULL },
		{ "c@x", "b@x", REFS("a@x", "b@x"), "plan", 3, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 1);
	assert_thread(&t[0], "a@x", 3, (size_t[]){ 0, 1, 2 },
	    (size_t[]){ 0, 1, 2 }, 3);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_missing_middle)
{
	/* b@x never arrived; c@x still joins a@x's thread, under it. */
	const struct mp_thread_in in[] = {
		{ "c@x", NULL, REFS("a@x", "b@x"), NULL, 30, 0, NULL },
		{ "a@x", NULL, NOREFS, NULL, 10, 0, NULL },
		{ "d@x", NULL, REFS("a@x", "b@x", "c@x"), NULL, 40, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 1);
	assert_thread(&t[0], "a@x", 3, (size_t[]){ 1, 0, 2 },
	    (size_t[]){ 0, 1, 2 }, 40);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_in_reply_to)
{
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, NOREFS, NULL, 1, 0, NULL },
		{ "b@x", "a@x", NOREFS, NULL, 2, 0, NULL },
		{ "c@x", "b@x", NOREFS, NULL, 3, 0, NULL },
		/* In-Reply-To wins over trimmed References. */
		{ "d@x", "c@x", REFS("a@x"), NULL, 4, 0, NULL },
		/* An empty In-Reply-To is no link. */
		{ "e@x", "", NOREFS, NULL, 5, 0, NULL },
		/* Equal to the last reference: nothing changes. */
		{ "f@x", "b@x", REFS("a@x", "b@x"), NULL, 6, 0, NULL },
		/* A mistyped reference: the chain still links what it can,
		 * the parent is In-Reply-To's. */
		{ "g@x", "a@x", REFS("a--@x"), NULL, 7, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 2);
	assert_thread(&t[0], "a@x", 6, (size_t[]){ 0, 1, 2, 3, 5, 6 },
	    (size_t[]){ 0, 1, 2, 3, 2, 1 }, 7);
	assert_thread(&t[1], "e@x", 1, (size_t[]){ 4 }, (size_t[]){ 0 }, 5);
	mp_threads_free(t, nt);
}
END_TEST

#define DAY ((int64_t)86400)

START_TEST(test_subject_fallback)
{
	/* The caller normalised "Re: [MAG] Foo" to "foo" and said which
	 * subjects were replies. */
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, NOREFS, "foo", 100, 0, NULL },
		{ "b@x", NULL, NOREFS, "foo", 200, 1, NULL },
		{ "c@x", NULL, REFS("unknown@x"), "foo", 150, 1, NULL },
		{ "d@x", NULL, NOREFS, "bar", 300, 0, NULL },
		{ "e@x", NULL, NOREFS, "", 50, 1, NULL },
		{ "f@x", NULL, NOREFS, "", 60, 1, NULL },
		{ "g@x", NULL, NOREFS, NULL, 70, 1, NULL },
		/* Not a reply: the same subject starts a thread of its own. */
		{ "h@x", NULL, NOREFS, "foo", 250, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 6);
	assert_thread(&t[0], "d@x", 1, (size_t[]){ 3 }, (size_t[]){ 0 },
	    300);
	assert_thread(&t[1], "h@x", 1, (size_t[]){ 7 }, (size_t[]){ 0 },
	    250);
	/* Replies join the latest root that started before them. */
	assert_thread(&t[2], "a@x", 3, (size_t[]){ 0, 2, 1 },
	    (size_t[]){ 0, 1, 1 }, 200);
	/* Empty subjects never group. */
	assert_thread(&t[3], "g@x", 1, (size_t[]){ 6 }, (size_t[]){ 0 }, 70);
	assert_thread(&t[4], "f@x", 1, (size_t[]){ 5 }, (size_t[]){ 0 }, 60);
	assert_thread(&t[5], "e@x", 1, (size_t[]){ 4 }, (size_t[]){ 0 }, 50);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_subject_window)
{
	/* "Minutes" is reused by unrelated threads months apart. */
	const struct mp_thread_in in[] = {
		{ "m1@x", NULL, NOREFS, "minutes", 0, 0, NULL },
		{ "r1@x", "m1@x", NOREFS, "minutes", 20 * DAY, 1, NULL },
		/* 29 days after the thread's last message: joins */
		{ "s1@x", NULL, NOREFS, "minutes", 49 * DAY, 1, NULL },
		{ "m2@x", NULL, NOREFS, "minutes", 120 * DAY, 0, NULL },
		/* 31 days after m2: too far */
		{ "s2@x", NULL, NOREFS, "minutes", 151 * DAY, 1, NULL },
		/* a reply dated a day before the root it answers */
		{ "s3@x", NULL, NOREFS, "minutes", 119 * DAY, 1, NULL },
		/* two replies whose thread is not here group together */
		{ "o1@x", NULL, NOREFS, "orphan", 10 * DAY, 1, NULL },
		{ "o2@x", NULL, NOREFS, "orphan", 12 * DAY, 1, NULL },
		{ "o3@x", NULL, NOREFS, "orphan", 90 * DAY, 1, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 5);
	assert_thread(&t[0], "s2@x", 1, (size_t[]){ 4 }, (size_t[]){ 0 },
	    151 * DAY);
	assert_thread(&t[1], "m2@x", 2, (size_t[]){ 3, 5 },
	    (size_t[]){ 0, 1 }, 120 * DAY);
	assert_thread(&t[2], "o3@x", 1, (size_t[]){ 8 }, (size_t[]){ 0 },
	    90 * DAY);
	assert_thread(&t[3], "m1@x", 3, (size_t[]){ 0, 1, 2 },
	    (size_t[]){ 0, 1, 1 }, 49 * DAY);
	assert_thread(&t[4], "o1@x", 2, (size_t[]){ 6, 7 },
	    (size_t[]){ 0, 1 }, 12 * DAY);
	mp_threads_free(t, nt);
	/* A negative window turns the fallback off. */
	ck_assert_int_eq(mp_thread_build_window(in, N(in), -1, &t, &nt), 0);
	ck_assert_uint_eq(nt, 8);
	mp_threads_free(t, nt);
	/* A window of 60 days joins s2 to m2 (o3 is 78 days away). */
	ck_assert_int_eq(mp_thread_build_window(in, N(in), 60 * DAY, &t,
	    &nt), 0);
	ck_assert_uint_eq(nt, 4);
	ck_assert_str_eq(t[0].id, "m2@x");
	ck_assert_uint_eq(t[0].n, 3);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_subject_moves_subtree)
{
	/* A later reply root with the same subject moves under the
	 * earlier root with its whole subtree. */
	const struct mp_thread_in in[] = {
		{ "late@x", NULL, NOREFS, "agenda", 50, 1, NULL },
		{ "reply@x", NULL, REFS("late@x"), "agenda", 60, 1, NULL },
		{ "early@x", NULL, NOREFS, "agenda", 10, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 1);
	assert_thread(&t[0], "early@x", 3, (size_t[]){ 2, 0, 1 },
	    (size_t[]){ 0, 1, 2 }, 60);
	mp_threads_free(t, nt);
}
END_TEST

static void
assert_root(const struct mp_thread_root *r, const char *subject, size_t msg,
    int64_t first, int64_t last, int reply, int mark)
{
	ck_assert_str_eq(r->subject, subject);
	ck_assert_uint_eq(r->msg, msg);
	ck_assert_int_eq(r->first, first);
	ck_assert_int_eq(r->last, last);
	ck_assert_int_eq(r->reply, reply);
	ck_assert_int_eq(r->mark, mark);
}

/* The roots the subject fallback groups, as mp_thread_build_roots
 * reports them: every References tree with a subject, by subject then
 * first date, with its range, whether it is a reply root, the highest
 * mark of its messages, and the message standing for it (a missing
 * root's earliest child). Joining by subject changes none of it. */
START_TEST(test_roots_reported)
{
	const struct mp_thread_in in[] = {
		{ "m1@x", NULL, REFS("ghost@x"), "s", 10, 1, NULL },
		{ "m2@x", NULL, REFS("ghost@x"), "s", 20, 1, NULL },
		{ "r@x", NULL, NOREFS, "s", 5, 0, NULL },
		{ "k@x", NULL, REFS("ghost@x", "m2@x"), "other", 30, 1, NULL },
		{ "a@x", NULL, NOREFS, "agenda", 50, 0, NULL },
		{ "b@x", "a@x", NOREFS, "minutes", 70, 1, NULL },
		{ "q@x", NULL, NOREFS, NULL, 80, 0, NULL },
	};
	const int mark[] = { 0, 0, 1, 0, 2, 3, 4 };
	struct mp_thread_root *r;
	struct mp_thread *t;
	size_t nt, nr;
	int w;

	for (w = 0; w < 2; w++) {
		ck_assert_int_eq(mp_thread_build_roots(in, N(in), w ? -1 :
		    MP_THREAD_SUBJECT_WINDOW, mark, &t, &nt, &r, &nr), 0);
		check_shape(in, N(in), t, nt);
		ck_assert_uint_eq(nt, (size_t)(w ? 4 : 3));
		/* q@x has no subject: it groups with nothing */
		ck_assert_uint_eq(nr, 3);
		assert_root(&r[0], "agenda", 4, 50, 70, 0, 3);
		assert_root(&r[1], "s", 2, 5, 5, 0, 1);
		assert_root(&r[2], "s", 0, 10, 30, 1, 0);
		mp_threads_free(t, nt);
		free(r);
	}
	/* without marks, all 0; an empty input gives none */
	ck_assert_int_eq(mp_thread_build_roots(in, N(in), 0, NULL, &t, &nt,
	    &r, &nr), 0);
	ck_assert_int_eq(r[0].mark + r[1].mark + r[2].mark, 0);
	mp_threads_free(t, nt);
	free(r);
	ck_assert_int_eq(mp_thread_build_roots(in, 0, 0, NULL, &t, &nt, &r,
	    &nr), 0);
	ck_assert_uint_eq(nr, 0);
	ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_subject_empty_root_absorbs)
{
	/* ghost@x is missing and holds two replies: a missing root counts
	 * as a reply, so its messages move under r@x, the root of the
	 * same subject. */
	const struct mp_thread_in in[] = {
		{ "m1@x", NULL, REFS("ghost@x"), "s", 10, 1, NULL },
		{ "m2@x", NULL, REFS("ghost@x"), "s", 20, 1, NULL },
		{ "r@x", NULL, NOREFS, "s", 5, 0, NULL },
		{ "k@x", NULL, REFS("ghost@x", "m2@x"), "other", 30, 1, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 1);
	assert_thread(&t[0], "r@x", 4, (size_t[]){ 2, 0, 1, 3 },
	    (size_t[]){ 0, 1, 1, 2 }, 30);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_subject_two_empty_roots)
{
	/* Two missing roots with the same subject merge their children. */
	const struct mp_thread_in in[] = {
		{ "a1@x", NULL, REFS("g1@x"), "s", 10, 1, NULL },
		{ "a2@x", NULL, REFS("g1@x"), "s", 40, 1, NULL },
		{ "b1@x", NULL, REFS("g2@x"), "s", 20, 1, NULL },
		{ "b2@x", NULL, REFS("g2@x"), "s", 30, 1, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 1);
	assert_thread(&t[0], "a1@x", 4, (size_t[]){ 0, 2, 3, 1 },
	    (size_t[]){ 0, 0, 0, 0 }, 40);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_stable_ids)
{
	/* Ids recorded by an earlier run stay, whatever the root is now. */
	const struct mp_thread_in in[] = {
		/* a late root arrives for thread "T1" */
		{ "root@x", NULL, NOREFS, "p", 1, 0, NULL },
		{ "b@x", NULL, REFS("root@x"), "p", 5, 1, "T1" },
		{ "c@x", NULL, REFS("root@x", "b@x"), "p", 6, 1, "T1" },
		/* a late message merges "OLD" (earliest message 2) and
		 * "NEW" (earliest 3): the older id wins though the root of
		 * the merged thread (y1) was in "NEW" */
		{ "x1@x", NULL, NOREFS, "q", 2, 0, "OLD" },
		{ "y1@x", NULL, NOREFS, "r", 3, 0, "NEW" },
		{ "z@x", NULL, REFS("y1@x", "x1@x"), "q", 9, 1, NULL },
		/* a thread once joined by subject now split in two: the
		 * part with the earliest message keeps the id */
		{ "s1@x", NULL, NOREFS, "s", 20, 0, "S" },
		{ "s2@x", NULL, NOREFS, "s", 21, 0, "S" },
		/* a new thread named after a root id already in use */
		{ "T1", NULL, NOREFS, "t", 30, 0, NULL },
		{ "T1", NULL, NOREFS, "t", 31, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 6);
	ck_assert_str_eq(t[0].id, "T1#3");
	ck_assert_uint_eq(t[0].msgs[0], 9);
	ck_assert_str_eq(t[1].id, "T1#2");
	ck_assert_uint_eq(t[1].msgs[0], 8);
	assert_thread(&t[2], "s2@x", 1, (size_t[]){ 7 }, (size_t[]){ 0 }, 21);
	assert_thread(&t[3], "S", 1, (size_t[]){ 6 }, (size_t[]){ 0 }, 20);
	assert_thread(&t[4], "OLD", 3, (size_t[]){ 4, 3, 5 },
	    (size_t[]){ 0, 1, 2 }, 9);
	assert_thread(&t[5], "T1", 3, (size_t[]){ 0, 1, 2 },
	    (size_t[]){ 0, 1, 2 }, 6);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_different_subjects)
{
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, NOREFS, "budget", 100, 0, NULL },
		{ "b@x", NULL, NOREFS, "budget 2022", 100, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 2);
	/* Same last activity: ordered by id. */
	assert_thread(&t[0], "a@x", 1, (size_t[]){ 0 }, (size_t[]){ 0 }, 100);
	assert_thread(&t[1], "b@x", 1, (size_t[]){ 1 }, (size_t[]){ 0 }, 100);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_loops)
{
	const struct mp_thread_in in[] = {
		/* A -> B -> A */
		{ "a@x", NULL, REFS("b@x"), NULL, 1, 0, NULL },
		{ "b@x", NULL, REFS("a@x"), NULL, 2, 0, NULL },
		/* Refers to itself. */
		{ "s@x", "s@x", REFS("s@x"), NULL, 3, 0, NULL },
		/* imaptest "thread": q refs p and r; r refs q. */
		{ "p@x", NULL, NOREFS, NULL, 17, 0, NULL },
		{ "q@x", NULL, REFS("p@x", "r@x"), NULL, 15, 0, NULL },
		{ "r@x", NULL, REFS("q@x"), NULL, 16, 0, NULL },
		/* A loop inside one References list. */
		{ "u@x", NULL, REFS("v@x", "w@x", "v@x"), NULL, 20, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 5);
	/* v@x and w@x are missing: u@x stands alone. */
	assert_thread(&t[0], "u@x", 1, (size_t[]){ 6 }, (size_t[]){ 0 }, 20);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_loops_exact)
{
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, REFS("b@x"), NULL, 1, 0, NULL },
		{ "b@x", NULL, REFS("a@x"), NULL, 2, 0, NULL },
		{ "s@x", "s@x", REFS("s@x"), NULL, 3, 0, NULL },
		{ "p@x", NULL, NOREFS, NULL, 17, 0, NULL },
		{ "q@x", NULL, REFS("p@x", "r@x"), NULL, 15, 0, NULL },
		{ "r@x", NULL, REFS("q@x"), NULL, 16, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 4);
	assert_thread(&t[0], "p@x", 1, (size_t[]){ 3 }, (size_t[]){ 0 }, 17);
	/* RFC 5256: r drops the parent guessed from q's References and
	 * cannot take q (a loop), so it is a root with q below. */
	assert_thread(&t[1], "r@x", 2, (size_t[]){ 5, 4 },
	    (size_t[]){ 0, 1 }, 16);
	assert_thread(&t[2], "s@x", 1, (size_t[]){ 2 }, (size_t[]){ 0 }, 3);
	/* b's own link to a would close the loop a -> b -> a. */
	assert_thread(&t[3], "b@x", 2, (size_t[]){ 1, 0 },
	    (size_t[]){ 0, 1 }, 2);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_duplicates)
{
	const struct mp_thread_in in[] = {
		{ "a@x", NULL, NOREFS, NULL, 1, 0, NULL },
		{ "b@x", NULL, REFS("a@x"), NULL, 1, 0, NULL },
		{ "c@x", NULL, REFS("b@x"), NULL, 1, 0, NULL },
		{ "b@x", NULL, REFS("a@x"), NULL, 1, 0, NULL },
		{ "d@x", NULL, NOREFS, NULL, 0, 0, NULL },
		{ "d@x", NULL, NOREFS, NULL, 0, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 3);
	/* imaptest thread7: (1 (2 3)(4)) */
	assert_thread(&t[0], "a@x", 4, (size_t[]){ 0, 1, 2, 3 },
	    (size_t[]){ 0, 1, 2, 1 }, 1);
	/* Two copies of d@x: two threads, both kept, ids unique. */
	assert_thread(&t[1], "d@x", 1, (size_t[]){ 4 }, (size_t[]){ 0 }, 0);
	assert_thread(&t[2], "d@x#2", 1, (size_t[]){ 5 }, (size_t[]){ 0 }, 0);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_tree_order)
{
	const struct mp_thread_in in[] = {
		{ "r@x", NULL, NOREFS, "t", 10, 0, NULL },
		{ "x@x", NULL, REFS("r@x"), "t", 30, 0, NULL },
		{ "z@x", NULL, REFS("r@x", "y@x"), "t", 25, 0, NULL },
		{ "y@x", "r@x", NOREFS, "t", 20, 0, NULL },
		{ "w@x", NULL, REFS("r@x"), "t", 20, 0, NULL },
		{ "q@x", NULL, REFS("r@x", "x@x"), "t", 31, 0, NULL },
		/* No Message-ID, sharing a missing parent (imaptest
		 * thread6): a missing root with two top-level messages. */
		{ NULL, NULL, REFS("ghost@x"), NULL, 5, 0, NULL },
		{ "n@x", NULL, REFS("ghost@x"), NULL, 4, 0, NULL },
		/* A missing root with one child: the child is the root. */
		{ "o@x", NULL, REFS("gone@x", "gone2@x"), NULL, 1, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 3);
	assert_thread(&t[0], "r@x", 6, (size_t[]){ 0, 3, 2, 4, 1, 5 },
	    (size_t[]){ 0, 1, 2, 1, 1, 2 }, 31);
	assert_thread(&t[1], "n@x", 2, (size_t[]){ 7, 6 },
	    (size_t[]){ 0, 0 }, 5);
	assert_thread(&t[2], "o@x", 1, (size_t[]){ 8 }, (size_t[]){ 0 }, 1);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_reparent_guess)
{
	/* c@x's References guessed b under a; b's own References say it
	 * replies to z: b's header wins. */
	const struct mp_thread_in in[] = {
		{ "c@x", NULL, REFS("a@x", "b@x"), NULL, 3, 0, NULL },
		{ "a@x", NULL, NOREFS, NULL, 1, 0, NULL },
		{ "z@x", NULL, NOREFS, NULL, 2, 0, NULL },
		{ "b@x", NULL, REFS("z@x"), NULL, 2, 0, NULL },
	};
	struct mp_thread *t;
	size_t nt;

	t = build(in, N(in), &nt);
	ck_assert_uint_eq(nt, 2);
	assert_thread(&t[0], "z@x", 3, (size_t[]){ 2, 3, 0 },
	    (size_t[]){ 0, 1, 2 }, 3);
	assert_thread(&t[1], "a@x", 1, (size_t[]){ 1 }, (size_t[]){ 0 }, 1);
	mp_threads_free(t, nt);
}
END_TEST

START_TEST(test_empty_input)
{
	struct mp_thread *t = (struct mp_thread *)1;
	size_t nt = 7;

	ck_assert_int_eq(mp_thread_build(NULL, 0, &t, &nt), 0);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(nt, 0);
	mp_threads_free(NULL, 0);
}
END_TEST

START_TEST(test_large)
{
	/* 10,000 threads of 10 messages each (binary trees, full
	 * References), given newest first so parents arrive late. */
	size_t nthr = 10000, per = 10, n = nthr * per, i, k, j, nt, d;
	struct mp_thread_in *in = calloc(n, sizeof(*in));
	char **ids = calloc(n, sizeof(*ids));
	char **subj = calloc(nthr, sizeof(*subj));
	const char ***refs = calloc(n, sizeof(*refs));
	struct mp_thread *t;
	size_t path[16];
	/* Depth first, siblings by date: 0 (1 (3 7 8) (4 9)) (2 5 6). */
	static const size_t order[] = { 0, 1, 3, 7, 8, 4, 9, 2, 5, 6 };
	static const size_t depth[] = { 0, 1, 2, 3, 3, 2, 3, 1, 2, 2 };

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(ids);
	ck_assert_ptr_nonnull(subj);
	ck_assert_ptr_nonnull(refs);
	for (i = 0; i < n; i++) {
		ids[i] = malloc(32);
		snprintf(ids[i], 32, "%zu.%zu@bulk", i / per, i % per);
	}
	for (i = 0; i < nthr; i++) {
		subj[i] = malloc(32);
		snprintf(subj[i], 32, "topic %zu", i);
	}
	for (i = 0; i < n; i++) {
		struct mp_thread_in *m = &in[n - 1 - i];

		k = i % per;
		d = 0;
		for (j = k; j != 0; j = (j - 1) / 2)
			path[d++] = (j - 1) / 2;
		refs[i] = calloc(d ? d : 1, sizeof(char *));
		for (j = 0; j < d; j++)
			refs[i][j] = ids[i - k + path[d - 1 - j]];
		m->message_id = ids[i];
		m->refs = refs[i];
		m->nrefs = d;
		m->subject_norm = subj[i / per];
		m->date = (int64_t)i;
	}
	t = build(in, n, &nt);
	ck_assert_uint_eq(nt, nthr);
	for (i = 0; i < nt; i++) {
		ck_assert_uint_eq(t[i].n, per);
		ck_assert_str_eq(t[i].id, ids[(nthr - 1 - i) * per]);
		for (k = 0; k < per; k++) {
			ck_assert_uint_eq(t[i].msgs[k],
			    n - 1 - ((nthr - 1 - i) * per + order[k]));
			ck_assert_uint_eq(t[i].depth[k], depth[k]);
		}
	}
	mp_threads_free(t, nt);
	for (i = 0; i < n; i++) {
		free(ids[i]);
		free(refs[i]);
	}
	for (i = 0; i < nthr; i++)
		free(subj[i]);
	free(ids);
	free(subj);
	free(refs);
	free(in);
}
END_TEST

START_TEST(test_deep_chain)
{
	/* One In-Reply-To chain 50,000 deep, newest first: no recursion. */
	size_t n = 50000, i, nt;
	struct mp_thread_in *in = calloc(n, sizeof(*in));
	char (*ids)[24] = calloc(n, sizeof(*ids));
	struct mp_thread *t;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(ids);
	for (i = 0; i < n; i++)
		snprintf(ids[i], sizeof(ids[i]), "%zu@deep", i);
	for (i = 0; i < n; i++) {
		in[n - 1 - i].message_id = ids[i];
		in[n - 1 - i].in_reply_to = i > 0 ? ids[i - 1] : NULL;
		in[n - 1 - i].date = (int64_t)i;
	}
	t = build(in, n, &nt);
	ck_assert_uint_eq(nt, 1);
	ck_assert_str_eq(t[0].id, "0@deep");
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(t[0].msgs[i], n - 1 - i);
		ck_assert_uint_eq(t[0].depth[i], i);
	}
	mp_threads_free(t, nt);
	free(ids);
	free(in);
}
END_TEST

/* Shared data: a small independent mbox and header reader (From_ lines
 * after an empty line, unfolded headers, ids between angle brackets). */

struct hmsg {
	char *id, *irt, *subject;       /* owned */
	char **refs;                    /* owned */
	size_t nrefs;
	int64_t date;
	int is_reply;
};

struct hbox {
	struct hmsg *m;
	size_t n;
};

static char **
angle_ids(const char *v, size_t *n)
{
	const char *a, *b;
	char **out = NULL;

	*n = 0;
	while ((a = strchr(v, '<')) != NULL && (b = strchr(a, '>')) != NULL) {
		out = realloc(out, (*n + 1) * sizeof(char *));
		ck_assert_ptr_nonnull(out);
		out[(*n)++] = strndup(a + 1, (size_t)(b - a - 1));
		v = b + 1;
	}
	return out;
}

/* Re:, Fwd: and [list] tags off, as the caller of mp_thread_build does. */
static char *
base_subject(const char *s)
{
	const char *e;
	int again = 1;

	while (again) {
		again = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncasecmp(s, "re:", 3) == 0) {
			s += 3;
			again = 1;
		} else if (strncasecmp(s, "fwd:", 4) == 0) {
			s += 4;
			again = 1;
		} else if (*s == '[' && (e = strchr(s, ']')) != NULL) {
			s = e + 1;
			again = 1;
		}
	}
	return strdup(s);
}

static void
take_header(struct hmsg *m, const char *h)
{
	char **v;
	size_t n, i;

	if (strncasecmp(h, "Message-ID:", 11) == 0 && m->id == NULL) {
		v = angle_ids(h + 11, &n);
		if (n > 0) {
			m->id = v[0];
			for (i = 1; i < n; i++)
				free(v[i]);
		}
		free(v);
	} else if (strncasecmp(h, "In-Reply-To:", 12) == 0 &&
	    m->irt == NULL) {
		v = angle_ids(h + 12, &n);
		if (n > 0) {
			m->irt = v[n - 1];
			for (i = 0; i + 1 < n; i++)
				free(v[i]);
		}
		free(v);
	} else if (strncasecmp(h, "References:", 11) == 0 &&
	    m->refs == NULL) {
		m->refs = angle_ids(h + 11, &m->nrefs);
	} else if (strncasecmp(h, "Subject:", 8) == 0 && m->subject == NULL) {
		m->subject = base_subject(h + 8);
		m->is_reply = mp_mime_subject_is_reply(h + 8);
	}
}

static int64_t
from_date(const char *line)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	const char *p;
	int day, hh, mm, ss, year;

	/* "From addr  Www Mmm dd hh:mm:ss yyyy": ordering is all we need. */
	ck_assert_int_eq(sscanf(line, "From %*s %*s %3s %d %d:%d:%d %d", mon,
	    &day, &hh, &mm, &ss, &year), 6);
	p = strstr(months, mon);
	ck_assert_ptr_nonnull(p);
	return ((((int64_t)year * 12 + (p - months) / 3) * 31 + day) * 24 +
	    hh) * 3600 + mm * 60 + ss;
}

static void
read_hbox(const char *path, struct hbox *b)
{
	FILE *f = fopen(path, "r");
	struct mp_buf h = MP_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int blank = 1, inhdr = 0;

	ck_assert_ptr_nonnull(f);
	memset(b, 0, sizeof(*b));
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (blank && strncmp(line, "From ", 5) == 0) {
			b->m = realloc(b->m, (b->n + 1) * sizeof(*b->m));
			ck_assert_ptr_nonnull(b->m);
			memset(&b->m[b->n], 0, sizeof(b->m[0]));
			b->m[b->n++].date = from_date(line);
			inhdr = 1;
			blank = 0;
			continue;
		}
		blank = len == 0;
		if (!inhdr)
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			mp_buf_add(&h, line, (size_t)len);
			continue;
		}
		if (h.len > 0)
			take_header(&b->m[b->n - 1], mp_buf_str(&h));
		mp_buf_reset(&h);
		if (len == 0)
			inhdr = 0;
		else
			mp_buf_add(&h, line, (size_t)len);
	}
	free(line);
	mp_buf_free(&h);
	fclose(f);
}

static struct mp_thread_in *
hbox_input(const struct hbox *b, size_t n)
{
	struct mp_thread_in *in = calloc(n ? n : 1, sizeof(*in));
	size_t i;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < n; i++) {
		in[i].message_id = b->m[i].id;
		in[i].in_reply_to = b->m[i].irt;
		in[i].refs = (const char *const *)b->m[i].refs;
		in[i].nrefs = b->m[i].nrefs;
		in[i].subject_norm = b->m[i].subject;
		in[i].date = b->m[i].date;
		in[i].is_reply = b->m[i].is_reply;
	}
	return in;
}

static void
hbox_free(struct hbox *b)
{
	size_t i, k;

	for (i = 0; i < b->n; i++) {
		free(b->m[i].id);
		free(b->m[i].irt);
		free(b->m[i].subject);
		for (k = 0; k < b->m[i].nrefs; k++)
			free(b->m[i].refs[k]);
		free(b->m[i].refs);
	}
	free(b->m);
}

/* RFC 5256 THREAD notation of one thread, 1-based message numbers. */
static void
fmt_node(const struct mp_thread *t, size_t k, struct mp_buf *b)
{
	size_t c, kids[64], nk = 0, i;

	mp_buf_printf(b, "%zu", t->msgs[k] + 1);
	for (c = k + 1; c < t->n && t->depth[c] > t->depth[k]; c++)
		if (t->depth[c] == t->depth[k] + 1 && nk < 64)
			kids[nk++] = c;
	if (nk == 1) {
		mp_buf_addc(b, ' ');
		fmt_node(t, kids[0], b);
	} else if (nk > 1) {
		mp_buf_addc(b, ' ');
		for (i = 0; i < nk; i++) {
			mp_buf_addc(b, '(');
			fmt_node(t, kids[i], b);
			mp_buf_addc(b, ')');
		}
	}
}

static char *
fmt_thread(const struct mp_thread *t)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t k, top = 0;

	for (k = 0; k < t->n; k++)
		top += t->depth[k] == 0;
	mp_buf_addc(&b, '(');
	for (k = 0; k < t->n; k++) {
		if (t->depth[k] != 0)
			continue;
		if (top > 1)
			mp_buf_addc(&b, '(');
		fmt_node(t, k, &b);
		if (top > 1)
			mp_buf_addc(&b, ')');
	}
	mp_buf_addc(&b, ')');
	return mp_buf_detach(&b);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "(3 2)(1)" -> sorted top-level groups joined by '|'. */
static char *
canon(char **groups, size_t n)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t i;

	qsort(groups, n, sizeof(char *), str_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			mp_buf_addc(&b, '|');
		mp_buf_adds(&b, groups[i]);
	}
	return mp_buf_detach(&b);
}

static char *
canon_expected(const char *s)
{
	char *groups[64];
	size_t n = 0, i;
	const char *start = NULL;
	int depth = 0;
	char *out;

	for (; *s != '\0'; s++) {
		if (*s == '(' && depth++ == 0)
			start = s;
		if (*s == ')' && --depth == 0 && n < 64)
			groups[n++] = strndup(start, (size_t)(s - start + 1));
	}
	out = canon(groups, n);
	for (i = 0; i < n; i++)
		free(groups[i]);
	return out;
}

/* imaptest THREAD=REFERENCES vectors: the first THREAD answer, for the
 * messages appended before it. */
static void
run_imaptest(const char *name)
{
	char path[4200], line[512], *want = NULL, *got;
	char *groups[64];
	struct hbox box;
	struct mp_thread_in *in;
	struct mp_thread *t;
	size_t n, use = 0, i, nt;
	int all = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/testdata/threading/imaptest/%s",
	    tu_shared(), name);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "messages: all") == 0)
			all = 1;
		else if (strcmp(line, "ok append") == 0)
			use++;
		else if (strncasecmp(line, "* thread ", 9) == 0) {
			want = canon_expected(line + 9);
			break;
		}
	}
	fclose(f);
	ck_assert_ptr_nonnull(want);
	snprintf(path, sizeof(path), "%s/testdata/threading/imaptest/%s.mbox",
	    tu_shared(), name);
	read_hbox(path, &box);
	n = all || use > box.n ? box.n : use;
	ck_assert_uint_gt(n, 0);
	in = hbox_input(&box, n);
	t = build(in, n, &nt);
	ck_assert_uint_le(nt, 64);
	for (i = 0; i < nt; i++)
		groups[i] = fmt_thread(&t[i]);
	got = canon(groups, nt);
	ck_assert_msg(strcmp(got, want) == 0, "%s: got %s, want %s", name,
	    got, want);
	for (i = 0; i < nt; i++)
		free(groups[i]);
	free(got);
	free(want);
	mp_threads_free(t, nt);
	free(in);
	hbox_free(&box);
}

/* The notmuch threading corpora, parsed by mp_mime_parse: a folder's
 * files in name order (as a Maildir is read), threaded, and each
 * thread written as "id(depth) id(depth)..." with ids shortened to the
 * part before '@'. */
struct nm {
	struct mp_msg **m;
	struct mp_thread_in *in;
	size_t n;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
nm_load(struct nm *x, const char *dir)
{
	char path[4200], *names[64], *raw;
	size_t nn = 0, i, len;
	struct dirent *de;
	struct mp_err e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/testdata/threading/notmuch/%s",
	    tu_shared(), dir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL && nn < 64)
		if (de->d_name[0] != '.')
			names[nn++] = strdup(de->d_name);
	closedir(d);
	qsort(names, nn, sizeof(char *), name_cmp);
	x->m = calloc(nn, sizeof(*x->m));
	x->in = calloc(nn, sizeof(*x->in));
	x->n = nn;
	for (i = 0; i < nn; i++) {
		snprintf(path, sizeof(path),
		    "%s/testdata/threading/notmuch/%s/%s", tu_shared(), dir,
		    names[i]);
		ck_assert_int_eq(mp_read_file(path, 1 << 20, &raw, &len), 0);
		ck_assert_int_eq(mp_mime_parse(raw, len, 0, &x->m[i], &e), 0);
		free(raw);
		free(names[i]);
		x->in[i].message_id = x->m[i]->message_id;
		x->in[i].in_reply_to = x->m[i]->in_reply_to;
		x->in[i].refs = (const char *const *)x->m[i]->refs;
		x->in[i].nrefs = x->m[i]->nrefs;
		x->in[i].subject_norm = x->m[i]->subject_norm;
		x->in[i].date = x->m[i]->date;
		x->in[i].is_reply = mp_mime_subject_is_reply(
		    x->m[i]->subject);
	}
}

static char *
nm_tree(const struct nm *x, const struct mp_thread *t)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *id;
	size_t k;

	for (k = 0; k < t->n; k++) {
		id = x->m[t->msgs[k]]->message_id;
		mp_buf_printf(&b, "%s%.*s(%zu)", k ? " " : "",
		    (int)strcspn(id, "@"), id, t->depth[k]);
	}
	return mp_buf_detach(&b);
}

static void
nm_check(const char *dir, const char *const *want, size_t nwant)
{
	struct nm x;
	struct mp_thread *t;
	size_t nt, i;
	char *got;

	nm_load(&x, dir);
	t = build(x.in, x.n, &nt);
	ck_assert_uint_eq(nt, nwant);
	for (i = 0; i < nt; i++) {
		got = nm_tree(&x, &t[i]);
		ck_assert_msg(strcmp(got, want[i]) == 0, "%s: got %s, want %s",
		    dir, got, want[i]);
		free(got);
	}
	mp_threads_free(t, nt);
	for (i = 0; i < x.n; i++)
		mp_msg_free(x.m[i]);
	free(x.m);
	free(x.in);
}

START_TEST(test_shared_notmuch)
{
	/* threading/notmuch/EXPECTED.md */
	static const char *const ghost[] = {
		/* Resolved and FYI (AutoReply below) under the missing
		 * RT ticket: one thread with two top-level entries */
		"87bmc6lp3h.fsf(0) "
		"rt-4.2.8-22046-1529425595-591.33575-211-0(1) "
		"rt-4.2.8-6644-1530017064-1465.33575-215-0(0)",
		/* fake-root (dated earlier) before grand-child */
		"000-real-root(0) 001-child(1) 001-fake-message-root(2) "
		"001-grand-child(2) 001-great-grand-child(3) "
		"001-grand-child2(2)",
	};
	static const char *const prio[] = {
		"B00-root(0) B01-child(1) B01-grand-child(2)",
	};
	/* One thread, no endless loop. notmuch shows the two in date
	 * order; as in RFC 5256 (imaptest "thread") the link that would
	 * close the loop is the one not made, here 12's (read first). */
	static const char *const loop[] = {
		"mid-loop-21(0) mid-loop-12(1)",
	};

	if (tu_shared() == NULL)
		return;
	nm_check("corpora-threading/ghost-root", ghost, N(ghost));
	nm_check("corpora-threading/parent-priority/cur", prio, N(prio));
	nm_check("corpora-broken-loop", loop, N(loop));
}
END_TEST

START_TEST(test_shared_imaptest)
{
	const char *cases[] = { "thread", "thread2", "thread3", "thread4",
	    "thread5", "thread6", "thread7", "thread8" };
	size_t i;

	if (tu_shared() == NULL)
		return;
	for (i = 0; i < N(cases); i++)
		run_imaptest(cases[i]);
}
END_TEST

/* The label Dovecot gave id in thread-references.json, or NULL. */
static const char *
dovecot_label(const char *json, const char *id, char *out, size_t size)
{
	const char *p = json, *k, *v, *e;
	size_t n = strlen(id);

	while ((k = strchr(p, '"')) != NULL) {
		e = strchr(k + 1, '"');
		if (e == NULL || (v = strchr(e + 1, '"')) == NULL)
			return NULL;
		p = strchr(v + 1, '"');
		if (p == NULL)
			return NULL;
		if ((size_t)(e - k - 1) == n && memcmp(k + 1, id, n) == 0) {
			snprintf(out, size, "%.*s", (int)(p - v - 1), v + 1);
			return out;
		}
		p++;
	}
	return NULL;
}

START_TEST(test_shared_fedora_dovecot)
{
	char path[4200], *json, (*label)[16];
	size_t len, i, j, nt, *thr;
	struct hbox box;
	struct mp_thread_in *in;
	struct mp_thread *t;

	if (tu_shared() == NULL)
		return;
	snprintf(path, sizeof(path), "%s/testdata/threads/fedora-devel-2010-01"
	    "/2010-January.txt", tu_shared());
	read_hbox(path, &box);
	ck_assert_uint_eq(box.n, 292);
	snprintf(path, sizeof(path), "%s/testdata/threading/fedora-dovecot/"
	    "thread-references.json", tu_shared());
	ck_assert_int_eq(mp_read_file(path, 1 << 20, &json, &len), 0);
	in = hbox_input(&box, box.n);
	t = build(in, box.n, &nt);
	/* The same 60 threads as Dovecot's THREAD=REFERENCES. */
	ck_assert_uint_eq(nt, 60);
	thr = calloc(box.n, sizeof(*thr));
	label = calloc(box.n, sizeof(*label));
	ck_assert_ptr_nonnull(thr);
	ck_assert_ptr_nonnull(label);
	for (i = 0; i < nt; i++)
		for (j = 0; j < t[i].n; j++)
			thr[t[i].msgs[j]] = i;
	for (i = 0; i < box.n; i++) {
		ck_assert_ptr_nonnull(box.m[i].id);
		ck_assert_ptr_nonnull(dovecot_label(json, box.m[i].id,
		    label[i], sizeof(label[i])));
	}
	for (i = 0; i < box.n; i++)
		for (j = i + 1; j < box.n; j++)
			ck_assert_msg((thr[i] == thr[j]) ==
			    (strcmp(label[i], label[j]) == 0),
			    "%s and %s", box.m[i].id, box.m[j].id);
	mp_threads_free(t, nt);
	free(thr);
	free(label);
	free(in);
	free(json);
	hbox_free(&box);
}
END_TEST

static Suite *
thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_missing_middle);
	tcase_add_test(tc, test_in_reply_to);
	tcase_add_test(tc, test_subject_fallback);
	tcase_add_test(tc, test_subject_window);
	tcase_add_test(tc, test_stable_ids);
	tcase_add_test(tc, test_subject_moves_subtree);
	tcase_add_test(tc, test_roots_reported);
	tcase_add_test(tc, test_subject_empty_root_absorbs);
	tcase_add_test(tc, test_subject_two_empty_roots);
	tcase_add_test(tc, test_different_subjects);
	tcase_add_test(tc, test_loops);
	tcase_add_test(tc, test_loops_exact);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_tree_order);
	tcase_add_test(tc, test_reparent_guess);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_deep_chain);
	tcase_add_test(tc, test_shared_imaptest);
	tcase_add_test(tc, test_shared_notmuch);
	tcase_add_test(tc, test_shared_fedora_dovecot);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(thread_suite());
}
