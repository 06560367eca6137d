/*
 * imap.h - sync one IMAP folder into the store, the way mbsync does:
 * read-only (EXAMINE, BODY.PEEK[]), only what is new since the last run
 * (UIDVALIDITY and the highest UID seen, kept in the store's source
 * state), in batches that each commit the messages and the high-water
 * mark together, so a dropped connection loses nothing and the next run
 * resumes. TLS is required (implicit for imaps://, STARTTLS for imap://)
 * and the server is verified (tls.h) before the password is sent; plain
 * IMAP only with tls = none to a loopback address.
 */
#ifndef MP_IMAP_H
#define MP_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

struct mp_err;
struct mp_list_cfg;
struct mp_store;

/* A parsed source URL imaps://[USER@]HOST[:PORT]/[FOLDER] or imap://...
 * USER and FOLDER are percent-decoded; FOLDER defaults to INBOX, PORT to
 * 993 (imaps) or 143 (imap). HOST may be an IPv6 literal in brackets
 * (stored without them). */
struct mp_imap_url {
	int implicit_tls;       /* imaps:// */
	char user[256];         /* "" when absent */
	char host[256];
	int port;
	char folder[512];
};

/* Returns 0, or -1 with e (MP_EX_CONFIG) for a malformed URL. */
int mp_imap_url_parse(const char *url, struct mp_imap_url *u,
    struct mp_err *e);

/* What one sync did. */
struct mp_imap_stats {
	long total;             /* new messages the server listed */
	long fetched;           /* handed to the callback */
	long skipped;           /* over max_size: recorded, not fetched */
	uint32_t uidvalidity;
	uint32_t last_uid;      /* high-water mark after the sync */
	int resynced;           /* UIDVALIDITY had changed */
};

/* Sync the folder of list l into st. Each fetched message is handed to cb
 * (raw bytes valid during the call, origin "LIST:UID", delivered = the
 * server's INTERNALDATE) inside a store transaction that this function
 * opens and commits per batch, together with the folder's source state
 * (key: "LIST SOURCE-URL") and the skipped rows (mp_store_skip_add). The
 * callback must not begin or commit; after the last message of a batch
 * it is called once more with raw NULL (len 0, origin NULL), before the
 * commit, to store what it kept back. Its -1 stops the sync, which then
 * returns -1 with e as the callback left it (share e through ctx).
 * stats may be NULL. Progress goes to stderr when it is a terminal and
 * the log is not quiet.
 *
 * Errors (e->code): MP_EX_TEMPFAIL for a server that cannot be reached, a
 * timeout (l->timeout seconds on connect and on every read) or a
 * connection lost (batches committed before stay); MP_EX_UNAVAILABLE for
 * a server that cannot be trusted (certificate, no STARTTLS) or fails a
 * command; MP_EX_CONFIG for a refused login, a missing folder or a bad
 * password file. No message names the password. */
int mp_imap_sync(const struct mp_list_cfg *l, struct mp_store *st,
    int64_t now, mp_source_cb cb, void *ctx, struct mp_imap_stats *stats,
    struct mp_err *e);

#endif
