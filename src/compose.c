/*
 * compose.c - RFC 5322 + MIME messages for magpie's emails.
 *
 * Everything is written with CRLF line endings. Header lines are folded at
 * 78 columns where a fold point exists (RFC 5322 2.1.1); runs that cannot
 * be folded are kept far below the 998 octet hard limit, and anything that
 * could exceed it is RFC 2047 encoded instead, since encoded-words can be
 * split anywhere between characters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "buf.h"
#include "compose.h"
#include "datetime.h"
#include "err.h"

#define LINE_SOFT 78    /* RFC 5322 2.1.1 SHOULD */
#define QP_LINE 76      /* RFC 2045 6.7 (5) */
#define EW_MAX 75       /* RFC 2047 2 */
#define EW_LINE 76      /* RFC 2047 2: lines holding encoded-words */
#define EW_OVERHEAD 12  /* "=?UTF-8?Q?" + "?=" */
#define RUN_MAX 900     /* longest unfoldable run we write as is */
#define ADDR_MAX 254    /* RFC 5321 4.5.3.1.3 path, minus <> */
#define ID_MAX 900

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hexdig[] = "0123456789ABCDEF";

/* Length of the well-formed UTF-8 sequence at s (1..4), 0 when malformed
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;

	while (n > 0) {
		if ((l = utf8_seq(p, n)) == 0)
			return 0;
		p += l;
		n -= l;
	}
	return 1;
}

static void
b64_encode(struct mp_buf *out, const unsigned char *p, size_t n)
{
	char q[4];

	while (n > 0) {
		unsigned v = (unsigned)p[0] << 16;

		if (n > 1)
			v |= (unsigned)p[1] << 8;
		if (n > 2)
			v |= p[2];
		q[0] = b64_alphabet[v >> 18 & 63];
		q[1] = b64_alphabet[v >> 12 & 63];
		q[2] = n > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		q[3] = n > 2 ? b64_alphabet[v & 63] : '=';
		mp_buf_add(out, q, 4);
		if (n <= 3)
			break;
		p += 3;
		n -= 3;
	}
}

static size_t
b64_width(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* RFC 2047 5 (3): the Q characters allowed literally in a phrase; we use
 * this narrowest set for Subject too so one encoder serves both. */
static int
q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/' || c == ' ';
}

static size_t
q_width(const unsigned char *p, size_t n)
{
	size_t w = 0, i;

	for (i = 0; i < n; i++)
		w += q_literal(p[i]) ? 1 : 3;
	return w;
}

static void
q_encode(struct mp_buf *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == ' ') {
			mp_buf_addc(out, '_');
		} else if (q_literal(p[i])) {
			mp_buf_addc(out, (char)p[i]);
		} else {
			mp_buf_addc(out, '=');
			mp_buf_addc(out, hexdig[p[i] >> 4]);
			mp_buf_addc(out, hexdig[p[i] & 15]);
		}
	}
}

/*
 * Encode all of s as a run of encoded-words, one per line, each at most
 * 75 characters and never ending inside a UTF-8 sequence (each word must
 * decode to whole characters: RFC 2047 5). Whitespace between adjacent
 * encoded-words is dropped by decoders (RFC 2047 6.2), so spaces of the
 * text travel inside the words. Returns the column after the last word.
 */
static size_t
encode_words(struct mp_buf *out, const char *str, size_t col)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;
	/* Q stays readable in mostly-ASCII text: prefer it unless it is
	 * clearly longer than B. */
	int use_q = q_width(s, n) * 4 <= b64_width(n) * 5;

	while (i < n) {
		size_t room, start = i, w;

		room = col + EW_MAX <= EW_LINE ? EW_MAX :
		    col < EW_LINE ? EW_LINE - col : 0;
		room = room > EW_OVERHEAD ? room - EW_OVERHEAD : 0;
		while (i < n) {
			size_t cl = utf8_seq(s + i, n - i);

			if (cl == 0)
				cl = 1;
			w = use_q ? q_width(s + start, i + cl - start) :
			    b64_width(i + cl - start);
			if (w > room)
				break;
			i += cl;
		}
		if (i == start) {
			/* Nothing fits after what the line already holds;
			 * a fresh continuation line always has room. */
			mp_buf_adds(out, "\r\n ");
			col = 1;
			continue;
		}
		mp_buf_adds(out, use_q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
		if (use_q)
			q_encode(out, s + start, i - start);
		else
			b64_encode(out, s + start, i - start);
		mp_buf_adds(out, "?=");
		col += EW_OVERHEAD + (use_q ? q_width(s + start, i - start) :
		    b64_width(i - start));
		if (i < n) {
			mp_buf_adds(out, "\r\n ");
			col = 1;
		}
	}
	return col;
}

/* Length of the fold segment at p: spaces, then non-spaces. */
static size_t
segment(const char *p, size_t *spaces)
{
	const char *q = p;

	while (*q == ' ')
		q++;
	*spaces = (size_t)(q - p);
	while (*q != '\0' && *q != ' ')
		q++;
	return (size_t)(q - p);
}

/* Printable ASCII that can be written as is and folded at spaces: no
 * "=?" (it would read as an encoded-word) and no run too long to fold. */
static int
plain_ascii(const char *s)
{
	const char *p;
	size_t sp;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return 0;
	if (strstr(s, "=?") != NULL)
		return 0;
	for (p = s; *p != '\0'; p += segment(p, &sp))
		if (segment(p, &sp) > RUN_MAX)
			return 0;
	return 1;
}

/* RFC 5322 2.2.3: fold by putting CRLF before a space, never so that a
 * line holds only whitespace. Returns the new column. */
static size_t
fold_ascii(struct mp_buf *out, const char *s, size_t col)
{
	const char *p = s;

	while (*p != '\0') {
		size_t sp, len = segment(p, &sp);

		if (sp > 0 && sp < len && col + len > LINE_SOFT) {
			mp_buf_adds(out, "\r\n");
			col = 0;
		}
		mp_buf_add(out, p, len);
		col += len;
		p += len;
	}
	return col;
}

static size_t
put_unstructured(struct mp_buf *out, const char *s, size_t col)
{
	if (plain_ascii(s))
		return fold_ascii(out, s, col);
	return encode_words(out, s, col);
}

void
mp_compose_encode_header(const char *s, size_t first_len, struct mp_buf *out)
{
	if (s != NULL)
		put_unstructured(out, s, first_len);
}

/* RFC 5322 3.2.3 atext. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Words of atext separated by single spaces: usable as a phrase as is. */
static int
atom_phrase(const char *s)
{
	const char *p;

	if (*s == ' ')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == ' ') {
			if (p[1] == ' ' || p[1] == '\0')
				return 0;
		} else if (!is_atext((unsigned char)*p)) {
			return 0;
		}
	}
	return 1;
}

/* A display name: atoms, a quoted-string (RFC 5322 3.2.4), or encoded-words
 * (RFC 2047 5 (3)). Returns the new column; *limit becomes the length the
 * rest of the line may reach. */
static size_t
put_phrase(struct mp_buf *out, const char *name, size_t col, size_t *limit)
{
	struct mp_buf q = MP_BUF_INIT;
	const char *p;

	*limit = LINE_SOFT;
	if (!plain_ascii(name)) {
		*limit = EW_LINE;
		return encode_words(out, name, col);
	}
	if (atom_phrase(name))
		return fold_ascii(out, name, col);
	mp_buf_addc(&q, '"');
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			mp_buf_addc(&q, '\\');
		mp_buf_addc(&q, *p);
	}
	mp_buf_addc(&q, '"');
	if (plain_ascii(q.data)) {
		col = fold_ascii(out, q.data, col);
	} else {
		*limit = EW_LINE;
		col = encode_words(out, name, col);
	}
	mp_buf_free(&q);
	return col;
}

/* Append " <addr>" (or " addr" with no name), folding before it when the
 * line would grow past limit. */
static void
put_angle_addr(struct mp_buf *out, const char *addr, size_t col, int angle,
    size_t limit)
{
	size_t len = strlen(addr) + (angle ? 2 : 0);

	mp_buf_adds(out, col + 1 + len > limit ? "\r\n " : " ");
	mp_buf_printf(out, angle ? "<%s>" : "%s", addr);
}

static void
put_mailbox(struct mp_buf *out, const char *field, const char *name,
    const char *addr)
{
	size_t col = strlen(field) + 1, limit;

	mp_buf_adds(out, field);
	mp_buf_addc(out, ':');
	if (name == NULL || *name == '\0') {
		put_angle_addr(out, addr, col, 0, LINE_SOFT);
	} else {
		mp_buf_addc(out, ' ');
		col = put_phrase(out, name, col + 1, &limit);
		put_angle_addr(out, addr, col, 1, limit);
	}
	mp_buf_adds(out, "\r\n");
}

static void
put_field(struct mp_buf *out, const char *field, const char *value)
{
	size_t col = strlen(field) + 2;

	mp_buf_adds(out, field);
	mp_buf_addc(out, ':');
	if (*value != '\0') {
		mp_buf_addc(out, ' ');
		put_unstructured(out, value, col);
	}
	mp_buf_adds(out, "\r\n");
}

/* A dot-atom-ish part of an address: no empty labels. */
static int
dot_parts_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return 0;
	return 1;
}

/* local@domain with nothing that would need quoting, angle brackets,
 * spaces or control characters: the only shape magpie ever sends to. */
static int
addr_ok(const char *a)
{
	const char *at, *p;
	size_t n;

	if (a == NULL || (n = strlen(a)) == 0 || n > ADDR_MAX)
		return 0;
	if ((at = strchr(a, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	for (p = a; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
	}
	return dot_parts_ok(a, (size_t)(at - a)) &&
	    dot_parts_ok(at + 1, strlen(at + 1));
}

/* The id-left "@" id-right inside a msg-id, without the brackets. */
static int
id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
			return 0;
	}
	return 1;
}

static int
refs_ok(const char *s)
{
	size_t n, count = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return count > 0;
		n = strcspn(s, " ");
		if (!id_ok(s, n))
			return 0;
		s += n;
		count++;
	}
}

/* References / In-Reply-To: "<a> <b>", folded between ids. */
static void
put_ids(struct mp_buf *out, const char *field, const char *ids)
{
	size_t col = strlen(field) + 1, n;
	const char *s = ids;

	mp_buf_adds(out, field);
	mp_buf_addc(out, ':');
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		n = strcspn(s, " ");
		if (col + n + 3 > LINE_SOFT && col > strlen(field) + 1) {
			mp_buf_adds(out, "\r\n");
			col = 0;
		}
		mp_buf_printf(out, " <%.*s>", (int)n, s);
		col += n + 3;
		s += n;
	}
	mp_buf_adds(out, "\r\n");
}

/* List-Id: [phrase] "<" list-id ">" (RFC 2919 3), or a bare list-id. The
 * phrase is returned in *name (owned by the caller, may be ""). */
static int
split_list_id(const char *v, char **name, const char **id, size_t *idlen)
{
	const char *lt = strrchr(v, '<');
	size_t n = strlen(v), l;

	*name = NULL;
	if (lt == NULL) {
		*id = v;
		*idlen = n;
		return id_ok(v, n) ? 0 : -1;
	}
	if (v[n - 1] != '>' || !id_ok(lt + 1, (size_t)(v + n - 2 - lt)))
		return -1;
	*id = lt + 1;
	*idlen = (size_t)(v + n - 2 - lt);
	for (l = (size_t)(lt - v); l > 0 && v[l - 1] == ' '; l--)
		;
	*name = mp_xstrndup(v, l);
	return 0;
}

static void
put_list_id(struct mp_buf *out, const char *v)
{
	size_t col = strlen("List-Id:"), idlen, limit = LINE_SOFT;
	const char *id;
	char *name, *br;

	if (split_list_id(v, &name, &id, &idlen) != 0)
		return;
	mp_buf_adds(out, "List-Id:");
	if (name != NULL && *name != '\0') {
		mp_buf_addc(out, ' ');
		col = put_phrase(out, name, col + 1, &limit);
	}
	br = mp_xstrndup(id, idlen);
	put_angle_addr(out, br, col, 1, limit);
	mp_buf_adds(out, "\r\n");
	free(br);
	free(name);
}

/* Quoted-printable (RFC 2045 6.7). Input line ends (LF or CRLF) become
 * hard CRLF breaks; soft breaks keep every line within 76 characters;
 * whitespace at the end of a line is encoded so transports that strip it
 * do not change the text; "From " at a line start is encoded (RFC 2049 3
 * (8)) so mbox writers do not mangle it. */
static void
qp_line(struct mp_buf *out, const unsigned char *p, size_t n)
{
	/* One output line at a time: a call per line, not per byte. */
	char line[QP_LINE + 8];
	size_t i, col = 0, tl;
	int from = n >= 5 && memcmp(p, "From ", 5) == 0;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		int last = i + 1 == n, lit;

		lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !last);
		if (i == 0 && from)
			lit = 0;
		tl = lit ? 1 : 3;
		if (col + tl > (last ? QP_LINE : QP_LINE - 1)) {
			line[col++] = '=';
			line[col++] = '\r';
			line[col++] = '\n';
			mp_buf_add(out, line, col);
			col = 0;
		}
		if (lit) {
			line[col++] = (char)c;
		} else {
			line[col++] = '=';
			line[col++] = hexdig[c >> 4];
			line[col++] = hexdig[c & 15];
		}
	}
	mp_buf_add(out, line, col);
}

static void
qp_encode(struct mp_buf *out, const char *s)
{
	const char *p = s, *eol, *end;

	while (*p != '\0') {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		end = eol;
		if (*eol == '\n' && end > p && end[-1] == '\r')
			end--;
		qp_line(out, (const unsigned char *)p, (size_t)(end - p));
		if (*eol == '\0')
			break;
		mp_buf_adds(out, "\r\n");
		p = eol + 1;
	}
}

/* Base64 in 76 character lines (RFC 2045 6.8) of the text with every line
 * end made CRLF, as RFC 5545 3.1 wants for iCalendar. */
static void
b64_body(struct mp_buf *out, const char *s)
{
	struct mp_buf t = MP_BUF_INIT;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			mp_buf_addc(&t, '\r');
		mp_buf_addc(&t, s[i]);
	}
	for (i = 0; i < t.len; i += 57) {
		b64_encode(out, (const unsigned char *)t.data + i,
		    t.len - i < 57 ? t.len - i : 57);
		mp_buf_adds(out, "\r\n");
	}
	mp_buf_free(&t);
}

static void
sha256_hex(const char *s, char *hex, size_t nhex)
{
	unsigned char d[32];
	size_t i;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), d) != 0)
		memset(d, 0, sizeof(d));
	for (i = 0; i < sizeof(d) && 2 * i + 2 < nhex; i++) {
		hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	hex[2 * i] = '\0';
}

static int
domain_ok(const char *d)
{
	const char *p;

	if (*d == '\0' || !dot_parts_ok(d, strlen(d)))
		return 0;
	for (p = d; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

void
mp_compose_message_id(const char *key, const char *from_addr, char *buf,
    size_t n)
{
	char hex[33];
	const char *at = from_addr != NULL ? strrchr(from_addr, '@') : NULL;
	const char *dom = at != NULL && domain_ok(at + 1) ? at + 1 :
	    "magpie.invalid";

	if (n == 0)
		return;
	sha256_hex(key != NULL ? key : "", hex, sizeof(hex));
	snprintf(buf, n, "%s@%s", hex, dom);
}

static int
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static int
token_ok(const char *s)
{
	const char *p;

	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static int
check_mail(const struct mp_mail *m, struct mp_err *e)
{
	const struct {
		const char *name, *v;
	} hdr[] = {
		{ "From name", m->from_name }, { "From address", m->from_addr },
		{ "To name", m->to_name }, { "To address", m->to_addr },
		{ "Subject", m->subject }, { "Message-ID", m->message_id },
		{ "In-Reply-To", m->in_reply_to },
		{ "References", m->references }, { "List-Id", m->list_id },
		{ "X-Magpie-Kind", m->kind }, { "X-Magpie-Item", m->item },
		{ "zone", m->zone }, { "ics method", m->ics_method },
	};
	size_t i;

	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
		if (has_crlf(hdr[i].v))
			return mp_err_set(e, MP_EX_DATAERR,
			    "%s contains a line break", hdr[i].name);
		if (hdr[i].v != NULL && !utf8_valid(hdr[i].v))
			return mp_err_set(e, MP_EX_DATAERR,
			    "%s is not valid UTF-8", hdr[i].name);
	}
	if (!addr_ok(m->from_addr))
		return mp_err_set(e, MP_EX_DATAERR, "bad From address");
	if (!addr_ok(m->to_addr))
		return mp_err_set(e, MP_EX_DATAERR, "bad To address");
	if (m->message_id == NULL ||
	    !id_ok(m->message_id, strlen(m->message_id)))
		return mp_err_set(e, MP_EX_DATAERR, "bad Message-ID");
	if (m->in_reply_to != NULL &&
	    !id_ok(m->in_reply_to, strlen(m->in_reply_to)))
		return mp_err_set(e, MP_EX_DATAERR, "bad In-Reply-To");
	if (m->references != NULL && !refs_ok(m->references))
		return mp_err_set(e, MP_EX_DATAERR, "bad References");
	if (m->list_id != NULL) {
		const char *id;
		char *name;
		size_t idlen;
		int bad = split_list_id(m->list_id, &name, &id, &idlen);

		free(name);
		if (bad)
			return mp_err_set(e, MP_EX_DATAERR, "bad List-Id");
	}
	if (m->kind == NULL || !token_ok(m->kind))
		return mp_err_set(e, MP_EX_DATAERR, "bad X-Magpie-Kind");
	if (m->ics_method != NULL && !token_ok(m->ics_method))
		return mp_err_set(e, MP_EX_DATAERR, "bad calendar method");
	if (m->zone != NULL && !mp_tz_valid(m->zone))
		return mp_err_set(e, MP_EX_DATAERR, "unknown zone %s", m->zone);
	return 0;
}

static int
occurs(const struct mp_buf *const *parts, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(mp_buf_str(parts[i]), b) != NULL)
			return 1;
	return 0;
}

static void
put_part(struct mp_buf *out, const char *headers, const struct mp_buf *body)
{
	mp_buf_adds(out, headers);
	mp_buf_adds(out, "\r\n");
	mp_buf_add(out, mp_buf_str(body), body->len);
}

/* RFC 2046 5.1.1: each delimiter is CRLF "--" boundary. */
static void
put_multipart(struct mp_buf *out, const char *boundary,
    const struct mp_buf *const *parts, const char *const *headers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		mp_buf_printf(out, "%s--%s\r\n", i > 0 ? "\r\n" : "", boundary);
		put_part(out, headers[i], parts[i]);
	}
	mp_buf_printf(out, "\r\n--%s--\r\n", boundary);
}

#define CT_TEXT "Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"
#define CT_HTML "Content-Type: text/html; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"

static void
put_headers(const struct mp_mail *m, struct mp_buf *out, const char *ctype)
{
	char date[64];

	mp_dt_rfc5322(m->date, m->zone != NULL ? m->zone : "UTC", date,
	    sizeof(date));
	mp_buf_printf(out, "Date: %s\r\n", date);
	put_mailbox(out, "From", m->from_name, m->from_addr);
	put_mailbox(out, "To", m->to_name, m->to_addr);
	put_field(out, "Subject", m->subject != NULL ? m->subject : "");
	mp_buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
	if (m->in_reply_to != NULL)
		put_ids(out, "In-Reply-To", m->in_reply_to);
	if (m->references != NULL)
		put_ids(out, "References", m->references);
	mp_buf_adds(out, "MIME-Version: 1.0\r\n");
	mp_buf_adds(out, ctype);
}

/* Subject, display names and the List-Id phrase are text from config or
 * from mail: a run of control characters (CR, LF, TAB, the rest of C0,
 * DEL) becomes one space and a byte that is not UTF-8 becomes U+FFFD, so
 * such a value can neither add a header nor make the email fail. */
static char *
header_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct mp_buf b = MP_BUF_INIT;
	size_t n, l;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	while (n > 0) {
		if (*p < 0x20 || *p == 0x7f) {
			if (b.len == 0 || b.data[b.len - 1] != ' ')
				mp_buf_addc(&b, ' ');
			p++;
			n--;
			continue;
		}
		if ((l = utf8_seq(p, n)) == 0) {
			mp_buf_adds(&b, "\xef\xbf\xbd");
			l = 1;
		} else {
			mp_buf_add(&b, p, l);
		}
		p += l;
		n -= l;
	}
	return mp_buf_detach(&b);
}

static int compose_mail(const struct mp_mail *m, struct mp_buf *out,
    struct mp_err *e);

int
mp_compose(const struct mp_mail *m, struct mp_buf *out, struct mp_err *e)
{
	struct mp_mail clean = *m;
	char *subject, *from_name, *to_name, *list_id;
	int rc;

	clean.subject = subject = header_text(m->subject);
	clean.from_name = from_name = header_text(m->from_name);
	clean.to_name = to_name = header_text(m->to_name);
	clean.list_id = list_id = header_text(m->list_id);
	rc = compose_mail(&clean, out, e);
	free(subject);
	free(from_name);
	free(to_name);
	free(list_id);
	return rc;
}

static int
compose_mail(const struct mp_mail *m, struct mp_buf *out, struct mp_err *e)
{
	struct mp_buf text = MP_BUF_INIT, html = MP_BUF_INIT, ics = MP_BUF_INIT;
	struct mp_buf alt = MP_BUF_INIT, body = MP_BUF_INIT;
	const struct mp_buf *chk[] = { &text, &html, &ics };
	char hash[17], outer[64], inner[64], ctype[160], icsh[256];
	unsigned k;

	if (check_mail(m, e) != 0)
		return -1;

	qp_encode(&text, m->text != NULL ? m->text : "");
	if (m->html != NULL)
		qp_encode(&html, m->html);
	if (m->ics != NULL)
		b64_body(&ics, m->ics);

	/* QP and base64 never produce "=_", so the first pair always
	 * works; the check keeps that an invariant rather than a hope. */
	sha256_hex(m->message_id, hash, sizeof(hash));
	for (k = 0;; k++) {
		snprintf(outer, sizeof(outer), "=_magpie_%s_%u", hash,
		    2 * k + 1);
		snprintf(inner, sizeof(inner), "=_magpie_%s_%u", hash,
		    2 * k + 2);
		if (!occurs(chk, 3, outer) && !occurs(chk, 3, inner))
			break;
	}

	if (m->ics != NULL) {
		const struct mp_buf *p[2];
		const char *h[2];
		char alth[128];

		if (m->html != NULL) {
			const struct mp_buf *ap[] = { &text, &html };
			const char *ah[] = { CT_TEXT, CT_HTML };

			put_multipart(&alt, inner, ap, ah, 2);
		}
		snprintf(icsh, sizeof(icsh),
		    "Content-Type: text/calendar; charset=utf-8%s%s\r\n"
		    "Content-Disposition: attachment;"
		    " filename=\"invite.ics\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n",
		    m->ics_method != NULL ? "; method=" : "",
		    m->ics_method != NULL ? m->ics_method : "");
		snprintf(alth, sizeof(alth),
		    "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n",
		    inner);
		p[0] = m->html != NULL ? &alt : &text;
		h[0] = m->html != NULL ? alth : CT_TEXT;
		p[1] = &ics;
		h[1] = icsh;
		put_multipart(&body, outer, p, h, 2);
		snprintf(ctype, sizeof(ctype),
		    "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n",
		    outer);
	} else if (m->html != NULL) {
		const struct mp_buf *p[] = { &text, &html };
		const char *h[] = { CT_TEXT, CT_HTML };

		put_multipart(&body, outer, p, h, 2);
		snprintf(ctype, sizeof(ctype),
		    "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n",
		    outer);
	} else {
		mp_buf_add(&body, mp_buf_str(&text), text.len);
		/* A message ends with CRLF even when the text does not. */
		if (body.len < 2 || memcmp(body.data + body.len - 2, "\r\n", 2))
			mp_buf_adds(&body, "\r\n");
		snprintf(ctype, sizeof(ctype), "%s", CT_TEXT);
	}

	put_headers(m, out, ctype);
	if (m->list_id != NULL)
		put_list_id(out, m->list_id);
	mp_buf_adds(out, "Auto-Submitted: auto-generated\r\n");
	mp_buf_adds(out, "Precedence: bulk\r\n");
	mp_buf_adds(out, "X-Auto-Response-Suppress: All\r\n");
	put_field(out, "X-Magpie-Kind", m->kind);
	if (m->item != NULL)
		put_field(out, "X-Magpie-Item", m->item);
	mp_buf_adds(out, "\r\n");
	if (m->ics != NULL || m->html != NULL)
		mp_buf_adds(out, "This is a multi-part message in MIME format."
		    "\r\n\r\n");
	mp_buf_add(out, mp_buf_str(&body), body.len);

	mp_buf_free(&text);
	mp_buf_free(&html);
	mp_buf_free(&ics);
	mp_buf_free(&alt);
	mp_buf_free(&body);
	return 0;
}
