/*
 * mime.h - one RFC 5322/MIME message turned into magpie's message model.
 *
 * Parsing uses libetpan (mailimf, mailmime, charconv), behind a fast path
 * of magpie's own for the plain messages that are most mail; nothing of
 * either shows here, and both give the same result. Every string in
 * struct mp_msg is owned by it, UTF-8, and valid until mp_msg_free().
 *
 * Threads: every function here may run in several threads at once. The
 * module has no mutable static state and calls nothing that reads or
 * sets process state (no setenv/TZ, strtok, locale); the libetpan calls
 * it keeps are reentrant (charconv opens an iconv descriptor per call,
 * mmap_string_ref is under libetpan's own lock).
 */
#ifndef MP_MIME_H
#define MP_MIME_H

#include <stddef.h>
#include <stdint.h>

struct mp_err;

struct mp_addr {
	char *name;             /* decoded display name, "" when none */
	char *addr;             /* "user@example.org", "" when none */
};

struct mp_msg {
	char *message_id;       /* without <>; synthesised from a hash of the
	                           header block when missing */
	char *in_reply_to;      /* without <>, or NULL */
	char **refs;            /* References, oldest first, without <> */
	size_t nrefs;
	struct mp_addr from;
	char *subject;          /* decoded, "" when none */
	char *subject_norm;     /* without Re:/Fwd:/AW:/SV:/[tags], folded spaces */
	int64_t date;           /* instant; fallback when Date is missing/bad */
	long date_off;          /* the Date header's zone, seconds east of UTC */
	int date_fallback;      /* 1 when date came from the fallback */
	char *list_id;          /* List-Id contents inside <>, or NULL */
	char *body;             /* text/plain body as UTF-8 */
	char *own;              /* the author's new text */
	char *quoted;           /* quoted text (may be "") */
	char *sig;              /* signature and list footer (may be "") */
	int warnings;           /* problems survived while parsing */
	/* Recipients, decoded, every address of every To (Cc) field:
	 * "Name <addr>, addr, ..." (a name with a comma, quote or angle
	 * bracket is put in double quotes); "" when none. */
	char *to;
	char *cc;
	/* Parts not shown as the body: one line "name (size)\n" each, size
	 * decoded ("512 bytes", "12 KB", "1.5 MB"), name from the
	 * Content-Disposition filename or Content-Type name (RFC 2047
	 * decoded), else "unnamed type/subtype"; "" when none. */
	char *attachments;
};

/* Parse raw bytes. fallback_date is used when Date is missing or broken
 * (e.g. the archive's delivery time). Anything that is not only white
 * space gives a message: bytes without any header field become the body
 * of a degraded message (Message-ID synthesised from a hash of all the
 * bytes, warnings > 0). Returns 0, or -1 with MP_EX_DATAERR for empty or
 * blank input (then *out is NULL).
 *
 * The body is the first inline text/plain (format=flowed re-joined,
 * RFC 3676), else text/html made text: block elements as line breaks,
 * list items as "- ", links as "text [n]" with "[n] URL" lines at the
 * end, entities decoded, scripts and styles dropped, the charset of a
 * <meta> tag used when the part declares none. Every string is valid
 * UTF-8. */
int mp_mime_parse(const char *raw, size_t len, int64_t fallback_date,
    struct mp_msg **out, struct mp_err *e);

/*
 * mp_mime_parse() with flags; mp_mime_parse() is flags 0. Most messages
 * are read by a fast path of magpie's own; anything it is not sure of
 * (unusual syntax, message/rfc822 parts, broken MIME structure...) by
 * libetpan. Both give the same struct mp_msg for every input. For tests
 * and benchmarks:
 *   MP_MIME_SLOW       libetpan only;
 *   MP_MIME_FAST_ONLY  the fast path only: returns 1 (*out NULL) for a
 *                      message it leaves to libetpan.
 */
#define MP_MIME_SLOW		1
#define MP_MIME_FAST_ONLY	2
int mp_mime_parse_flags(const char *raw, size_t len, int64_t fallback_date,
    int flags, struct mp_msg **out, struct mp_err *e);
void mp_msg_free(struct mp_msg *m);

/* Subject without reply/forward prefixes and list tags; caller frees. */
char *mp_mime_subject_norm(const char *subject);
/* 1 when the subject's prefixes (after any list tags) include a reply
 * prefix: Re:, AW:, SV:, Antw:, Rif:, Odp:, VS:, R:, also numbered
 * ("Re[2]:"); forwards (Fwd:, FW:, TR:, WG:) alone are not replies. NULL
 * is not a reply. */
int mp_mime_subject_is_reply(const char *subject);

/* Split a plain-text body into own text, quoted text and signature/footer.
 * Each output is newly allocated (caller frees). */
void mp_mime_split_body(const char *body, char **own, char **quoted,
    char **sig);

#endif
