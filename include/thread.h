/*
 * thread.h - group messages into discussion threads (JWZ algorithm:
 * References and In-Reply-To, then subject fallback).
 *
 * Input is borrowed for the duration of mp_thread_build(); the thread id
 * returned is a copy of the root's Message-ID (or of the earliest
 * message's when the root is missing).
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
};

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
 * several messages. Roots whose subject_norm is equal (and non-empty)
 * are merged: a missing root takes the others in, else the earliest
 * root (date, then input index) becomes the parent of the later ones.
 *
 * msgs lists every input message of the thread exactly once, depth first,
 * siblings by date then input index. depth[k] is 0 for the root message,
 * or for each top-level message when the root is missing.
 * Returns 0 (allocation failure aborts); *out is owned by the caller and
 * freed with mp_threads_free(*out, *nthreads); NULL when n == 0. */
int mp_thread_build(const struct mp_thread_in *in, size_t n,
    struct mp_thread **out, size_t *nthreads);
void mp_threads_free(struct mp_thread *t, size_t n);

#endif
