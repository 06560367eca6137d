/*
 * store.h - the embedded SQLite store: messages, threads, action items,
 * source sync state, digest state and the delivery ledger.
 *
 * The schema is created and migrated by version number (PRAGMA
 * user_version) when the store is opened. Writes are grouped by the
 * caller in mp_store_begin()/mp_store_commit() batches (an fsync costs
 * about a millisecond: never commit per message). All SQL is prepared.
 * No SQLite type appears here.
 */
#ifndef MP_STORE_H
#define MP_STORE_H

#include <stddef.h>
#include <stdint.h>

struct mp_buf;
struct mp_err;
struct mp_msg;
struct mp_store;
struct mp_lock;

#define MP_STORE_VERSION 6

/* The run lock: a file "PATH.lock" beside the store, held with flock(2)
 * for the life of the process. Returns 0 when acquired, 1 when another
 * process holds it (nothing to do), -1 on error. Each call opens the file
 * anew, so a second call in the same process also returns 1. The holder's
 * pid is written into the file for humans. */
int mp_lock_acquire(const char *store_path, struct mp_lock **out,
    struct mp_err *e);
/* Unlocks and frees; the file stays. Accepts NULL. */
void mp_lock_release(struct mp_lock *l);

/* Open (creating the file and its directory when missing, mode 0700) and
 * migrate. Errors: MP_EX_CANTCREAT when the file or directory cannot be
 * made, MP_EX_DATAERR for a store written by a newer magpie (left
 * untouched), MP_EX_IOERR for any SQLite failure. *out is NULL on error. */
int mp_store_open(const char *path, struct mp_store **out, struct mp_err *e);
/* Rolls back an open transaction; accepts NULL. */
void mp_store_close(struct mp_store *st);
/* PRAGMA user_version, -1 on error. */
int mp_store_version(struct mp_store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. A second begin before commit or
 * rollback is an error (MP_EX_SOFTWARE), as is commit without begin. A
 * commit that fails rolls the batch back. Rollback without a transaction
 * does nothing. */
int mp_store_begin(struct mp_store *st, struct mp_err *e);
int mp_store_commit(struct mp_store *st, struct mp_err *e);
void mp_store_rollback(struct mp_store *st);

/* Bulk writes (on: 1), outside a transaction: an import of a whole
 * archive writes most of the store anew. In WAL mode every page goes
 * into the WAL and is copied from there into the store, and the WAL
 * grows to the store's size (removing it took 0.14 s at the end of a
 * 100,000-message import). With a rollback journal only the pages that
 * existed before a transaction are copied, into the journal; readers
 * wait while a transaction writes. Returns 1 when the store switched, 0
 * when another connection has the store open (it stays in WAL mode),
 * -1 on error. Off (0) returns to WAL mode; opening the store does too,
 * after a crash. */
int mp_store_bulk(struct mp_store *st, int on, struct mp_err *e);

/* ---- messages ---- */

/* A message as stored. Strings are owned by the store's iterator and
 * valid during the callback only. */
struct mp_stored_msg {
	int64_t seq;            /* ingest order, strictly increasing */
	const char *message_id;
	const char *in_reply_to;        /* or NULL */
	const char *refs;               /* space separated, oldest first, or "" */
	const char *from_name;
	const char *from_addr;
	const char *subject;
	const char *subject_norm;
	int64_t date;
	long date_off;
	const char *list_id;            /* or NULL */
	const char *own;                /* author's own text (the whole body
	                                   is not kept: the archive has it) */
	const char *thread;             /* thread id, or NULL before threading */
	const char *source;             /* list id of the config, or origin */
	int64_t added;                  /* when it was stored */
};

typedef int (*mp_store_msg_cb)(const struct mp_stored_msg *m, void *ctx);

/* Store a message unless its Message-ID is already there (*added = 0),
 * in thread (may be NULL: not threaded yet). m is only read. NULL strings
 * where the stored form promises a string are stored as ""; a missing
 * message_id is MP_EX_DATAERR. */
int mp_store_add_msg(struct mp_store *st, const struct mp_msg *m,
    const char *thread, const char *source, int64_t now, int *added,
    struct mp_err *e);
/* The same, telling the new message's seq (0: not stored, known). */
int mp_store_add_new_msg(struct mp_store *st, const struct mp_msg *m,
    const char *thread, const char *source, int64_t now, int64_t *seq,
    struct mp_err *e);
/* What mp_store_add_msg() reads of m (its headers, the author's text,
 * the counts and dates), in one allocation freed with free(); m itself is
 * freed. The body, quoted text, signature, recipients and attachment list
 * are not stored and are dropped. Parsed messages waiting to be stored
 * take half the room this way, and go with one free(). */
struct mp_msg *mp_store_msg_pack(struct mp_msg *m);
/* Messages with seq > after_seq, in seq order. A callback's -1 stops:
 * the function then returns -1 and e keeps what the callback put there
 * (if it shares e), else says MP_EX_SOFTWARE "iteration stopped by the
 * caller". e is cleared first. The callback may use the other store
 * functions, but not start the same iteration again (MP_EX_SOFTWARE). */
int mp_store_each_msg(struct mp_store *st, int64_t after_seq,
    mp_store_msg_cb cb, void *ctx, struct mp_err *e);
/* 1 when stored, 0 when not, -1 on a database error. */
int mp_store_has_msg(struct mp_store *st, const char *message_id);
/* 0 for an empty store; -1 on error. */
int64_t mp_store_max_seq(struct mp_store *st);
int64_t mp_store_count_msgs(struct mp_store *st);
int64_t mp_store_count_unthreaded(struct mp_store *st);   /* thread NULL */
/* thread may be NULL; an unknown message_id is MP_EX_DATAERR. */
int mp_store_set_thread(struct mp_store *st, const char *message_id,
    const char *thread, struct mp_err *e);
/* The same by seq (an unknown seq is MP_EX_DATAERR). */
int mp_store_set_thread_seq(struct mp_store *st, int64_t seq,
    const char *thread, struct mp_err *e);

/* ---- threading ---- */

/* A message as threading needs it (no text); strings valid during the
 * callback only. */
struct mp_thread_row {
	int64_t seq;
	const char *message_id;
	const char *in_reply_to;        /* or NULL */
	const char *refs;               /* space separated, oldest first, or "" */
	const char *subject;
	const char *subject_norm;
	int64_t date;
	const char *thread;             /* or NULL */
	const char *from_name;
	const char *from_addr;
};

/* The row that mp_store_add_msg(m, thread NULL) stores, as
 * mp_store_each_trow() would read it back (seq 0): what threading sees
 * of a message not stored yet. Strings point into m and refs (which
 * holds the joined References; the caller frees it). */
void mp_store_thread_row_of(const struct mp_msg *m, struct mp_buf *refs,
    struct mp_thread_row *r);

typedef int (*mp_store_trow_cb)(const struct mp_thread_row *r, void *ctx);
typedef int (*mp_store_name_cb)(const char *name, void *ctx);

/* The messages of thread, or every message when thread is NULL, in seq
 * order. Stopping works as in mp_store_each_msg. */
int mp_store_each_trow(struct mp_store *st, const char *thread,
    mp_store_trow_cb cb, void *ctx, struct mp_err *e);
/* The first limit messages without a thread (thread NULL), in seq
 * order. */
int mp_store_each_unthreaded(struct mp_store *st, int64_t limit,
    mp_store_trow_cb cb, void *ctx, struct mp_err *e);
/* Every thread that mentions id: the thread of the message with that
 * Message-ID (unless refs_only), and each thread with a reference to id
 * recorded by mp_store_thread_ref_add(). A thread may come twice. */
int mp_store_threads_of_id(struct mp_store *st, const char *id,
    int refs_only, mp_store_name_cb cb, void *ctx, struct mp_err *e);
/* Every thread with a message of that normalised subject dated in
 * [from, to]. Each thread once. */
int mp_store_threads_of_subject(struct mp_store *st, const char *subject_norm,
    int64_t from, int64_t to, mp_store_name_cb cb, void *ctx,
    struct mp_err *e);
/* 1 when some message is in thread, 0 when none, -1 on error. */
int mp_store_thread_used(struct mp_store *st, const char *thread);
/* The references recorded for a thread (NULL: for every thread): ids
 * its messages reference that are not its own messages' ids. */
int mp_store_thread_refs_clear(struct mp_store *st, const char *thread,
    struct mp_err *e);
int mp_store_thread_ref_add(struct mp_store *st, const char *thread,
    const char *id, struct mp_err *e);
/* The reply roots recorded for a thread (NULL: for every thread): the
 * roots of its References trees that join by subject (mp_thread_root),
 * each with its subject and date range. */
int mp_store_reply_roots_clear(struct mp_store *st, const char *thread,
    struct mp_err *e);
int mp_store_reply_root_add(struct mp_store *st, const char *thread,
    const char *subject_norm, int64_t first, int64_t last,
    struct mp_err *e);
/* Every thread with a reply root of that subject whose date range meets
 * [from, to]. Each thread once. */
int mp_store_reply_roots_near(struct mp_store *st, const char *subject_norm,
    int64_t from, int64_t to, mp_store_name_cb cb, void *ctx,
    struct mp_err *e);

/* Named integers kept in the store ("rethread": the threads must be
 * rebuilt in full once, set by the upgrade to version 3); 0 when
 * unknown, -1 on error. */
int64_t mp_store_flag_get(struct mp_store *st, const char *name);
int mp_store_flag_set(struct mp_store *st, const char *name, int64_t value,
    struct mp_err *e);

/* ---- action items ---- */

struct mp_stored_action {
	int64_t seq;                    /* of the message */
	const char *message_id;
	const char *thread;             /* or NULL */
	const char *kind;               /* "deadline", "request", "event" */
	const char *assignee;           /* or NULL */
	const char *due;                /* "", "2021-06-17", "2021-06-17T23:59:00Z" */
	const char *text;
	const char *subject;            /* of the message */
	const char *from_name;
	int64_t date;                   /* of the message */
};

typedef int (*mp_store_action_cb)(const struct mp_stored_action *a,
    void *ctx);

/* The same (message_id, kind, text) twice is stored once. The message must
 * be stored already (else MP_EX_DATAERR); kind is required; NULL due is
 * stored as "", NULL text as "". */
int mp_store_add_action(struct mp_store *st, const char *message_id,
    const char *kind, const char *assignee, const char *due,
    const char *text, struct mp_err *e);
/* Items of messages with seq > after_seq, by message seq then insertion;
 * joined with their message. Stopping works as in mp_store_each_msg. */
int mp_store_each_action(struct mp_store *st, int64_t after_seq,
    mp_store_action_cb cb, void *ctx, struct mp_err *e);

/* ---- source sync state (IMAP) ---- */

/* The getters here and below return 0 (also when unknown) or -1 on an
 * SQLite error. */
int mp_store_source_get(struct mp_store *st, const char *source,
    uint32_t *uidvalidity, uint32_t *last_uid);   /* 0s when unknown */
int mp_store_source_set(struct mp_store *st, const char *source,
    uint32_t uidvalidity, uint32_t last_uid, struct mp_err *e);

/* ---- digests ---- */

/* Per member (by address, compared ASCII case-insensitively): the last
 * message seq covered and the slot (instant of the scheduled digest time)
 * of the last digest. 0s when none. */
int mp_store_digest_get(struct mp_store *st, const char *member,
    int64_t *last_seq, int64_t *last_slot);
int mp_store_digest_set(struct mp_store *st, const char *member,
    int64_t last_seq, int64_t last_slot, struct mp_err *e);

/* ---- the ledger: one row per email ---- */

/* rcpt is stored lower-cased (ASCII), so keys match whatever the case of
 * the configured address; NULL kind/item are "". */
struct mp_ledger_key {
	const char *kind;               /* "digest", "reminder", ... */
	const char *item;               /* INI section name, "" for digests */
	int64_t offset;                 /* seconds before due; digest: 0 */
	const char *rcpt;               /* recipient address */
	int64_t due;                    /* item due time; digest: its slot */
};

enum mp_ledger_state {
	MP_LEDGER_NONE = 0,
	MP_LEDGER_PENDING,
	MP_LEDGER_SENT,
	MP_LEDGER_FAILED
};

int mp_store_ledger_get(struct mp_store *st, const struct mp_ledger_key *k,
    enum mp_ledger_state *state, int *attempts);
/* Record as pending (attempts + 1) before submission; the first call's
 * time is kept as the first try. A key already sent is never made pending
 * or failed again: that is an error (MP_EX_SOFTWARE, "already sent").
 * sent and failed also work without a pending row (attempts 1). */
int mp_store_ledger_pending(struct mp_store *st, const struct mp_ledger_key *k,
    const char *message_id, int64_t now, struct mp_err *e);
int mp_store_ledger_sent(struct mp_store *st, const struct mp_ledger_key *k,
    const char *reply, int64_t now, struct mp_err *e);
int mp_store_ledger_failed(struct mp_store *st, const struct mp_ledger_key *k,
    const char *reply, int64_t now, struct mp_err *e);
/* Every recipient (lower-cased address) that was sent a reminder or a
 * change notice for item when it was due at due; in address order. */
typedef int (*mp_store_rcpt_cb)(const char *rcpt, void *ctx);
int mp_store_ledger_reminded(struct mp_store *st, const char *item,
    int64_t due, mp_store_rcpt_cb cb, void *ctx, struct mp_err *e);

/* Number of rows in a state (for summaries and tests). */
int64_t mp_store_ledger_count(struct mp_store *st, enum mp_ledger_state s);

/* ---- messages a source skipped (over the size cap) ---- */

int mp_store_skip_add(struct mp_store *st, const char *source, uint32_t uid,
    int64_t size, const char *reason, int64_t now, struct mp_err *e);
int64_t mp_store_skip_count(struct mp_store *st, const char *source);

/* ---- the last known time of each deadline/event ---- */

struct mp_item_state {
	const char *item;       /* INI section name; borrowed */
	int64_t due;            /* due / starts */
	int64_t ends;           /* events, or 0 */
	int sequence;           /* iCalendar SEQUENCE: grows with each change */
	const char *title;      /* for a notice once the item is gone; borrowed,
	                           NULL from mp_store_item_get */
	int64_t updated;        /* when this state was saved (read only) */
};

typedef int (*mp_store_item_cb)(const struct mp_item_state *is, void *ctx);

/* 0 and *out when known (out->item is NULL), 1 when unknown, -1 on error. */
int mp_store_item_get(struct mp_store *st, const char *item,
    struct mp_item_state *out);
int mp_store_item_set(struct mp_store *st, const struct mp_item_state *is,
    int64_t now, struct mp_err *e);
int mp_store_item_delete(struct mp_store *st, const char *item,
    struct mp_err *e);
/* Every known item, by name; strings valid during the callback. */
int mp_store_item_each(struct mp_store *st, mp_store_item_cb cb, void *ctx,
    struct mp_err *e);

#endif
