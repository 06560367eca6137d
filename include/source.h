/*
 * source.h - where messages come from: mbox (also .gz), Maildir, single
 * files. (IMAP sync lives in imap.h.) Each message is handed to a callback
 * as raw bytes valid during the call only; the source streams and never
 * holds the whole archive in memory.
 */
#ifndef MP_SOURCE_H
#define MP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct mp_err;

/* raw/len: one message (mbox "From " line removed, ">From " unquoted),
 * with a NUL at raw[len] (the message itself may contain NULs).
 * delivered: the archive's delivery time (mbox From_ line date, Maildir
 * file mtime, or file mtime), used when Date is missing or broken.
 * origin: "path" or "path:N", for warnings. Return 0 to go on, -1 to stop. */
typedef int (*mp_source_cb)(const char *raw, size_t len, int64_t delivered,
    const char *origin, void *ctx);

/* Read PATH, which may be an mbox (optionally gzip-compressed), a
 * Maildir (a directory with cur/ and new/), or a single message file.
 * Returns 0, or -1 with e set (MP_EX_NOINPUT for a missing path; a
 * callback's -1 stops reading and is returned as -1 too: e is then left
 * as the callback filled it through its ctx, else MP_EX_SOFTWARE).
 *
 * mbox: a message starts at a line "From " that begins the file or
 * follows an empty line; the empty line before it is not part of the
 * previous message. Lines before the first From_ line form one message
 * (delivered 0). mboxrd unquoting removes one '>' from ">From ",
 * ">>From ", ... When the From_ line obfuscates the sender as pipermail
 * does ("From user at host  DATE"), a header line "From: user at host
 * (Name)" is handed over as "From: Name <user@host>" (and "From: user at
 * host" as "From: user@host"). Maildir: cur/ and new/, sorted by file
 * name, dot files skipped. A message over 64 MB is skipped with a
 * warning (a single file over 64 MB is an MP_EX_DATAERR error). */
int mp_source_read(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e);

int mp_source_read_mbox(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e);
int mp_source_read_maildir(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e);
int mp_source_read_file(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e);

#endif
