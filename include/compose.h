/*
 * compose.h - turn rendered text into an RFC 5322 + MIME message with
 * CRLF line endings: UTF-8 text (and optional HTML) in quoted-printable,
 * RFC 2047 encoded-words for non-ASCII names and subjects, an optional
 * text/calendar part, and the headers magpie's emails always carry
 * (Date, Message-ID, Auto-Submitted, Precedence, X-Auto-Response-Suppress,
 * List-Id, X-Magpie-Kind, X-Magpie-Item).
 */
#ifndef MP_COMPOSE_H
#define MP_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

struct mp_buf;
struct mp_err;

struct mp_mail {
	const char *from_name;   /* UTF-8 display name or "" */
	const char *from_addr;
	const char *to_name;     /* UTF-8 display name or "" */
	const char *to_addr;
	const char *subject;     /* UTF-8 */
	int64_t date;
	const char *zone;        /* zone for the Date header, NULL = UTC */
	const char *message_id;  /* without <> */
	const char *in_reply_to; /* without <>, or NULL */
	const char *references;  /* without <>, space separated, or NULL */
	const char *list_id;     /* "IGF MAG <mag.example.org>" or NULL */
	const char *kind;        /* X-Magpie-Kind */
	const char *item;        /* X-Magpie-Item, or NULL */
	const char *text;        /* text/plain body, UTF-8, LF or CRLF */
	const char *html;        /* text/html alternative, or NULL */
	const char *ics;         /* text/calendar attachment, or NULL */
	const char *ics_method;  /* "REQUEST", "CANCEL"... */
};

/* Append the message to out.
 *
 * Subject, from_name, to_name and the phrase of list_id are text that
 * comes from config or mail: in them every run of control characters
 * (CR, LF, TAB, the rest of C0 and DEL; a NUL ends a C string) becomes
 * one space and every byte that is not UTF-8 becomes U+FFFD, so a stray
 * line break neither adds a header nor fails the email. Every other field is
 * magpie's own (addresses, ids, kind, item, method, zone): a control
 * character, bad UTF-8 or a bad shape there is refused (-1,
 * MP_EX_DATAERR) and out is left as it was. */
int mp_compose(const struct mp_mail *m, struct mp_buf *out,
    struct mp_err *e);

/* Deterministic Message-ID "HASH@domain" (no <>) from a ledger key string
 * and the sender's address (its domain part). */
void mp_compose_message_id(const char *key, const char *from_addr,
    char *buf, size_t n);

/* RFC 2047 encode a header phrase when it is not plain ASCII; appended to
 * out, folding so no encoded-word splits a UTF-8 character. */
void mp_compose_encode_header(const char *s, size_t first_len,
    struct mp_buf *out);

#endif
