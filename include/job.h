/*
 * job.h - the steps of a run, shared by `run` and the single commands
 * (ingest.c brings mail in, job.c sends):
 * fetch/import (source -> mime -> store -> extract), thread, remind and
 * digests (schedule -> render -> compose -> ledger -> deliver).
 *
 * A job borrows the config and the store; it owns the transport it opens
 * lazily (one connection for the whole run) and closes it in
 * mp_job_finish().
 */
#ifndef MP_JOB_H
#define MP_JOB_H

#include <stddef.h>
#include <stdint.h>

struct mp_config;
struct mp_store;
struct mp_transport;
struct mp_err;

struct mp_job {
	const struct mp_config *cfg;    /* borrowed */
	struct mp_store *st;            /* borrowed */
	int64_t now;
	int dry_run;                    /* print what would be sent */
	struct mp_transport *tr;        /* owned, opened on first send */
	/* counters for the run summary */
	long stored, duplicates, filtered, broken, actions;
	long rethreaded;                /* stored messages moved to another
	                                   thread (by new ones, or by
	                                   mp_job_thread) */
	long rebuilds;                  /* times every thread was made anew
	                                   (mp_job_thread) */
	long thread_loaded;             /* stored messages read to thread new
	                                   ones (cost of incremental threading) */
	long thread_warm;               /* of those, taken from the last
	                                   batch's threads, not the store */
	long sent, skipped, temp_failed, perm_failed;
};

void mp_job_init(struct mp_job *j, const struct mp_config *c,
    struct mp_store *st, int64_t now, int dry_run);
void mp_job_finish(struct mp_job *j);

/* Read PATH (mbox, .gz mbox, Maildir, file) into the store. list_id, when
 * not NULL, keeps only that list's messages. source names the origin.
 * New messages are then threaded against only the stored threads they
 * can join (the cost does not grow with the store), or, when they are
 * many against the store, by rebuilding every thread. */
int mp_job_import(struct mp_job *j, const char *path, const char *list_id,
    const char *source, struct mp_err *e);

/* Every configured [list] source, then threading as mp_job_import. A
 * failing source does not stop the others; the first error is returned
 * after all were tried. */
int mp_job_fetch(struct mp_job *j, struct mp_err *e);

/* Recompute every thread over the store and record each message's
 * thread (import and fetch thread incrementally; this is the full
 * rebuild, run once after an upgrade from a store without thread
 * references). */
int mp_job_thread(struct mp_job *j, struct mp_err *e);

/* Deadlines and events whose time changed in the configuration since
 * the last run: everyone who was reminded of the old time gets one
 * "changed" notice (old and new time, SEQUENCE + 1); removed ones get one
 * "cancelled" notice. Then the new state is saved (not under dry run).
 * Run before mp_job_remind(), which plans for the new times. */
int mp_job_changes(struct mp_job *j, struct mp_err *e);

/* Send the reminders that are due now. */
int mp_job_remind(struct mp_job *j, struct mp_err *e);

/* Send the digests that are due now (at each member's digest time). */
int mp_job_digests(struct mp_job *j, struct mp_err *e);

/* Build the digest of one member (only != NULL) or all now. print: write
 * the emails to stdout instead of sending; nothing is recorded. */
int mp_job_digest_now(struct mp_job *j, const char *only, int print,
    struct mp_err *e);

/* A thread as the `threads` command shows it; valid during the callback. */
struct mp_thread_view {
	const char *id;
	const char *subject;            /* of the first message */
	const char *const *msgids;      /* tree order */
	size_t n;
	const char *const *participants;  /* names (or addresses), first seen order */
	size_t nparticipants;
	int64_t last;                   /* latest Date in the thread */
};

/* Threads over the whole store, most recent activity first, those with
 * last >= since only. A callback's -1 stops. */
int mp_job_each_thread(struct mp_job *j, int64_t since,
    int (*cb)(const struct mp_thread_view *t, void *ctx), void *ctx,
    struct mp_err *e);

#endif
