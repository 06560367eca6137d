/*
 * buf.h - growable byte buffer (always NUL terminated after data[len]).
 * The buffer owns data until mp_buf_detach() hands it to the caller.
 * Allocation failure aborts: magpie has no useful way to go on without
 * memory, and checking every append hides the logic.
 */
#ifndef MP_BUF_H
#define MP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mp_buf {
	char *data;        /* owned; NULL while empty and never grown */
	size_t len;
	size_t cap;
};

#define MP_BUF_INIT { NULL, 0, 0 }

void mp_buf_add(struct mp_buf *b, const void *p, size_t n);
void mp_buf_adds(struct mp_buf *b, const char *s);
void mp_buf_addc(struct mp_buf *b, char c);
void mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mp_buf_reset(struct mp_buf *b);          /* len = 0, keeps memory */
/* Room for n more bytes in one allocation, for a writer that knows (or
 * bounds) what it will add: no doubling on the way. */
void mp_buf_reserve(struct mp_buf *b, size_t n);
/* Returns the string (never NULL, "" when empty); the caller frees it. */
char *mp_buf_detach(struct mp_buf *b);
/* data as a string, "" when empty; valid until the next change. */
const char *mp_buf_str(const struct mp_buf *b);
void mp_buf_free(struct mp_buf *b);

/* Small helpers every module needs. All abort on allocation failure. */
void *mp_xmalloc(size_t n);
void *mp_xcalloc(size_t n, size_t size);
void *mp_xrealloc(void *p, size_t n);
char *mp_xstrdup(const char *s);                 /* NULL -> NULL */
char *mp_xstrndup(const char *s, size_t n);

/* A hash of n bytes for in-memory tables, eight bytes at a time (ids
 * are long and hashed often). Not fixed across versions: never store
 * it. */
uint64_t mp_hash(const void *p, size_t n);

/* Read a whole file (at most max bytes, else -1 with errno = EFBIG).
 * *out is NUL terminated and owned by the caller. */
int mp_read_file(const char *path, size_t max, char **out, size_t *len);
/* The same, telling the file's modification time (mtime may be NULL). */
int mp_read_file_time(const char *path, size_t max, char **out, size_t *len,
    int64_t *mtime);

/* Append s as a JSON string literal (with quotes); NULL appends null. */
void mp_buf_json_str(struct mp_buf *b, const char *s);

#endif
