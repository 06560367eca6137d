/*
 * thread.h - group messages into discussion threads (JWZ algorithm:
 * References and In-Reply-To, then subject fallback).
 *
 * Input is borrowed for the duration of mp_thread_build(). Thread ids are
 * stable across runs: a thread keeps the id its messages had before (see
 * mp_thread_in.thread); a new thread is named after its root's Message-ID
 * (or the earliest message's when the root is missing).
 */
#ifndef MP_THREAD_H
#define MP_THREAD_H

#include <stddef.h>
#include <stdint.h>

struct mp_thread_in {
	const char *message_id;
	const char *in_reply_to;      /* or NULL */
	const char *const *refs;      /* oldest first */
	size_t nrefs;
	const char *subject_norm;     /* or NULL */
	int64_t date;
	int is_reply;                 /* the subject says reply (Re:, AW:...):
	                                 only such roots join by subject */
	const char *thread;           /* id an earlier run gave, or NULL */
};

/* Subject fallback never joins threads further apart than this (the gap
 * between the two threads' date ranges), in seconds. */
#define MP_THREAD_SUBJECT_WINDOW ((int64_t)30 * 86400)

struct mp_thread {
	char *id;                     /* owned */
	size_t *msgs;                 /* owned: input indices, tree order */
	size_t *depth;                /* owned: depth of each in the tree */
	size_t n;
	int64_t last;                 /* latest date in the thread */
};

/* Threads sorted by last activity, newest first, then by id, then by
 * first message index: the same input always gives the same output.
 *
 * Parents come from References (oldest first; the last one is the
 * parent), or from In-Reply-To when there are no References; a link that
 * would close a loop is not made. A second message with an already seen
 * Message-ID gets a container of its own. Empty containers (referenced,
 * never seen) are pruned; one stays as a missing root when it holds
 * several messages.
 *
 * Subject fallback: a root that is a reply (is_reply, or a missing root
 * whose messages reference something never seen) joins the thread of a
 * non-reply root with the same non-empty subject_norm whose date range is
 * at most window seconds away from its own: the latest such root that
 * started no later than it, else the earliest that started after it.
 * Reply roots with no such thread group among themselves under the
 * earliest one (within window of the group). A missing root merges its
 * children into the thread it joins; a message root becomes a child of
 * that thread's root. Non-reply roots never join another thread.
 *
 * Thread ids: the threads are named in order of their earliest message
 * (date, then index); each takes the earlier recorded id (in.thread) of
 * its earliest message that has one not yet taken, so that a thread
 * keeps its id as messages arrive and two threads merged by a late
 * message keep the older one's id. A thread without a usable recorded id
 * is named after its root's Message-ID (the earliest message's when the
 * root is missing), with "#2", "#3"... appended if that id is taken.
 *
 * msgs lists every input message of the thread exactly once, depth first,
 * siblings by date then input index. depth[k] is 0 for the root message,
 * or for each top-level message when the root is missing.
 * Returns 0 (allocation failure aborts); *out is owned by the caller and
 * freed with mp_threads_free(*out, *nthreads); NULL when n == 0. */
int mp_thread_build(const struct mp_thread_in *in, size_t n,
    struct mp_thread **out, size_t *nthreads);
/* The same with another subject window in seconds (negative: no subject
 * fallback at all); mp_thread_build uses MP_THREAD_SUBJECT_WINDOW. */
int mp_thread_build_window(const struct mp_thread_in *in, size_t n,
    int64_t window, struct mp_thread **out, size_t *nthreads);

/* A root of the References trees, before the subject fallback: what that
 * fallback groups (a thread is one such tree, or several joined). */
struct mp_thread_root {
	size_t msg;                   /* input index of the message standing
	                                 for it (its own, or a missing root's
	                                 earliest child) */
	const char *subject;          /* that message's subject_norm:
	                                 borrowed, never empty */
	int64_t first, last;          /* the tree's date range */
	int reply;                    /* joins by subject (a reply root) */
	int mark;                     /* the highest mark[] of the tree */
};

/* mp_thread_build_window, and (roots not NULL) the roots with a
 * subject, sorted by subject (strcmp), then first date: *roots is freed
 * by the caller. mark (NULL: all 0) gives a number to each input. With
 * out NULL, the roots alone (nthreads is not touched): no threads are
 * made, which is most of the work. */
int mp_thread_build_roots(const struct mp_thread_in *in, size_t n,
    int64_t window, const int *mark, struct mp_thread **out,
    size_t *nthreads, struct mp_thread_root **roots, size_t *nroots);
void mp_threads_free(struct mp_thread *t, size_t n);

#endif
