/*
 * mime.c - one RFC 5322/MIME message into struct mp_msg.
 *
 * libetpan does the grammar: header fields (mailimf), the MIME tree
 * (mailmime), transfer decoding, RFC 2047 words and charsets (iconv via
 * charconv). What is here is the policy libetpan has no opinion on: which
 * part is the body, what to do with lying charsets, a guaranteed-UTF-8
 * result, subject normalisation and the own/quoted/signature split.
 *
 * libetpan's parse costs most of the time, so plain messages take a fast
 * path ("the fast path" below) that reads the fields and the MIME tree
 * itself, exactly as libetpan would, and leaves everything else to it.
 * Both feed the same policy code through struct part.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libetpan/charconv.h>
#include <libetpan/libetpan.h>

#include "ascii.h"
#include "buf.h"
#include "datetime.h"
#include "err.h"
#include "mime.h"

/* Everything is bounded: input, identifiers, lists and nesting. */
#define MIME_MAX_INPUT ((size_t)64 << 20)
#define MAX_ID		998		/* RFC 5322 2.1.1 line limit */
#define MAX_REFS	512
#define MAX_CHARSET	64
#define MAX_BODY	((size_t)16 << 20)	/* decoded text part */
/*
 * libetpan recurses once per nested MIME entity and once per nested
 * comment, without a limit; a crafted message overflows the stack
 * (about 30000 nested message/rfc822 parts are enough). These bounds are
 * far above anything a mail client produces.
 */
#define MAX_MIME_TYPES	512
#define MAX_COMMENT	64
#define MAX_WALK	64

/* ---- UTF-8 ---------------------------------------------------------- */

/* The first needle[0..nn) in p[0..n), or NULL (memmem is not C11). */
static const char *
find_bytes(const char *p, size_t n, const char *needle, size_t nn)
{
	const char *q = p, *e = p + n;

	while (nn > 0 && (size_t)(e - q) >= nn &&
	    (q = memchr(q, needle[0], (size_t)(e - q) - nn + 1)) != NULL) {
		if (memcmp(q, needle, nn) == 0)
			return q;
		q++;
	}
	return NULL;
}


/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;	/* overlong, above U+10FFFF */
		return 4;
	}
	return 0;
}

static int
utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_seq(s + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static void
put_cp(struct mp_buf *b, uint32_t cp)
{
	char u[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
		cp = 0xfffd;
	if (cp < 0x80) {
		mp_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		mp_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mp_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mp_buf_add(b, u, 4);
	}
}

/*
 * windows-1252 as the WHATWG Encoding Standard decodes it (also for the
 * labels iso-8859-1 and us-ascii): 0x80-0x9f are typographic characters,
 * the five unassigned bytes stay C1 code points.
 */
static const uint16_t cp1252_hi[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178
};

static uint32_t
cp1252(unsigned char c)
{
	return c >= 0x80 && c < 0xa0 ? cp1252_hi[c - 0x80] : c;
}

/*
 * Bytes that should be UTF-8 but may not be: valid sequences are kept and
 * every stray byte is read as windows-1252, which is what such a byte
 * nearly always is (a Latin-1 reply pasted into a UTF-8 message).
 * Returns the number of stray bytes.
 */
/* Eight bytes at a time for the plain-ASCII runs every body is made of
 * (the tests are exact for the word, whichever byte it is). */
#define ONES8 ((uint64_t)0x0101010101010101ULL)
#define HIGH8 ((uint64_t)0x8080808080808080ULL)

static uint64_t
load8(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return w;
}

/* Whether one of the 8 bytes at s is 0x80 or above. */
static int
high8(const unsigned char *s)
{
	return (load8(s) & HIGH8) != 0;
}

/* Whether one of the 8 bytes at s is not printable ASCII (below 0x20,
 * or above 0x7e). */
static int
unprintable8(const unsigned char *s)
{
	uint64_t w = load8(s);

	return ((((w - ONES8 * 0x20) & ~w) | (w + ONES8) | w) & HIGH8) != 0;
}

static size_t
add_utf8_or_1252(struct mp_buf *b, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k, bad = 0;

	mp_buf_reserve(b, n);
	while (i < n) {
		for (k = i; k + 8 <= n && !high8(s + k); k += 8)
			;
		for (; k < n && s[k] < 0x80; k++)
			;
		if (k > i) {
			mp_buf_add(b, p + i, k - i);
			i = k;
			continue;
		}
		k = utf8_seq(s + i, n - i);
		if (k == 0) {
			put_cp(b, cp1252(s[i]));
			bad++;
			i++;
		} else {
			mp_buf_add(b, p + i, k);
			i += k;
		}
	}
	return bad;
}

static void
add_1252(struct mp_buf *b, const char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		for (k = i; k < n && (unsigned char)p[k] < 0x80 && p[k]; k++)
			;
		mp_buf_add(b, p + i, k - i);
		if (k < n)
			put_cp(b, cp1252((unsigned char)p[k++]));
		i = k;
	}
}

/*
 * The final pass every text goes through: invalid sequences become
 * U+FFFD, CRLF and lone CR become LF, other C0 controls and DEL vanish
 * (keep_nl = 0: every line break and tab becomes a space, for header
 * values which must never carry CR/LF).
 */
static char *
clean_text(const char *p, size_t n, int keep_nl)
{
	struct mp_buf b = MP_BUF_INIT;
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k;

	mp_buf_reserve(&b, n);
	while (i < n) {
		unsigned char c = s[i];
		size_t run;

		for (run = i; run + 8 <= n && !unprintable8(s + run); run += 8)
			;
		for (; run < n && s[run] >= 0x20 && s[run] < 0x7f; run++)
			;
		if (run > i) {		/* plain ASCII, the common case */
			mp_buf_add(&b, p + i, run - i);
			i = run;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			mp_buf_addc(&b, keep_nl ? '\n' : ' ');
			i++;
		} else if (c == '\t') {
			mp_buf_addc(&b, keep_nl ? '\t' : ' ');
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			i++;
		} else if ((k = utf8_seq(s + i, n - i)) == 0) {
			put_cp(&b, 0xfffd);
			i++;
		} else {
			mp_buf_add(&b, p + i, k);
			i += k;
		}
	}
	return mp_buf_detach(&b);
}

/* Folds runs of spaces into one and trims, in place. */
static void
fold_spaces(char *s)
{
	char *w = s, *r = s;
	int sp = 0;

	while (*r == ' ')
		r++;
	for (; *r; r++) {
		if (*r == ' ') {
			sp = 1;
			continue;
		}
		if (sp && w != s)
			*w++ = ' ';
		sp = 0;
		*w++ = *r;
	}
	*w = '\0';
}

/* ---- charsets --------------------------------------------------------- */

static int
is_utf8_label(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	    strcasecmp(cs, "unicode-1-1-utf-8") == 0;
}

/* Labels whose bytes are decoded as UTF-8-else-windows-1252 here. */
static int
is_ascii_label(const char *cs)
{
	return strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "ascii") == 0 || strcasecmp(cs, "x-unknown") == 0 ||
	    strcasecmp(cs, "unknown-8bit") == 0;
}

static int
is_1252_label(const char *cs)
{
	return strcasecmp(cs, "windows-1252") == 0 ||
	    strcasecmp(cs, "cp1252") == 0 ||
	    strcasecmp(cs, "iso-8859-1") == 0 ||
	    strcasecmp(cs, "iso8859-1") == 0 ||
	    strcasecmp(cs, "iso_8859-1") == 0 ||
	    strcasecmp(cs, "latin1") == 0 || strcasecmp(cs, "l1") == 0;
}

/*
 * Bytes in charset cs[0..csn) (NULL: not declared) to UTF-8 in b. Known labels go
 * through libetpan's charconv; a label iconv does not know, or a failed
 * conversion, falls back to UTF-8-else-windows-1252 and counts a warning.
 */
static void
add_converted(struct mp_buf *b, const char *p, size_t n, const char *cs,
    size_t csn, int *warnings)
{
	char label[MAX_CHARSET + 1];
	char *out = NULL;
	size_t i, j = 0;
	int r;

	if (cs != NULL) {
		for (i = 0; i < csn && cs[i] && j < MAX_CHARSET; i++)
			if (!isspace((unsigned char)cs[i]) && cs[i] != '"')
				label[j++] = cs[i];
	}
	label[j] = '\0';
	if (n == 0)
		return;
	if (j == 0 || is_ascii_label(label)) {
		add_utf8_or_1252(b, p, n);
		return;
	}
	if (is_utf8_label(label)) {
		if (add_utf8_or_1252(b, p, n) > 0)
			(*warnings)++;
		return;
	}
	if (is_1252_label(label)) {
		add_1252(b, p, n);
		return;
	}
	r = charconv("utf-8", label, p, n, &out);
	if (r == MAIL_CHARCONV_NO_ERROR && out != NULL) {
		mp_buf_adds(b, out);
		free(out);
		return;
	}
	(*warnings)++;
	if (utf8_valid(p, n))
		mp_buf_add(b, p, n);
	else
		add_1252(b, p, n);
}

/* ---- header values ---------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Character classes, as a table because the scanners below test every
 * byte: the base64 alphabet; libetpan's atext (anything but white space,
 * NUL and <>,":;); RFC 2045 token characters; the characters libetpan
 * allows in an encoded word's charset; and what the fast path accepts in
 * a "<msg-id>" (no white space, NUL or <>()"\), an "<addr>" (nor ,:;),
 * a quoted display name (no NUL, CR, LF, " or \) and a comment after an
 * address (no NUL or ()\"<>:;,).
 */
#define C_B64		1
#define C_ATEXT		2
#define C_TOKEN		4
#define C_ETOKEN	8
#define C_ID		16
#define C_ADDR		32
#define C_QTEXT		64
#define C_CTEXT		128
static const unsigned char ctab[256] = {
	  0, 242, 242, 242, 242, 242, 242, 242, 242, 192, 128, 242,
	242, 128, 242, 242, 242, 242, 242, 242, 242, 242, 242, 242,
	242, 242, 242, 242, 242, 242, 242, 250, 192, 254,   0, 254,
	254, 254, 254, 254,  66,  66, 254, 255,  80, 254, 254, 243,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  80,  80,
	 64, 242,  64, 242, 242, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 242,  10, 242, 254, 254,
	254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 254, 254, 254, 254, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250,
	250, 250, 250, 250,
};
#define IS(c, k)	(ctab[(unsigned char)(c)] & (k))

/* An encoded word "=?cs[*lang]?B|Q?text?=" at p: its length, or 0. The
 * charset label and the decoded bytes are appended to cs and out. */
static size_t
encoded_word(const char *p, size_t n, struct mp_buf *cs, struct mp_buf *out)
{
	size_t i = 2, c0, c1, t0, t1, k;
	unsigned acc = 0;
	int bits = 0, enc, v;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	c0 = i;
	while (i < n && p[i] != '?' && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i >= n || p[i] != '?' || i == c0 || i - c0 > MAX_CHARSET)
		return 0;
	c1 = i;
	for (k = c0; k < c1; k++)
		if (p[k] == '*')	/* RFC 2231 language */
			c1 = k;
	if (i + 2 >= n || p[i + 2] != '?')
		return 0;
	enc = p[i + 1] | 0x20;
	if (enc != 'b' && enc != 'q')
		return 0;
	t0 = i + 3;
	for (t1 = t0; t1 + 1 < n && !(p[t1] == '?' && p[t1 + 1] == '=');
	    t1++)
		if (p[t1] <= 0x20 || p[t1] >= 0x7f)
			return 0;
	if (t1 + 1 >= n)
		return 0;
	mp_buf_add(cs, p + c0, c1 - c0);
	for (k = t0; k < t1; k++) {
		if (enc == 'b') {
			if ((v = b64val((unsigned char)p[k])) < 0)
				continue;
			acc = (acc << 6) | (unsigned)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				mp_buf_addc(out, (char)(acc >> bits & 0xff));
			}
		} else if (p[k] == '_') {
			mp_buf_addc(out, ' ');
		} else if (p[k] == '=' && k + 2 < t1 &&
		    hexval((unsigned char)p[k + 1]) >= 0 &&
		    hexval((unsigned char)p[k + 2]) >= 0) {
			mp_buf_addc(out, (char)(hexval((unsigned char)p[k + 1])
			    * 16 + hexval((unsigned char)p[k + 2])));
			k += 2;
		} else {
			mp_buf_addc(out, p[k]);
		}
	}
	return t1 + 2;
}

static int
only_space(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
		    p[i] != '\n')
			return 0;
	return 1;
}

/*
 * RFC 2047 words in a Subject or display name. Written here rather than
 * taken from libetpan, which converts each word on its own: a UTF-8
 * character split across two words (as many mailers split long
 * subjects) then comes out as two invalid halves. Adjacent words of one
 * charset are joined as bytes before the conversion; white space
 * between words goes (6.2). Raw 8-bit bytes outside words are read as
 * UTF-8 when valid, else as windows-1252. Result: UTF-8 on one line,
 * spaces folded.
 */
static char *
decode_phrase_n(const char *raw, size_t n, int *warnings)
{
	struct mp_buf b = MP_BUF_INIT, pend = MP_BUF_INIT, pcs = MP_BUF_INIT;
	struct mp_buf cs = MP_BUF_INIT, w = MP_BUF_INIT;
	size_t i = 0, j, k, from = 0;
	int after_word = 0;
	char *out;

	/* plain ASCII without '=': only the white space changes */
	for (i = 0; i < n && ((raw[i] >= 0x20 && raw[i] < 0x7f &&
	    raw[i] != '=') || raw[i] == '\t' || raw[i] == '\r' ||
	    raw[i] == '\n'); i++)
		;
	if (i == n) {
		out = mp_xmalloc(n + 1);
		for (i = 0; i < n; i++)
			out[i] = raw[i] < 0x20 ? ' ' : raw[i];
		out[n] = '\0';
		fold_spaces(out);
		return out;
	}
	i = 0;
	while (i < n) {
		const char *q = memchr(raw + i, '=', n - i);

		if (q == NULL)
			break;
		j = (size_t)(q - raw);
		mp_buf_reset(&cs);
		mp_buf_reset(&w);
		if ((k = encoded_word(raw + j, n - j, &cs, &w)) == 0) {
			i = j + 1;
			continue;
		}
		if (!(after_word && only_space(raw + from, j - from))) {
			add_converted(&b, mp_buf_str(&pend), pend.len,
			    mp_buf_str(&pcs), pcs.len, warnings);
			mp_buf_reset(&pend);
			add_utf8_or_1252(&b, raw + from, j - from);
		} else if (strcasecmp(mp_buf_str(&cs), mp_buf_str(&pcs)) != 0) {
			add_converted(&b, mp_buf_str(&pend), pend.len,
			    mp_buf_str(&pcs), pcs.len, warnings);
			mp_buf_reset(&pend);
		}
		mp_buf_reset(&pcs);
		mp_buf_add(&pcs, mp_buf_str(&cs), cs.len);
		if (w.len > 0)
			mp_buf_add(&pend, w.data, w.len);
		i = from = j + k;
		after_word = 1;
	}
	add_converted(&b, mp_buf_str(&pend), pend.len, mp_buf_str(&pcs),
	    pcs.len, warnings);
	add_utf8_or_1252(&b, raw + from, n - from);
	out = clean_text(mp_buf_str(&b), b.len, 0);
	mp_buf_free(&b);
	mp_buf_free(&pend);
	mp_buf_free(&pcs);
	mp_buf_free(&cs);
	mp_buf_free(&w);
	fold_spaces(out);
	return out;
}

static char *
decode_phrase(const char *raw, int *warnings)
{
	return decode_phrase_n(raw, strlen(raw), warnings);
}

/* The bytes an identifier keeps as they are (clean_id drops the rest:
 * space, controls, angle brackets; 8-bit bytes need a look). */
#define IDP(c) ((c) > 0x20 && (c) < 0x7f && (c) != '<' && (c) != '>')
static const unsigned char id_plain[256] = { MP_BYTE_TABLE(IDP) };

/* An identifier: no space, control or angle bracket, bounded. */
static char *
clean_id(const char *p, size_t n)
{
	size_t i, len, lim = n < MAX_ID ? n : MAX_ID;
	char *b, *s;

	/* the common case: nothing to drop (every id of every References
	 * header comes here) */
	for (i = 0; i < lim && id_plain[(unsigned char)p[i]]; i++)
		;
	if (i == lim)
		return i > 0 ? mp_xstrndup(p, i) : NULL;
	b = mp_xmalloc(lim + 1);
	memcpy(b, p, i);
	len = i;
	for (; i < n && len < MAX_ID; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c > 0x20 && c != 0x7f && c != '<' && c != '>')
			b[len++] = (char)c;
	}
	b[len] = '\0';
	if (len == 0) {
		free(b);
		return NULL;
	}
	if (!utf8_valid(b, len)) {
		s = clean_text(b, len, 0);
		free(b);
		return s;
	}
	return b;
}

/*
 * The <...> tokens of a header that libetpan could not parse as a
 * msg-id list (comments, junk between ids). A value without any <> but
 * with an '@' counts as one id.
 */
static void
scan_ids(const char *v, char ***ids, size_t *nids, size_t max)
{
	const char *p = v, *lt, *gt;
	char *id;

	while (*nids < max && (lt = strchr(p, '<')) != NULL) {
		if ((gt = strchr(lt + 1, '>')) == NULL)
			break;
		if ((id = clean_id(lt + 1, (size_t)(gt - lt - 1))) != NULL) {
			*ids = mp_xrealloc(*ids, (*nids + 1) * sizeof(**ids));
			(*ids)[(*nids)++] = id;
		}
		p = gt + 1;
	}
	if (p == v && *nids < max && strchr(v, '@') != NULL &&
	    strchr(v, '<') == NULL) {
		while (isspace((unsigned char)*p))
			p++;
		lt = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if ((id = clean_id(lt, (size_t)(p - lt))) != NULL) {
			*ids = mp_xrealloc(*ids, (*nids + 1) * sizeof(**ids));
			(*ids)[(*nids)++] = id;
		}
	}
}

static void
set_ids_from_list(clist *l, char ***ids, size_t *nids, size_t max)
{
	clistiter *c;
	char *id;

	for (c = clist_begin(l); c != NULL && *nids < max; c = clist_next(c)) {
		const char *s = clist_content(c);

		if (s == NULL || (id = clean_id(s, strlen(s))) == NULL)
			continue;
		*ids = mp_xrealloc(*ids, (*nids + 1) * sizeof(**ids));
		(*ids)[(*nids)++] = id;
	}
}

static void
free_ids(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* First id of a header, or NULL. */
static char *
first_id_list(clist *l)
{
	char **ids = NULL, *id;
	size_t n = 0;

	set_ids_from_list(l, &ids, &n, 1);
	id = n ? ids[0] : NULL;
	free(ids);
	return id;
}

static char *
first_id_raw(const char *v)
{
	char **ids = NULL, *id;
	size_t n = 0;

	scan_ids(v, &ids, &n, 1);
	id = n ? ids[0] : NULL;
	free(ids);
	return id;
}

/* ---- dates ------------------------------------------------------------ */

static int
days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* A date-time (zone as libetpan gives it: +0200 is 200) to an instant;
 * -1 when out of range. */
static int
civil_to_instant(int y, int mo, int d, int h, int mi, int sec, int z,
    int64_t *t, long *off)
{
	long long az;
	int zh, zm;

	/* RFC 5322 4.3: obsolete two- and three-digit years */
	if (y >= 0 && y < 50)
		y += 2000;
	else if (y >= 50 && y < 1000)
		y += 1900;
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -1;
	/* libetpan reads any number of digits: -z may not fit an int */
	az = z < 0 ? -(long long)z : z;
	if (az / 100 > 23 || az % 100 > 59)
		return -1;
	zh = (int)(az / 100);
	zm = (int)(az % 100);
	*off = (long)(z < 0 ? -1 : 1) * (zh * 3600L + zm * 60L);
	*t = mp_dt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec - *off;
	return 0;
}

static int
date_to_instant(const struct mailimf_date_time *dt, int64_t *t, long *off)
{
	return civil_to_instant(dt->dt_year, dt->dt_month, dt->dt_day,
	    dt->dt_hour, dt->dt_min, dt->dt_sec, dt->dt_zone, t, off);
}

/*
 * libetpan reads the zone "UT" as +0001 and "+02:00" as +0002; the
 * token after the time in the raw value says which was meant.
 */
static void
fix_zone(const char *raw, struct mailimf_date_time *dt)
{
	const char *p = raw, *t;
	size_t n;
	int seen_time = 0;

	while (raw != NULL && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '(')
			break;
		t = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '(')
			p++;
		n = (size_t)(p - t);
		if (n == 0)
			break;
		if (!seen_time) {
			seen_time = isdigit((unsigned char)*t) &&
			    memchr(t, ':', n) != NULL;
			continue;
		}
		if (n == 2 && strncasecmp(t, "UT", 2) == 0)
			dt->dt_zone = 0;
		else if (n == 6 && (*t == '+' || *t == '-') && t[3] == ':' &&
		    isdigit((unsigned char)t[1]) &&
		    isdigit((unsigned char)t[2]) &&
		    isdigit((unsigned char)t[4]) &&
		    isdigit((unsigned char)t[5]))
			dt->dt_zone = (*t == '-' ? -1 : 1) *
			    ((t[1] - '0') * 1000 + (t[2] - '0') * 100 +
			    (t[4] - '0') * 10 + (t[5] - '0'));
		break;
	}
}

/* ---- the raw buffer --------------------------------------------------- */

/* "Name:" with a printable field name (RFC 5322 3.6.8, obsolete WSP). */
static int
header_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 0x20 && p[i] < 0x7f && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

static size_t
line_end(const char *p, size_t n, size_t i)
{
	const char *nl = memchr(p + i, '\n', n - i);

	return nl ? (size_t)(nl - p) : n;
}

/*
 * Offset of the empty line that ends the header block (or n when there
 * is none); *sep says whether one was found.
 */
static size_t
header_end(const char *p, size_t n, int *sep)
{
	size_t i = 0, e;

	*sep = 0;
	while (i < n) {
		e = line_end(p, n, i);
		if (e == i || (e == i + 1 && p[i] == '\r')) {
			*sep = 1;
			return i;
		}
		i = e + 1;
	}
	return n;
}

/* Unfolded value of the first field called name in the block, or NULL. */
static char *
raw_header(const char *p, size_t n, const char *name)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t k = strlen(name), i = 0, e = 0, j = 0;
	char *v;

	while (i < n) {
		e = line_end(p, n, i);
		if (e - i > k && strncasecmp(p + i, name, k) == 0) {
			for (j = i + k; j < e && (p[j] == ' ' || p[j] == '\t');
			    j++)
				;
			if (j < e && p[j] == ':')
				break;
		}
		i = e + 1;
	}
	if (i >= n)
		return NULL;
	i = j + 1;
	for (;;) {
		mp_buf_add(&b, p + i, e - i);
		i = e + 1;
		if (i >= n || (p[i] != ' ' && p[i] != '\t'))
			break;
		e = line_end(p, n, i);
	}
	v = clean_text(mp_buf_str(&b), b.len, 0);
	mp_buf_free(&b);
	return v;
}

/*
 * Headers a mailbox rewrites (mbox status, IMAP keywords, recomputed
 * lengths): left out of the Message-ID hash so that the same message
 * keeps its synthesised id after a mail client marked it read.
 */
static int
volatile_header(const char *p, size_t n)
{
	static const char *const names[] = {
		"status:", "x-status:", "x-keywords:", "x-uid:", "x-imap:",
		"x-imapbase:", "x-mozilla-status:", "x-mozilla-status2:",
		"content-length:", "lines:", "x-original-to:", "delivered-to:"
	};
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = strlen(names[i]);
		if (n >= k && strncasecmp(p, names[i], k) == 0)
			return 1;
	}
	return 0;
}

/* "<hex>@magpie.invalid" from SHA-256 of the header block, CRLF as LF. */
static char *
synth_id(const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct mp_buf b = MP_BUF_INIT;
	unsigned char dg[32];
	char id[64];
	size_t i = 0, e, k;
	int skip = 0;

	while (i < n) {
		e = line_end(p, n, i);
		k = e > i && p[e - 1] == '\r' ? e - 1 : e;
		if (i == k || (p[i] != ' ' && p[i] != '\t'))
			skip = volatile_header(p + i, k - i);
		if (!skip) {
			mp_buf_add(&b, p + i, k - i);
			mp_buf_addc(&b, '\n');
		}
		i = e + 1;
	}
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data ? b.data : "", b.len,
	    dg) != 0)
		memset(dg, 0, sizeof(dg));
	mp_buf_free(&b);
	for (i = 0; i < 16; i++) {
		id[2 * i] = hex[dg[i] >> 4];
		id[2 * i + 1] = hex[dg[i] & 15];
	}
	memcpy(id + 32, "@magpie.invalid", 16);
	return mp_xstrdup(id);
}

/* Mentions of "multipart/" and "message/", case-insensitive: found from
 * each '/', which plain text has few of. */
static size_t
count_types(const char *p, size_t n)
{
	const char *s = p, *e = p + n, *sl;
	size_t c = 0, off;

	while (s < e && (sl = memchr(s, '/', (size_t)(e - s))) != NULL) {
		off = (size_t)(sl - p);
		/* base64 has many '/': look at the letter before first */
		if (off > 0 && (sl[-1] | 0x20) != 't' && (sl[-1] | 0x20) != 'e')
			;
		else if ((off >= 9 && strncasecmp(sl - 9, "multipart", 9) == 0) ||
		    (off >= 7 && strncasecmp(sl - 7, "message", 7) == 0))
			c++;
		s = sl + 1;
	}
	return c;
}

/*
 * The bytes libetpan gets, when they must differ from the input: comment
 * nesting deeper than MAX_COMMENT on any (unfolded) line flattened, and
 * an empty line added after a header block that ends the buffer (the
 * last field would otherwise lack its CRLF and be dropped). NULL when
 * the input can be used as it is.
 */
static char *
working_copy(const char *p, size_t *n, int sep, int *warnings)
{
	char *cp = NULL;
	const char *q = p, *e = p + *n;
	size_t i, len = *n, opens = 0;
	int depth = 0;

	/* no line can nest deeper than there are '(' in all */
	while (opens <= MAX_COMMENT && q < e &&
	    (q = memchr(q, '(', (size_t)(e - q))) != NULL) {
		opens++;
		q++;
	}
	for (i = opens > MAX_COMMENT ? 0 : len; i < len; i++) {
		if (p[i] == '\n' && (i + 1 >= len ||
		    (p[i + 1] != ' ' && p[i + 1] != '\t')))
			depth = 0;
		else if (p[i] == '(' && ++depth > MAX_COMMENT) {
			if (cp == NULL) {
				cp = mp_xmalloc(len + 3);
				memcpy(cp, p, len);
				(*warnings)++;
			}
			cp[i] = ' ';
			depth--;
		} else if (p[i] == ')' && depth > 0) {
			depth--;
		}
	}
	if (!sep) {
		if (cp == NULL) {
			cp = mp_xmalloc(len + 3);
			memcpy(cp, p, len);
		}
		if (len == 0 || cp[len - 1] != '\n')
			cp[len++] = '\n';
		cp[len++] = '\n';
		*n = len;
	}
	return cp;
}

/* ---- body ------------------------------------------------------------- */

/*
 * The MIME tree as the body policy below sees it. The slow path copies
 * it out of libetpan's tree (lib set: decoding is then libetpan's too);
 * the fast path builds it from the raw bytes. Strings are slices into
 * the message or into libetpan's tree (p == NULL: absent), valid while
 * the tree is.
 */
struct slice {
	const char *p;
	size_t n;
};

enum { MAJ_NONE, MAJ_TEXT, MAJ_IMAGE, MAJ_AUDIO, MAJ_VIDEO, MAJ_APP,
	MAJ_EXT, MAJ_COMPOSITE };

struct part {
	int kind;		/* MAILMIME_SINGLE, _MULTIPLE, _MESSAGE */
	int major;		/* MAJ_*; MAJ_NONE: no content type */
	struct slice ext;	/* MAJ_EXT: the type's name */
	struct slice sub;	/* subtype */
	struct slice charset, format, delsp, name;	/* parameters */
	struct slice filename;	/* first Content-Disposition filename */
	int attachment;		/* disposition "attachment" */
	int text;		/* MAILMIME_SINGLE with data in memory */
	int enc, encoded;	/* transfer encoding as libetpan gives it */
	const char *data;	/* the body, transfer-encoded */
	size_t len;
	size_t length;		/* MAILMIME_MESSAGE: size of the entity */
	struct part *kids, *next, *msg;
	struct mailmime *lib;	/* slow path: the libetpan entity */
	int *bail;		/* fast path: set when libetpan must decide */
};

static int
slice_eq(struct slice s, const char *lit, size_t k)
{
	return s.p != NULL && s.n == k && strncasecmp(s.p, lit, k) == 0;
}

/* s equals lit, case-insensitively (a macro: strlen of a literal is a
 * constant, and this runs for every header field) */
#define slice_is(s, lit)	slice_eq((s), (lit), strlen(lit))

static int
is_text(const struct part *pt, const char *sub)
{
	return pt->major == MAJ_TEXT && slice_is(pt->sub, sub);
}

/*
 * Depth-first search for the first inline part of text/<sub>; embedded
 * messages (forwards) only when in_msg is set. A text/plain found first
 * anywhere wins over any text/html, which is how multipart/alternative
 * is resolved in favour of the plain version.
 */
static const struct part *
find_part(const struct part *pt, const char *sub, int in_msg, int depth)
{
	const struct part *r, *c;

	if (pt == NULL || depth > MAX_WALK)
		return NULL;
	switch (pt->kind) {
	case MAILMIME_SINGLE:
		if (is_text(pt, sub) && !pt->attachment && pt->text)
			return pt;
		return NULL;
	case MAILMIME_MULTIPLE:
		for (c = pt->kids; c != NULL; c = c->next)
			if ((r = find_part(c, sub, in_msg, depth + 1)) != NULL)
				return r;
		return NULL;
	case MAILMIME_MESSAGE:
		if (depth > 0 && !in_msg)
			return NULL;
		return find_part(pt->msg, sub, in_msg, depth + 1);
	}
	return NULL;
}

/*
 * Transfer decoding, byte for byte as libetpan's mailmime_part_parse()
 * does it (the slow path's decoder): base64 skips every byte outside the
 * alphabet ('=' too) and flushes a partial group; quoted-printable turns
 * line breaks into CRLF, drops soft breaks and reads "=XY" without
 * checking the digits (a non-digit counts as 0). out has room for
 * n / 4 * 3 + 2 (base64) or 2 * n (quoted-printable) bytes; the length
 * written is returned.
 */
static size_t
b64_decode(const char *p, size_t n, char *out)
{
	unsigned char ch[4] = { 0, 0, 0, 0 }, *o = (unsigned char *)out;
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++) {
		if (!IS(p[i], C_B64))
			continue;
		ch[k++] = (unsigned char)b64val((unsigned char)p[i]);
		if (k == 4) {
			*o++ = (unsigned char)(ch[0] << 2 | ch[1] >> 4);
			*o++ = (unsigned char)(ch[1] << 4 | ch[2] >> 2);
			*o++ = (unsigned char)(ch[2] << 6 | ch[3]);
			memset(ch, 0, sizeof(ch));
			k = 0;
		}
	}
	if (k > 0) {
		*o++ = (unsigned char)(ch[0] << 2 | ch[1] >> 4);
		if (k >= 3)
			*o++ = (unsigned char)(ch[1] << 4 | ch[2] >> 2);
	}
	return (size_t)(o - (unsigned char *)out);
}

static int
qp_digit(int c)
{
	int v = hexval(c);

	return v < 0 ? 0 : v;
}

/* (size_t)-1 for "=X" ending the data, where libetpan also copies the
 * byte after the data: the caller falls back to libetpan then. */
static size_t
qp_decode(const char *p, size_t n, char *out)
{
	size_t i = 0, run, o = 0;

	while (i < n) {
		for (run = i; run < n && p[run] != '=' && p[run] != '\n' &&
		    p[run] != '\r'; run++)
			;
		memcpy(out + o, p + i, run - i);
		o += run - i;
		i = run;
		if (i >= n)
			break;
		if (p[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			i++;
		} else if (p[i] == '\r') {
			/* a CR at the very end is dropped */
			if (i + 1 < n) {
				out[o++] = '\r';
				out[o++] = '\n';
			}
			i += i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
		} else if (i + 1 >= n) {
			out[o++] = '=';
			i++;
		} else if (p[i + 1] == '\n') {
			i += 2;
		} else if (p[i + 1] == '\r') {
			if (i + 2 >= n)
				break;
			i += p[i + 2] == '\n' ? 3 : 2;
		} else if (i + 2 >= n) {
			return (size_t)-1;
		} else {
			out[o++] = (char)(qp_digit((unsigned char)p[i + 1])
			    << 4 | qp_digit((unsigned char)p[i + 2]));
			i += 3;
		}
	}
	return o;
}

/* Bytes of the base64 alphabet (IS C_B64) in p[0..n): what an
 * attachment's size is counted from (every byte of every attachment).
 * Blocks of 64 go through a loop without a table, which the compiler
 * turns into vector compares (listing attachments: 47 -> 12 million
 * instructions for 10,000 messages). */
static size_t
b64_count(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, j, k = 0;

	for (; n - i >= 64; i += 64) {
		unsigned char b = 0;    /* at most 64 */

		for (j = 0; j < 64; j++) {
			unsigned char c = u[i + j];

			b += (unsigned char)((unsigned char)((c | 0x20) - 'a') <
			    26) + ((unsigned char)(c - '0') < 10) + (c == '+') +
			    (c == '/');
		}
		k += b;
	}
	for (; i < n; i++)
		k += IS(u[i], C_B64) != 0;
	return k;
}

/* A part's content transfer-decoded (owned, *len bytes), or NULL. */
static char *
part_bytes(const struct part *pt, size_t *len, int *warnings)
{
	char *dec = NULL, *out;
	size_t idx = 0, dlen = 0;
	int enc;

	if (!pt->text)
		return NULL;
	enc = pt->enc;
	if (!pt->encoded || enc == MAILMIME_MECHANISM_TOKEN ||
	    enc == MAILMIME_MECHANISM_ERROR)
		enc = MAILMIME_MECHANISM_8BIT;
	if (pt->lib == NULL) {
		out = mp_xmalloc(2 * pt->len + 4);
		if (enc == MAILMIME_MECHANISM_BASE64) {
			dlen = b64_decode(pt->data, pt->len, out);
		} else if (enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
			if ((dlen = qp_decode(pt->data, pt->len, out)) ==
			    (size_t)-1) {
				*pt->bail = 1;
				dlen = 0;
			}
		} else {
			memcpy(out, pt->data, pt->len);
			dlen = pt->len;
		}
		if (dlen > MAX_BODY) {
			dlen = MAX_BODY;
			(*warnings)++;
		}
		out[dlen] = '\0';
		*len = dlen;
		return out;
	}
	if (mailmime_part_parse(pt->data, pt->len, &idx, enc, &dec, &dlen) !=
	    MAILIMF_NO_ERROR || dec == NULL) {
		(*warnings)++;
		*len = pt->len < MAX_BODY ? pt->len : MAX_BODY;
		return mp_xstrndup(pt->data, *len);
	}
	if (dlen > MAX_BODY) {
		dlen = MAX_BODY;
		(*warnings)++;
	}
	out = mp_xmalloc(dlen + 1);
	memcpy(out, dec, dlen);
	out[dlen] = '\0';
	mmap_string_unref(dec);
	*len = dlen;
	return out;
}

/* charset="..." of <meta> in the first bytes of an HTML part, or "". */
static void
meta_charset(const char *p, size_t n, char *cs, size_t size)
{
	size_t i, k;

	cs[0] = '\0';
	if (n > 4096)
		n = 4096;
	for (i = 0; i + 8 < n; i++) {
		if (strncasecmp(p + i, "charset=", 8) != 0)
			continue;
		i += 8;
		while (i < n && (p[i] == '"' || p[i] == '\'' || p[i] == ' '))
			i++;
		for (k = 0; i < n && k + 1 < size &&
		    (isalnum((unsigned char)p[i]) || p[i] == '-' ||
		    p[i] == '_' || p[i] == '.' || p[i] == ':'); i++)
			cs[k++] = p[i];
		cs[k] = '\0';
		return;
	}
}

/*
 * RFC 3676 format=flowed: a line ending in a space continues on the next
 * line of the same quote depth; space-stuffing is undone, and with
 * DelSp=yes the trailing space goes too. Quoted lines come out as
 * "> " per level.
 */
static char *
unflow(const char *p, int delsp)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t depth, pdepth = 0, n;
	const char *e;
	int open = 0, flowed;

	while (*p) {
		e = strchr(p, '\n');
		n = e ? (size_t)(e - p) : strlen(p);
		for (depth = 0; depth < n && p[depth] == '>'; depth++)
			;
		if (open && depth != pdepth) {
			mp_buf_addc(&b, '\n');	/* RFC 3676 4.5 */
			open = 0;
		}
		if (!open) {
			size_t k;

			for (k = 0; k < depth; k++)
				mp_buf_addc(&b, '>');
			if (depth > 0)
				mp_buf_addc(&b, ' ');
		}
		p += depth;
		n -= depth;
		if (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		flowed = n > 0 && p[n - 1] == ' ' &&
		    !(n == 3 && memcmp(p, "-- ", 3) == 0);
		mp_buf_add(&b, p, flowed && delsp ? n - 1 : n);
		if (!flowed)
			mp_buf_addc(&b, '\n');
		open = flowed;
		pdepth = depth;
		p += n;
		if (*p == '\n')
			p++;
	}
	if (open)
		mp_buf_addc(&b, '\n');
	return mp_buf_detach(&b);
}

/* One entity's text: transfer-decoded, converted to UTF-8, cleaned,
 * format=flowed re-joined. html: take a <meta> charset when the part
 * declares none. Returns an owned string. */
static char *
part_text(const struct part *pt, int html, int *warnings)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *cs = pt->charset.p;
	size_t csn = pt->charset.n;
	char meta[MAX_CHARSET + 1], *raw, *text, *fl;
	size_t len = 0;

	if ((raw = part_bytes(pt, &len, warnings)) == NULL)
		return mp_xstrdup("");
	if (html && (cs == NULL || csn == 0)) {
		meta_charset(raw, len, meta, sizeof(meta));
		if (meta[0] != '\0') {
			cs = meta;
			csn = strlen(meta);
		}
	}
	add_converted(&b, raw, len, cs, csn, warnings);
	free(raw);
	text = clean_text(mp_buf_str(&b), b.len, 1);
	mp_buf_free(&b);
	if (!html && slice_is(pt->format, "flowed")) {
		fl = unflow(text, slice_is(pt->delsp, "yes"));
		free(text);
		text = fl;
	}
	return text;
}

/* ---- crude HTML to text ----------------------------------------------- */

static int
tag_is(const char *name, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(name, *set) == 0)
			return 1;
	return 0;
}

/* &name; or &#N; at p (p[0] == '&'); code point or 0, *len consumed. */
static uint32_t
html_entity(const char *p, size_t n, size_t *len)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' }, { "nbsp;", ' ' },
		{ "ndash;", 0x2013 }, { "mdash;", 0x2014 },
		{ "hellip;", 0x2026 }, { "rsquo;", 0x2019 },
		{ "lsquo;", 0x2018 }, { "rdquo;", 0x201d },
		{ "ldquo;", 0x201c }, { "sbquo;", 0x201a },
		{ "bdquo;", 0x201e }, { "euro;", 0x20ac }, { "copy;", 0xa9 },
		{ "reg;", 0xae }, { "trade;", 0x2122 }, { "bull;", 0x2022 },
		{ "middot;", 0xb7 }, { "laquo;", 0xab }, { "raquo;", 0xbb },
		{ "deg;", 0xb0 }, { "plusmn;", 0xb1 }, { "times;", 0xd7 },
		{ "divide;", 0xf7 }, { "frac12;", 0xbd }, { "sect;", 0xa7 },
		{ "para;", 0xb6 }, { "pound;", 0xa3 }, { "yen;", 0xa5 },
		{ "cent;", 0xa2 }, { "iexcl;", 0xa1 }, { "iquest;", 0xbf },
		{ "shy;", 0xad }, { "zwnj;", 0x200c }, { "zwj;", 0x200d },
		{ "thinsp;", 0x2009 }, { "ensp;", 0x2002 },
		{ "emsp;", 0x2003 }, { "larr;", 0x2190 },
		{ "rarr;", 0x2192 }, { "szlig;", 0xdf },
		{ "Agrave;", 0xc0 }, { "Aacute;", 0xc1 }, { "Acirc;", 0xc2 },
		{ "Atilde;", 0xc3 }, { "Auml;", 0xc4 }, { "Aring;", 0xc5 },
		{ "AElig;", 0xc6 }, { "Ccedil;", 0xc7 }, { "Egrave;", 0xc8 },
		{ "Eacute;", 0xc9 }, { "Ecirc;", 0xca }, { "Euml;", 0xcb },
		{ "Igrave;", 0xcc }, { "Iacute;", 0xcd }, { "Icirc;", 0xce },
		{ "Iuml;", 0xcf }, { "Ntilde;", 0xd1 }, { "Ograve;", 0xd2 },
		{ "Oacute;", 0xd3 }, { "Ocirc;", 0xd4 }, { "Otilde;", 0xd5 },
		{ "Ouml;", 0xd6 }, { "Oslash;", 0xd8 }, { "Ugrave;", 0xd9 },
		{ "Uacute;", 0xda }, { "Ucirc;", 0xdb }, { "Uuml;", 0xdc },
		{ "Yacute;", 0xdd }, { "agrave;", 0xe0 }, { "aacute;", 0xe1 },
		{ "acirc;", 0xe2 }, { "atilde;", 0xe3 }, { "auml;", 0xe4 },
		{ "aring;", 0xe5 }, { "aelig;", 0xe6 }, { "ccedil;", 0xe7 },
		{ "egrave;", 0xe8 }, { "eacute;", 0xe9 }, { "ecirc;", 0xea },
		{ "euml;", 0xeb }, { "igrave;", 0xec }, { "iacute;", 0xed },
		{ "icirc;", 0xee }, { "iuml;", 0xef }, { "ntilde;", 0xf1 },
		{ "ograve;", 0xf2 }, { "oacute;", 0xf3 }, { "ocirc;", 0xf4 },
		{ "otilde;", 0xf5 }, { "ouml;", 0xf6 }, { "oslash;", 0xf8 },
		{ "ugrave;", 0xf9 }, { "uacute;", 0xfa }, { "ucirc;", 0xfb },
		{ "uuml;", 0xfc }, { "yacute;", 0xfd }, { "yuml;", 0xff }
	};
	uint32_t cp = 0;
	size_t i, k;
	int base = 10, digits = 0;

	if (n > 1 && p[1] == '#') {
		i = 2;
		if (i < n && (p[i] == 'x' || p[i] == 'X')) {
			base = 16;
			i++;
		}
		for (; i < n && digits < 8; i++, digits++) {
			int v;

			if (isdigit((unsigned char)p[i]))
				v = p[i] - '0';
			else if (base == 16 && isxdigit((unsigned char)p[i]))
				v = (p[i] | 0x20) - 'a' + 10;
			else
				break;
			cp = cp * (uint32_t)base + (uint32_t)v;
		}
		if (digits == 0 || i >= n || p[i] != ';')
			return 0;
		*len = i + 1;
		if (cp >= 0x80 && cp < 0xa0)
			cp = cp1252((unsigned char)cp);	/* HTML5 13.2.5.80 */
		return cp == 0 || cp > 0x10ffff ? 0xfffd : cp;
	}
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		k = strlen(ents[i].name);
		if (n > k && strncmp(p + 1, ents[i].name, k) == 0) {
			*len = k + 1;
			return ents[i].cp;
		}
	}
	return 0;
}

/* Finds "</name" case-insensitively from i; n when absent. */
static size_t
find_close(const char *p, size_t n, size_t i, const char *name)
{
	size_t k = strlen(name);

	for (; i + k + 2 <= n; i++)
		if (p[i] == '<' && p[i + 1] == '/' &&
		    strncasecmp(p + i + 2, name, k) == 0)
			return i;
	return n;
}

/* The value of attribute name in the tag text p[0..n), or NULL. */
static char *
tag_attr(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name), i, s;
	char q;

	for (i = 1; i + k < n; i++) {
		if (!isspace((unsigned char)p[i - 1]) ||
		    strncasecmp(p + i, name, k) != 0)
			continue;
		s = i + k;
		while (s < n && isspace((unsigned char)p[s]))
			s++;
		if (s >= n || p[s] != '=')
			continue;
		s++;
		while (s < n && isspace((unsigned char)p[s]))
			s++;
		if (s < n && (p[s] == '"' || p[s] == '\'')) {
			q = p[s++];
			for (i = s; i < n && p[i] != q; i++)
				;
		} else {
			for (i = s; i < n && !isspace((unsigned char)p[i]) &&
			    p[i] != '>'; i++)
				;
		}
		return mp_xstrndup(p + s, i - s);
	}
	return NULL;
}

/* Entities in an attribute value (URLs carry &amp;), in place. */
static void
decode_entities(char *s)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t i = 0, n = strlen(s), k;
	uint32_t cp;

	while (i < n) {
		if (s[i] == '&' && (cp = html_entity(s + i, n - i, &k)) != 0) {
			put_cp(&b, cp);
			i += k;
		} else {
			mp_buf_addc(&b, s[i++]);
		}
	}
	memcpy(s, mp_buf_str(&b), b.len + 1);
	mp_buf_free(&b);
}

#define MAX_LINKS 500

/*
 * HTML made readable text: tags dropped, block elements as line breaks,
 * list items as "- ", links as "text [n]" with the URLs listed at the
 * end, entities decoded, white space folded as a browser would, script,
 * style and head dropped. The body only needs to be readable text for
 * the digest and the extractor: this is no layout engine.
 */
static char *
html_to_text(const char *p, size_t n)
{
	static const char *const breaks[] = {
		"br", "div", "tr", "title", "dt", "dd", "section", "article",
		"header", "footer", "address", "center", "form", "fieldset",
		NULL
	};
	static const char *const paragraphs[] = {
		"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl",
		"table", "blockquote", "pre", "hr", NULL
	};
	static const char *const skipped[] = { "script", "style", "head",
		"template", "noscript", NULL };
	struct mp_buf b = MP_BUF_INIT, urls = MP_BUF_INIT;
	char name[16], *out, *w, *r, *href = NULL;
	size_t i = 0, k, j, gt = 0, link_start = 0;
	int sp = 0, nl = 0, nlinks = 0, closing;

	while (i < n) {
		if (p[i] == '<' && gt <= i) {
			const char *g = memchr(p + i, '>', n - i);

			gt = g ? (size_t)(g - p) : n;
		}
		if (p[i] == '<' && i + 1 < n && gt < n &&
		    (isalpha((unsigned char)p[i + 1]) || p[i + 1] == '/' ||
		    p[i + 1] == '!')) {
			if (n - i >= 4 && strncmp(p + i, "<!--", 4) == 0) {
				const char *e = NULL;

				for (j = i + 4; j + 3 <= n && !e; j++)
					if (strncmp(p + j, "-->", 3) == 0)
						e = p + j;
				i = e ? (size_t)(e - p) + 3 : n;
				continue;
			}
			closing = p[i + 1] == '/';
			j = i + 1 + closing;
			for (k = 0; j < n && k < sizeof(name) - 1 &&
			    isalnum((unsigned char)p[j]); j++)
				name[k++] = (char)tolower((unsigned char)p[j]);
			name[k] = '\0';
			if (!closing && tag_is(name, skipped)) {
				j = find_close(p, n, gt, name);
				while (j < n && p[j] != '>')
					j++;
			} else {
				j = gt;
			}
			if (tag_is(name, paragraphs)) {
				mp_buf_adds(&b, "\n\n");
				nl = 1;
				sp = 0;
			} else if (tag_is(name, breaks) ||
			    (strcmp(name, "li") == 0 && !closing)) {
				mp_buf_addc(&b, '\n');
				nl = 1;
				sp = 0;
			}
			if (!closing && strcmp(name, "li") == 0) {
				mp_buf_adds(&b, "- ");
				nl = 0;
			} else if ((strcmp(name, "td") == 0 ||
			    strcmp(name, "th") == 0) && !closing) {
				sp = 1;
			} else if (strcmp(name, "a") == 0 && !closing) {
				free(href);
				href = tag_attr(p + i, gt - i, "href");
				if (href != NULL)
					decode_entities(href);
				link_start = b.len;
			} else if (strcmp(name, "a") == 0 && href != NULL) {
				/* a link whose text is its address needs no
				 * note; nor do anchors and scripts */
				if (*href != '\0' && *href != '#' &&
				    strncasecmp(href, "javascript:", 11) &&
				    nlinks < MAX_LINKS &&
				    strcmp(mp_buf_str(&b) + link_start +
				    strspn(mp_buf_str(&b) + link_start, " \n"),
				    href) != 0 && b.len > link_start) {
					nlinks++;
					mp_buf_printf(&b, " [%d]", nlinks);
					mp_buf_printf(&urls, "[%d] %s\n",
					    nlinks, href);
				}
				free(href);
				href = NULL;
			}
			i = j < n ? j + 1 : n;
			continue;
		}
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
		    p[i] == '\r') {
			sp = 1;
			i++;
			continue;
		}
		if (sp && !nl && b.len > 0 && b.data[b.len - 1] != ' ')
			mp_buf_addc(&b, ' ');
		sp = nl = 0;
		if (p[i] == '&') {
			uint32_t cp = html_entity(p + i, n - i, &k);

			if (cp != 0) {
				put_cp(&b, cp);
				i += k;
				continue;
			}
		}
		mp_buf_addc(&b, p[i++]);
	}
	free(href);
	if (urls.len > 0) {
		mp_buf_adds(&b, "\n\n");
		mp_buf_add(&b, urls.data, urls.len);
	}
	mp_buf_free(&urls);
	/* trim each line, at most one empty line in a row, none at ends */
	out = mp_buf_detach(&b);
	w = out;
	r = out;
	nl = 2;
	while (*r) {
		char *e = strchr(r, '\n'), *s = r, *t;

		if (e == NULL)
			e = r + strlen(r);
		t = e;
		while (s < t && *s == ' ')
			s++;
		while (t > s && t[-1] == ' ')
			t--;
		if (s == t) {
			nl++;
		} else {
			if (w != out)
				*w++ = '\n';
			if (w != out && nl >= 1)
				*w++ = '\n';
			memmove(w, s, (size_t)(t - s));
			w += t - s;
			nl = 0;
		}
		r = *e ? e + 1 : e;
	}
	*w = '\0';
	return out;
}

/* The decoded size of a part; base64 is counted, not decoded. */
static size_t
part_size(const struct part *pt, int *warnings)
{
	size_t k, len = 0;
	char *raw;

	if (pt->text && pt->encoded &&
	    pt->enc == MAILMIME_MECHANISM_BASE64) {
		k = b64_count(pt->data, pt->len);
		return k / 4 * 3 + (k % 4 > 1 ? k % 4 - 1 : 0);
	}
	raw = part_bytes(pt, &len, warnings);
	free(raw);
	return len;
}

/* "12 KB": sizes as a mail client shows them. */
static void
add_size(struct mp_buf *b, size_t n)
{
	if (n == 1)
		mp_buf_adds(b, "1 byte");
	else if (n < 1024)
		mp_buf_printf(b, "%zu bytes", n);
	else if (n < (size_t)1024 * 1024)
		mp_buf_printf(b, "%zu KB", (n + 1023) / 1024);
	else
		mp_buf_printf(b, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* The file name of a part: Content-Disposition filename, else the
 * Content-Type name parameter; p == NULL when none. */
static struct slice
part_filename(const struct part *pt)
{
	return pt->filename.p != NULL ? pt->filename : pt->name;
}

static void
type_name(const struct part *pt, struct mp_buf *b)
{
	static const char *const discrete[] = { "", "text", "image", "audio",
		"video", "application" };

	if (pt->major >= MAJ_TEXT && pt->major <= MAJ_APP)
		mp_buf_adds(b, discrete[pt->major]);
	else if (pt->major == MAJ_EXT && pt->ext.p != NULL)
		mp_buf_add(b, pt->ext.p, pt->ext.n);
	else if (pt->major == MAJ_COMPOSITE)
		mp_buf_adds(b, "message");
	else
		mp_buf_adds(b, "application");
	mp_buf_addc(b, '/');
	if (pt->major != MAJ_NONE && pt->sub.p != NULL)
		mp_buf_add(b, pt->sub.p, pt->sub.n);
	else
		mp_buf_adds(b, "octet-stream");
}

static void
add_name(struct mp_buf *b, struct slice fn, int *warnings)
{
	char *dec = decode_phrase_n(fn.p, fn.n, warnings);

	mp_buf_adds(b, dec);
	free(dec);
}

/*
 * Every part but the body that a reader would see as an attachment:
 * marked so, or named, or not text. Embedded messages are listed, not
 * entered.
 */
static void
list_attachments(const struct part *pt, const struct part *body,
    struct mp_buf *b, int depth, int *warnings)
{
	struct mp_buf name = MP_BUF_INIT;
	const struct part *c;
	struct slice fn;
	size_t len = 0;

	if (pt == NULL || depth > MAX_WALK || b->len > 64 * 1024)
		return;
	switch (pt->kind) {
	case MAILMIME_MULTIPLE:
		for (c = pt->kids; c != NULL; c = c->next)
			list_attachments(c, body, b, depth + 1, warnings);
		return;
	case MAILMIME_MESSAGE:
		if (depth == 0) {
			list_attachments(pt->msg, body, b, depth + 1,
			    warnings);
			return;
		}
		fn = part_filename(pt);
		if (fn.p != NULL)
			add_name(b, fn, warnings);
		else
			mp_buf_adds(b, "forwarded message");
		mp_buf_adds(b, " (");
		add_size(b, pt->length);
		mp_buf_adds(b, ")\n");
		return;
	case MAILMIME_SINGLE:
		break;
	default:
		return;
	}
	if (pt == body)
		return;
	fn = part_filename(pt);
	if (fn.p == NULL && !pt->attachment &&
	    (pt->major == MAJ_NONE || pt->major == MAJ_TEXT))
		return;
	if (fn.p != NULL && fn.n > 0 && *fn.p != '\0') {
		add_name(&name, fn, warnings);
	} else {
		mp_buf_adds(&name, "unnamed ");
		type_name(pt, &name);
	}
	len = part_size(pt, warnings);
	mp_buf_add(b, name.data, name.len);
	mp_buf_adds(b, " (");
	add_size(b, len);
	mp_buf_adds(b, ")\n");
	mp_buf_free(&name);
}

/*
 * The body: the first inline text/plain, else text/html made text;
 * forwarded messages are searched only when the message itself has
 * neither. *attachments lists the other parts.
 */
static char *
extract_body(const struct part *root, char **attachments, int *warnings)
{
	struct mp_buf att = MP_BUF_INIT;
	const struct part *part;
	char *text, *out;
	int html = 0;

	if ((part = find_part(root, "plain", 0, 0)) == NULL &&
	    (part = find_part(root, "html", 0, 0)) != NULL)
		html = 1;
	if (part == NULL && (part = find_part(root, "plain", 1, 0)) == NULL &&
	    (part = find_part(root, "html", 1, 0)) != NULL)
		html = 1;
	list_attachments(root, part, &att, 0, warnings);
	*attachments = clean_text(mp_buf_str(&att), att.len, 1);
	mp_buf_free(&att);
	if (part == NULL)
		return mp_xstrdup("");
	text = part_text(part, html, warnings);
	if (!html)
		return text;
	out = html_to_text(text, strlen(text));
	free(text);
	return out;
}

/* ---- libetpan's tree -------------------------------------------------- */

static struct slice
str_slice(const char *s)
{
	struct slice r = { s, s != NULL ? strlen(s) : 0 };

	return r;
}

static struct slice
ct_param(struct mailmime_content *ct, const char *name)
{
	return str_slice(ct != NULL ?
	    mailmime_content_param_get(ct, (char *)name) : NULL);
}

static void
lib_fields(struct part *pt, const struct mailmime *mm)
{
	clistiter *c, *d;

	if (mm->mm_mime_fields == NULL)
		return;
	for (c = clist_begin(mm->mm_mime_fields->fld_list); c != NULL;
	    c = clist_next(c)) {
		struct mailmime_field *f = clist_content(c);
		struct mailmime_disposition *dsp;

		if (f->fld_type != MAILMIME_FIELD_DISPOSITION ||
		    (dsp = f->fld_data.fld_disposition) == NULL)
			continue;
		if (dsp->dsp_type != NULL && dsp->dsp_type->dsp_type ==
		    MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			pt->attachment = 1;
		for (d = clist_begin(dsp->dsp_parms); d != NULL &&
		    pt->filename.p == NULL; d = clist_next(d)) {
			struct mailmime_disposition_parm *dp =
			    clist_content(d);

			if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
				pt->filename = str_slice(
				    dp->pa_data.pa_filename);
		}
	}
}

/* libetpan's tree as struct part, down to the depth the walks go;
 * freed with lib_free(). */
static struct part *
lib_tree(struct mailmime *mm, int depth)
{
	struct mailmime_content *ct;
	struct mailmime_data *d;
	struct part *pt, **tail;
	clistiter *c;

	if (mm == NULL || depth > MAX_WALK)
		return NULL;
	pt = mp_xcalloc(1, sizeof(*pt));
	pt->lib = mm;
	pt->kind = mm->mm_type;
	pt->length = mm->mm_length;
	if ((ct = mm->mm_content_type) != NULL) {
		const struct mailmime_type *t = ct->ct_type;

		pt->major = MAJ_APP;
		if (t != NULL && t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
		    t->tp_data.tp_discrete_type != NULL) {
			int dt = t->tp_data.tp_discrete_type->dt_type;

			if (dt >= MAILMIME_DISCRETE_TYPE_TEXT &&
			    dt <= MAILMIME_DISCRETE_TYPE_APPLICATION)
				pt->major = MAJ_TEXT + (dt -
				    MAILMIME_DISCRETE_TYPE_TEXT);
			else if (t->tp_data.tp_discrete_type->dt_extension)
				pt->major = MAJ_EXT;
			pt->ext = str_slice(
			    t->tp_data.tp_discrete_type->dt_extension);
		} else if (t != NULL) {
			pt->major = MAJ_COMPOSITE;
		}
		pt->sub = str_slice(ct->ct_subtype);
		pt->charset = ct_param(ct, "charset");
		pt->format = ct_param(ct, "format");
		pt->delsp = ct_param(ct, "delsp");
		pt->name = ct_param(ct, "name");
	}
	lib_fields(pt, mm);
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		d = mm->mm_data.mm_single;
		if (d != NULL && d->dt_type == MAILMIME_DATA_TEXT) {
			pt->text = 1;
			pt->enc = d->dt_encoding;
			pt->encoded = d->dt_encoded;
			pt->data = d->dt_data.dt_text.dt_data;
			pt->len = d->dt_data.dt_text.dt_length;
		}
		break;
	case MAILMIME_MULTIPLE:
		tail = &pt->kids;
		for (c = clist_begin(mm->mm_data.mm_multipart.mm_mp_list);
		    c != NULL; c = clist_next(c))
			if ((*tail = lib_tree(clist_content(c),
			    depth + 1)) != NULL)
				tail = &(*tail)->next;
		break;
	case MAILMIME_MESSAGE:
		pt->msg = lib_tree(mm->mm_data.mm_message.mm_msg_mime,
		    depth + 1);
		break;
	}
	return pt;
}

static void
lib_free(struct part *pt)
{
	struct part *c, *n;

	if (pt == NULL)
		return;
	for (c = pt->kids; c != NULL; c = n) {
		n = c->next;
		lib_free(c);
	}
	lib_free(pt->msg);
	free(pt);
}

/* ---- header fields ---------------------------------------------------- */

/* "user at example.org", as pipermail archives obfuscate addresses. */
static char *
clean_addr_n(const char *a, size_t n)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *at;
	char *s;

	if (memchr(a, '@', n) != NULL)
		return clean_id(a, n);
	mp_buf_add(&b, a, n);
	at = strstr(mp_buf_str(&b), " at ");
	if (memchr(a, '@', n) == NULL && at != NULL && at != b.data) {
		size_t k = (size_t)(at - b.data);

		memmove(b.data + k + 1, b.data + k + 4, b.len - k - 3);
		b.data[k] = '@';
		b.len -= 3;
	}
	s = clean_id(mp_buf_str(&b), b.len);
	mp_buf_free(&b);
	return s;
}

static char *
clean_addr(const char *a)
{
	return clean_addr_n(a, strlen(a));
}

/*
 * "addr (Full Name)", the old form pipermail still writes: libetpan drops
 * the comment, so the name is taken from the raw value.
 */
static char *
comment_name(const char *raw, int *warnings)
{
	const char *o, *c;
	char *in, *name;

	if (raw == NULL || (c = strrchr(raw, ')')) == NULL)
		return NULL;
	for (o = c; o > raw && o[-1] != '(' && o[-1] != '>'; o--)
		;
	if (o == raw || o[-1] != '(' || o == c)
		return NULL;
	in = mp_xstrndup(o, (size_t)(c - o));
	name = decode_phrase(in, warnings);
	free(in);
	return name;
}

/* A From value libetpan could not parse: "Name <addr>" or a bare addr. */
static void
from_raw(struct mp_addr *a, const char *v, int *warnings)
{
	const char *lt = strrchr(v, '<'), *gt;
	char *name, *q;

	if (lt != NULL) {
		gt = strchr(lt, '>');
		a->addr = clean_addr_n(lt + 1, gt ? (size_t)(gt - lt - 1) :
		    strlen(lt + 1));
		name = mp_xstrndup(v, (size_t)(lt - v));
		for (q = name; *q; q++)
			if (*q == '"')
				*q = ' ';
		a->name = decode_phrase(name, warnings);
		free(name);
	} else {
		const char *s = v, *e = strchr(v, '('), *at, *t;

		if (e == NULL)
			e = v + strlen(v);
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if ((at = memchr(s, '@', (size_t)(e - s))) != NULL) {
			for (t = at; t > s && !isspace((unsigned char)t[-1]);
			    t--)
				;
			s = t;
			for (t = at; t < e && !isspace((unsigned char)*t); t++)
				;
			e = t;
		}
		a->addr = clean_addr_n(s, (size_t)(e - s));
		a->name = comment_name(v, warnings);
	}
	if (a->addr == NULL)
		a->addr = mp_xstrdup("");
}

/* The sender's name: the display name (NULL: none), else the comment of
 * the raw value ("addr (Name)"). */
static void
from_name(struct mp_msg *m, const char *disp, size_t n, const char *raw,
    int *warnings)
{
	if (disp != NULL) {
		free(m->from.name);
		m->from.name = decode_phrase_n(disp, n, warnings);
	}
	if (m->from.name == NULL || *m->from.name == '\0') {
		free(m->from.name);
		m->from.name = comment_name(raw, warnings);
	}
}

static void
set_from(struct mp_msg *m, struct mailimf_mailbox_list *l, const char *raw,
    int *warnings)
{
	struct mailimf_mailbox *mb;
	const char *a;

	if (l == NULL || clist_begin(l->mb_list) == NULL)
		return;
	mb = clist_content(clist_begin(l->mb_list));
	a = mb->mb_addr_spec;
	/*
	 * libetpan reads "user at host" and an unclosed "Name <addr" as an
	 * obsolete local part without its spaces: go back to the raw value.
	 */
	if (raw != NULL && (strchr(a, '<') != NULL || strchr(a, '@') == NULL)) {
		if (strchr(a, '<') != NULL)
			(*warnings)++;
		from_raw(&m->from, raw, warnings);
	} else {
		m->from.addr = clean_addr(a);
	}
	if (m->from.addr == NULL)
		m->from.addr = mp_xstrdup("");
	from_name(m, mb->mb_display_name, mb->mb_display_name != NULL ?
	    strlen(mb->mb_display_name) : 0, raw, warnings);
}

/* Recipient lists are bounded: a To of thousands of encoded words is a
 * known attack on parsers (mimekit's stack-overflow.txt). */
#define MAX_RCPT_LEN (16 * 1024)

static void
add_rcpt(struct mp_buf *b, const char *name, const char *addr)
{
	int quote = strpbrk(name, ",;<>\"") != NULL;
	const char *q;

	if (b->len >= MAX_RCPT_LEN || (*name == '\0' && *addr == '\0'))
		return;
	if (b->len > 0)
		mp_buf_adds(b, ", ");
	if (*name != '\0') {
		if (quote) {
			mp_buf_addc(b, '"');
			for (q = name; *q; q++) {
				if (*q == '"' || *q == '\\')
					mp_buf_addc(b, '\\');
				mp_buf_addc(b, *q);
			}
			mp_buf_addc(b, '"');
		} else {
			mp_buf_adds(b, name);
		}
		if (*addr != '\0')
			mp_buf_printf(b, " <%s>", addr);
	} else {
		mp_buf_adds(b, addr);
	}
}

/* A mailbox: display name disp[0..dn) (NULL: none), addr[0..an) (NULL:
 * none). */
static void
add_mailbox_n(struct mp_buf *b, const char *disp, size_t dn,
    const char *addr, size_t an, int *warnings)
{
	char *name, *a;

	if (b->len >= MAX_RCPT_LEN)
		return;
	name = disp != NULL ? decode_phrase_n(disp, dn, warnings) :
	    mp_xstrdup("");
	a = addr != NULL ? clean_addr_n(addr, an) : NULL;
	add_rcpt(b, name, a != NULL ? a : "");
	free(name);
	free(a);
}

static void
add_mailbox(struct mp_buf *b, const struct mailimf_mailbox *mb,
    int *warnings)
{
	const char *d, *a;

	if (mb == NULL)
		return;
	d = mb->mb_display_name;
	a = mb->mb_addr_spec;
	add_mailbox_n(b, d, d != NULL ? strlen(d) : 0, a,
	    a != NULL ? strlen(a) : 0, warnings);
}

/* Every mailbox of an address list, groups flattened. */
static void
add_addresses(char **dst, const struct mailimf_address_list *l,
    int *warnings)
{
	struct mp_buf b = MP_BUF_INIT;
	clistiter *c, *d;

	if (*dst != NULL)
		mp_buf_adds(&b, *dst);
	for (c = l != NULL ? clist_begin(l->ad_list) : NULL; c != NULL;
	    c = clist_next(c)) {
		const struct mailimf_address *a = clist_content(c);

		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX) {
			add_mailbox(&b, a->ad_data.ad_mailbox, warnings);
		} else if (a->ad_data.ad_group != NULL &&
		    a->ad_data.ad_group->grp_mb_list != NULL) {
			for (d = clist_begin(a->ad_data.ad_group->grp_mb_list->
			    mb_list); d != NULL; d = clist_next(d))
				add_mailbox(&b, clist_content(d), warnings);
		}
	}
	free(*dst);
	*dst = mp_buf_detach(&b);
}

/* A To/Cc libetpan could not parse: the decoded text as it is. */
static void
add_raw_rcpt(char **dst, const char *v, int *warnings)
{
	struct mp_buf b = MP_BUF_INIT;
	char *dec;

	if (*dst != NULL)
		mp_buf_adds(&b, *dst);
	if (strlen(v) > MAX_RCPT_LEN) {
		(*warnings)++;
		dec = mp_xstrndup(v, MAX_RCPT_LEN);
	} else {
		dec = mp_xstrdup(v);
	}
	{
		char *d = decode_phrase(dec, warnings);

		if (*d != '\0' && b.len < MAX_RCPT_LEN) {
			if (b.len > 0)
				mp_buf_adds(&b, ", ");
			mp_buf_adds(&b, d);
		}
		free(d);
	}
	free(dec);
	free(*dst);
	*dst = mp_buf_detach(&b);
}

/* The part of a List-Id inside <>, or a bare id (RFC 2919 2). */
static char *
list_id_n(const char *v, size_t n)
{
	const char *lt = NULL, *gt = NULL, *s = v, *e = v + n, *q;

	for (q = v; q < e; q++)
		if (*q == '<')
			lt = q;
	if (lt != NULL)
		gt = memchr(lt, '>', (size_t)(e - lt));
	if (lt != NULL && gt != NULL)
		return clean_id(lt + 1, (size_t)(gt - lt - 1));
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s || memchr(s, ' ', (size_t)(e - s)) != NULL ||
	    memchr(s, '\t', (size_t)(e - s)) != NULL)
		return NULL;
	return clean_id(s, (size_t)(e - s));
}

static char *
list_id_raw(const char *v)
{
	return list_id_n(v, strlen(v));
}

struct hdrstate {
	int has_mid, has_irt, has_refs, has_from, has_subject, has_date;
	int date_bad;
};

static void
take_optional(struct mp_msg *m, struct hdrstate *h,
    const struct mailimf_optional_field *of, int *warnings)
{
	const char *n = of->fld_name, *v = of->fld_value;

	if (n == NULL || v == NULL)
		return;
	if (strcasecmp(n, "List-Id") == 0) {
		if (m->list_id == NULL)
			m->list_id = list_id_raw(v);
	} else if (strcasecmp(n, "To") == 0) {
		(*warnings)++;
		add_raw_rcpt(&m->to, v, warnings);
	} else if (strcasecmp(n, "Cc") == 0) {
		(*warnings)++;
		add_raw_rcpt(&m->cc, v, warnings);
	} else if (strcasecmp(n, "Message-ID") == 0 && !h->has_mid) {
		h->has_mid = 1;
		(*warnings)++;
		m->message_id = first_id_raw(v);
	} else if (strcasecmp(n, "In-Reply-To") == 0 && !h->has_irt) {
		h->has_irt = 1;
		(*warnings)++;
		m->in_reply_to = first_id_raw(v);
	} else if (strcasecmp(n, "References") == 0 && !h->has_refs) {
		h->has_refs = 1;
		(*warnings)++;
		scan_ids(v, &m->refs, &m->nrefs, MAX_REFS);
	} else if (strcasecmp(n, "From") == 0 && !h->has_from) {
		h->has_from = 1;
		(*warnings)++;
		from_raw(&m->from, v, warnings);
	} else if (strcasecmp(n, "Subject") == 0 && !h->has_subject) {
		h->has_subject = 1;
		m->subject = decode_phrase(v, warnings);
	} else if (strcasecmp(n, "Date") == 0 && !h->has_date) {
		h->has_date = 1;
		h->date_bad = 1;
	}
}

/* Raw values of the fields where libetpan loses information. */
struct rawhdr {
	char *from;
	char *date;
};

static void
take_fields(struct mp_msg *m, struct mailimf_fields *f,
    const struct rawhdr *rh, int *warnings, int *date_ok)
{
	struct hdrstate h;
	clistiter *c;

	memset(&h, 0, sizeof(h));
	*date_ok = 0;
	for (c = clist_begin(f->fld_list); c != NULL; c = clist_next(c)) {
		struct mailimf_field *fl = clist_content(c);

		switch (fl->fld_type) {
		case MAILIMF_FIELD_MESSAGE_ID:
			if (h.has_mid++)
				break;
			m->message_id = clean_id(
			    fl->fld_data.fld_message_id->mid_value,
			    strlen(fl->fld_data.fld_message_id->mid_value));
			break;
		case MAILIMF_FIELD_IN_REPLY_TO:
			if (h.has_irt++)
				break;
			m->in_reply_to = first_id_list(
			    fl->fld_data.fld_in_reply_to->mid_list);
			break;
		case MAILIMF_FIELD_REFERENCES:
			if (h.has_refs++)
				break;
			set_ids_from_list(fl->fld_data.fld_references->mid_list,
			    &m->refs, &m->nrefs, MAX_REFS);
			break;
		case MAILIMF_FIELD_FROM:
			if (h.has_from++)
				break;
			set_from(m, fl->fld_data.fld_from->frm_mb_list,
			    rh->from, warnings);
			break;
		case MAILIMF_FIELD_TO:
			add_addresses(&m->to, fl->fld_data.fld_to->to_addr_list,
			    warnings);
			break;
		case MAILIMF_FIELD_CC:
			add_addresses(&m->cc, fl->fld_data.fld_cc->cc_addr_list,
			    warnings);
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (h.has_subject++)
				break;
			m->subject = decode_phrase(
			    fl->fld_data.fld_subject->sbj_value, warnings);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (h.has_date++)
				break;
			fix_zone(rh->date, fl->fld_data.fld_orig_date->
			    dt_date_time);
			if (date_to_instant(
			    fl->fld_data.fld_orig_date->dt_date_time, &m->date,
			    &m->date_off) == 0)
				*date_ok = 1;
			else
				h.date_bad = 1;
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			take_optional(m, &h, fl->fld_data.fld_optional_field,
			    warnings);
			break;
		default:
			break;
		}
	}
	if (h.date_bad)
		(*warnings)++;
	if (!h.has_from)
		(*warnings)++;
}

/* ---- own / quoted / signature ----------------------------------------- */

struct line {
	const char *p;
	size_t n;
};

static int
blank(const struct line *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->p[i] != ' ' && l->p[i] != '\t')
			return 0;
	return 1;
}

static int
quote_line(const struct line *l)
{
	size_t i = 0;

	while (i < l->n && i < 3 && l->p[i] == ' ')
		i++;
	return i < l->n && l->p[i] == '>';
}

static int
sig_delim(const struct line *l)
{
	return (l->n == 3 && memcmp(l->p, "-- ", 3) == 0) ||
	    (l->n == 2 && memcmp(l->p, "--", 2) == 0);
}

/* A run of only underscores (trailing blanks allowed) of at least min. */
static int
underscores(const struct line *l, size_t min)
{
	size_t i = 0;

	while (i < l->n && l->p[i] == '_')
		i++;
	if (i < min)
		return 0;
	while (i < l->n && (l->p[i] == ' ' || l->p[i] == '\t'))
		i++;
	return i == l->n;
}

/* Mailman's footer separator: a line of 47 underscores. */
static int
footer_line(const struct line *l)
{
	return underscores(l, 40);
}

/* Line without its leading and trailing blanks. */
static struct line
trimmed(const struct line *l)
{
	struct line t = *l;

	while (t.n > 0 && (*t.p == ' ' || *t.p == '\t' || *t.p == '*')) {
		t.p++;
		t.n--;
	}
	while (t.n > 0 && (t.p[t.n - 1] == ' ' || t.p[t.n - 1] == '\t' ||
	    t.p[t.n - 1] == '*'))
		t.n--;
	return t;
}

static int
starts_ci(const struct line *l, const char *s)
{
	size_t k = strlen(s);

	return l->n >= k && strncasecmp(l->p, s, k) == 0;
}

static int
contains(const char *p, size_t n, const char *s)
{
	return find_bytes(p, n, s, strlen(s)) != NULL;
}

/* "-----Original Message-----" and its translations. */
static int
original_message(const struct line *l)
{
	static const char *const words[] = {
		"Original Message", "Ursprüngliche Nachricht",
		"Message d'origine", "Mensaje original", "Mensagem original",
		"Messaggio originale", NULL
	};
	struct line t = trimmed(l);
	size_t i;

	if (t.n < 6 || t.p[0] != '-' || t.p[1] != '-' || t.p[t.n - 1] != '-')
		return 0;
	for (i = 0; words[i]; i++)
		if (contains(t.p, t.n, words[i]))
			return 1;
	return 0;
}

/* Outlook's header block: From:, then Sent:/Date: and Subject: nearby. */
static int
outlook_block(const struct line *ls, size_t n, size_t i)
{
	static const char *const from[] = { "From:", "Von:", "De:", "De :",
		"Da:", NULL };
	static const char *const sent[] = { "Sent:", "Date:", "Gesendet:",
		"Datum:", "Envoyé :", "Envoyé:", "Enviado:", "Enviado el:",
		"Inviato:", "Data:", NULL };
	static const char *const subj[] = { "Subject:", "Betreff:",
		"Objet :", "Objet:", "Asunto:", "Assunto:", "Oggetto:", NULL };
	struct line t = trimmed(&ls[i]);
	size_t j, k;
	int s1 = 0, s2 = 0;

	/* every word of from[] starts with F, V or D */
	if (t.n == 0 || strchr("fvd", t.p[0] | 0x20) == NULL)
		return 0;
	for (k = 0; from[k] && !starts_ci(&t, from[k]); k++)
		;
	if (from[k] == NULL)
		return 0;
	for (j = i + 1; j < n && j <= i + 6 && !(s1 && s2); j++) {
		t = trimmed(&ls[j]);
		for (k = 0; sent[k]; k++)
			s1 |= starts_ci(&t, sent[k]);
		for (k = 0; subj[k]; k++)
			s2 |= starts_ci(&t, subj[k]);
	}
	return s1 && s2;
}

/*
 * "On <date>, <name> wrote:" in the languages of the list, or any line
 * ending in such a verb and a colon that precedes quoted text.
 */
static int
wrote_text(const char *p, size_t n, int need_opener)
{
	static const char *const openers[] = { "On ", "Le ", "El ", "Am ",
		"Em ", "Il ", "Op ", "Den ", NULL };
	static const char *const verbs[] = { "wrote", "a écrit", "escribió",
		"schrieb", "escreveu", "ha scritto", "schreef", "skrev",
		NULL };
	size_t k;
	int ok = 0;

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n < 8 || n > 600 || p[n - 1] != ':')
		return 0;
	for (k = 0; verbs[k] && !ok; k++)
		ok = contains(p, n, verbs[k]);
	if (!ok || !need_opener)
		return ok;
	for (k = 0; openers[k]; k++)
		if (n >= strlen(openers[k]) &&
		    memcmp(p, openers[k], strlen(openers[k])) == 0)
			return 1;
	return 0;
}

/* The first non-blank line among the next max lines from j, or n. */
static size_t
next_nonblank(const struct line *ls, size_t n, size_t j, size_t max)
{
	size_t k;

	for (k = 0; j < n && k < max; j++, k++)
		if (!blank(&ls[j]))
			return j;
	return n;
}

enum { ATTR_NONE, ATTR_WROTE, ATTR_BLOCK };

/* Lines the attribution at i spans (0: none); *kind what it is. */
static size_t
attribution(const struct line *ls, size_t n, size_t i, int *kind)
{
	struct line t = trimmed(&ls[i]), u;
	char buf[1210];
	size_t j;

	*kind = ATTR_BLOCK;
	if (original_message(&ls[i]) || outlook_block(ls, n, i))
		return 1;
	if (underscores(&ls[i], 10) && !underscores(&ls[i], 40)) {
		j = next_nonblank(ls, n, i + 1, 2);
		if (j < n && outlook_block(ls, n, j))
			return 1;
	}
	*kind = ATTR_WROTE;
	if (wrote_text(t.p, t.n, 1))
		return 1;
	if (wrote_text(t.p, t.n, 0)) {
		j = next_nonblank(ls, n, i + 1, 3);
		if (j < n && quote_line(&ls[j]))
			return 1;
	}
	/* wrapped over two lines by the replier's client */
	if (i + 1 < n && t.n > 0 && t.n <= 600 && !blank(&ls[i + 1]) &&
	    !quote_line(&ls[i + 1])) {
		u = trimmed(&ls[i + 1]);
		/* the joined text must end in ':' (wrote_text) */
		if (u.n <= 600 && u.n > 0 && u.p[u.n - 1] == ':') {
			memcpy(buf, t.p, t.n);
			buf[t.n] = ' ';
			memcpy(buf + t.n + 1, u.p, u.n);
			if (wrote_text(buf, t.n + 1 + u.n, 1))
				return 2;
		}
	}
	*kind = ATTR_NONE;
	return 0;
}

/*
 * After "X wrote:", quoted lines followed by unquoted text means the
 * author answered inline: then the attribution alone is quoted and the
 * answers stay own text.
 */
static int
interleaved(const struct line *ls, size_t n, size_t j)
{
	int seen = 0;

	for (; j < n; j++) {
		if (blank(&ls[j]))
			continue;
		if (quote_line(&ls[j])) {
			seen = 1;
			continue;
		}
		return seen && !sig_delim(&ls[j]);
	}
	return 0;
}

static void
add_line(struct mp_buf *b, const struct line *l)
{
	if (l->p[l->n] == '\n') {	/* as it stands in the body */
		mp_buf_add(b, l->p, l->n + 1);
		return;
	}
	mp_buf_add(b, l->p, l->n);
	mp_buf_addc(b, '\n');
}

/* Drops blank lines at both ends, collapses inner runs when asked. */
static char *
tidy(struct mp_buf *b, int collapse)
{
	struct mp_buf o = MP_BUF_INIT;
	const char *p = mp_buf_str(b), *e;
	int blanks = 0;

	mp_buf_reserve(&o, b->len);     /* never longer */
	while (*p) {
		struct line l;

		e = strchr(p, '\n');
		l.p = p;
		l.n = e ? (size_t)(e - p) : strlen(p);
		if (blank(&l)) {
			blanks++;
		} else {
			if (o.len > 0) {
				int k = collapse && blanks > 1 ? 1 : blanks;

				mp_buf_addc(&o, '\n');
				while (k-- > 0)
					mp_buf_addc(&o, '\n');
			}
			mp_buf_add(&o, l.p, l.n);
			blanks = 0;
		}
		p = e ? e + 1 : p + l.n;
	}
	mp_buf_free(b);
	return mp_buf_detach(&o);
}

void
mp_mime_split_body(const char *body, char **own, char **quoted, char **sig)
{
	struct mp_buf bo = MP_BUF_INIT, bq = MP_BUF_INIT, bs = MP_BUF_INIT;
	struct line *ls = NULL;
	size_t n = 0, cap = 0, i, end, k;
	const char *p = body ? body : "";
	size_t blen = strlen(p);
	enum { OWN, SIG, QUOTED } st = OWN;
	int kind;

	/* no part is longer than the body, but for a newline (tidy copies
	 * what is kept) */
	mp_buf_reserve(&bo, blen);
	mp_buf_reserve(&bq, blen);
	mp_buf_reserve(&bs, blen);
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ls = mp_xrealloc(ls, cap * sizeof(*ls));
		}
		ls[n].p = p;
		ls[n].n = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
		n++;
		p = e ? e + 1 : p + len;
	}
	/* the list footer is the last separator outside quotes */
	for (end = n; end > 0 && !footer_line(&ls[end - 1]); end--)
		;
	end = end > 0 ? end - 1 : n;
	for (i = 0; i < end; i++) {
		if (st == QUOTED) {
			add_line(&bq, &ls[i]);
			continue;
		}
		if (quote_line(&ls[i])) {
			add_line(&bq, &ls[i]);
			if (st == SIG)
				st = QUOTED;
			continue;
		}
		if (!blank(&ls[i]) &&
		    (k = attribution(ls, end, i, &kind)) > 0) {
			add_line(&bq, &ls[i]);
			if (k == 2)
				add_line(&bq, &ls[++i]);
			if (kind != ATTR_WROTE || !interleaved(ls, end, i + 1))
				st = QUOTED;
			continue;
		}
		if (st == OWN && sig_delim(&ls[i])) {
			st = SIG;
			continue;
		}
		add_line(st == SIG ? &bs : &bo, &ls[i]);
	}
	if (end < n) {
		if (bs.len > 0)
			mp_buf_addc(&bs, '\n');
		for (i = end + 1; i < n; i++)
			add_line(&bs, &ls[i]);
	}
	free(ls);
	*own = tidy(&bo, 1);
	*quoted = tidy(&bq, 0);
	*sig = tidy(&bs, 0);
}

/* ---- subject ---------------------------------------------------------- */

/*
 * Length of a reply/forward prefix at s ("Re:", "AW:", "Re[2]:"), or 0;
 * *reply says whether it marks a reply (not a forward). The first
 * NREPLY words are reply prefixes (Re, German AW/Antw, Nordic SV/VS,
 * Italian R/Rif, Polish Odp), the others forwards.
 */
#define NREPLY 8
static size_t
reply_prefix(const char *s, int *reply)
{
	static const char *const words[] = { "re", "aw", "sv", "antw",
		"rif", "odp", "vs", "r", "fwd", "fw", "tr", "wg", NULL };
	size_t k, i;

	/* most subjects begin with none of the words' first letters (every
	 * subject read for threading comes here) */
	if (strchr("rasovftw", *s | 0x20) == NULL)
		return 0;
	for (k = 0; words[k]; k++) {
		*reply = k < NREPLY;
		i = strlen(words[k]);
		if (strncasecmp(s, words[k], i) != 0)
			continue;
		if (s[i] == '[' || s[i] == '(') {
			char close = s[i] == '[' ? ']' : ')';
			size_t j = i + 1;

			while (isdigit((unsigned char)s[j]) && j < i + 6)
				j++;
			if (j == i + 1 || s[j] != close)
				continue;
			i = j + 1;
		}
		while (s[i] == ' ')
			i++;
		if (s[i] == ':')
			return i + 1;
		if (strncmp(s + i, "\xef\xbc\x9a", 3) == 0)	/* U+FF1A */
			return i + 3;
	}
	return 0;
}

/* Length of a list tag "[MAG]" at s, or 0. */
static size_t
list_tag(const char *s)
{
	size_t i;

	if (*s != '[')
		return 0;
	for (i = 1; s[i] && s[i] != ']' && s[i] != '[' && i < 80; i++)
		;
	return s[i] == ']' && i > 1 ? i + 1 : 0;
}

/* Skips list tags and prefixes; *reply counts the reply prefixes. */
static const char *
skip_prefixes(const char *p, int *replies)
{
	size_t k;
	int r;

	*replies = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if ((k = list_tag(p)) == 0) {
			if ((k = reply_prefix(p, &r)) == 0)
				break;
			*replies += r;
		}
		p += k;
	}
	return p;
}

char *
mp_mime_subject_norm(const char *subject)
{
	char *s;
	const char *p;
	int r;

	s = clean_text(subject ? subject : "", subject ? strlen(subject) : 0,
	    0);
	p = skip_prefixes(s, &r);
	memmove(s, p, strlen(p) + 1);
	fold_spaces(s);
	return s;
}

int
mp_mime_subject_is_reply(const char *subject)
{
	int r;

	if (subject == NULL)
		return 0;
	skip_prefixes(subject, &r);
	return r > 0;
}

/* ---- the fast path ---------------------------------------------------- */

/*
 * Most mail is plain: "Name: value" header lines, a well-formed
 * Content-Type, boundaries on lines of their own. For such a message
 * the fields and the MIME tree are read here in one pass over the bytes,
 * with the result libetpan gives: each reader below accepts only the
 * shapes whose libetpan reading is certain (its quirks included, noted
 * where they matter) and answers -1 for anything else, and the whole
 * message then goes the slow way. tests/check_mime.c compares both ways
 * over every message of the test corpora.
 */

#define FAST_PARTS	64
#define FAST_DEPTH	16
#define FAST_ARENA	4096
#define FAST_BOUNDARY	200

struct fast {
	const char *p;			/* the message */
	struct part parts[FAST_PARTS];
	size_t nparts;
	char arena[FAST_ARENA];		/* values that needed rewriting */
	size_t used;
	int bail;
	int cr;				/* the header block has a CR */
};

/* What a MIME entity's header fields say. */
struct mimehdr {
	int nct, ncte, ndisp;
	int major, enc, attachment, multipart;
	struct slice ext, sub, charset, format, delsp, name, boundary;
	struct slice filename;
};

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
skip_ws(const char *p, size_t i, size_t e)
{
	while (i < e && is_ws((unsigned char)p[i]))
		i++;
	return i;
}

static size_t
skip_lwsp(const char *p, size_t i, size_t e)
{
	while (i < e && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* Length of CRLF or LF at p[i], 0 when none. */
static size_t
crlf_at(const char *p, size_t i, size_t e)
{
	if (i < e && p[i] == '\n')
		return 1;
	return i + 1 < e && p[i] == '\r' && p[i + 1] == '\n' ? 2 : 0;
}

/* A line of only blanks at p[i]. */
static int
blank_line_at(const char *p, size_t i, size_t e)
{
	i = skip_lwsp(p, i, e);
	return crlf_at(p, i, e) > 0;
}

/* RFC 2045 token characters as libetpan reads them (any ASCII but space
 * and tspecials: controls are token characters to it). */
static int
is_token(int c)
{
	return IS(c, C_TOKEN);
}

/* libetpan's atext: anything but white space and <>,":; */
static int
is_atext(int c)
{
	return IS(c, C_ATEXT);
}

/*
 * The next header field of the block p[*i..e): 1 and its name and value
 * (the value as libetpan keeps it: from the first non-blank to the end
 * of its last line, folds kept, CRLF dropped), 0 at e, -1 for a line
 * libetpan might read otherwise (space before the colon, a name that is
 * not printable ASCII, a lone CR, a blank continuation line: libetpan
 * stops some fields there). cr: whether the block may hold a CR at all.
 */
static int
next_field(const char *p, size_t e, int cr, size_t *i, struct slice *name,
    struct slice *val)
{
	size_t k = *i, vb, le;
	const char *nl, *q;

	if (k >= e)
		return 0;
	while (k < e && p[k] > 0x20 && p[k] < 0x7f && p[k] != ':')
		k++;
	if (k == *i || k >= e || p[k] != ':')
		return -1;
	name->p = p + *i;
	name->n = k - *i;
	k = skip_lwsp(p, k + 1, e);
	vb = k;
	for (;;) {
		if ((nl = memchr(p + k, '\n', e - k)) == NULL)
			return -1;
		le = (size_t)(nl - p);
		if (cr && (q = memchr(p + k, '\r', le - k)) != NULL &&
		    q + 1 != nl)
			return -1;
		k = le + 1;
		if (k >= e || (p[k] != ' ' && p[k] != '\t'))
			break;
		if (blank_line_at(p, k, e))
			return -1;
	}
	if (le > vb && p[le - 1] == '\r')
		le--;
	val->p = p + vb;
	val->n = le - vb;
	*i = k;
	return 1;
}

/* A quoted string's content with each run of white space made one space
 * (libetpan reads folding white space so); in the arena unless it needs
 * no change. */
static int
collapse(struct fast *f, const char *p, size_t n, struct slice *out)
{
	size_t i, k = 0, start = f->used;
	int sp = 0;

	for (i = 0; i < n && !is_ws((unsigned char)p[i]); i++)
		;
	if (i == n) {
		out->p = p;
		out->n = n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (is_ws((unsigned char)p[i])) {
			sp = 1;
			continue;
		}
		if (sp && f->used + k < FAST_ARENA)
			f->arena[f->used + k++] = ' ';
		sp = 0;
		if (f->used + k < FAST_ARENA)
			f->arena[f->used + k++] = p[i];
	}
	if (sp && f->used + k < FAST_ARENA)
		f->arena[f->used + k++] = ' ';
	if (f->used + k >= FAST_ARENA)
		return -1;
	out->p = f->arena + start;
	out->n = k;
	f->used += k;
	return 0;
}

/*
 * A parameter value at p[*i..e): a quoted string (no backslash, no
 * "=?") or a run of atext, followed by blanks and ';' or the end.
 */
static int
param_value(struct fast *f, const char *p, size_t *i, size_t e,
    struct slice *v)
{
	size_t k = *i, s;

	if (k < e && p[k] == '"') {
		for (s = ++k; k < e && p[k] != '"'; k++)
			if (p[k] == '\\' || p[k] == '\0')
				return -1;
		if (k >= e || collapse(f, p + s, k - s, v) < 0)
			return -1;
		k++;
	} else {
		for (s = k; k < e && is_atext((unsigned char)p[k]); k++)
			;
		if (k == s)
			return -1;
		v->p = p + s;
		v->n = k - s;
	}
	k = skip_ws(p, k, e);
	if (k < e && p[k] != ';')
		return -1;
	*i = k;
	return 0;
}

/* A token (RFC 2045) at p[*i..e), at least one character. */
static int
token_at(const char *p, size_t *i, size_t e, struct slice *t)
{
	size_t k = *i;

	while (k < e && is_token((unsigned char)p[k]))
		k++;
	if (k == *i)
		return -1;
	t->p = p + *i;
	t->n = k - *i;
	*i = k;
	return 0;
}

/* "name=value" pairs after the type; each calls back with name, value. */
static int
params(struct fast *f, const char *p, size_t k, size_t e, struct mimehdr *h,
    int disp)
{
	struct slice nm, v;

	for (;;) {
		k = skip_ws(p, k, e);
		if (k >= e)
			return 0;
		if (p[k] != ';')
			return -1;
		k = skip_ws(p, k + 1, e);
		if (k >= e)
			return 0;
		if (token_at(p, &k, e, &nm) < 0)
			return -1;
		k = skip_ws(p, k, e);
		if (k >= e || p[k] != '=')
			return -1;
		k = skip_ws(p, k + 1, e);
		if (param_value(f, p, &k, e, &v) < 0)
			return -1;
		if (disp) {
			/* libetpan reads "size" as a number and stops at
			 * anything after its digits */
			if (slice_is(nm, "size")) {
				size_t j;

				if (v.p < p || v.n > 9 || v.n == 0)
					return -1;
				for (j = 0; j < v.n; j++)
					if (!isdigit((unsigned char)v.p[j]))
						return -1;
			}
			if (slice_is(nm, "filename") && h->filename.p == NULL)
				h->filename = v;
			continue;
		}
		if (slice_is(nm, "charset") && h->charset.p == NULL)
			h->charset = v;
		else if (slice_is(nm, "format") && h->format.p == NULL)
			h->format = v;
		else if (slice_is(nm, "delsp") && h->delsp.p == NULL)
			h->delsp = v;
		else if (slice_is(nm, "name") && h->name.p == NULL)
			h->name = v;
		else if (slice_is(nm, "boundary") && h->boundary.p == NULL)
			h->boundary = v;
	}
}

/* 1 when t is a word libetpan matches by prefix and t is longer. */
static int
prefix_trap(struct slice t, const char *const *words)
{
	size_t k;

	for (; *words; words++) {
		k = strlen(*words);
		if (t.n > k && strncasecmp(t.p, *words, k) == 0)
			return 1;
	}
	return 0;
}

/*
 * Content-Type. libetpan first runs the value through its RFC 2047
 * decoder (which turns white space runs into one space and would decode
 * words, convert 8-bit bytes) and matches type names by prefix
 * ("texts/plain" is text/unknown): those cases go the slow way.
 */
static int
fast_ctype(struct fast *f, struct slice v, struct mimehdr *h)
{
	static const char *const names[] = { "text", "image", "audio",
		"video", "application", NULL };
	static const char *const traps[] = { "message", "multipart", "text",
		"image", "audio", "video", "application", NULL };
	const char *p = v.p;
	size_t k = 0, e = v.n, i;
	struct slice t;

	for (i = 0; i < e; i++)
		if ((unsigned char)p[i] >= 0x80 || p[i] == '(' ||
		    p[i] == '\\' || (p[i] == '=' && i + 1 < e &&
		    p[i + 1] == '?'))
			return -1;
	k = skip_ws(p, k, e);
	if (token_at(p, &k, e, &t) < 0)
		return -1;
	k = skip_ws(p, k, e);
	if (k >= e || p[k] != '/' || prefix_trap(t, traps) ||
	    slice_is(t, "message"))
		return -1;
	h->multipart = slice_is(t, "multipart");
	h->major = h->multipart ? MAJ_COMPOSITE : MAJ_EXT;
	for (i = 0; names[i]; i++)
		if (slice_is(t, names[i]))
			h->major = MAJ_TEXT + (int)i;
	h->ext = h->major == MAJ_EXT ? t : (struct slice){ NULL, 0 };
	k = skip_ws(p, k + 1, e);
	if (token_at(p, &k, e, &h->sub) < 0)
		return -1;
	if (params(f, p, k, e, h, 0) < 0)
		return -1;
	if (h->multipart) {
		/* digests default to message/rfc822 parts */
		if (h->boundary.p == NULL || h->boundary.n == 0 ||
		    h->boundary.n > FAST_BOUNDARY || slice_is(h->sub, "digest"))
			return -1;
		for (i = 0; i < h->boundary.n; i++)
			if (is_ws((unsigned char)h->boundary.p[i]))
				return -1;
	}
	return 0;
}

static int
fast_cte(struct slice v, struct mimehdr *h)
{
	static const struct {
		const char *name;
		int enc;
	} mech[] = {
		{ "7bit", MAILMIME_MECHANISM_7BIT },
		{ "8bit", MAILMIME_MECHANISM_8BIT },
		{ "binary", MAILMIME_MECHANISM_BINARY },
		{ "quoted-printable", MAILMIME_MECHANISM_QUOTED_PRINTABLE },
		{ "base64", MAILMIME_MECHANISM_BASE64 },
	};
	size_t i;

	while (v.n > 0 && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
		v.n--;
	for (i = 0; i < sizeof(mech) / sizeof(mech[0]); i++)
		if (slice_is(v, mech[i].name)) {
			h->enc = mech[i].enc;
			return 0;
		}
	return -1;
}

static int
fast_disposition(struct fast *f, struct slice v, struct mimehdr *h)
{
	static const char *const traps[] = { "inline", "attachment", NULL };
	size_t k = 0, i;
	struct slice t;

	for (i = 0; i < v.n; i++)
		if (v.p[i] == '(' || v.p[i] == '\\' || v.p[i] == '\0')
			return -1;
	k = skip_ws(v.p, k, v.n);
	if (token_at(v.p, &k, v.n, &t) < 0 || prefix_trap(t, traps))
		return -1;
	h->attachment = slice_is(t, "attachment");
	return params(f, v.p, k, v.n, h, 1);
}

/* A header field that concerns MIME; others are ignored. */
static int
mime_field(struct fast *f, struct slice nm, struct slice v,
    struct mimehdr *h)
{
	if (nm.n < 12 || strncasecmp(nm.p, "Content-", 8) != 0)
		return 0;
	if (slice_is(nm, "Content-Type"))
		return h->nct++ > 0 ? -1 : fast_ctype(f, v, h);
	if (slice_is(nm, "Content-Transfer-Encoding"))
		return h->ncte++ > 0 ? -1 : fast_cte(v, h);
	if (slice_is(nm, "Content-Disposition"))
		return h->ndisp++ > 0 ? -1 : fast_disposition(f, v, h);
	return 0;
}

static void
mimehdr_init(struct mimehdr *h)
{
	memset(h, 0, sizeof(*h));
	h->enc = MAILMIME_MECHANISM_8BIT;
}

static struct part *
new_part(struct fast *f)
{
	struct part *pt;

	if (f->nparts >= FAST_PARTS)
		return NULL;
	pt = &f->parts[f->nparts++];
	memset(pt, 0, sizeof(*pt));
	pt->bail = &f->bail;
	return pt;
}

static int fast_multipart(struct fast *f, struct part *pt, size_t s,
    size_t e, struct slice b, int depth);

/* The entity whose body is p[s..e), described by h. */
static int
fast_entity(struct fast *f, struct part *pt, const struct mimehdr *h,
    size_t s, size_t e, int depth)
{
	pt->major = h->nct ? h->major : MAJ_TEXT;
	pt->sub = h->nct ? h->sub : (struct slice){ "plain", 5 };
	pt->ext = h->ext;
	pt->charset = h->charset;
	pt->format = h->format;
	pt->delsp = h->delsp;
	pt->name = h->name;
	pt->filename = h->filename;
	pt->attachment = h->attachment;
	if (h->multipart) {
		pt->kind = MAILMIME_MULTIPLE;
		return fast_multipart(f, pt, s, e, h->boundary, depth);
	}
	pt->kind = MAILMIME_SINGLE;
	pt->text = 1;
	pt->encoded = 1;
	pt->enc = h->enc;
	pt->data = f->p + s;
	pt->len = e - s;
	return 0;
}

/*
 * A body part p[s..e): header fields up to an empty line (or the end of
 * the part), or none at all when its first line is no field.
 */
static int
fast_part(struct fast *f, struct part *pt, size_t s, size_t e, int depth)
{
	const char *p = f->p;
	struct mimehdr h;
	struct slice nm, v;
	size_t k = s, c;
	int r;

	mimehdr_init(&h);
	/* libetpan's field names: any byte above space but ':' */
	for (c = s; c < e && (unsigned char)p[c] > 0x20 && p[c] != ':'; c++)
		;
	if (c > s && c < e && p[c] != ':') {
		/* "Word rest": a body line, unless libetpan could still find
		 * a colon after blanks or a fold */
		if (p[c] == ' ' || p[c] == '\t') {
			c = skip_lwsp(p, c, e);
			if (c < e && (p[c] == ':' || p[c] == '(' ||
			    p[c] == '\r' || p[c] == '\n'))
				return -1;
		} else if (p[c] == '\r' || p[c] == '\n') {
			c += crlf_at(p, c, e);
			if (c < e && (p[c] == ' ' || p[c] == '\t'))
				return -1;
		}
		return fast_entity(f, pt, &h, s, e, depth);
	}
	if (c == s || c >= e)
		return fast_entity(f, pt, &h, s, e, depth);
	for (;;) {
		if (k >= e)
			break;
		if ((c = crlf_at(p, k, e)) > 0) {
			k += c;
			break;
		}
		if ((r = next_field(p, e, 1, &k, &nm, &v)) <= 0)
			return -1;
		if (memchr(nm.p, '\0', (size_t)(p + k - nm.p)) != NULL ||
		    mime_field(f, nm, v, &h) < 0)
			return -1;
	}
	return fast_entity(f, pt, &h, k, e, depth);
}

/* The next line after s (not at s) that starts with "--" boundary and
 * leaves a byte after it, or e. needle is "\n--" boundary. Searched
 * from the '-', which base64 and most text have few of. */
static size_t
next_delim(const char *p, size_t s, size_t e, const char *needle,
    size_t nn)
{
	const char *q = p + s + 1, *end = p + e;

	while (q < end && (q = memchr(q, '-', (size_t)(end - q))) != NULL) {
		if (q[-1] == '\n' && (size_t)(end - q) >= nn - 1 &&
		    memcmp(q, needle + 1, nn - 1) == 0)
			return (size_t)(q - p) + nn - 1 < e ?
			    (size_t)(q - p) : e;
		q++;
	}
	return e;
}

/*
 * libetpan's preamble scanner also takes a line "X--boundary" (any one
 * byte but '-', CR, LF before the dashes) for the first delimiter: 1
 * when the preamble p[s..c) has one.
 */
static int
preamble_trap(const char *p, size_t s, size_t c, const char *needle,
    size_t nn)
{
	const char *q = p + s, *end = p + c, *nl;

	while (q < end && (nl = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		q = nl + 1;
		if ((size_t)(end - q) > nn - 1 && *q != '-' && *q != '\r' &&
		    *q != '\n' && memcmp(q + 1, needle + 1, nn - 1) == 0)
			return 1;
	}
	return 0;
}

/*
 * RFC 2046 5.1.1 as libetpan reads it: the preamble ends at the first
 * line starting with "--" boundary (a prefix match); a delimiter line is
 * "--" boundary, blanks, CRLF; a part ends before the CRLF preceding its
 * delimiter. Where libetpan departs from that reading the message goes
 * the slow way: lines after the first delimiter that are blank (skipped),
 * an empty part (the whole multipart is dropped), a close delimiter with
 * another delimiter after it (read through), no close delimiter (the
 * last part is cut at its last line starting with '-').
 */
static int
fast_multipart(struct fast *f, struct part *pt, size_t s, size_t e,
    struct slice b, int depth)
{
	const char *p = f->p;
	char needle[FAST_BOUNDARY + 3];
	size_t nn = b.n + 3, c, t, u, pe, next = 0;
	struct part *kid, **tail = &pt->kids;
	const char *q;
	int close;

	if (depth > FAST_DEPTH)
		return -1;
	/* libetpan takes a lone CR for a line end in some places only */
	for (c = s; c < e && (q = memchr(p + c, '\r', e - c)) != NULL;
	    c = (size_t)(q - p) + 2)
		if (q + 1 >= p + e || q[1] != '\n')
			return -1;
	memcpy(needle, "\n--", 3);
	memcpy(needle + 3, b.p, b.n);
	if (e - s > nn - 1 && memcmp(p + s, needle + 1, nn - 1) == 0)
		c = s;
	else
		c = next_delim(p, s, e, needle, nn);
	if (c >= e || preamble_trap(p, s, c, needle, nn))
		return -1;
	t = skip_lwsp(p, c + nn - 1, e);
	if ((u = crlf_at(p, t, e)) == 0 || blank_line_at(p, t + u, e))
		return -1;
	s = t + u;
	for (;;) {
		if (e - s >= nn - 1 && memcmp(p + s, needle + 1, nn - 1) == 0)
			return -1;
		c = s;
		for (;;) {
			if ((c = next_delim(p, c, e, needle, nn)) >= e)
				return -1;
			t = c + nn - 1;
			u = skip_lwsp(p, t, e);
			if ((u += crlf_at(p, u, e)) > skip_lwsp(p, t, e)) {
				close = 0;
				next = u;
				break;
			}
			if (t + 2 <= e && p[t] == '-' && p[t + 1] == '-') {
				if (next_delim(p, c, e, needle, nn) < e)
					return -1;
				close = 1;
				break;
			}
		}
		pe = c - 1;
		if (pe > s && p[pe - 1] == '\r')
			pe--;
		if (pe <= s || (kid = new_part(f)) == NULL ||
		    fast_part(f, kid, s, pe, depth + 1) < 0)
			return -1;
		*tail = kid;
		tail = &kid->next;
		if (close)
			return 0;
		s = next;
		if (blank_line_at(p, s, e))
			return -1;
	}
}

/* ---- fast header fields ----------------------------------------------- */

/* White space and comments (nested, no quoted pairs) from v[i];
 * (size_t)-1 when a comment is not closed or has a backslash. */
static size_t
skip_cfws(const char *v, size_t i, size_t e)
{
	int depth;

	for (;;) {
		i = skip_ws(v, i, e);
		if (i >= e || v[i] != '(')
			return i;
		for (depth = 0; i < e; i++) {
			if (v[i] == '\\' || v[i] == '\0')
				return (size_t)-1;
			if (v[i] == '(')
				depth++;
			else if (v[i] == ')' && --depth == 0)
				break;
		}
		if (i >= e)
			return (size_t)-1;
		i++;
	}
}

/* "<text>" at v[*i..e), every character of text (at least one) in
 * class cls: *out gets text, *i the position after '>'. */
static int
angle(const char *v, size_t *i, size_t e, int cls, struct slice *out)
{
	size_t k = *i, s;

	if (k >= e || v[k] != '<')
		return -1;
	for (s = ++k; k < e && v[k] != '>'; k++)
		if (!IS(v[k], cls))
			return -1;
	if (k >= e || k == s)
		return -1;
	out->p = v + s;
	out->n = k - s;
	*i = k + 1;
	return 0;
}

/* "<id>" with nothing libetpan reads otherwise inside. */
static int
angle_id(const char *v, size_t *i, size_t e, struct slice *id)
{
	return angle(v, i, e, C_ID, id);
}

static int
fast_msgid(struct slice v, char **out)
{
	struct slice id;
	size_t k = skip_cfws(v.p, 0, v.n);

	if (angle_id(v.p, &k, v.n, &id) < 0 || skip_cfws(v.p, k, v.n) != v.n)
		return -1;
	*out = clean_id(id.p, id.n);
	return 0;
}

/* In-Reply-To, References: "<id>" separated by white space and
 * comments only. */
static int
fast_ids(struct slice v, char ***ids, size_t *nids, size_t max)
{
	struct slice id[MAX_REFS], spare;
	size_t k = skip_cfws(v.p, 0, v.n), n = 0, i;
	char *s;

	while (k < v.n) {
		if (angle_id(v.p, &k, v.n, n < MAX_REFS ? &id[n] : &spare) < 0)
			return -1;
		n++;
		k = skip_cfws(v.p, k, v.n);
	}
	if (n == 0 || k != v.n)
		return -1;
	*ids = mp_xrealloc(*ids, (*nids + (n < max ? n : max)) *
	    sizeof(**ids));
	for (i = 0; i < n && i < MAX_REFS && *nids < max; i++)
		if ((s = clean_id(id[i].p, id[i].n)) != NULL)
			(*ids)[(*nids)++] = s;
	return 0;
}

/* Digits at v[*i..], between min and max of them; their value. */
static int
digits(struct slice v, size_t *i, size_t min, size_t max, int *out)
{
	size_t k = *i;
	int n = 0;

	while (k < v.n && k - *i < max && isdigit((unsigned char)v.p[k]))
		n = n * 10 + (v.p[k++] - '0');
	if (k - *i < min || (k < v.n && isdigit((unsigned char)v.p[k])))
		return -1;
	*i = k;
	*out = n;
	return 0;
}

static int
blanks(struct slice v, size_t *i)
{
	size_t k = skip_lwsp(v.p, *i, v.n);

	if (k == *i)
		return -1;
	*i = k;
	return 0;
}

/* "[Mon, ]14 Jun 2021 10:00[:00] +0200[ (comment)]", the form nearly all
 * mail has; libetpan reads named zones, "+02:00" and others its own way
 * (see fix_zone), so those go the slow way. */
static int
fast_date(struct slice v, int64_t *t, long *off, int *ok)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t k = 0, i;
	int d, mo = 0, y, h, mi, s = 0, z;
	const char *q;

	if (v.n >= 4 && v.p[3] == ',') {
		for (i = 0; i < 7 && memcmp(v.p, days + 3 * i, 3); i++)
			;
		if (i == 7)
			return -1;
		k = 4;
		if (blanks(v, &k) < 0)
			return -1;
	}
	if (digits(v, &k, 1, 2, &d) < 0 || blanks(v, &k) < 0 ||
	    k + 3 > v.n)
		return -1;
	for (i = 0; i < 12; i++)
		if (memcmp(v.p + k, months + 3 * i, 3) == 0)
			mo = (int)i + 1;
	k += 3;
	if (mo == 0 || blanks(v, &k) < 0 || digits(v, &k, 2, 4, &y) < 0 ||
	    blanks(v, &k) < 0 || digits(v, &k, 2, 2, &h) < 0 ||
	    k >= v.n || v.p[k++] != ':' || digits(v, &k, 2, 2, &mi) < 0)
		return -1;
	if (k < v.n && v.p[k] == ':') {
		k++;
		if (digits(v, &k, 2, 2, &s) < 0)
			return -1;
	}
	if (blanks(v, &k) < 0 || k >= v.n ||
	    (v.p[k] != '+' && v.p[k] != '-'))
		return -1;
	k++;
	if (digits(v, &k, 4, 4, &z) < 0)
		return -1;
	if (v.p[k - 5] == '-')
		z = -z;
	k = skip_lwsp(v.p, k, v.n);
	if (k < v.n && v.p[k] == '(') {
		if ((q = memchr(v.p + k, ')', v.n - k)) == NULL)
			return -1;
		for (i = k + 1; v.p + i < q; i++)
			if (strchr("(\\\r\n", v.p[i]) != NULL)
				return -1;
		k = skip_lwsp(v.p, (size_t)(q - v.p) + 1, v.n);
	}
	if (k != v.n)
		return -1;
	*ok = civil_to_instant(y, mo, d, h, mi, s, z, t, off) == 0;
	return 0;
}

/*
 * The head "=?cs?X?" of an encoded word at p[0..n) as libetpan's phrase
 * reader sees it: 1 with *k after it, 0 when libetpan reads no encoded
 * word there (a plain atom, or a quoted string), -1 for an encoding
 * letter other than Q or B (a hard error that fails the whole field) or
 * a head running past n (whatever follows would decide).
 */
static int
ew_head(const char *p, size_t n, size_t *k)
{
	size_t i = 2;

	if (n < 2 || p[0] != '=' || p[1] != '?')
		return 0;
	while (i < n && IS(p[i], C_ETOKEN))
		i++;
	if (i == 2)
		return 0;
	if (i >= n)
		return -1;
	if (p[i] != '?')
		return 0;
	if (++i >= n || strchr("QqBb", p[i]) == NULL)
		return -1;
	if (++i >= n)
		return -1;
	if (p[i] != '?')
		return 0;
	*k = i + 1;
	return 1;
}

/*
 * An atom as libetpan's phrase reader takes it: when it starts like an
 * encoded word, it scans to the first "?=" however far, which must then
 * be the atom's end.
 */
static int
lib_word_ok(const char *p, size_t n)
{
	const char *q;
	size_t k = 0;
	int r = ew_head(p, n, &k);

	if (r <= 0)
		return r == 0;
	q = find_bytes(p + k, n - k, "?=", 2);
	return q != NULL && (size_t)(q - p) == n - 2;
}

/*
 * A quoted string q[0..n) (quotes included): libetpan's phrase reader
 * takes one that starts like an encoded word as one, from the opening
 * quote to the first "?=" and a quote after it, and keeps the quotes.
 * 1 when it does so and ends at the closing quote, 0 when it reads a
 * plain quoted string, -1 otherwise.
 */
static int
quoted_word(const char *q, size_t n)
{
	const char *end;
	size_t k = 0;
	int r = n > 1 ? ew_head(q + 1, n - 1, &k) : 0;

	if (r <= 0)
		return r;
	end = find_bytes(q + 1 + k, n - 1 - k, "?=", 2);
	return end != NULL && (size_t)(end - q) == n - 3 ? 1 : -1;
}

/* A comment "(...)" at v[*i..] with nothing libetpan's phrase reader
 * (which reads it as words) could take for a quote, an address, a group
 * or an encoded word. */
static int
simple_comment(const char *v, size_t *i, size_t e)
{
	size_t k = *i + 1;

	for (; k < e && v[k] != ')'; k++)
		if (!IS(v[k], C_CTEXT) ||
		    (v[k] == '=' && k + 1 < e && v[k + 1] == '?' &&
		    is_ws((unsigned char)v[k - 1])))
			return -1;
	if (k >= e)
		return -1;
	*i = k + 1;
	return 0;
}

/*
 * One mailbox of an address list at v[*i..e): "phrase <addr>" or a bare
 * "addr", each optionally followed by a comment. disp gets libetpan's
 * display name (words joined by one space, quotes removed); *has_disp
 * says whether there is one.
 */
static int
fast_mailbox(const char *v, size_t *i, size_t e, struct mp_buf *disp,
    int *has_disp, struct slice *addr)
{
	size_t k = skip_ws(v, *i, e), s = 0, t, u;
	int words = 0, quoted = 0, r;

	mp_buf_reset(disp);
	for (;;) {
		k = skip_ws(v, k, e);
		if (k >= e || v[k] == '<' || v[k] == ',' || v[k] == '(')
			break;
		if (v[k] == '"') {
			for (s = t = k + 1; t < e && v[t] != '"'; t++)
				if (!IS(v[t], C_QTEXT))
					return -1;
			if (t >= e || (r = quoted_word(v + k, t + 1 - k)) < 0)
				return -1;
			if (words++)
				mp_buf_addc(disp, ' ');
			if (r == 1) {
				/* libetpan keeps the quotes of such a word */
				mp_buf_add(disp, v + k, t + 1 - k);
				k = t + 1;
				goto next;
			}
			/* each run of blanks is one space */
			while (s < t) {
				for (u = s; u < t && v[u] != ' ' &&
				    v[u] != '\t'; u++)
					;
				mp_buf_add(disp, v + s, u - s);
				if (u == t)
					break;
				mp_buf_addc(disp, ' ');
				s = skip_lwsp(v, u, t);
			}
			quoted = 1;
			k = t + 1;
		} else {
			for (t = k; t < e && is_atext((unsigned char)v[t]) &&
			    v[t] != '\0'; t++)
				;
			if (t == k || !lib_word_ok(v + k, t - k))
				return -1;
			if (words++)
				mp_buf_addc(disp, ' ');
			mp_buf_add(disp, v + k, t - k);
			s = k;
			k = t;
		}
next:
		if (k < e && !is_ws((unsigned char)v[k]) && v[k] != '<' &&
		    v[k] != ',')
			return -1;
	}
	if (k < e && v[k] == '<') {
		if (angle(v, &k, e, C_ADDR, addr) < 0)
			return -1;
		*has_disp = words > 0;
	} else {
		/* a bare address: one plain word */
		if (words != 1 || quoted || disp->len == 0 ||
		    strpbrk(mp_buf_str(disp), "()\\") != NULL ||
		    strstr(mp_buf_str(disp), "=?") != NULL)
			return -1;
		addr->p = v + s;
		addr->n = disp->len;
		*has_disp = 0;
	}
	k = skip_ws(v, k, e);
	if (k < e && v[k] == '(' && simple_comment(v, &k, e) < 0)
		return -1;
	k = skip_ws(v, k, e);
	if (k < e && v[k] != ',')
		return -1;
	*i = k;
	return 0;
}

/* Every mailbox of a From, To or Cc value; -1 unless all are plain. fn
 * gets each. */
static int
fast_addrs(struct slice v, struct mp_buf *disp, void (*fn)(void *,
    const char *, size_t, const char *, size_t), void *ctx)
{
	struct slice a;
	size_t k = 0;
	int has;

	for (;;) {
		if (fast_mailbox(v.p, &k, v.n, disp, &has, &a) < 0)
			return -1;
		fn(ctx, has ? mp_buf_str(disp) : NULL, disp->len, a.p, a.n);
		if (k >= v.n)
			return 0;
		k++;	/* ',' */
	}
}

struct fastrcpt {
	struct mp_buf *b;
	int *warnings;
};

static void
rcpt_cb(void *ctx, const char *d, size_t dn, const char *a, size_t an)
{
	struct fastrcpt *r = ctx;

	add_mailbox_n(r->b, d, dn, a, an, r->warnings);
}

struct fastfrom {
	int n;
	char *disp;		/* owned, NULL when none */
	size_t dn;
	struct slice addr;
};

static void
from_cb(void *ctx, const char *d, size_t dn, const char *a, size_t an)
{
	struct fastfrom *ff = ctx;

	if (ff->n++ > 0)
		return;
	ff->disp = d != NULL ? mp_xstrndup(d, dn) : NULL;
	ff->dn = dn;
	ff->addr.p = a;
	ff->addr.n = an;
}

/*
 * Whether libetpan's grammar for a field may end it elsewhere than at
 * its last line: 1 when so (the message then goes the slow way), for any
 * field libetpan types, also those magpie ignores (Sender, Reply-To, a
 * second From...). Its rule for the trailing comments and white space
 * stops after a comment, so a comment that ends a line with a
 * continuation line after it ends the field there, and the header block
 * with it. In display names an encoded word runs to the first "?="
 * wherever that is, lines further down included.
 */
static int
lib_overrun(struct slice nm, struct slice v)
{
	const char *q = v.p, *e = v.p + v.n, *nl;
	size_t k;
	int names;	/* 1: with display names, 2: without, 0: untyped */

	switch (nm.n) {
	case 2:
		names = slice_is(nm, "To") || slice_is(nm, "Cc");
		break;
	case 3:
		names = slice_is(nm, "Bcc");
		break;
	case 4:
		names = slice_is(nm, "From") ? 1 : slice_is(nm, "Date") * 2;
		break;
	case 6:
		names = slice_is(nm, "Sender");
		break;
	case 8:
		names = slice_is(nm, "Reply-To");
		break;
	case 10:
		names = (slice_is(nm, "Message-ID") ||
		    slice_is(nm, "References")) * 2;
		break;
	case 11:
		names = slice_is(nm, "In-Reply-To") * 2;
		break;
	default:
		names = 0;
	}
	if (names == 0)
		return 0;
	while (q < e && (nl = memchr(q, '\n', (size_t)(e - q))) != NULL) {
		if (nl > v.p && (nl[-1] == ')' ||
		    (nl[-1] == '\r' && nl - 1 > v.p && nl[-2] == ')')))
			return 1;
		q = nl + 1;
	}
	if (names == 2)
		return 0;
	for (q = v.p; (q = find_bytes(q, (size_t)(e - q), "=?", 2)) != NULL;
	    q++)
		if (ew_head(q, (size_t)(e - q), &k) == 1 &&
		    find_bytes(q + k, (size_t)(e - q) - k, "?=", 2) == NULL)
			return 1;
	return 0;
}

/* The header block p[0..hend): every field plain, the ones magpie reads
 * well-formed. h gets the MIME fields. */
static int
fast_headers(struct fast *f, struct mp_msg *m, size_t hend,
    struct mimehdr *h, int *date_ok)
{
	struct mp_buf to = MP_BUF_INIT, cc = MP_BUF_INIT, disp = MP_BUF_INIT;
	struct fastrcpt rt = { &to, &m->warnings }, rc = { &cc, &m->warnings };
	struct fastfrom ff = { 0, NULL, 0, { NULL, 0 } };
	int has_mid = 0, has_irt = 0, has_refs = 0, has_date = 0, r = 0;
	int has_to = 0, has_cc = 0;
	const char *p = f->p;
	struct slice nm, v;
	char *raw;
	size_t k = 0;

	while (r == 0 &&
	    (r = next_field(p, hend, f->cr, &k, &nm, &v)) > 0) {
		if ((r = -lib_overrun(nm, v)) < 0)
			break;
		switch (nm.n) {
		case 2:
			if (slice_is(nm, "To")) {
				has_to = 1;
				r = fast_addrs(v, &disp, rcpt_cb, &rt);
			} else if (slice_is(nm, "Cc")) {
				has_cc = 1;
				r = fast_addrs(v, &disp, rcpt_cb, &rc);
			}
			break;
		case 4:
			if (slice_is(nm, "From") && ff.n == 0)
				r = fast_addrs(v, &disp, from_cb, &ff);
			else if (slice_is(nm, "Date") && !has_date++)
				r = fast_date(v, &m->date, &m->date_off,
				    date_ok);
			break;
		case 7:
			if (slice_is(nm, "Subject") && m->subject == NULL)
				m->subject = decode_phrase_n(v.p, v.n,
				    &m->warnings);
			else if (slice_is(nm, "List-Id") && m->list_id == NULL)
				m->list_id = list_id_n(v.p, v.n);
			break;
		case 10:
			if (slice_is(nm, "Message-ID") && !has_mid++)
				r = fast_msgid(v, &m->message_id);
			else if (slice_is(nm, "References") && !has_refs++)
				r = fast_ids(v, &m->refs, &m->nrefs, MAX_REFS);
			break;
		case 11:
			if (slice_is(nm, "In-Reply-To") && !has_irt++) {
				char **ids = NULL;
				size_t n = 0;

				r = fast_ids(v, &ids, &n, 1);
				m->in_reply_to = n ? ids[0] : NULL;
				free(ids);
			}
			break;
		default:
			r = mime_field(f, nm, v, h);
			break;
		}
	}
	mp_buf_free(&disp);
	if (has_to)
		m->to = mp_buf_detach(&to);
	if (has_cc)
		m->cc = mp_buf_detach(&cc);
	mp_buf_free(&to);
	mp_buf_free(&cc);
	if (r < 0 || (ff.n > 0 && memchr(ff.addr.p, '@', ff.addr.n) == NULL)) {
		free(ff.disp);
		return -1;
	}
	if (ff.n > 0) {
		m->from.addr = clean_addr_n(ff.addr.p, ff.addr.n);
		if (m->from.addr == NULL)
			m->from.addr = mp_xstrdup("");
		/* from_name(), reading the raw value only when needed */
		if (ff.disp != NULL)
			m->from.name = decode_phrase_n(ff.disp, ff.dn,
			    &m->warnings);
		if (m->from.name == NULL || *m->from.name == '\0') {
			raw = raw_header(p, hend, "From");
			free(m->from.name);
			m->from.name = comment_name(raw, &m->warnings);
			free(raw);
		}
	} else {
		m->warnings++;	/* no From */
	}
	free(ff.disp);
	if (has_date && !*date_ok)
		m->warnings++;
	return 0;
}

/*
 * The whole message the fast way: 0 with m filled (but for the defaults
 * and the own/quoted/signature split, done as for the slow way), or -1
 * when the slow way must decide (m then holds partial results: the
 * caller frees it).
 */
static int
fast_parse(struct mp_msg *m, const char *p, size_t n, size_t hend,
    int *date_ok)
{
	struct fast *f = mp_xmalloc(sizeof(*f));
	struct part root, *body;
	struct mimehdr h;
	size_t bs = hend + crlf_at(p, hend, n);
	int r = -1;

	f->p = p;
	f->cr = memchr(p, '\r', hend) != NULL;
	f->nparts = 0;
	f->used = 0;
	f->bail = 0;
	mimehdr_init(&h);
	memset(&root, 0, sizeof(root));
	root.kind = MAILMIME_MESSAGE;
	if (memchr(p, '\0', hend) != NULL ||
	    fast_headers(f, m, hend, &h, date_ok) < 0 ||
	    (body = new_part(f)) == NULL ||
	    fast_entity(f, body, &h, bs, n, 1) < 0)
		goto out;
	root.msg = body;
	m->body = extract_body(&root, &m->attachments, &m->warnings);
	r = f->bail ? -1 : 0;
out:
	free(f);
	return r;
}

/* ---- the message ------------------------------------------------------ */

void
mp_msg_free(struct mp_msg *m)
{
	if (m == NULL)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	free_ids(m->refs, m->nrefs);
	free(m->from.name);
	free(m->from.addr);
	free(m->subject);
	free(m->subject_norm);
	free(m->list_id);
	free(m->body);
	free(m->own);
	free(m->quoted);
	free(m->sig);
	free(m->to);
	free(m->cc);
	free(m->attachments);
	free(m);
}

/* Body text when libetpan's MIME parse is skipped or fails. */
static char *
raw_body(const char *p, size_t n, size_t hend, int sep, int *warnings)
{
	struct mp_buf b = MP_BUF_INIT;
	char *s;
	size_t i = hend;

	if (!sep)
		return mp_xstrdup("");
	i = line_end(p, n, i) + 1;
	if (i < n)
		add_converted(&b, p + i, n - i, NULL, 0, warnings);
	s = clean_text(b.data ? b.data : "", b.len, 1);
	mp_buf_free(&b);
	return s;
}

/* The MIME tree, or NULL (then *nested says whether it was refused for
 * nesting too deep to parse safely). */
static struct mailmime *
parse_mime(const char *p, size_t n, int *nested)
{
	struct mailmime *mime = NULL;
	size_t idx = 0;

	/* each mention takes at least 8 bytes: small messages need no count */
	*nested = n > MAX_MIME_TYPES * 8 && count_types(p, n) > MAX_MIME_TYPES;
	if (*nested)
		return NULL;
	if (mailmime_parse(p, n, &idx, &mime) != MAILIMF_NO_ERROR)
		return NULL;
	return mime;
}

static void
parse_body(struct mp_msg *m, struct mailmime *mime, const char *p, size_t n,
    size_t hend, int sep)
{
	struct part *root;

	if (mime == NULL) {
		m->warnings++;
		m->body = raw_body(p, n, hend, sep, &m->warnings);
		return;
	}
	free(m->attachments);
	root = lib_tree(mime, 0);
	m->body = extract_body(root, &m->attachments, &m->warnings);
	lib_free(root);
}

/* Bytes without any header field: kept as the body of a message that
 * says nothing else, so that an import counts it instead of losing it. */
static struct mp_msg *
degraded(const char *p, size_t n, int64_t fallback_date)
{
	struct mp_msg *m = mp_xcalloc(1, sizeof(*m));
	struct mp_buf b = MP_BUF_INIT;

	if (n > MIME_MAX_INPUT)
		n = MIME_MAX_INPUT;
	m->warnings = 1;
	m->message_id = synth_id(p, n);
	m->from.name = mp_xstrdup("");
	m->from.addr = mp_xstrdup("");
	m->subject = mp_xstrdup("");
	m->subject_norm = mp_xstrdup("");
	m->to = mp_xstrdup("");
	m->cc = mp_xstrdup("");
	m->attachments = mp_xstrdup("");
	m->date = fallback_date;
	m->date_fallback = 1;
	add_utf8_or_1252(&b, p, n < MAX_BODY ? n : MAX_BODY);
	m->body = clean_text(mp_buf_str(&b), b.len, 1);
	mp_buf_free(&b);
	mp_mime_split_body(m->body, &m->own, &m->quoted, &m->sig);
	return m;
}

/* The defaults of fields the headers did not give. */
static void
finish_fields(struct mp_msg *m, const char *msg, size_t hend, int date_ok,
    int64_t fallback_date)
{
	if (m->message_id == NULL)
		m->message_id = synth_id(msg, hend);
	if (m->from.name == NULL)
		m->from.name = mp_xstrdup("");
	if (m->from.addr == NULL)
		m->from.addr = mp_xstrdup("");
	if (m->subject == NULL)
		m->subject = mp_xstrdup("");
	if (m->to == NULL)
		m->to = mp_xstrdup("");
	if (m->cc == NULL)
		m->cc = mp_xstrdup("");
	m->subject_norm = mp_mime_subject_norm(m->subject);
	if (!date_ok) {
		m->date = fallback_date;
		m->date_off = 0;
		m->date_fallback = 1;
	}
}

/* Whether the fast path may try: none of the cases where the slow path
 * rewrites the input or skips libetpan. */
static int
fast_allowed(const char *p, size_t n, int sep)
{
	const char *q = p, *e = p + n;
	size_t opens = 0;

	if (!sep || n > MIME_MAX_INPUT || !header_line(p, line_end(p, n, 0)))
		return 0;
	while (opens <= MAX_COMMENT && q < e &&
	    (q = memchr(q, '(', (size_t)(e - q))) != NULL) {
		opens++;
		q++;
	}
	if (opens > MAX_COMMENT)
		return 0;
	return !(n > MAX_MIME_TYPES * 8 && count_types(p, n) > MAX_MIME_TYPES);
}

int
mp_mime_parse(const char *raw, size_t len, int64_t fallback_date,
    struct mp_msg **out, struct mp_err *e)
{
	return mp_mime_parse_flags(raw, len, fallback_date, 0, out, e);
}

int
mp_mime_parse_flags(const char *raw, size_t len, int64_t fallback_date,
    int flags, struct mp_msg **out, struct mp_err *e)
{
	struct mailimf_fields *fields = NULL;
	struct mp_msg *m;
	struct rawhdr rh;
	const char *p = raw, *msg;
	char *work;
	struct mailmime *mime;
	size_t n = len, i, hend, idx = 0;
	int sep, date_ok = 0, skipped = 0, nested;

	if (out == NULL)
		return mp_err_set(e, MP_EX_SOFTWARE, "mp_mime_parse: no out");
	*out = NULL;
	if (raw == NULL)
		n = 0;
	/* an mbox separator line is not part of the message */
	if (n >= 5 && memcmp(p, "From ", 5) == 0 &&
	    !header_line(p, line_end(p, n, 0))) {
		i = line_end(p, n, 0);
		i = i < n ? i + 1 : n;
		p += i;
		n -= i;
	}
	for (i = 0; i < n && isspace((unsigned char)p[i]); i++)
		;
	if (i == n)
		return mp_err_set(e, MP_EX_DATAERR, "empty message");
	/* blank-looking lines before the header fields (seen in archives) */
	while (i > 0 && p[i - 1] != '\n')
		i--;
	if (i > 0 && header_line(p + i, line_end(p, n, i) - i)) {
		p += i;
		n -= i;
		skipped = 1;
	}
	hend = header_end(p, n, &sep);
	if (!header_line(p, line_end(p, n, 0)) && !sep) {
		*out = degraded(p, n, fallback_date);
		return 0;
	}

	if ((flags & MP_MIME_FAST_ONLY) && !fast_allowed(p, n, sep))
		return 1;
	m = mp_xcalloc(1, sizeof(*m));
	m->warnings += skipped;
	if (!(flags & MP_MIME_SLOW) && fast_allowed(p, n, sep)) {
		if (fast_parse(m, p, n, hend, &date_ok) == 0) {
			finish_fields(m, p, hend, date_ok, fallback_date);
			mp_mime_split_body(m->body, &m->own, &m->quoted,
			    &m->sig);
			*out = m;
			return 0;
		}
		mp_msg_free(m);
		if (flags & MP_MIME_FAST_ONLY)
			return 1;
		m = mp_xcalloc(1, sizeof(*m));
		m->warnings += skipped;
		date_ok = 0;
	}
	if (n > MIME_MAX_INPUT) {
		n = MIME_MAX_INPUT;
		m->warnings++;
		if (hend > n)
			hend = n;
	}
	if (!header_line(p, line_end(p, n, 0)))
		m->warnings++;
	msg = p;
	if ((work = working_copy(p, &n, sep, &m->warnings)) != NULL)
		p = work;
	rh.from = raw_header(msg, hend, "From");
	rh.date = raw_header(msg, hend, "Date");

	/* mailmime_parse reads the header fields too: parse them once */
	mime = parse_mime(p, n, &nested);
	if (mime != NULL && mime->mm_type == MAILMIME_MESSAGE &&
	    mime->mm_data.mm_message.mm_fields != NULL) {
		take_fields(m, mime->mm_data.mm_message.mm_fields, &rh,
		    &m->warnings, &date_ok);
	} else if (mailimf_envelope_and_optional_fields_parse(p, n, &idx,
	    &fields) == MAILIMF_NO_ERROR && fields != NULL) {
		take_fields(m, fields, &rh, &m->warnings, &date_ok);
		mailimf_fields_free(fields);
	} else {
		m->warnings++;
	}
	m->warnings += nested;
	finish_fields(m, msg, hend, date_ok, fallback_date);
	m->attachments = mp_xstrdup("");

	parse_body(m, mime, p, n, hend, sep);
	if (mime != NULL)
		mailmime_free(mime);
	free(work);
	free(rh.from);
	free(rh.date);
	mp_mime_split_body(m->body, &m->own, &m->quoted, &m->sig);
	*out = m;
	return 0;
}
