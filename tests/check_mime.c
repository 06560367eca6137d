/* check_mime.c - the message parser and the body splitter. */
#include <ftw.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "mime.h"
#include "source.h"
#include "testutil.h"

#define FALLBACK ((int64_t)1600000000)

/* RFC 3629 validity, written apart from the parser's own. */
static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int k;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			k = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			k = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			k = 3;
			cp = *p & 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += k + 1;
	}
	return 1;
}

static struct mp_msg *
parse(const char *raw)
{
	struct mp_err e;
	struct mp_msg *m = NULL;

	mp_err_clear(&e);
	ck_assert_int_eq(mp_mime_parse(raw, strlen(raw), FALLBACK, &m, &e),
	    0);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* LF text to CRLF. */
static char *
crlf(const char *s)
{
	struct mp_buf b = MP_BUF_INIT;

	for (; *s; s++) {
		if (*s == '\n')
			mp_buf_addc(&b, '\r');
		mp_buf_addc(&b, *s);
	}
	return mp_buf_detach(&b);
}

static const char simple[] =
    "From: Anriette Esterhuysen <chair@example.org>\n"
    "To: mag@example.org\n"
    "Subject: [MAG] Re: Workshop evaluations\n"
    "Date: Mon, 14 Jun 2021 10:00:00 +0200\n"
    "Message-ID: <abc.123@example.org>\n"
    "\n"
    "Dear all,\n"
    "\n"
    "please finish the evaluations by 17 June.\n"
    "\n";

static void
check_simple(const struct mp_msg *m)
{
	ck_assert_str_eq(m->message_id, "abc.123@example.org");
	ck_assert_ptr_null(m->in_reply_to);
	ck_assert_uint_eq(m->nrefs, 0);
	ck_assert_str_eq(m->from.name, "Anriette Esterhuysen");
	ck_assert_str_eq(m->from.addr, "chair@example.org");
	ck_assert_str_eq(m->subject, "[MAG] Re: Workshop evaluations");
	ck_assert_str_eq(m->subject_norm, "Workshop evaluations");
	ck_assert_int_eq(m->date, 1623657600);
	ck_assert_int_eq(m->date_off, 7200);
	ck_assert_int_eq(m->date_fallback, 0);
	ck_assert_ptr_null(m->list_id);
	ck_assert_str_eq(m->body,
	    "Dear all,\n\nplease finish the evaluations by 17 June.\n\n");
	ck_assert_str_eq(m->own,
	    "Dear all,\n\nplease finish the evaluations by 17 June.");
	ck_assert_str_eq(m->quoted, "");
	ck_assert_str_eq(m->sig, "");
	ck_assert_int_eq(m->warnings, 0);
}

START_TEST(test_simple_lf)
{
	struct mp_msg *m = parse(simple);

	check_simple(m);
	mp_msg_free(m);
}
END_TEST

START_TEST(test_simple_crlf)
{
	char *raw = crlf(simple);
	struct mp_msg *m = parse(raw);

	check_simple(m);
	mp_msg_free(m);
	free(raw);
}
END_TEST

START_TEST(test_from_with_space)
{
	/* RFC 5322 4.5.1: obsolete space before the colon; not an mbox line */
	struct mp_msg *m = parse("From : Paul <paul@example.org>\n"
	    "Message-ID: <sp@x>\n\nbody\n");

	ck_assert_str_eq(m->from.addr, "paul@example.org");
	ck_assert_str_eq(m->from.name, "Paul");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_mbox_from_line)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_msg *m;

	mp_buf_adds(&b, "From chair@example.org Mon Jun 14 08:00:00 2021\n");
	mp_buf_adds(&b, simple);
	m = parse(mp_buf_str(&b));
	check_simple(m);
	mp_msg_free(m);
	mp_buf_free(&b);
}
END_TEST

static const struct {
	const char *raw;
	const char *want;
} subjects[] = {
	{ "=?UTF-8?B?SGVsbG8gd8O2cmxk?=", "Hello wörld" },
	{ "=?utf-8?Q?Caf=C3=A9_au_lait?=", "Café au lait" },
	{ "=?ISO-8859-1?Q?Andr=E9_Pirard?=", "André Pirard" },
	{ "=?iso-8859-1?b?QW5kcukgUGlyYXJk?=", "André Pirard" },
	{ "=?windows-1252?Q?=93Quoted=94_=80_10?=",
	    "\u201cQuoted\u201d \u20ac 10" },
	{ "Re: =?UTF-8?Q?r=C3=A9union?= du MAG", "Re: réunion du MAG" },
	/* RFC 2047 6.2: the space between adjacent words is dropped */
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
	{ "Folded\n   across  lines", "Folded across lines" },
	{ "Raw UTF-8 r\xc3\xa9union", "Raw UTF-8 réunion" },
	{ "Raw Latin-1 r\xe9union", "Raw Latin-1 réunion" },
	{ "=?x-unknown-cs?q?caf=E9?=", "café" },
};

START_TEST(test_rfc2047_subject)
{
	char raw[512];
	struct mp_msg *m;

	snprintf(raw, sizeof(raw), "From: a@example.org\nSubject: %s\n"
	    "Message-ID: <s@x>\n\nbody\n", subjects[_i].raw);
	m = parse(raw);
	ck_assert_str_eq(m->subject, subjects[_i].want);
	ck_assert(valid_utf8(m->subject));
	mp_msg_free(m);
}
END_TEST

static const struct {
	const char *from;
	const char *name;
	const char *addr;
} names[] = {
	{ "=?UTF-8?Q?Jos=C3=A9_Mar=C3=ADa?= <jm@example.org>", "José María",
	    "jm@example.org" },
	{ "=?ISO-8859-1?Q?Fran=E7ois?= Dupont <fd@example.fr>",
	    "François Dupont", "fd@example.fr" },
	{ "=?iso-8859-1?B?Suly6W1pZQ==?= <j@example.org>", "Jérémie",
	    "j@example.org" },
	{ "=?windows-1252?Q?Ren=E9e_=84Q=93?= <r@example.org>",
	    "Renée \u201eQ\u201c", "r@example.org" },
	{ "\"Smith, John\" <js@example.org>", "Smith, John",
	    "js@example.org" },
	{ "plain@example.org", "", "plain@example.org" },
	/* the old form pipermail archives still use */
	{ "plain@example.org (Old Style)", "Old Style", "plain@example.org" },
	{ "vondruch at redhat.com (=?UTF-8?B?VsOtdCBPbmRydWNo?=)",
	    "Vít Ondruch", "vondruch@redhat.com" },
};

START_TEST(test_rfc2047_names)
{
	char raw[512];
	struct mp_msg *m;

	snprintf(raw, sizeof(raw), "From: %s\nSubject: x\n"
	    "Message-ID: <n@x>\n\nbody\n", names[_i].from);
	m = parse(raw);
	ck_assert_str_eq(m->from.name, names[_i].name);
	ck_assert_str_eq(m->from.addr, names[_i].addr);
	mp_msg_free(m);
}
END_TEST

/* Control characters go, text around them stays, and UTF-8 and bytes
 * that are not UTF-8 (windows-1252) are read, wherever they fall in a
 * line (the plain runs are scanned eight bytes at a time). */
START_TEST(test_odd_bytes_anywhere)
{
	static const struct {
		const char *in, *out;
	} odd[] = {
		{ "\x01", "" }, { "\x7f", "" }, { "\xc3\xa9", "\xc3\xa9" },
		{ "\xe9", "\xc3\xa9" }, { "\t", "\t" },
	};
	const char *line = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t k, i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		for (k = 0; k <= 20; k++) {
			struct mp_buf raw = MP_BUF_INIT, want = MP_BUF_INIT;
			struct mp_msg *m;

			mp_buf_adds(&raw, "From: a@example.org\n"
			    "Subject: x\n\n");
			mp_buf_add(&raw, line, k);
			mp_buf_adds(&raw, odd[i].in);
			mp_buf_adds(&raw, line + k);
			mp_buf_adds(&raw, "\n");
			mp_buf_add(&want, line, k);
			mp_buf_adds(&want, odd[i].out);
			mp_buf_adds(&want, line + k);
			m = parse(mp_buf_str(&raw));
			ck_assert_msg(strcmp(m->own, mp_buf_str(&want)) == 0,
			    "%zu/%zu: '%s'", i, k, m->own);
			mp_msg_free(m);
			mp_buf_free(&raw);
			mp_buf_free(&want);
		}
	}
}
END_TEST

START_TEST(test_base64_1252)
{
	/* "Caf\xe9 \x96 \x80 5\r\n\x93ok\x94\r\n" in windows-1252 */
	static const char raw[] =
	    "From: a@example.org\r\n"
	    "Subject: b64\r\n"
	    "Message-ID: <b64@x>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"windows-1252\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "Q2Fm6SCWIIAgNQ0Kk29rlA0K\r\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body,
	    "Caf\u00e9 \u2013 \u20ac 5\n\u201cok\u201d\n");
	ck_assert_int_eq(m->warnings, 0);
	mp_msg_free(m);
}
END_TEST

START_TEST(test_quoted_printable)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Subject: qp\n"
	    "Message-ID: <qp@x>\n"
	    "Content-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "Une r=C3=A9union tr=C3=A8s longue ligne qui est coup=\n"
	    "=C3=A9e en deux, a=3Db.\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body,
	    "Une réunion très longue ligne qui est coupée en deux, a=b.\n");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_other_charset)
{
	/* ISO-8859-15 has the euro sign at 0xa4, unlike ISO-8859-1 */
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <l9@x>\n"
	    "Content-Type: text/plain; charset=iso-8859-15\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "10 \xa4 \xbd\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body, "10 \u20ac \u0153\n");
	ck_assert_int_eq(m->warnings, 0);
	mp_msg_free(m);
}
END_TEST

START_TEST(test_unknown_charset)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <u@x>\n"
	    "Content-Type: text/plain; charset=x-no-such-charset\n"
	    "\n"
	    "caf\xe9 \x80\n";
	static const char raw_utf8[] =
	    "From: a@example.org\n"
	    "Message-ID: <u@x>\n"
	    "Content-Type: text/plain; charset=x-no-such-charset\n"
	    "\n"
	    "caf\xc3\xa9\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body, "café €\n");
	ck_assert_int_eq(m->warnings, 1);
	mp_msg_free(m);
	m = parse(raw_utf8);
	ck_assert_str_eq(m->body, "café\n");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_lying_utf8)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Subject: caf\xe9 \xff\xfe\n"
	    "Message-ID: <lie@x>\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "caf\xe9 ok \xc3\xa9 \xc3 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf\n"
	    "nul\x01 here\n";
	struct mp_msg *m = parse(raw);

	ck_assert(valid_utf8(m->body));
	ck_assert(valid_utf8(m->subject));
	ck_assert(valid_utf8(m->own));
	ck_assert_str_eq(m->subject, "café ÿþ");
	ck_assert_ptr_nonnull(strstr(m->body, "café ok é Ã "));
	ck_assert_ptr_nonnull(strstr(m->body, "\nnul here\n"));
	ck_assert_int_ge(m->warnings, 1);
	mp_msg_free(m);
}
END_TEST

START_TEST(test_no_charset)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <nc@x>\n"
	    "\n"
	    "na\xefve \xe2\x80\x94 caf\xc3\xa9\n";
	struct mp_msg *m = parse(raw);

	/* us-ascii by default: UTF-8 where valid, windows-1252 otherwise */
	ck_assert_str_eq(m->body, "naïve \u2014 café\n");
	mp_msg_free(m);
}
END_TEST

static const char alternative[] =
    "From: a@example.org\n"
    "Message-ID: <alt@x>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>HTML version</p>\n"
    "--inner\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Plain version, d=E9j=E0.\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: text/plain; name=notes.txt\n"
    "Content-Disposition: attachment; filename=notes.txt\n"
    "\n"
    "attached notes\n"
    "--outer--\n";

START_TEST(test_multipart_alternative)
{
	struct mp_msg *m = parse(alternative);

	/* RFC 2046 5.1.1: the line break before a boundary belongs to it */
	ck_assert_str_eq(m->body, "Plain version, déjà.");
	ck_assert_str_eq(m->own, "Plain version, déjà.");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_multipart_alternative_crlf)
{
	char *raw = crlf(alternative);
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body, "Plain version, déjà.");
	mp_msg_free(m);
	free(raw);
}
END_TEST

START_TEST(test_attachment_only_text)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <att@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: image/png\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "iVBORw0KGgo=\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "Content-Disposition: attachment; filename=a.txt\n"
	    "\n"
	    "not the body\n"
	    "--b--\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body, "");
	ck_assert_str_eq(m->own, "");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_html_only)
{
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <html@x>\n"
	    "Content-Type: text/html; charset=utf-8\n"
	    "\n"
	    "<html><head><title>T</title><style>p {color:red}</style>"
	    "</head>\n"
	    "<body><p>Dear   all,</p><p>Fish &amp; chips &lt;3 &quot;q&quot;"
	    "&nbsp;&#233;&#x20AC;</p>\n"
	    "<!-- a comment <p> -->"
	    "<div>line one<br>line two</div>"
	    "<ul><li>first</li><li>second</li></ul>"
	    "<script>var x = '<p>';</script>"
	    "a &unknown; b < c</body></html>\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->body,
	    "Dear all,\n\nFish & chips <3 \"q\" é€\n\nline one\nline two\n\n"
	    "- first\n- second\n\na &unknown; b < c");
	mp_msg_free(m);
}
END_TEST

static const char no_id[] =
    "From: a@example.org\n"
    "Subject: no id\n"
    "Date: Mon, 14 Jun 2021 10:00:00 +0200\n"
    "\n"
    "body\n";

START_TEST(test_synthesised_id)
{
	struct mp_msg *m1 = parse(no_id), *m2 = parse(no_id), *m3, *m4, *m5;
	char *raw_crlf = crlf(no_id);
	struct mp_buf b = MP_BUF_INIT;
	const char *id = m1->message_id;
	size_t i;

	ck_assert_uint_eq(strlen(id), 32 + strlen("@magpie.invalid"));
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", id[i]) != NULL);
	ck_assert_str_eq(id + 32, "@magpie.invalid");
	ck_assert_str_eq(m1->message_id, m2->message_id);
	ck_assert_int_eq(m1->warnings, 0);

	/* another header: another id */
	m3 = parse("From: a@example.org\nSubject: no id 2\n"
	    "Date: Mon, 14 Jun 2021 10:00:00 +0200\n\nbody\n");
	ck_assert_str_ne(m1->message_id, m3->message_id);

	/* the same message read from a CRLF source, or marked read in an
	 * mbox, keeps its id */
	m4 = parse(raw_crlf);
	ck_assert_str_eq(m1->message_id, m4->message_id);
	mp_buf_adds(&b, no_id);
	mp_buf_reset(&b);
	mp_buf_adds(&b, "Status: RO\nX-Status: A\n");
	mp_buf_adds(&b, no_id);
	m5 = parse(mp_buf_str(&b));
	ck_assert_str_eq(m1->message_id, m5->message_id);

	mp_buf_free(&b);
	free(raw_crlf);
	mp_msg_free(m1);
	mp_msg_free(m2);
	mp_msg_free(m3);
	mp_msg_free(m4);
	mp_msg_free(m5);
}
END_TEST

START_TEST(test_missing_date)
{
	struct mp_msg *m = parse("From: a@example.org\nMessage-ID: <d@x>\n"
	    "\nbody\n");

	ck_assert_int_eq(m->date, FALLBACK);
	ck_assert_int_eq(m->date_off, 0);
	ck_assert_int_eq(m->date_fallback, 1);
	ck_assert_int_eq(m->warnings, 0);
	mp_msg_free(m);
}
END_TEST

static const char *const bad_dates[] = {
	"yesterday afternoon",
	"Mon, 32 Jun 2021 10:00:00 +0200",
	"Mon, 14 Jun 2021 25:00:00 +0200",
	"Tue, 29 Feb 2022 10:00:00 +0000",
	"Mon, 14 Jun 2021 10:00:00 +0290",
	/* libetpan reads this zone as INT_MIN (found by fuzz_mime) */
	"Mon, 2 May 2005 16:07:05 -06000000000000000000000000000000000000000"
	    "00080000000000000000000000000000",
};

START_TEST(test_broken_date)
{
	char raw[256];
	struct mp_msg *m;

	snprintf(raw, sizeof(raw), "From: a@example.org\nMessage-ID: <d@x>\n"
	    "Date: %s\n\nbody\n", bad_dates[_i]);
	m = parse(raw);
	ck_assert_int_eq(m->date, FALLBACK);
	ck_assert_int_eq(m->date_fallback, 1);
	ck_assert_int_eq(m->warnings, 1);
	mp_msg_free(m);
}
END_TEST

static const struct {
	const char *date;
	int64_t t;
	long off;
} good_dates[] = {
	{ "Thu, 17 Jun 2021 23:59:00 +0000", 1623974340, 0 },
	{ "17 Jun 2021 19:59 -0400 (EDT)", 1623974340, -14400 },
	{ "Fri, 18 Jun 2021 05:29:00 +0530", 1623974340, 19800 },
	/* RFC 5322 4.3: two-digit year and a named zone */
	{ "Fri, 31 Dec 99 23:59:59 EST", 946702799, -18000 },
	{ "Thu, 17 Jun 2021 23:59:00 UT", 1623974340, 0 },
	{ "Thu, 17 Jun 2021 23:59:00 GMT", 1623974340, 0 },
	/* not RFC 5322, but what some gateways write */
	{ "Fri, 18 Jun 2021 01:59:00 +02:00", 1623974340, 7200 },
};

START_TEST(test_good_dates)
{
	char raw[256];
	struct mp_msg *m;

	snprintf(raw, sizeof(raw), "From: a@example.org\nMessage-ID: <d@x>\n"
	    "Date: %s\n\nbody\n", good_dates[_i].date);
	m = parse(raw);
	ck_assert_int_eq(m->date, good_dates[_i].t);
	ck_assert_int_eq(m->date_off, good_dates[_i].off);
	ck_assert_int_eq(m->date_fallback, 0);
	ck_assert_int_eq(m->warnings, 0);
	mp_msg_free(m);
}
END_TEST

START_TEST(test_references)
{
	static const char raw[] =
	    "From: a@example.org\r\n"
	    "Message-ID: <c@example.org>\r\n"
	    "In-Reply-To: <b@example.org> <other@example.org>\r\n"
	    "References: <a@example.org>\r\n"
	    "    <b@example.org>\r\n"
	    "\r\n"
	    "body\r\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->in_reply_to, "b@example.org");
	ck_assert_uint_eq(m->nrefs, 2);
	ck_assert_str_eq(m->refs[0], "a@example.org");
	ck_assert_str_eq(m->refs[1], "b@example.org");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_references_messy)
{
	/* Mailman/Emacs style comment and junk around the ids */
	static const char raw[] =
	    "From: a@example.org\n"
	    "Message-ID: <c@example.org>\n"
	    "In-Reply-To: Your message of \"Mon, 14 Jun 2021\"\n"
	    "    <b@example.org> (Bob's message)\n"
	    "References: <a@example.org> some junk <b@example.org>\n"
	    "\n"
	    "body\n";
	struct mp_msg *m = parse(raw);

	ck_assert_str_eq(m->in_reply_to, "b@example.org");
	ck_assert_uint_eq(m->nrefs, 2);
	ck_assert_str_eq(m->refs[0], "a@example.org");
	ck_assert_str_eq(m->refs[1], "b@example.org");
	mp_msg_free(m);
}
END_TEST

/* Ids keep their printable ASCII, lose controls, keep valid UTF-8,
 * have other 8-bit bytes replaced (U+FFFD), and stop at 998 bytes. */
START_TEST(test_reference_bytes)
{
	char raw[2400], id[1201];
	struct mp_msg *m;

	memset(id, 'x', 1200);
	id[1200] = '\0';
	snprintf(raw, sizeof(raw), "From: a@example.org\n"
	    "Message-ID: <c@example.org>\n"
	    "References: <a\001b@x> <caf\303\251@x> <caf\351@x> <%s>\n"
	    "\t<p.q-r_s+t=u/v?w!y#z$%%&'*^`{|}~@x>\n\nbody\n", id);
	m = parse(raw);
	ck_assert_uint_eq(m->nrefs, 5);
	ck_assert_str_eq(m->refs[0], "ab@x");
	ck_assert_str_eq(m->refs[1], "caf\303\251@x");
	ck_assert_str_eq(m->refs[2], "caf\357\277\275@x");
	ck_assert_uint_eq(strlen(m->refs[3]), 998);
	ck_assert_str_eq(m->refs[4], "p.q-r_s+t=u/v?w!y#z$%&'*^`{|}~@x");
	mp_msg_free(m);
}
END_TEST

START_TEST(test_list_id)
{
	struct mp_msg *m = parse("From: a@example.org\nMessage-ID: <l@x>\n"
	    "List-Id: IGF MAG\n  <mag.intgovforum.org>\n\nbody\n");

	ck_assert_str_eq(m->list_id, "mag.intgovforum.org");
	mp_msg_free(m);
	m = parse("From: a@example.org\nMessage-ID: <l@x>\n"
	    "List-ID: <discuss.example.org>\n\nbody\n");
	ck_assert_str_eq(m->list_id, "discuss.example.org");
	mp_msg_free(m);
	m = parse("From: a@example.org\nMessage-ID: <l@x>\n"
	    "List-Id: bare.example.org\n\nbody\n");
	ck_assert_str_eq(m->list_id, "bare.example.org");
	mp_msg_free(m);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} norms[] = {
	{ "Re: Workshop evaluations", "Workshop evaluations" },
	{ "RE: RE: Workshop evaluations", "Workshop evaluations" },
	{ "Re[2]: Workshop evaluations", "Workshop evaluations" },
	{ "AW: Aw: Sitzung", "Sitzung" },
	{ "SV: Möte", "Möte" },
	{ "Fwd: Fw: FW: agenda", "agenda" },
	{ "TR: ordre du jour", "ordre du jour" },
	{ "WG: Tagesordnung", "Tagesordnung" },
	{ "[MAG] Re: [MAG] Re: Open consultations",
	    "Open consultations" },
	{ "Re: [IGF-MAG] Fwd: [MAG]   Call   for\t inputs ",
	    "Call for inputs" },
	{ "  [MAG]  ", "" },
	{ "Re:", "" },
	{ "", "" },
	{ "Remarks on the agenda", "Remarks on the agenda" },
	{ "Reminder: deadline", "Reminder: deadline" },
	{ "The [MAG] meeting", "The [MAG] meeting" },
	{ "Re : spaced colon", "spaced colon" },
	{ "re: lower", "lower" },
	{ "[unclosed tag", "[unclosed tag" },
};

START_TEST(test_subject_norm)
{
	char *s = mp_mime_subject_norm(norms[_i].in);

	ck_assert_str_eq(s, norms[_i].out);
	free(s);
}
END_TEST

START_TEST(test_subject_norm_null)
{
	char *s = mp_mime_subject_norm(NULL);

	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

static const struct {
	const char *name;
	const char *body;
	const char *own;
	const char *quoted;
	const char *sig;
} splits[] = {
	{ "plain", "Hello\n\nworld\n\n\n", "Hello\n\nworld", "", "" },
	{ "bottom quote",
	    "I agree.\n\nOn Mon, 14 Jun 2021 at 10:00, Anriette wrote:\n"
	    "> Please review.\n> Thanks\n",
	    "I agree.",
	    "On Mon, 14 Jun 2021 at 10:00, Anriette wrote:\n"
	    "> Please review.\n> Thanks",
	    "" },
	{ "wrapped attribution",
	    "Fine with me.\n\nOn Mon, Jun 14, 2021 at 10:00 AM Anriette "
	    "Esterhuysen <\nchair@example.org> wrote:\n\n> Please review.\n",
	    "Fine with me.",
	    "On Mon, Jun 14, 2021 at 10:00 AM Anriette Esterhuysen <\n"
	    "chair@example.org> wrote:\n\n> Please review.",
	    "" },
	{ "interleaved",
	    "On Mon, Anriette wrote:\n> First question?\n\nYes.\n\n"
	    "> Second question?\n\nNo.\n",
	    "Yes.\n\nNo.",
	    "On Mon, Anriette wrote:\n> First question?\n> Second question?",
	    "" },
	{ "outlook",
	    "See below.\n\nRegards,\nPaul\n\n"
	    "________________________________\n"
	    "From: Anriette <chair@example.org>\n"
	    "Sent: Monday, June 14, 2021 10:00 AM\n"
	    "To: mag@example.org\n"
	    "Subject: Workshop evaluations\n\n"
	    "Please review.\n",
	    "See below.\n\nRegards,\nPaul",
	    "________________________________\n"
	    "From: Anriette <chair@example.org>\n"
	    "Sent: Monday, June 14, 2021 10:00 AM\n"
	    "To: mag@example.org\n"
	    "Subject: Workshop evaluations\n\n"
	    "Please review.",
	    "" },
	{ "original message",
	    "Noted.\n-----Original Message-----\nFrom: X\nPlease review.\n",
	    "Noted.",
	    "-----Original Message-----\nFrom: X\nPlease review.",
	    "" },
	{ "signature",
	    "Thanks.\n\n-- \nPaul\nMAG member\n",
	    "Thanks.", "", "Paul\nMAG member" },
	{ "signature without space",
	    "Thanks.\n--\nPaul\n", "Thanks.", "", "Paul" },
	{ "signature then quote",
	    "Thanks.\n-- \nPaul\n\nOn Mon, Anriette wrote:\n> Review.\n",
	    "Thanks.", "On Mon, Anriette wrote:\n> Review.", "Paul" },
	{ "mailman footer",
	    "Agreed.\n\n> earlier\n"
	    "_______________________________________________\n"
	    "MAG mailing list\nMAG@example.org\n"
	    "https://lists.example.org/mailman/listinfo/mag\n",
	    "Agreed.", "> earlier",
	    "MAG mailing list\nMAG@example.org\n"
	    "https://lists.example.org/mailman/listinfo/mag" },
	{ "sig and footer",
	    "Ok.\n-- \nPaul\n"
	    "_______________________________________________\n"
	    "MAG mailing list\n",
	    "Ok.", "", "Paul\n\nMAG mailing list" },
	{ "french",
	    "D'accord.\n\nLe lun. 14 juin 2021 à 10:00, Anriette <c@x> a "
	    "écrit :\n> Merci\n",
	    "D'accord.",
	    "Le lun. 14 juin 2021 à 10:00, Anriette <c@x> a écrit :\n> Merci",
	    "" },
	{ "spanish",
	    "Sí.\nEl lun, 14 jun 2021 a las 10:00, Ana (<a@x>) escribió:\n"
	    "> Gracias\n",
	    "Sí.", "El lun, 14 jun 2021 a las 10:00, Ana (<a@x>) escribió:\n"
	    "> Gracias", "" },
	{ "german",
	    "Ja.\nAm 14.06.2021 um 10:00 schrieb Hans <h@x>:\n> Danke\n",
	    "Ja.", "Am 14.06.2021 um 10:00 schrieb Hans <h@x>:\n> Danke", "" },
	{ "portuguese",
	    "Sim.\nEm seg., 14 de jun. de 2021 às 10:00, Ana <a@x> escreveu:\n"
	    "> Obrigada\n",
	    "Sim.",
	    "Em seg., 14 de jun. de 2021 às 10:00, Ana <a@x> escreveu:\n"
	    "> Obrigada", "" },
	{ "not an attribution",
	    "On the agenda we have:\n- item\n",
	    "On the agenda we have:\n- item",
	    "", "" },
	{ "crlf", "Hi\r\n> q\r\n", "Hi", "> q", "" },
	{ "empty", "", "", "", "" },
};

START_TEST(test_split_body)
{
	char *own, *quoted, *sig;

	mp_mime_split_body(splits[_i].body, &own, &quoted, &sig);
	ck_assert_msg(strcmp(own, splits[_i].own) == 0, "%s: own [%s]",
	    splits[_i].name, own);
	ck_assert_msg(strcmp(quoted, splits[_i].quoted) == 0,
	    "%s: quoted [%s]", splits[_i].name, quoted);
	ck_assert_msg(strcmp(sig, splits[_i].sig) == 0, "%s: sig [%s]",
	    splits[_i].name, sig);
	free(own);
	free(quoted);
	free(sig);
}
END_TEST

START_TEST(test_split_in_parse)
{
	struct mp_msg *m = parse("From: a@example.org\nMessage-ID: <q@x>\n\n"
	    "Yes.\n\nOn Mon, Anriette wrote:\n> Ok?\n\n-- \nnot a sig\n");

	ck_assert_str_eq(m->own, "Yes.");
	ck_assert_str_eq(m->quoted,
	    "On Mon, Anriette wrote:\n> Ok?\n\n-- \nnot a sig");
	ck_assert_str_eq(m->sig, "");
	mp_msg_free(m);
}
END_TEST

static const struct {
	const char *raw;
	size_t len;
} garbage[] = {
	{ "", 0 },
	{ "   \r\n\n\t ", 8 },
	{ "From someone@example.org Mon Jun 14 2021\n", 41 },
};

START_TEST(test_garbage)
{
	struct mp_err e;
	struct mp_msg *m = (struct mp_msg *)&e;

	mp_err_clear(&e);
	ck_assert_int_eq(mp_mime_parse(garbage[_i].raw, garbage[_i].len,
	    FALLBACK, &m, &e), -1);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	ck_assert_str_ne(e.msg, "");
	ck_assert_int_eq(mp_mime_parse(NULL, 0, FALLBACK, &m, NULL), -1);
}
END_TEST

/* Anything else is a message, degraded: stored with a warning. */
static const struct {
	const char *raw;
	size_t len;
	const char *body;
} degraded[] = {
	{ "just some words without any structure", 37,
	    "just some words without any structure" },
	{ "\x01\x02\x03\xff\xfe binary", 12, "\xc3\xbf\xc3\xbe binary" },
	{ "no colon here\r\nnor here\n", 24, "no colon here\nnor here\n" },
	{ "From x Mon Jun 14 10:00:00 2021\nplain words\n", 44,
	    "plain words\n" },
};

START_TEST(test_degraded)
{
	struct mp_err e;
	struct mp_msg *m = NULL, *m2 = NULL;

	mp_err_clear(&e);
	ck_assert_int_eq(mp_mime_parse(degraded[_i].raw, degraded[_i].len,
	    FALLBACK, &m, &e), 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_ge(m->warnings, 1);
	ck_assert_str_eq(m->body, degraded[_i].body);
	ck_assert_str_eq(m->subject, "");
	ck_assert_str_eq(m->from.addr, "");
	ck_assert_str_eq(m->to, "");
	ck_assert_str_eq(m->attachments, "");
	ck_assert_int_eq(m->date, FALLBACK);
	ck_assert_int_eq(m->date_fallback, 1);
	ck_assert_uint_eq(strlen(m->message_id), 32 + 15);
	ck_assert_str_eq(m->message_id + 32, "@magpie.invalid");
	ck_assert_ptr_nonnull(m->own);
	/* the same bytes, the same id */
	ck_assert_int_eq(mp_mime_parse(degraded[_i].raw, degraded[_i].len,
	    0, &m2, &e), 0);
	ck_assert_str_eq(m->message_id, m2->message_id);
	mp_msg_free(m);
	mp_msg_free(m2);
}
END_TEST

START_TEST(test_lenient)
{
	struct mp_msg *m;

	/* no header at all but a body: a message with warnings */
	m = parse("hello there\n\nbody text\n");
	ck_assert_int_ge(m->warnings, 1);
	ck_assert(valid_utf8(m->body));
	ck_assert_str_eq(m->from.addr, "");
	ck_assert_str_eq(m->subject, "");
	mp_msg_free(m);
	/* headers only, no body */
	m = parse("From: a@example.org\nSubject: only headers");
	ck_assert_str_eq(m->subject, "only headers");
	ck_assert_str_eq(m->body, "");
	mp_msg_free(m);
	/* a From libetpan rejects */
	m = parse("From: Broken Name <broken@example.org\nMessage-ID: <x@y>\n"
	    "\nbody\n");
	ck_assert_int_ge(m->warnings, 1);
	ck_assert_str_eq(m->from.name, "Broken Name");
	ck_assert_str_eq(m->from.addr, "broken@example.org");
	mp_msg_free(m);
	m = parse("From: \"Unclosed <u@example.org>\nMessage-ID: <x@y>\n"
	    "\nbody\n");
	ck_assert(valid_utf8(m->from.name));
	mp_msg_free(m);
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_msg *m;
	int i;

	/* enough nested entities to overflow libetpan's recursion */
	mp_buf_adds(&b, "From: a@example.org\nMessage-ID: <deep@x>\n");
	for (i = 0; i < 50000; i++)
		mp_buf_adds(&b, "Content-Type: message/rfc822\n\n");
	mp_buf_adds(&b, "innermost\n");
	m = parse(mp_buf_str(&b));
	ck_assert_str_eq(m->message_id, "deep@x");
	ck_assert(valid_utf8(m->body));
	ck_assert_int_ge(m->warnings, 1);
	mp_msg_free(m);

	/* below the bound libetpan gets the whole tree */
	mp_buf_reset(&b);
	mp_buf_adds(&b, "From: a@example.org\nMessage-ID: <deep1@x>\n");
	for (i = 0; i < 500; i++)
		mp_buf_adds(&b, "Content-Type: message/rfc822\n\n");
	mp_buf_adds(&b, "innermost\n");
	m = parse(mp_buf_str(&b));
	ck_assert_str_eq(m->message_id, "deep1@x");
	ck_assert(valid_utf8(m->body));
	mp_msg_free(m);

	mp_buf_reset(&b);
	mp_buf_adds(&b, "From: a@example.org (");
	for (i = 0; i < 300000; i++)
		mp_buf_addc(&b, '(');
	mp_buf_adds(&b, "\nMessage-ID: <deep2@x>\n\nbody\n");
	m = parse(mp_buf_str(&b));
	ck_assert_str_eq(m->message_id, "deep2@x");
	ck_assert_str_eq(m->body, "body\n");
	mp_msg_free(m);

	mp_buf_reset(&b);
	mp_buf_adds(&b, "From: a@example.org\nMessage-ID: <deep3@x>\n");
	for (i = 0; i < 5000; i++)
		mp_buf_printf(&b, "Content-Type: multipart/mixed; "
		    "boundary=b%d\n\n--b%d\n", i, i);
	mp_buf_adds(&b, "\ninnermost\n");
	m = parse(mp_buf_str(&b));
	ck_assert(valid_utf8(m->body));
	mp_msg_free(m);
	mp_buf_free(&b);
}
END_TEST

/* Inputs that would take quadratic time in a careless scanner. */
START_TEST(test_big_inputs)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_msg *m;
	char *own, *quoted, *sig;
	int i;

	mp_buf_adds(&b, "From: a@example.org\nMessage-ID: <big@x>\n"
	    "Content-Type: text/html\n\n");
	for (i = 0; i < 200000; i++)
		mp_buf_adds(&b, "<a");
	m = parse(mp_buf_str(&b));
	ck_assert_uint_eq(strlen(m->body), 400000);
	mp_msg_free(m);

	mp_buf_reset(&b);
	mp_buf_adds(&b, "Hi\n");
	for (i = 0; i < 300000; i++)
		mp_buf_adds(&b, "\n");
	mp_buf_adds(&b, "X wrote:\n");
	for (i = 0; i < 100000; i++)
		mp_buf_adds(&b, "> q\n\n");
	mp_mime_split_body(mp_buf_str(&b), &own, &quoted, &sig);
	ck_assert_str_eq(own, "Hi");
	ck_assert_uint_eq(strlen(quoted), 9 + 100000 * 5 - 2);
	free(own);
	free(quoted);
	free(sig);

	mp_buf_reset(&b);
	mp_buf_adds(&b, "From: a@example.org\nReferences:");
	for (i = 0; i < 100000; i++)
		mp_buf_printf(&b, " <%d@x>", i);
	mp_buf_adds(&b, "\nIn-Reply-To:");
	for (i = 0; i < 100000; i++)
		mp_buf_adds(&b, " <<");
	mp_buf_adds(&b, "\n\nbody\n");
	m = parse(mp_buf_str(&b));
	ck_assert_uint_eq(m->nrefs, 512);
	ck_assert_str_eq(m->refs[511], "511@x");
	mp_msg_free(m);
	mp_buf_free(&b);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char raw[] = "From: a@example.org\nSubject: a\0b\n"
	    "Message-ID: <z@x>\n\nbody\0with nul\n";
	struct mp_msg *m = NULL;

	ck_assert_int_eq(mp_mime_parse(raw, sizeof(raw) - 1, FALLBACK, &m,
	    NULL), 0);
	ck_assert(valid_utf8(m->body));
	ck_assert(valid_utf8(m->subject));
	ck_assert_ptr_null(strchr(m->subject, '\n'));
	mp_msg_free(m);
}
END_TEST

/* ---- the shared corpus ------------------------------------------------ */

static int corpus_files, corpus_parsed, corpus_rejected, corpus_skipped;

/*
 * Under valgrind 3.19, glibc's loader trips a false "invalid read" (an
 * SSE2 strncmp on "$ORIGIN") when iconv loads a converter that has a
 * RUNPATH: the CJK ones. Files naming those charsets are left out there.
 */
static int
vg_unsafe(const char *raw, size_t len)
{
	static const char *const cs[] = { "iso-2022", "euc-", "euckr",
		"ks_c_5601", "johab", "uhc", "jisx0213", NULL };
	const char *pre = getenv("LD_PRELOAD");
	size_t i, k;
	int j;

	if (pre == NULL || strstr(pre, "vgpreload") == NULL)
		return 0;
	for (j = 0; cs[j]; j++) {
		k = strlen(cs[j]);
		for (i = 0; i + k <= len; i++)
			if (strncasecmp(raw + i, cs[j], k) == 0)
				return 1;
	}
	return 0;
}

static int
skip_name(const char *path)
{
	const char *b = strrchr(path, '/');
	static const char *const ext[] = { ".json", ".out", ".xml", ".png",
		".doc", ".md", ".bin", NULL };
	size_t n;
	int i;

	b = b ? b + 1 : path;
	if (strncmp(b, "LICENSE", 7) == 0 || strncmp(b, "COPYING", 7) == 0 ||
	    strncmp(b, "NOTICE", 6) == 0 || strncmp(b, "README", 6) == 0 ||
	    strcmp(b, "MIT-LICENSE") == 0)
		return 1;
	n = strlen(b);
	for (i = 0; ext[i]; i++)
		if (n >= strlen(ext[i]) &&
		    strcmp(b + n - strlen(ext[i]), ext[i]) == 0)
			return 1;
	return 0;
}

static int
visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct mp_msg *m = NULL;
	struct mp_err e;
	char *raw;
	size_t len, i;

	if (type != FTW_F || skip_name(path))
		return 0;
	corpus_files++;
	ck_assert_msg(mp_read_file(path, 64 << 20, &raw, &len) == 0,
	    "cannot read %s", path);
	if (vg_unsafe(raw, len)) {
		corpus_skipped++;
		free(raw);
		return 0;
	}
	if (mp_mime_parse(raw, len, FALLBACK, &m, &e) != 0) {
		ck_assert_ptr_null(m);
		ck_assert_int_eq(e.code, MP_EX_DATAERR);
		corpus_rejected++;
		free(raw);
		return 0;
	}
	corpus_parsed++;
	ck_assert_msg(valid_utf8(m->body), "%s: body", path);
	ck_assert_msg(valid_utf8(m->own), "%s: own", path);
	ck_assert_msg(valid_utf8(m->quoted), "%s: quoted", path);
	ck_assert_msg(valid_utf8(m->sig), "%s: sig", path);
	ck_assert_msg(valid_utf8(m->subject), "%s: subject", path);
	ck_assert_msg(valid_utf8(m->subject_norm), "%s: subject_norm", path);
	ck_assert_msg(valid_utf8(m->from.name), "%s: name", path);
	ck_assert_msg(valid_utf8(m->from.addr), "%s: addr", path);
	ck_assert_msg(valid_utf8(m->message_id), "%s: id", path);
	ck_assert_msg(m->message_id[0] != '\0', "%s: empty id", path);
	ck_assert_msg(strpbrk(m->subject, "\r\n") == NULL, "%s: CR/LF", path);
	ck_assert_msg(strpbrk(m->from.name, "\r\n") == NULL, "%s: name CR/LF",
	    path);
	ck_assert_msg(strchr(m->body, '\r') == NULL, "%s: CR in body", path);
	for (i = 0; i < m->nrefs; i++)
		ck_assert_msg(strpbrk(m->refs[i], " \r\n<>") == NULL,
		    "%s: ref", path);
	mp_msg_free(m);
	free(raw);
	return 0;
}

START_TEST(test_corpus)
{
	const char *sh = tu_shared();
	char dir[4200];

	if (sh == NULL) {
		fprintf(stderr, "check_mime: no shared data, corpus skipped\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/testdata/mail", sh);
	if (access(dir, R_OK) != 0) {
		fprintf(stderr, "check_mime: %s absent, corpus skipped\n", dir);
		return;
	}
	ck_assert_int_eq(nftw(dir, visit, 16, FTW_PHYS), 0);
	printf("check_mime: corpus: %d files, %d parsed, %d rejected as "
	    "not messages, %d skipped under valgrind\n", corpus_files,
	    corpus_parsed, corpus_rejected, corpus_skipped);
	ck_assert_int_gt(corpus_parsed, 400);
	ck_assert_int_eq(corpus_parsed + corpus_rejected + corpus_skipped,
	    corpus_files);
}
END_TEST

/* ---- fast path against libetpan ---------------------------------------- */

static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every field of two messages equal; the first difference named. */
static const char *
msg_diff(const struct mp_msg *a, const struct mp_msg *b)
{
#define F(x) { offsetof(struct mp_msg, x), #x }
	static const struct {
		size_t off;
		const char *name;
	} strs[] = {
		F(message_id), F(in_reply_to), F(from.name), F(from.addr),
		F(subject), F(subject_norm), F(list_id), F(body), F(own),
		F(quoted), F(sig), F(to), F(cc), F(attachments),
	};
#undef F
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!str_same(*(char *const *)((const char *)a + strs[i].off),
		    *(char *const *)((const char *)b + strs[i].off)))
			return strs[i].name;
	if (a->nrefs != b->nrefs)
		return "nrefs";
	for (i = 0; i < a->nrefs; i++)
		if (!str_same(a->refs[i], b->refs[i]))
			return "refs";
	if (a->date != b->date || a->date_off != b->date_off ||
	    a->date_fallback != b->date_fallback)
		return "date";
	if (a->warnings != b->warnings)
		return "warnings";
	return NULL;
}

struct diffcount {
	int fast, slow, skipped;
};

/*
 * One message three ways: the default, libetpan only, the fast path
 * only. The default and, when it answers, the fast path must give what
 * libetpan gives. Returns 1 when the fast path took the message.
 */
static int
diff_one(const char *raw, size_t len, int64_t fallback, const char *what)
{
	struct mp_msg *d = NULL, *s = NULL, *f = NULL;
	struct mp_err e;
	const char *field;
	int rd, rs, rf;

	rd = mp_mime_parse_flags(raw, len, fallback, 0, &d, &e);
	rs = mp_mime_parse_flags(raw, len, fallback, MP_MIME_SLOW, &s, &e);
	rf = mp_mime_parse_flags(raw, len, fallback, MP_MIME_FAST_ONLY, &f,
	    &e);
	ck_assert_msg(rd == rs, "%s: default %d, slow %d", what, rd, rs);
	ck_assert_msg(rf == rs || rf == 1, "%s: fast %d, slow %d", what, rf,
	    rs);
	if (rs == 0) {
		field = msg_diff(d, s);
		ck_assert_msg(field == NULL, "%s: default and slow differ: %s",
		    what, field);
	}
	if (rf == 0 && rs == 0) {
		field = msg_diff(f, s);
		ck_assert_msg(field == NULL, "%s: fast and slow differ: %s",
		    what, field);
	}
	mp_msg_free(d);
	mp_msg_free(s);
	mp_msg_free(f);
	return rf == 0;
}

static int
diff_cb(const char *raw, size_t len, int64_t delivered, const char *origin,
    void *ctx)
{
	struct diffcount *c = ctx;

	if (vg_unsafe(raw, len)) {
		c->skipped++;
		return 0;
	}
	if (diff_one(raw, len, delivered, origin))
		c->fast++;
	else
		c->slow++;
	return 0;
}

static struct diffcount *diff_files;

/* Each file whole (as test_corpus reads it) and, split as its source
 * reader splits it, message by message (mboxes, Maildir files). */
static int
diff_visit(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	struct mp_err e;
	char *raw;
	size_t len;

	if (type != FTW_F || skip_name(path))
		return 0;
	ck_assert_msg(mp_read_file(path, 64 << 20, &raw, &len) == 0,
	    "cannot read %s", path);
	if (len < 2 || memcmp(raw, "\x1f\x8b", 2) != 0)
		diff_cb(raw, len, FALLBACK, path, diff_files);
	free(raw);
	mp_err_clear(&e);
	ck_assert_msg(mp_source_read(path, diff_cb, diff_files, &e) == 0,
	    "%s: %s", path, e.msg);
	return 0;
}

static void
diff_tree(const char *dir, struct diffcount *c)
{
	diff_files = c;
	ck_assert_int_eq(nftw(dir, diff_visit, 16, FTW_PHYS), 0);
}

static void
diff_report(const char *what, const struct diffcount *c)
{
	printf("check_mime: %s: %d messages, fast path %d, libetpan %d%s\n",
	    what, c->fast + c->slow, c->fast, c->slow,
	    c->skipped ? " (some skipped under valgrind)" : "");
}

START_TEST(test_fast_same_data)
{
	struct diffcount c = { 0, 0, 0 };
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/tests/data", tu_srcdir());
	diff_tree(dir, &c);
	diff_report("tests/data", &c);
	ck_assert_int_gt(c.fast + c.slow, 0);
}
END_TEST

/* ../shared/testdata/<sub>, when there. */
static void
diff_shared(const char *sh, const char *sub, struct diffcount *c)
{
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/testdata/%s", sh, sub);
	if (access(dir, R_OK) != 0)
		return;
	diff_tree(dir, c);
	snprintf(dir, sizeof(dir), "testdata/%s", sub);
	diff_report(dir, c);
}

START_TEST(test_fast_same_shared)
{
	struct diffcount mail = { 0, 0, 0 }, threads = { 0, 0, 0 };
	const char *sh = tu_shared();

	if (sh == NULL) {
		fprintf(stderr, "check_mime: no shared data, fast/slow "
		    "comparison on tests/data only\n");
		return;
	}
	diff_shared(sh, "mail", &mail);
	diff_shared(sh, "threads", &threads);
	/* real list traffic: most of it is plain */
	ck_assert_int_ge(threads.fast * 100,
	    85 * (threads.fast + threads.slow));
}
END_TEST

/* 2000 messages of ../shared/tools/gen-corpus (seeded). */
START_TEST(test_fast_same_generated)
{
	struct diffcount c = { 0, 0, 0 };
	const char *sh = tu_shared();
	char *tmp, cmd[9000], path[4200];
	struct mp_err e;

	if (sh == NULL) {
		fprintf(stderr, "check_mime: no shared data, generated "
		    "corpus skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/tools/gen-corpus", sh);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "check_mime: no %s, skipped\n", path);
		return;
	}
	tmp = tu_tmpdir();
	snprintf(cmd, sizeof(cmd), "python3 '%s' -q -n 2000 --seed 7 "
	    "--format mbox -o '%s/g.mbox' >/dev/null 2>&1", path, tmp);
	if (system(cmd) != 0) {
		fprintf(stderr, "check_mime: gen-corpus failed, skipped\n");
		tu_rmtree(tmp);
		free(tmp);
		return;
	}
	snprintf(path, sizeof(path), "%s/g.mbox", tmp);
	mp_err_clear(&e);
	ck_assert_int_eq(mp_source_read(path, diff_cb, &c, &e), 0);
	diff_report("gen-corpus -n 2000", &c);
	tu_rmtree(tmp);
	free(tmp);
	ck_assert_int_eq(c.fast + c.slow + c.skipped, 2000);
	ck_assert_int_ge(c.fast * 100, 95 * (c.fast + c.slow));
}
END_TEST

/* Shapes at the edges of the fast path: equal results both ways, the
 * fast path taken (1) or not (0) as expected, and the body expected. */
static const struct {
	const char *what, *raw;
	int fast;
	const char *body;	/* NULL: not checked */
} edges[] = {
	{ "preamble and epilogue",
	    "From: a@example.org\nMessage-ID: <e1@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "This is a preamble.\n--b not yet\n\n--b\n"
	    "Content-Type: text/plain\n\nbody\n--b--\nepilogue\n--b\n",
	    0, NULL },
	{ "epilogue without boundary lines",
	    "From: a@example.org\nMessage-ID: <e1@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "This is a preamble.\n--b\n"
	    "Content-Type: text/plain\n\nbody\n--b--\nepilogue\n-- \nsig\n",
	    1, "body" },
	{ "boundary-prefixed line inside a part",
	    "From: a@example.org\nMessage-ID: <e2@x>\n"
	    "Content-Type: multipart/mixed; boundary=\"bnd\"\n\n"
	    "--bnd\nContent-Type: text/plain\n\none\n--bnd-not\ntwo\n"
	    "--bnd\nContent-Type: text/plain; name=x.txt\n\nthree\n"
	    "--bnd--\n",
	    1, "one\n--bnd-not\ntwo" },
	/* libetpan's preamble scanner (found by fuzz_mime) */
	{ "one byte before the first boundary",
	    "From: a@example.org\nMessage-ID: <e2@x>\n"
	    "Content-Type: multipart/mixed; boundary=\"bnd\"\n\n"
	    "preamble\nx--bnd\nnot a field\n--bnd\n\nbody\n--bnd--\n", 0,
	    "not a field" },
	{ "boundary-prefixed first line",
	    "From: a@example.org\nMessage-ID: <e2@x>\n"
	    "Content-Type: multipart/mixed; boundary=\"bnd\"\n\n"
	    "--bnd-not\n--bnd\n\nbody\n--bnd--\n", 0, NULL },
	{ "missing final boundary",
	    "From: a@example.org\nMessage-ID: <e3@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nfirst\n- item\nlast\n", 0,
	    NULL },
	{ "close delimiter then another delimiter",
	    "From: a@example.org\nMessage-ID: <e4@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nfirst\n--b--\n--b\n\n"
	    "second\n--b--\n", 0, NULL },
	{ "empty part",
	    "From: a@example.org\nMessage-ID: <e5@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nfirst\n--b\n--b--\n", 0, NULL },
	{ "blank line after a delimiter",
	    "From: a@example.org\nMessage-ID: <e6@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\n\nfirst\n--b--\n", 0, NULL },
	{ "part without header fields",
	    "From: a@example.org\nMessage-ID: <e6@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nJust text: no fields here\n--b--\n", 1,
	    "Just text: no fields here" },
	/* the line break before a delimiter is the delimiter's: the field
	 * has none, and libetpan reads it as the body */
	{ "part with fields up to its end",
	    "From: a@example.org\nMessage-ID: <e6@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n--b\nContent-Type: text/plain\n"
	    "\nsecond\n--b--\n", 0, "Content-Type: text/plain" },
	{ "CRLF nested multipart, transport padding",
	    "From: a@example.org\r\nMessage-ID: <e7@x>\r\n"
	    "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
	    "--o \t\r\nContent-Type: multipart/alternative; boundary=i\r\n"
	    "\r\n--i\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
	    "--i\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	    "plain\r\nline\r\n--i--\r\n--o\r\nContent-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n--o--\r\n",
	    1, "plain\nline" },
	/* libetpan's field names take any byte above space but ':' */
	{ "8-bit byte in a part's field name (found by fuzz_mime)",
	    "From: a@example.org\r\nMessage-ID: <e7@x>\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Enc\xa0oding: x\r\nnot a field\r\n\r\n"
	    "--b--\r\n", 0, "not a field\n" },
	{ "lone CR in a multipart",
	    "From: a@example.org\nMessage-ID: <e8@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nfirst\r--b\nsecond\n--b--\n", 0, NULL },
	{ "base64 with line breaks, garbage and padding inside",
	    "From: a@example.org\nMessage-ID: <e9@x>\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "SGVs\nbG8g*d29y!bGQ=\nIQ\n", 1, NULL },
	{ "base64 group of one",
	    "From: a@example.org\nMessage-ID: <e9@x>\n"
	    "Content-Transfer-Encoding: BASE64\n\nSGVsbG8h\nQ\n", 1, NULL },
	{ "quoted-printable soft breaks, CRLF, bad escapes",
	    "From: a@example.org\r\nMessage-ID: <e10@x>\r\n"
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=E9 soft=\r\nbreak =3D =zz =\nend\r\n=", 1, NULL },
	{ "quoted-printable ending in =X",
	    "From: a@example.org\nMessage-ID: <e11@x>\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nabc=4", 0, NULL },
	{ "quoted-printable CR at the end",
	    "From: a@example.org\nMessage-ID: <e11@x>\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nabc\r", 1, NULL },
	{ "space before a colon",
	    "From : a@example.org\nMessage-ID: <e12@x>\n\nbody\n", 0, NULL },
	{ "quoted encoded word as display name",
	    "From: \"=?utf-8?B?5p2O5Lyf?=\" <l@example.org>\n"
	    "To: \"=?utf-8?Q?a?=\" <t@example.org>, \"Doe, J\" <j@example.org>"
	    "\nMessage-ID: <e13@x>\n\nbody\n", 1, NULL },
	{ "comment after In-Reply-To",
	    "From: a@example.org\nMessage-ID: <e14@x> (c)\n"
	    "In-Reply-To: <p@x> (Bob's message of\n \"Mon, 1 Mar\")\n"
	    "References: <o@x>\n\t<p@x>\n\nbody\n", 1, NULL },
	/* a comment ending a line of a From (here the second, which
	 * magpie ignores) ends libetpan's header there (found by
	 * fuzz_mime) */
	{ "comment before a fold in a structured field",
	    "From: a@example.org\nMessage-ID: <e14@x>\n"
	    "From: b@example.org (B)\n\tcontinued\nSubject: s\n\nbody\n",
	    0, NULL },
	{ "encoded word running into the next field",
	    "From: a@example.org\nMessage-ID: <e14@x>\n"
	    "Reply-To: =?utf-8?q?abc\nSubject: x ?= <r@example.org>\n\n"
	    "body\n", 0, NULL },
	{ "comment before a fold in an unstructured field",
	    "From: a@example.org\nMessage-ID: <e14@x>\n"
	    "Received: from x (x [192.0.2.1])\n\tby y\nSubject: s\n\n"
	    "body\n", 1, "body\n" },
	{ "unclosed comment after an id (found by fuzz_mime)",
	    "From: a@example.org\nMessage-ID: <e14@x>\n"
	    "In-Reply-To: <p@x> (Bob's (message\n\tof Monday\n\nbody\n",
	    0, NULL },
	{ "group in To",
	    "From: a@example.org\nTo: list: b@example.org;\n"
	    "Message-ID: <e15@x>\n\nbody\n", 0, NULL },
	{ "date forms",
	    "From: a@example.org\nMessage-ID: <e16@x>\n"
	    "Date: 4 Mar 2021 14:58 +0700 (ICT)\n\nbody\n", 1, NULL },
	{ "impossible date",
	    "From: a@example.org\nMessage-ID: <e16@x>\n"
	    "Date: Mon, 31 Feb 2021 14:58:00 +0700\n\nbody\n", 1, NULL },
	{ "named zone",
	    "From: a@example.org\nMessage-ID: <e16@x>\n"
	    "Date: Mon, 1 Feb 2021 14:58:00 EST\n\nbody\n", 0, NULL },
	{ "message/rfc822 part",
	    "From: a@example.org\nMessage-ID: <e17@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee below\n"
	    "--b\nContent-Type: message/rfc822\n\nFrom: c@example.org\n"
	    "Subject: inner\n\ninner body\n--b--\n", 0, NULL },
	{ "attachment names and sizes",
	    "From: a@example.org\nMessage-ID: <e18@x>\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain; format=flowed; delsp=yes\n\n"
	    "flowed \ntext\n--b\n"
	    "Content-Type: application/pdf; name=\"r  e.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"a  b.pdf\";\n"
	    " size=12; creation-date=\"Mon, 1 Mar 2021 10:00:00 +0000\"\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b\n"
	    "Content-Type: application/x-thing\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nab=3Dc\n--b--\n",
	    1, "flowedtext\n" },
};

START_TEST(test_fast_edges)
{
	struct mp_msg *m = NULL;
	struct mp_err e;
	int fast;

	fast = diff_one(edges[_i].raw, strlen(edges[_i].raw), FALLBACK,
	    edges[_i].what);
	ck_assert_msg(fast == edges[_i].fast, "%s: fast path %s",
	    edges[_i].what, fast ? "taken" : "not taken");
	if (edges[_i].body != NULL) {
		ck_assert_int_eq(mp_mime_parse(edges[_i].raw,
		    strlen(edges[_i].raw), FALLBACK, &m, &e), 0);
		ck_assert_msg(strcmp(m->body, edges[_i].body) == 0,
		    "%s: body [%s]", edges[_i].what, m->body);
		mp_msg_free(m);
	}
}
END_TEST

/* Several threads parsing at once get what one thread gets. */
#define NTHREADS 4

static void *
parse_all(void *arg)
{
	int *bad = arg;
	struct mp_msg *a, *b;
	struct mp_err e;
	size_t i;
	int k, flags;

	for (k = 0; k < 20; k++) {
		for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
			flags = (k + (int)i) % 2 ? MP_MIME_SLOW : 0;
			a = b = NULL;
			if (mp_mime_parse_flags(edges[i].raw,
			    strlen(edges[i].raw), FALLBACK, flags, &a, &e) != 0 ||
			    mp_mime_parse_flags(edges[i].raw,
			    strlen(edges[i].raw), FALLBACK, MP_MIME_SLOW, &b,
			    &e) != 0 || msg_diff(a, b) != NULL)
				(*bad)++;
			mp_msg_free(a);
			mp_msg_free(b);
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t t[NTHREADS];
	int bad[NTHREADS] = { 0 }, i;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, parse_all,
		    &bad[i]), 0);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(bad[i], 0);
	}
}
END_TEST

/*
 * Tricky real-world shapes: the exact decoded subject, sender, new text
 * (and recipients/attachments where they matter) a reader expects.
 */
static const struct {
	const char *what, *raw;
	const char *subject, *name, *addr, *own;
	const char *to, *cc, *attachments;     /* NULL: not checked */
} tricky[] = {
	{ "UTF-8 character split across two encoded words",
	    "From: =?UTF-8?B?Sm9zw6k=?= <jose@example.org>\n"
	    "Subject: =?UTF-8?B?Q2Fmw6kgw6AgbGEgY3LD?=\n"
	    " =?UTF-8?B?qG1l?=\n\nOui.\n",
	    "Café à la crème", "José", "jose@example.org", "Oui.",
	    NULL, NULL, NULL },
	{ "Q words of two charsets, space between words dropped",
	    "From: =?iso-8859-1?Q?Fran=E7ois?= =?utf-8?Q?_M=C3=BCller?= "
	    "<fm@example.org>\n"
	    "Subject: =?iso-8859-2?Q?Pawe=B3?= and =?koi8-r?B?8NLJ18XU?=\n"
	    "\nhi\n",
	    "Paweł and Привет", "François Müller", "fm@example.org", "hi",
	    NULL, NULL, NULL },
	{ "Outlook reply in windows-1252 base64 with Original Message",
	    "From: \"Smith, John\" <js@example.org>\n"
	    "To: \"Doe, Jane\" <jd@example.org>, bob@example.org\n"
	    "Cc: MAG: a@example.org, =?utf-8?Q?Zo=C3=AB?= <z@example.org>;\n"
	    "Subject: RE: [MAG] Budget\n"
	    "Content-Type: text/plain; charset=windows-1252\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "SSBhZ3JlZSDWIGxldJJzIG1vdmUuDQoNCi0tLS0tT3JpZ2luYWwgTWVzc2Fn"
	    "ZS0tLS0tDQpGcm9tOiBKYW5lDQpTZW50OiBNb25kYXkNClN1YmplY3Q6IEJ1"
	    "ZGdldA0KDQpJIHByb3Bvc2UgYSBjdXQuDQo=\n",
	    "RE: [MAG] Budget", "Smith, John", "js@example.org",
	    "I agree \xc3\x96 let\xe2\x80\x99s move.",
	    "\"Doe, Jane\" <jd@example.org>, bob@example.org",
	    "a@example.org, Zoë <z@example.org>", "" },
	{ "HTML-only phone mail with links, list and meta charset",
	    "From: Ana <ana@example.org>\nSubject: Re: plan\n"
	    "Content-Type: text/html\n\n"
	    "<html><head><meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=iso-8859-1\"></head><body>"
	    "<div>Voil\xe0 the <a href=\"https://x.example/a?b=1&amp;c=2\">"
	    "draft</a>:</div><ol><li>read</li><li>comment</li></ol>"
	    "<p>See <a href=\"https://y.example/\">https://y.example/</a>"
	    "</p></body></html>\n",
	    "Re: plan", "Ana", "ana@example.org",
	    "Voilà the draft [1]:\n\n- read\n- comment\n\n"
	    "See https://y.example/\n\n[1] https://x.example/a?b=1&c=2",
	    "", "", "" },
	{ "format=flowed with DelSp and a quoted flowed paragraph",
	    "From: f@example.org\nSubject: flowed\n"
	    "Content-Type: text/plain; charset=utf-8; format=flowed; "
	    "delsp=yes\n\n"
	    "This is one long paragraph that the sender's cli \n"
	    "ent wrapped.  \n"
	    "Next line.\n"
	    " From a stuffed line\n\n"
	    "On Mon, 14 Jun 2021, Bob wrote:\n"
	    "> quoted first half \n"
	    "> second half\n",
	    "flowed", "", "f@example.org",
	    "This is one long paragraph that the sender's client wrapped. "
	    "Next line.\nFrom a stuffed line", NULL, NULL, NULL },
	{ "attachments listed, not inlined; names RFC 2047 encoded",
	    "From: a@example.org\nSubject: files\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	    "--b\nContent-Type: text/plain\n\nSee attached.\n"
	    "--b\nContent-Type: application/pdf; name=\"r.pdf\"\n"
	    "Content-Disposition: attachment; "
	    "filename=\"=?utf-8?Q?Rapport_=C3=A9t=C3=A9.pdf?=\"\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "JVBERi0xLjQK\n"
	    "--b\nContent-Type: image/png\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "iVBORw0KGgoAAAANSUhEUgAA\n"
	    "--b\nContent-Type: text/plain; name=\"notes.txt\"\n\n"
	    "n\n--b--\n",
	    "files", "", "a@example.org", "See attached.", NULL, NULL,
	    "Rapport été.pdf (9 bytes)\nunnamed image/png (18 bytes)\n"
	    "notes.txt (1 byte)\n" },
	{ "an attachment's size counts the base64 alphabet only, in blocks "
	    "of 64 and after",
	    "From: a@example.org\nSubject: sizes\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	    "--b\nContent-Type: text/plain\n\nSized.\n"
	    "--b\nContent-Type: application/octet-stream; name=\"x.bin\"\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "QU JD.\xc3\xa9-=\x7f{`@[:,*\xc1\xda\xe1ZZ\n"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\n"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\n"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\n"
	    "QUI=\n"
	    "--b--\n",
	    "sizes", "", "a@example.org", "Sized.", NULL, NULL,
	    "x.bin (150 bytes)\n" },
	{ "German Outlook header block quoted, Mailman footer",
	    "From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\n"
	    "Subject: AW: [MAG] Termin\n\n"
	    "Einverstanden.\n\n"
	    "Von: Anna <anna@example.org>\nGesendet: Montag\n"
	    "An: mag\nBetreff: Termin\n\nWann?\n"
	    "_______________________________________________\n"
	    "MAG mailing list\nhttps://lists.example.org/mag\n",
	    "AW: [MAG] Termin", "Jürgen", "j@example.de", "Einverstanden.",
	    NULL, NULL, NULL },
	{ "pipermail obfuscation and lying utf-8 charset",
	    "From: jane at example.org (Jane Q)\n"
	    "Subject: caf\xe9\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "na\xefve\n",
	    "café", "Jane Q", "jane@example.org", "naïve", NULL, NULL,
	    NULL },
};

START_TEST(test_tricky)
{
	struct mp_msg *m = parse(tricky[_i].raw);

	ck_assert_msg(strcmp(m->subject, tricky[_i].subject) == 0,
	    "%s: subject %s", tricky[_i].what, m->subject);
	ck_assert_msg(strcmp(m->from.name, tricky[_i].name) == 0,
	    "%s: name %s", tricky[_i].what, m->from.name);
	ck_assert_msg(strcmp(m->from.addr, tricky[_i].addr) == 0,
	    "%s: addr %s", tricky[_i].what, m->from.addr);
	ck_assert_msg(strcmp(m->own, tricky[_i].own) == 0,
	    "%s: own [%s]", tricky[_i].what, m->own);
	if (tricky[_i].to != NULL)
		ck_assert_msg(strcmp(m->to, tricky[_i].to) == 0,
		    "%s: to [%s]", tricky[_i].what, m->to);
	if (tricky[_i].cc != NULL)
		ck_assert_msg(strcmp(m->cc, tricky[_i].cc) == 0,
		    "%s: cc [%s]", tricky[_i].what, m->cc);
	if (tricky[_i].attachments != NULL)
		ck_assert_msg(strcmp(m->attachments,
		    tricky[_i].attachments) == 0, "%s: attachments [%s]",
		    tricky[_i].what, m->attachments);
	ck_assert(valid_utf8(m->body));
	mp_msg_free(m);
}
END_TEST

START_TEST(test_subject_is_reply)
{
	ck_assert_int_eq(mp_mime_subject_is_reply("Re: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("[MAG] AW: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("SV: [MAG] x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("Fwd: Re: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("Re[2]: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("R: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("Odp: x"), 1);
	ck_assert_int_eq(mp_mime_subject_is_reply("Fwd: x"), 0);
	ck_assert_int_eq(mp_mime_subject_is_reply("[MAG] x"), 0);
	ck_assert_int_eq(mp_mime_subject_is_reply("Rental: x"), 0);
	ck_assert_int_eq(mp_mime_subject_is_reply("Regarding re: x"), 0);
	ck_assert_int_eq(mp_mime_subject_is_reply(""), 0);
	ck_assert_int_eq(mp_mime_subject_is_reply(NULL), 0);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("parse");
	TCase *tx = tcase_create("text");
	TCase *tk = tcase_create("corpus");
	TCase *tf = tcase_create("fast");
	TCase *tt = tcase_create("threads");

	tcase_add_test(tc, test_simple_lf);
	tcase_add_test(tc, test_odd_bytes_anywhere);
	tcase_add_test(tc, test_simple_crlf);
	tcase_add_test(tc, test_mbox_from_line);
	tcase_add_test(tc, test_from_with_space);
	tcase_add_loop_test(tc, test_rfc2047_subject, 0, N(subjects));
	tcase_add_loop_test(tc, test_rfc2047_names, 0, N(names));
	tcase_add_test(tc, test_base64_1252);
	tcase_add_test(tc, test_quoted_printable);
	tcase_add_test(tc, test_other_charset);
	tcase_add_test(tc, test_unknown_charset);
	tcase_add_test(tc, test_lying_utf8);
	tcase_add_test(tc, test_no_charset);
	tcase_add_test(tc, test_multipart_alternative);
	tcase_add_test(tc, test_multipart_alternative_crlf);
	tcase_add_test(tc, test_attachment_only_text);
	tcase_add_test(tc, test_html_only);
	tcase_add_test(tc, test_synthesised_id);
	tcase_add_test(tc, test_missing_date);
	tcase_add_loop_test(tc, test_broken_date, 0, N(bad_dates));
	tcase_add_loop_test(tc, test_good_dates, 0, N(good_dates));
	tcase_add_test(tc, test_references);
	tcase_add_test(tc, test_references_messy);
	tcase_add_test(tc, test_reference_bytes);
	tcase_add_test(tc, test_list_id);
	tcase_add_loop_test(tc, test_degraded, 0, N(degraded));
	tcase_add_loop_test(tc, test_tricky, 0, N(tricky));
	tcase_add_test(tc, test_subject_is_reply);
	tcase_add_loop_test(tc, test_garbage, 0, N(garbage));
	tcase_add_test(tc, test_lenient);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_big_inputs);
	tcase_add_test(tc, test_nul_bytes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(tx, test_subject_norm, 0, N(norms));
	tcase_add_test(tx, test_subject_norm_null);
	tcase_add_loop_test(tx, test_split_body, 0, N(splits));
	tcase_add_test(tx, test_split_in_parse);
	suite_add_tcase(s, tx);

	tcase_add_test(tk, test_corpus);
	tcase_set_timeout(tk, 300);
	suite_add_tcase(s, tk);

	tcase_add_loop_test(tf, test_fast_edges, 0, N(edges));
	tcase_add_test(tf, test_fast_same_data);
	tcase_add_test(tf, test_fast_same_shared);
	tcase_add_test(tf, test_fast_same_generated);
	tcase_set_timeout(tf, 900);
	suite_add_tcase(s, tf);

	tcase_add_test(tt, test_threads);
	tcase_set_timeout(tt, 120);
	suite_add_tcase(s, tt);
	return s;
}

int
main(void)
{
	return tu_run(mime_suite());
}
