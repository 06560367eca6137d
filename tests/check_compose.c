/* check_compose.c - tests for compose.c (RFC 5322 / MIME / RFC 2047). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "compose.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "mime.h"
#include "render.h"
#include "schedule.h"
#include "store.h"
#include "testutil.h"

/* 2021-06-14T08:00:00Z */
#define T_JUN14 1623657600

static struct mp_mail
simple_mail(void)
{
	struct mp_mail m;

	memset(&m, 0, sizeof(m));
	m.from_name = "IGF MAG Secretariat";
	m.from_addr = "mag-secretariat@example.org";
	m.to_name = "Anriette Esterhuysen";
	m.to_addr = "chair@example.org";
	m.subject = "Reminder: Workshop proposal evaluations";
	m.date = T_JUN14;
	m.message_id = "0123abcd@example.org";
	m.list_id = "IGF MAG <mag.example.org>";
	m.kind = "reminder";
	m.item = "workshop-evaluations";
	m.text = "Dear Anriette,\n\nPlease submit your evaluations.\n";
	return m;
}

static char *
compose_ok(const struct mp_mail *m)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e;

	memset(&e, 0, sizeof(e));
	ck_assert_msg(mp_compose(m, &b, &e) == 0, "compose: %s", e.msg);
	return mp_buf_detach(&b);
}

static int
has_encoded_word(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (p[i] == '=' && p[i + 1] == '?')
			return 1;
	return 0;
}

/* Every line CRLF terminated, no bare CR or LF, headers within 78
 * columns (76 when they hold encoded-words: RFC 2047 2), body lines
 * within 76. */
static void
assert_lines(const char *msg)
{
	const char *p = msg, *eol;
	int in_body = 0;

	ck_assert_msg(strlen(msg) >= 2 &&
	    strcmp(msg + strlen(msg) - 2, "\r\n") == 0, "no final CRLF");
	while (*p != '\0') {
		size_t len;

		eol = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(eol);
		len = (size_t)(eol - p);
		ck_assert_msg(memchr(p, '\n', len) == NULL, "bare LF");
		ck_assert_msg(memchr(p, '\r', len) == NULL, "bare CR");
		if (in_body)
			ck_assert_msg(len <= 76, "body line %zu long: %.*s",
			    len, (int)len, p);
		else
			ck_assert_msg(len <= (has_encoded_word(p, len) ? 76 :
			    78), "header line %zu long: %.*s", len, (int)len,
			    p);
		if (len == 0)
			in_body = 1;
		p = eol + 2;
	}
}

/* Unfolded value of the first header field called name (caller frees). */
static char *
header(const char *msg, const char *name)
{
	size_t n = strlen(name);
	const char *p = msg, *end;
	struct mp_buf b = MP_BUF_INIT;

	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			if (*p == ' ')
				p++;
			for (;;) {
				end = strstr(p, "\r\n");
				mp_buf_add(&b, p, (size_t)(end - p));
				p = end + 2;
				if (*p != ' ' && *p != '\t')
					break;
			}
			return mp_buf_detach(&b);
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

static int
b64_val(char c)
{
	const char *a =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	return p != NULL ? (int)(p - a) : -1;
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;

	while (i < n) {
		if (s[i] < 0x80)
			len = 1;
		else if ((s[i] & 0xe0) == 0xc0)
			len = 2;
		else if ((s[i] & 0xf0) == 0xe0)
			len = 3;
		else if ((s[i] & 0xf8) == 0xf0)
			len = 4;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/*
 * A small RFC 2047 decoder written independently of compose.c: decodes
 * the unfolded value, drops whitespace between adjacent encoded-words,
 * and asserts that every encoded-word is at most 75 characters, names
 * UTF-8, and decodes to whole UTF-8 characters on its own. Returns the
 * number of encoded-words seen; the text goes to out.
 */
static int
decode_2047(const char *v, struct mp_buf *out)
{
	const char *p = v;
	int words = 0, prev_word = 0;

	while (*p != '\0') {
		const char *ws = p, *q, *text, *end;
		struct mp_buf w = MP_BUF_INIT;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "=?", 2) != 0) {
			if (*p == '\0') {
				mp_buf_add(out, ws, (size_t)(p - ws));
				break;
			}
			mp_buf_add(out, ws, (size_t)(p - ws));
			while (*p != '\0' && *p != ' ' && *p != '\t')
				mp_buf_addc(out, *p++);
			prev_word = 0;
			continue;
		}
		if (!prev_word)
			mp_buf_add(out, ws, (size_t)(p - ws));
		q = strchr(p + 2, '?');
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(strncasecmp(p + 2, "UTF-8?", 6) == 0,
		    "charset: %s", p);
		text = q + 3;
		end = strstr(text, "?=");
		ck_assert_ptr_nonnull(end);
		ck_assert_msg(end + 2 - p <= 75, "encoded-word %d long",
		    (int)(end + 2 - p));
		if (q[1] == 'Q' || q[1] == 'q') {
			const char *s;

			for (s = text; s < end; s++) {
				if (*s == '_') {
					mp_buf_addc(&w, ' ');
				} else if (*s == '=') {
					ck_assert_int_ge(hex_val(s[1]), 0);
					ck_assert_int_ge(hex_val(s[2]), 0);
					mp_buf_addc(&w, (char)(hex_val(s[1]) *
					    16 + hex_val(s[2])));
					s += 2;
				} else {
					ck_assert_msg(*s != ' ' && *s != '?',
					    "bad Q char");
					mp_buf_addc(&w, *s);
				}
			}
		} else {
			const char *s;
			unsigned acc = 0;
			int bits = 0;

			ck_assert(q[1] == 'B' || q[1] == 'b');
			ck_assert_int_eq((int)((end - text) % 4), 0);
			for (s = text; s < end && *s != '='; s++) {
				ck_assert_int_ge(b64_val(*s), 0);
				acc = acc << 6 | (unsigned)b64_val(*s);
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					mp_buf_addc(&w, (char)(acc >> bits &
					    0xff));
				}
			}
		}
		ck_assert_msg(valid_utf8((const unsigned char *)mp_buf_str(&w),
		    w.len), "encoded-word splits a character: %.*s",
		    (int)(end + 2 - p), p);
		mp_buf_add(out, mp_buf_str(&w), w.len);
		mp_buf_free(&w);
		words++;
		prev_word = 1;
		p = end + 2;
	}
	return words;
}

/* Decode with libetpan too: an independent reader must agree. */
static void
assert_etpan_decodes(const char *v, const char *want)
{
	size_t idx = 0;
	char *res = NULL;

	ck_assert_int_eq(mailmime_encoded_phrase_parse("utf-8", v, strlen(v),
	    &idx, "utf-8", &res), MAILIMF_NO_ERROR);
	ck_assert_str_eq(res, want);
	free(res);
}

/* The decoded display name of a mailbox header value, read by libetpan. */
static void
etpan_display_name(const char *v, struct mp_buf *out)
{
	struct mailimf_mailbox *mb = NULL;
	size_t idx = 0;
	char *res = NULL;

	ck_assert_int_eq(mailimf_mailbox_parse(v, strlen(v), &idx, &mb),
	    MAILIMF_NO_ERROR);
	ck_assert_ptr_nonnull(mb->mb_display_name);
	idx = 0;
	ck_assert_int_eq(mailmime_encoded_phrase_parse("utf-8",
	    mb->mb_display_name, strlen(mb->mb_display_name), &idx, "utf-8",
	    &res), MAILIMF_NO_ERROR);
	mp_buf_adds(out, res);
	free(res);
	mailimf_mailbox_free(mb);
}

START_TEST(test_simple_exact)
{
	struct mp_mail m = simple_mail();
	char *msg = compose_ok(&m);

	ck_assert_str_eq(msg,
	    "Date: Mon, 14 Jun 2021 08:00:00 +0000\r\n"
	    "From: IGF MAG Secretariat <mag-secretariat@example.org>\r\n"
	    "To: Anriette Esterhuysen <chair@example.org>\r\n"
	    "Subject: Reminder: Workshop proposal evaluations\r\n"
	    "Message-ID: <0123abcd@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "List-Id: IGF MAG <mag.example.org>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "Precedence: bulk\r\n"
	    "X-Auto-Response-Suppress: All\r\n"
	    "X-Magpie-Kind: reminder\r\n"
	    "X-Magpie-Item: workshop-evaluations\r\n"
	    "\r\n"
	    "Dear Anriette,\r\n"
	    "\r\n"
	    "Please submit your evaluations.\r\n");
	assert_lines(msg);
	free(msg);
}
END_TEST

START_TEST(test_threading_headers_and_zone)
{
	struct mp_mail m = simple_mail();
	char *msg;

	m.zone = "Europe/Warsaw";
	m.in_reply_to = "first@example.org";
	m.references = "first@example.org  second@example.org";
	m.item = NULL;
	m.list_id = "mag.example.org";
	m.to_name = "";
	m.kind = "digest";
	m.text = "x";
	msg = compose_ok(&m);
	ck_assert_str_eq(msg,
	    "Date: Mon, 14 Jun 2021 10:00:00 +0200\r\n"
	    "From: IGF MAG Secretariat <mag-secretariat@example.org>\r\n"
	    "To: chair@example.org\r\n"
	    "Subject: Reminder: Workshop proposal evaluations\r\n"
	    "Message-ID: <0123abcd@example.org>\r\n"
	    "In-Reply-To: <first@example.org>\r\n"
	    "References: <first@example.org> <second@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "List-Id: <mag.example.org>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "Precedence: bulk\r\n"
	    "X-Auto-Response-Suppress: All\r\n"
	    "X-Magpie-Kind: digest\r\n"
	    "\r\n"
	    "x\r\n");
	free(msg);
}
END_TEST

START_TEST(test_long_references_fold)
{
	struct mp_mail m = simple_mail();
	struct mp_buf refs = MP_BUF_INIT;
	char *msg, *v;
	int i;

	for (i = 0; i < 12; i++)
		mp_buf_printf(&refs, "%smessage-%02d.1623657600@%s",
		    i ? " " : "", i, "lists.example.org");
	m.references = refs.data;
	msg = compose_ok(&m);
	assert_lines(msg);
	v = header(msg, "References");
	ck_assert_ptr_nonnull(strstr(v,
	    "<message-00.1623657600@lists.example.org> "
	    "<message-01.1623657600@lists.example.org>"));
	ck_assert_ptr_nonnull(strstr(v,
	    "<message-11.1623657600@lists.example.org>"));
	free(v);
	free(msg);
	mp_buf_free(&refs);
}
END_TEST

START_TEST(test_long_ascii_subject_folds)
{
	struct mp_mail m = simple_mail();
	const char *subj = "Reminder: the workshop proposal evaluations "
	    "are due on 17 June at 23:59 UTC and there is no room to extend "
	    "the deadline this year, so please plan accordingly";
	char *msg, *v;

	m.subject = subj;
	msg = compose_ok(&m);
	assert_lines(msg);
	ck_assert_ptr_nonnull(strstr(msg, "Subject: Reminder: the workshop "));
	ck_assert_ptr_null(strstr(msg, "=?"));
	v = header(msg, "Subject");
	ck_assert_str_eq(v, subj);
	free(v);
	free(msg);
}
END_TEST

START_TEST(test_quoted_names)
{
	struct mp_mail m = simple_mail();
	char *msg;

	m.from_name = "Esterhuysen, Anriette";
	m.to_name = "Dr. \"Bob\" \\ Smith";
	msg = compose_ok(&m);
	ck_assert_ptr_nonnull(strstr(msg,
	    "\r\nFrom: \"Esterhuysen, Anriette\" <mag-secretariat@example.org>"
	    "\r\n"));
	ck_assert_ptr_nonnull(strstr(msg,
	    "\r\nTo: \"Dr. \\\"Bob\\\" \\\\ Smith\" <chair@example.org>\r\n"));
	free(msg);
}
END_TEST

/* Text that merely looks like an encoded-word must itself be encoded. */
START_TEST(test_lookalike_encoded_word)
{
	struct mp_mail m = simple_mail();
	struct mp_buf d = MP_BUF_INIT;
	char *msg, *v;

	m.subject = "about =?utf-8?q?x?= tokens";
	msg = compose_ok(&m);
	v = header(msg, "Subject");
	ck_assert_ptr_null(strstr(v, "=?utf-8?q?x?="));
	ck_assert_int_ge(decode_2047(v, &d), 1);
	ck_assert_str_eq(mp_buf_str(&d), m.subject);
	free(v);
	free(msg);
	mp_buf_free(&d);
}
END_TEST

START_TEST(test_non_ascii_names_and_subject)
{
	struct mp_mail m = simple_mail();
	struct mp_buf d = MP_BUF_INIT;
	char *msg, *v;

	m.from_name = "Secretaría del MAG";
	m.to_name = "Jürgen Müller-Lüdenscheidt, Dr.";
	m.subject = "Évaluations des ateliers : échéance le 17 juin "
	    "à 23 h 59 UTC — merci de répondre rapidement, "
	    "sans délai supplémentaire";
	msg = compose_ok(&m);
	assert_lines(msg);

	v = header(msg, "From");
	ck_assert_ptr_nonnull(strstr(v, "?Q?"));
	ck_assert_int_ge(decode_2047(v, &d), 1);
	ck_assert_str_eq(mp_buf_str(&d),
	    "Secretaría del MAG <mag-secretariat@example.org>");
	*strstr(v, " <") = '\0';
	assert_etpan_decodes(v, m.from_name);
	free(v);

	mp_buf_reset(&d);
	v = header(msg, "To");
	ck_assert_int_ge(decode_2047(v, &d), 1);
	ck_assert_str_eq(mp_buf_str(&d),
	    "Jürgen Müller-Lüdenscheidt, Dr. <chair@example.org>");
	*strstr(v, " <") = '\0';
	assert_etpan_decodes(v, m.to_name);
	free(v);

	mp_buf_reset(&d);
	v = header(msg, "Subject");
	ck_assert_ptr_nonnull(strstr(v, "=?UTF-8?Q?"));
	ck_assert_int_ge(decode_2047(v, &d), 2);
	ck_assert_str_eq(mp_buf_str(&d), m.subject);
	assert_etpan_decodes(v, m.subject);
	free(v);
	free(msg);
	mp_buf_free(&d);
}
END_TEST

START_TEST(test_long_cjk_subject)
{
	struct mp_mail m = simple_mail();
	struct mp_buf d = MP_BUF_INIT;
	char *msg, *v;

	m.subject = "会議のお知らせ：ワークショップ提案の"
	    "評価締め切りは6月17日23時59分（協定世界時）"
	    "です。締め切りの延長はできませんので、早めの"
	    "ご提出をお願いいたします。🙏 ご質問は事務局"
	    "まで。";
	m.to_name = "张伟（多利益相关方咨询组）";
	msg = compose_ok(&m);
	assert_lines(msg);
	v = header(msg, "Subject");
	ck_assert_ptr_nonnull(strstr(v, "=?UTF-8?B?"));
	ck_assert_int_ge(decode_2047(v, &d), 4);
	ck_assert_str_eq(mp_buf_str(&d), m.subject);
	assert_etpan_decodes(v, m.subject);
	free(v);
	mp_buf_reset(&d);
	v = header(msg, "To");
	decode_2047(v, &d);
	ck_assert_str_eq(mp_buf_str(&d),
	    "张伟（多利益相关方咨询组） <chair@example.org>");
	free(v);
	free(msg);
	mp_buf_free(&d);
}
END_TEST

/* Encode s after first_len columns; check RFC 2047 2 line limits (76 for
 * lines with encoded-words) and decode back. Returns the first line's
 * length. */
static size_t
encode_and_check(const char *s, size_t first_len)
{
	struct mp_buf b = MP_BUF_INIT, d = MP_BUF_INIT;
	char *unfolded, *q;
	const char *p;
	size_t first;

	mp_compose_encode_header(s, first_len, &b);
	first = strcspn(b.data, "\r");
	ck_assert_uint_le(first_len + first, 76);
	for (p = b.data; (p = strstr(p, "\r\n")) != NULL; p += 2) {
		ck_assert_int_eq(p[2], ' ');
		ck_assert_uint_le(strcspn(p + 2, "\r"), 76);
	}
	unfolded = mp_xstrdup(b.data);
	for (p = unfolded, q = unfolded; *p != '\0'; p++)
		if (*p != '\r' && *p != '\n')
			*q++ = *p;
	*q = '\0';
	/* A fold right at the start leaves one space of FWS. */
	ck_assert_int_ge(decode_2047(unfolded + (first == 0), &d), 2);
	ck_assert_str_eq(mp_buf_str(&d), s);
	free(unfolded);
	mp_buf_free(&b);
	mp_buf_free(&d);
	return first;
}

/* Names and subjects in several scripts survive the round trip through
 * encoded-words, read back by our decoder (which also checks that no word
 * splits a character) and by libetpan, at every start column. */
/* encode_and_check for any length: at least one encoded-word. */
static void
encode_and_check_any(const char *s, size_t first_len)
{
	struct mp_buf b = MP_BUF_INIT, d = MP_BUF_INIT;
	char *unfolded, *q;
	const char *p;
	size_t first;

	mp_compose_encode_header(s, first_len, &b);
	first = strcspn(b.data, "\r");
	ck_assert_uint_le(first_len + first, 76);
	for (p = b.data; (p = strstr(p, "\r\n")) != NULL; p += 2) {
		ck_assert_int_eq(p[2], ' ');
		ck_assert_uint_le(strcspn(p + 2, "\r"), 76);
	}
	unfolded = mp_xstrdup(b.data);
	for (p = unfolded, q = unfolded; *p != '\0'; p++)
		if (*p != '\r' && *p != '\n')
			*q++ = *p;
	*q = '\0';
	ck_assert_int_ge(decode_2047(unfolded + (first == 0), &d), 1);
	ck_assert_str_eq(mp_buf_str(&d), s);
	free(unfolded);
	mp_buf_free(&b);
	mp_buf_free(&d);
}

START_TEST(test_rfc2047_scripts)
{
	static const struct {
		const char *name, *subject;
	} cases[] = {
		{ "Дмитрий Шостакович",
		    "Напоминание: оценка заявок на семинары до 17 июня, "
		    "продлить срок в этом году нельзя" },
		{ "王芳（多利益相关方咨询组）",
		    "提醒：研讨会提案评估将于6月17日23:59（协调世界时）截止，"
		    "今年无法延期，请尽早提交。" },
		{ "عبد الرحمن الشامي",
		    "تذكير: تقييم مقترحات ورش العمل حتى 17 يونيو، "
		    "ولا يمكن تمديد الموعد هذا العام" },
		{ "🦉 Owl 🐦‍⬛ Magpie 🎉",
		    "🗓️ Reminder 🔔: evaluations due 🕛 — 👩🏽‍💻🧑🏿‍🤝‍🧑🏻"
		    "👍🏾🙏🏼🌍🌏🌎 thank you! 😀😃😄😁😆😅🤣😂🙂🙃" },
	};
	struct mp_buf d = MP_BUF_INIT;
	size_t i, col;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mp_mail m = simple_mail();
		char *msg, *v, want[256];

		m.from_name = cases[i].name;
		m.to_name = cases[i].name;
		m.subject = cases[i].subject;
		msg = compose_ok(&m);
		assert_lines(msg);

		v = header(msg, "Subject");
		mp_buf_reset(&d);
		ck_assert_int_ge(decode_2047(v, &d), 2);
		ck_assert_str_eq(mp_buf_str(&d), cases[i].subject);
		assert_etpan_decodes(v, cases[i].subject);
		free(v);

		v = header(msg, "From");
		mp_buf_reset(&d);
		decode_2047(v, &d);
		snprintf(want, sizeof(want), "%s <mag-secretariat@example.org>",
		    cases[i].name);
		ck_assert_str_eq(mp_buf_str(&d), want);
		mp_buf_reset(&d);
		etpan_display_name(v, &d);
		ck_assert_str_eq(mp_buf_str(&d), cases[i].name);
		free(v);

		v = header(msg, "To");
		mp_buf_reset(&d);
		etpan_display_name(v, &d);
		ck_assert_str_eq(mp_buf_str(&d), cases[i].name);
		free(v);
		free(msg);

		for (col = 0; col < 64; col++)
			encode_and_check_any(cases[i].subject, col);
	}
	mp_buf_free(&d);
}
END_TEST

/* Inputs with no fold points still give lines within the limits. */
START_TEST(test_unfoldable_inputs)
{
	struct mp_mail m = simple_mail();
	struct mp_buf d = MP_BUF_INIT;
	char *long_word = malloc(2001), *spaces = malloc(1001), *msg, *v;

	memset(long_word, 'x', 2000);
	long_word[2000] = '\0';
	memset(spaces, ' ', 1000);
	spaces[1000] = '\0';
	m.subject = long_word;
	m.to_name = spaces;
	m.from_name = "a \"quoted\" name, which is long enough to need more "
	    "than one header line when it is written as a quoted-string";
	msg = compose_ok(&m);
	assert_lines(msg);
	v = header(msg, "Subject");
	decode_2047(v, &d);
	ck_assert_str_eq(mp_buf_str(&d), long_word);
	free(v);
	mp_buf_reset(&d);
	v = header(msg, "To");
	decode_2047(v, &d);
	ck_assert_uint_eq(d.len, 1000 + strlen(" <chair@example.org>"));
	free(v);
	v = header(msg, "From");
	ck_assert_str_eq(v, "\"a \\\"quoted\\\" name, which is long enough to "
	    "need more than one header line when it is written as a "
	    "quoted-string\" <mag-secretariat@example.org>");
	free(v);
	free(msg);
	free(long_word);
	free(spaces);
	mp_buf_free(&d);
}
END_TEST

/* mp_compose_encode_header on its own: first_len is honoured. */
START_TEST(test_encode_header_first_len)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *s = "Ünïcödé ümläüts everywhere in this rather long "
	    "header value, ñ ç ø å, to force several encoded-words";

	ck_assert_uint_gt(encode_and_check(s, 9), 0);
	ck_assert_uint_gt(encode_and_check(s, 56), 0);
	/* No room for even one encoded character: fold at once. */
	ck_assert_uint_eq(encode_and_check(s, 70), 0);
	mp_compose_encode_header("plain", 9, &b);
	ck_assert_str_eq(b.data, "plain");
	mp_buf_free(&b);
}
END_TEST

/* The body of a single-part message, decoded with libetpan. */
static char *
qp_decode(const char *body)
{
	size_t idx = 0, rlen = 0;
	char *res = NULL, *copy;

	ck_assert_int_eq(mailmime_part_parse(body, strlen(body), &idx,
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE, &res, &rlen),
	    MAILIMF_NO_ERROR);
	copy = mp_xstrndup(res, rlen);
	mailmime_decoded_part_free(res);
	return copy;
}

static char *
crlf(const char *s)
{
	struct mp_buf b = MP_BUF_INIT;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			mp_buf_addc(&b, '\r');
		mp_buf_addc(&b, *s);
	}
	return mp_buf_detach(&b);
}

START_TEST(test_qp_round_trip)
{
	struct mp_mail m = simple_mail();
	struct mp_buf text = MP_BUF_INIT;
	char *msg, *body, *dec, *want;
	const char *p;
	int i;

	mp_buf_adds(&text, "a=b and 1+1=2\n");
	mp_buf_adds(&text, "trailing spaces   \n");
	mp_buf_adds(&text, "trailing tab\t\n");
	mp_buf_adds(&text, "From the chair\n.\n\n");
	for (i = 0; i < 30; i++)
		mp_buf_adds(&text, "long line ");
	mp_buf_addc(&text, '\n');
	for (i = 0; i < 40; i++)
		mp_buf_adds(&text, "żółć ");
	mp_buf_adds(&text, "\n");
	for (i = 0; i < 100; i++)
		mp_buf_addc(&text, '=');
	mp_buf_adds(&text, "\nend with space ");
	m.text = text.data;
	msg = compose_ok(&m);
	assert_lines(msg);
	body = strstr(msg, "\r\n\r\n") + 4;
	for (p = body; (p = strstr(p, "\r\n")) != NULL; p += 2)
		ck_assert_msg(p[-1] != ' ' && p[-1] != '\t',
		    "whitespace before a line break");
	ck_assert_ptr_nonnull(strstr(body, "a=3Db and 1+1=3D2\r\n"));
	ck_assert_ptr_nonnull(strstr(body, "\r\n=46rom the chair\r\n.\r\n"));
	dec = qp_decode(body);
	mp_buf_adds(&text, "\n");
	want = crlf(text.data);
	ck_assert_str_eq(dec, want);
	free(dec);
	free(want);
	free(msg);

	/* CRLF input gives the same message as LF input. */
	want = crlf(text.data);
	m.text = text.data;
	msg = compose_ok(&m);
	m.text = want;
	dec = compose_ok(&m);
	ck_assert_str_eq(msg, dec);
	free(dec);
	free(want);
	free(msg);
	mp_buf_free(&text);
}
END_TEST

START_TEST(test_bad_utf8_text_replaced)
{
	struct mp_mail m = simple_mail();
	struct mp_buf d = MP_BUF_INIT;
	char *msg, *v;

	m.subject = "bad utf-8 \xc3\x28 and \xff\xfe, \xed\xa0\x80 end";
	m.to_name = "Ren\xe9" "e";
	msg = compose_ok(&m);
	assert_lines(msg);
	v = header(msg, "Subject");
	decode_2047(v, &d);
	ck_assert_str_eq(mp_buf_str(&d), "bad utf-8 \xef\xbf\xbd( and "
	    "\xef\xbf\xbd\xef\xbf\xbd, \xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd end");
	assert_etpan_decodes(v, mp_buf_str(&d));
	free(v);
	mp_buf_reset(&d);
	v = header(msg, "To");
	etpan_display_name(v, &d);
	ck_assert_str_eq(mp_buf_str(&d), "Ren\xef\xbf\xbd" "e");
	free(v);
	free(msg);
	mp_buf_free(&d);
}
END_TEST

/* Text fields from config or mail: a line break becomes a space, so the
 * email still goes out, with one header line per field and no new one. */
START_TEST(test_header_injection_folded)
{
	static const char *const attempts[] = {
		"Hello\r\nBcc: victim@example.org",
		"Hello\nBcc: victim@example.org",
		"Hello\rBcc: victim@example.org",
		"Hello\r\n\r\nBcc: victim@example.org",
		"Hello\r\n Bcc: victim@example.org",
		"Hello\x01\x1f\x7f" "Bcc: victim@example.org",
		"Hello\tBcc: victim@example.org",
	};
	static const char *const want[] = {
		"Hello Bcc: victim@example.org",
		"Hello Bcc: victim@example.org",
		"Hello Bcc: victim@example.org",
		"Hello Bcc: victim@example.org",
		"Hello  Bcc: victim@example.org",
		"Hello Bcc: victim@example.org",
		"Hello Bcc: victim@example.org",
	};
	struct mp_buf d = MP_BUF_INIT;
	size_t i, f;

	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		for (f = 0; f < 4; f++) {
			struct mp_mail m = simple_mail();
			char *msg, *v, lid[128];

			if (f == 0)
				m.subject = attempts[i];
			else if (f == 1)
				m.from_name = attempts[i];
			else if (f == 2)
				m.to_name = attempts[i];
			snprintf(lid, sizeof(lid), "%s <mag.example.org>",
			    attempts[i]);
			if (f == 3)
				m.list_id = lid;
			msg = compose_ok(&m);
			assert_lines(msg);
			ck_assert_msg(strstr(msg, "\r\nBcc:") == NULL,
			    "injected: %s", msg);
			v = header(msg, f == 0 ? "Subject" : f == 1 ? "From" :
			    f == 2 ? "To" : "List-Id");
			ck_assert_ptr_nonnull(v);
			mp_buf_reset(&d);
			if (f == 0) {
				decode_2047(v, &d);
				ck_assert_str_eq(mp_buf_str(&d), want[i]);
			} else if (f < 3) {
				/* libetpan folds runs of spaces in a
				 * quoted-string phrase into one. */
				etpan_display_name(v, &d);
				ck_assert_str_eq(mp_buf_str(&d),
				    "Hello Bcc: victim@example.org");
			} else {
				ck_assert_msg(strlen(v) > 17 && strcmp(v +
				    strlen(v) - 17, " <mag.example.org>" + 1) ==
				    0, "%s", v);
			}
			free(v);
			free(msg);
		}
	}
	mp_buf_free(&d);
}
END_TEST

/* magpie's own fields: a line break there is a bug, refused outright. */
START_TEST(test_header_injection_refused)
{
	const char *bad = "Hello\r\nBcc: victim@example.org";
	const char **field[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_mail m;
	struct mp_err e;
	size_t i;

	for (i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		m = simple_mail();
		field[0] = &m.message_id;
		field[1] = &m.in_reply_to;
		field[2] = &m.references;
		field[3] = &m.kind;
		field[4] = &m.item;
		field[5] = &m.ics_method;
		*field[i] = i % 2 ? "x\nBcc: victim@example.org" : bad;
		if (i == 5)
			m.ics = "BEGIN:VCALENDAR\nEND:VCALENDAR\n";
		mp_buf_adds(&b, "kept");
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
		ck_assert_int_eq(e.code, MP_EX_DATAERR);
		ck_assert_int_eq(e.temporary, 0);
		ck_assert_str_eq(mp_buf_str(&b), "kept");
		mp_buf_reset(&b);
	}
	/* The id part of List-Id is magpie's too. */
	m = simple_mail();
	m.list_id = "IGF MAG <mag.example.org\r\nBcc: x@example.org>";
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	ck_assert_uint_eq(b.len, 0);
	mp_buf_free(&b);
}
END_TEST

START_TEST(test_bad_addresses_refused)
{
	const char *bad[] = { "", "no-at-sign", "two@@example.org",
		"a@b@example.org", "@example.org", "user@", "us er@example.org",
		"<user@example.org>", "user@example.org>", "user\t@example.org",
		"user@example.org\r\nBcc: x@y", "us\"er@example.org",
		".user@example.org", "user@example..org", "usér@example.org" };
	struct mp_buf b = MP_BUF_INIT;
	struct mp_mail m;
	struct mp_err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = simple_mail();
		if (i % 2)
			m.to_addr = bad[i];
		else
			m.from_addr = bad[i];
		ck_assert_msg(mp_compose(&m, &b, &e) == -1, "accepted %s",
		    bad[i]);
		ck_assert_int_eq(e.code, MP_EX_DATAERR);
		ck_assert_uint_eq(b.len, 0);
	}
	m = simple_mail();
	m.to_addr = NULL;
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	m = simple_mail();
	m.kind = NULL;
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	m = simple_mail();
	m.message_id = "<with-brackets@example.org>";
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	m = simple_mail();
	m.item = "bad utf-8 \xc3\x28";
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	ck_assert_int_eq(e.code, MP_EX_DATAERR);
	m = simple_mail();
	m.zone = "Nowhere/Atlantis";
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	m = simple_mail();
	m.list_id = "IGF MAG <mag example.org>";
	ck_assert_int_eq(mp_compose(&m, &b, &e), -1);
	ck_assert_uint_eq(b.len, 0);
	mp_buf_free(&b);
}
END_TEST

/* "type/subtype" of a libetpan MIME node. */
static void
ctype(struct mailmime *mm, char *buf, size_t n)
{
	struct mailmime_content *c = mm->mm_content_type;
	const char *t = "?";

	ck_assert_ptr_nonnull(c);
	if (c->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		t = c->ct_type->tp_data.tp_composite_type->ct_type ==
		    MAILMIME_COMPOSITE_TYPE_MULTIPART ? "multipart" : "message";
	} else if (c->ct_type->tp_data.tp_discrete_type->dt_type ==
	    MAILMIME_DISCRETE_TYPE_TEXT) {
		t = "text";
	}
	snprintf(buf, n, "%s/%s", t, c->ct_subtype);
}

static struct mailmime *
nth_part(struct mailmime *mm, int n)
{
	clistiter *it;

	ck_assert_int_eq(mm->mm_type, MAILMIME_MULTIPLE);
	for (it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list);
	    it != NULL; it = clist_next(it))
		if (n-- == 0)
			return clist_content(it);
	return NULL;
}

static int
nparts(struct mailmime *mm)
{
	return clist_count(mm->mm_data.mm_multipart.mm_mp_list);
}

/* Decoded body of a single part, with its content type asserted. */
static char *
part_text(struct mailmime *mm, const char *want_type, int want_enc)
{
	struct mailmime_data *d = mm->mm_data.mm_single;
	size_t idx = 0, rlen = 0;
	char t[64], *res = NULL, *copy;

	ctype(mm, t, sizeof(t));
	ck_assert_str_eq(t, want_type);
	ck_assert_int_eq(mm->mm_type, MAILMIME_SINGLE);
	ck_assert_int_eq(d->dt_encoding, want_enc);
	ck_assert_int_eq(mailmime_part_parse(d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res, &rlen),
	    MAILIMF_NO_ERROR);
	copy = mp_xstrndup(res, rlen);
	mailmime_decoded_part_free(res);
	return copy;
}

static struct mailmime *
parse_message(const char *msg)
{
	struct mailmime *mm = NULL;
	size_t idx = 0;

	ck_assert_int_eq(mailmime_parse(msg, strlen(msg), &idx, &mm),
	    MAILIMF_NO_ERROR);
	ck_assert_int_eq(mm->mm_type, MAILMIME_MESSAGE);
	return mm;
}

START_TEST(test_alternative_structure)
{
	struct mp_mail m = simple_mail();
	struct mailmime *top, *body;
	char *msg, *s, t[64];

	m.text = "Plain = text\n";
	m.html = "<p>Caf\xc3\xa9 &amp; more</p>\n";
	msg = compose_ok(&m);
	assert_lines(msg);
	ck_assert_ptr_nonnull(strstr(msg,
	    "\r\nContent-Type: multipart/alternative;\r\n"
	    " boundary=\"=_magpie_"));
	top = parse_message(msg);
	body = top->mm_data.mm_message.mm_msg_mime;
	ctype(body, t, sizeof(t));
	ck_assert_str_eq(t, "multipart/alternative");
	ck_assert_int_eq(nparts(body), 2);
	s = part_text(nth_part(body, 0), "text/plain",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_str_eq(s, "Plain = text\r\n");
	free(s);
	s = part_text(nth_part(body, 1), "text/html",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_str_eq(s, "<p>Caf\xc3\xa9 &amp; more</p>\r\n");
	free(s);
	mailmime_free(top);
	free(msg);
}
END_TEST

static const char ics[] = "BEGIN:VCALENDAR\nVERSION:2.0\n"
    "PRODID:-//magpie//EN\nMETHOD:REQUEST\nBEGIN:VEVENT\n"
    "UID:open-consultations@example.org\nSUMMARY:IGF 2021 Open "
    "Consultations — Genève\nEND:VEVENT\nEND:VCALENDAR\n";

static void
assert_ics_part(struct mailmime *mm)
{
	struct mailmime_single_fields sf;
	char *s, *want;

	s = part_text(mm, "text/calendar", MAILMIME_MECHANISM_BASE64);
	want = crlf(ics);
	ck_assert_str_eq(s, want);
	free(s);
	free(want);
	s = mailmime_content_param_get(mm->mm_content_type, "method");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "REQUEST");
	s = mailmime_content_param_get(mm->mm_content_type, "charset");
	ck_assert_str_eq(s, "utf-8");
	mailmime_single_fields_init(&sf, mm->mm_mime_fields,
	    mm->mm_content_type);
	ck_assert_ptr_nonnull(sf.fld_disposition);
	ck_assert_int_eq(sf.fld_disposition->dsp_type->dsp_type,
	    MAILMIME_DISPOSITION_TYPE_ATTACHMENT);
	ck_assert_str_eq(sf.fld_disposition_filename, "invite.ics");
}

START_TEST(test_mixed_with_alternative_and_ics)
{
	struct mp_mail m = simple_mail();
	struct mailmime *top, *body, *alt;
	char *msg, *s, t[64], *b1, *b2;

	m.html = "<p>Hello</p>\n";
	m.ics = ics;
	m.ics_method = "REQUEST";
	msg = compose_ok(&m);
	assert_lines(msg);
	top = parse_message(msg);
	body = top->mm_data.mm_message.mm_msg_mime;
	ctype(body, t, sizeof(t));
	ck_assert_str_eq(t, "multipart/mixed");
	ck_assert_int_eq(nparts(body), 2);
	alt = nth_part(body, 0);
	ctype(alt, t, sizeof(t));
	ck_assert_str_eq(t, "multipart/alternative");
	ck_assert_int_eq(nparts(alt), 2);
	s = part_text(nth_part(alt, 0), "text/plain",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_str_eq(s, "Dear Anriette,\r\n\r\nPlease submit your "
	    "evaluations.\r\n");
	free(s);
	s = part_text(nth_part(alt, 1), "text/html",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_str_eq(s, "<p>Hello</p>\r\n");
	free(s);
	assert_ics_part(nth_part(body, 1));

	/* Boundaries derive from the Message-ID: same input, same bytes;
	 * and the two boundaries differ. */
	b1 = mailmime_content_param_get(body->mm_content_type, "boundary");
	b2 = mailmime_content_param_get(alt->mm_content_type, "boundary");
	ck_assert_str_ne(b1, b2);
	ck_assert_int_eq(strncmp(b1, "=_magpie_", 9), 0);
	s = compose_ok(&m);
	ck_assert_str_eq(s, msg);
	free(s);
	m.message_id = "other@example.org";
	s = compose_ok(&m);
	ck_assert_ptr_null(strstr(s, b1));
	free(s);
	mailmime_free(top);
	free(msg);
}
END_TEST

START_TEST(test_mixed_text_and_ics)
{
	struct mp_mail m = simple_mail();
	struct mailmime *top, *body;
	char *msg, *s, t[64];

	m.ics = ics;
	m.ics_method = "REQUEST";
	msg = compose_ok(&m);
	assert_lines(msg);
	top = parse_message(msg);
	body = top->mm_data.mm_message.mm_msg_mime;
	ctype(body, t, sizeof(t));
	ck_assert_str_eq(t, "multipart/mixed");
	ck_assert_int_eq(nparts(body), 2);
	s = part_text(nth_part(body, 0), "text/plain",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	ck_assert_str_eq(s, "Dear Anriette,\r\n\r\nPlease submit your "
	    "evaluations.\r\n");
	free(s);
	assert_ics_part(nth_part(body, 1));
	mailmime_free(top);
	free(msg);
}
END_TEST

START_TEST(test_message_id)
{
	char a[128], b[128];

	/* SHA-256("abc") starts ba7816bf8f01cfea414140de5dae2223. */
	mp_compose_message_id("abc", "mag-secretariat@example.org", a,
	    sizeof(a));
	ck_assert_str_eq(a, "ba7816bf8f01cfea414140de5dae2223@example.org");
	mp_compose_message_id("abc", "mag-secretariat@example.org", b,
	    sizeof(b));
	ck_assert_str_eq(a, b);
	mp_compose_message_id("abd", "mag-secretariat@example.org", b,
	    sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert_uint_eq(strlen(b), 32 + strlen("@example.org"));
	mp_compose_message_id("abc", "x@lists.igf.example", b, sizeof(b));
	ck_assert_str_eq(b,
	    "ba7816bf8f01cfea414140de5dae2223@lists.igf.example");
	mp_compose_message_id("abc", "nodomain", b, sizeof(b));
	ck_assert_str_eq(b, "ba7816bf8f01cfea414140de5dae2223@magpie.invalid");
	mp_compose_message_id("abc", NULL, b, sizeof(b));
	ck_assert_str_eq(b, "ba7816bf8f01cfea414140de5dae2223@magpie.invalid");
	mp_compose_message_id("abc", "x@bad>domain", b, sizeof(b));
	ck_assert_str_eq(b, "ba7816bf8f01cfea414140de5dae2223@magpie.invalid");
	mp_compose_message_id("abc", "x@example.org", b, 9);
	ck_assert_str_eq(b, "ba7816bf");
}
END_TEST

/* ---- golden messages: the real digest, reminder and change notice ---- */

static char *gdir;
static struct mp_config *gcfg;
static struct mp_store *gst;

static void
gadd(const char *id, const char *thread, const char *from, const char *subj,
    const char *when, const char *own)
{
	struct mp_msg m;
	struct mp_err e = { 0 };
	int added;

	memset(&m, 0, sizeof(m));
	m.message_id = (char *)id;
	m.from.name = (char *)from;
	m.from.addr = (char *)"someone@example.org";
	m.subject = (char *)subj;
	m.subject_norm = (char *)subj;
	m.date = tu_time(when);
	m.own = (char *)own;
	m.body = (char *)own;
	ck_assert_int_eq(mp_store_add_msg(gst, &m, NULL, "mag", 0, &added, &e), 0);
	ck_assert_int_eq(mp_store_set_thread(gst, id, thread, &e), 0);
}

static void
golden_setup(void)
{
	struct mp_diag d = { 0 };
	struct mp_err e = { 0 };
	char path[4096], text[4096], cwd[2048];

	gdir = tu_tmpdir();
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(text, sizeof(text),
	    "[store]\npath = s.db\n"
	    "[list mag]\nname = IGF MAG\nsource = mbox:x.mbox\n"
	    "list_id = mag.intgovforum.org\n"
	    "[delivery]\ntransport = maildir:out\n"
	    "from = Secretaría del MAG <mag-secretariat@example.org>\n"
	    "[digest]\ntemplate = %s/%s/etc/templates/digest\n"
	    "[member dmitry]\nname = Дмитрий Шостакович\n"
	    "email = dmitry@example.org\ntz = Europe/Moscow\ngroups = mag\n"
	    "[member fang]\nname = 王芳\nemail = fang@example.org\n"
	    "tz = Asia/Shanghai\ngroups = mag\n"
	    "[deadline evals]\ntitle = Workshop proposal evaluations\n"
	    "due = 2021-06-17 23:59 UTC\nremind = 7d, 3d\nto = group:mag\n"
	    "url = https://www.intgovforum.org/mag-dashboard?a=1&b=2\n"
	    "note = There is no room to extend the deadline this year.\n"
	    "[event consult]\ntitle = IGF 2021 Open Consultations\n"
	    "starts = 2021-06-22 13:00 UTC\nends = 2021-06-22 16:00 UTC\n"
	    "remind = 2d\nto = group:mag\nlocation = Online <Zoom>\n",
	    tu_srcdir()[0] == '/' ? "" : cwd, tu_srcdir());
	snprintf(path, sizeof(path), "%s/m.ini", gdir);
	tu_write(path, text);
	ck_assert_msg(mp_config_load(path, &gcfg, &d) == 0, "%s",
	    d.n ? d.lines[0] : "");
	mp_diag_free(&d);
	ck_assert_int_eq(mp_store_open(gcfg->store_path, &gst, &e), 0);
}

static void
golden_teardown(void)
{
	mp_store_close(gst);
	mp_config_free(gcfg);
	tu_rmtree(gdir);
	free(gdir);
}

/* The mail of r as job.c composes it for ledger key `key`. */
static char *
golden_compose(const struct mp_rendered *r, const struct mp_rcpt *to,
    const char *kind, const char *item, const char *key,
    const char *thread_key, int64_t now, char *msgid, size_t idlen)
{
	struct mp_mail m;
	char ref[256];

	mp_compose_message_id(key, gcfg->delivery.from_addr, msgid, idlen);
	memset(&m, 0, sizeof(m));
	m.from_name = gcfg->delivery.from_name;
	m.from_addr = gcfg->delivery.from_addr;
	m.to_name = to->name;
	m.to_addr = to->email;
	m.subject = r->subject;
	m.date = now;
	m.zone = to->tz;
	m.message_id = msgid;
	if (thread_key != NULL) {
		mp_compose_message_id(thread_key, gcfg->delivery.from_addr,
		    ref, sizeof(ref));
		m.in_reply_to = ref;
		m.references = ref;
	}
	m.list_id = "IGF MAG <mag.intgovforum.org>";
	m.kind = kind;
	m.item = item;
	m.text = r->text;
	m.html = r->html;
	m.ics = r->ics;
	m.ics_method = r->ics != NULL ? "PUBLISH" : NULL;
	return compose_ok(&m);
}

/* Byte for byte against tests/data/compose/NAME.eml; with
 * MAGPIE_UPDATE_GOLDEN=1 in the environment the file is rewritten. */
static void
assert_golden(const char *name, const char *msg)
{
	char path[4096], *want = NULL;
	const char *upd = getenv("MAGPIE_UPDATE_GOLDEN");

	snprintf(path, sizeof(path), "%s/tests/data/compose/%s.eml",
	    tu_srcdir(), name);
	if (upd != NULL && strcmp(upd, "1") == 0)
		tu_write(path, msg);
	ck_assert_msg(mp_read_file(path, 1 << 20, &want, NULL) == 0,
	    "cannot read %s", path);
	ck_assert_msg(strcmp(want, msg) == 0, "%s differs from the composed "
	    "message (MAGPIE_UPDATE_GOLDEN=1 rewrites it after review):\n%s",
	    path, msg);
	free(want);
}

static struct mailimf_field *
imf_field(struct mailmime *top, int type, const char *opt_name)
{
	struct mailimf_fields *f = top->mm_data.mm_message.mm_fields;
	clistiter *it;

	ck_assert_ptr_nonnull(f);
	for (it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		struct mailimf_field *x = clist_content(it);

		if (x->fld_type != type)
			continue;
		if (type != MAILIMF_FIELD_OPTIONAL_FIELD || strcasecmp(
		    x->fld_data.fld_optional_field->fld_name, opt_name) == 0)
			return x;
	}
	return NULL;
}

static const char *
opt_value(struct mailmime *top, const char *name)
{
	struct mailimf_field *x = imf_field(top,
	    MAILIMF_FIELD_OPTIONAL_FIELD, name);

	ck_assert_msg(x != NULL, "no %s", name);
	return x->fld_data.fld_optional_field->fld_value;
}

static void
assert_decoded(const char *raw, const char *want)
{
	assert_etpan_decodes(raw, want);
}

static void
assert_mailbox(struct mailimf_mailbox_list *l, const char *name,
    const char *addr)
{
	struct mailimf_mailbox *mb;

	ck_assert_int_eq(clist_count(l->mb_list), 1);
	mb = clist_content(clist_begin(l->mb_list));
	ck_assert_str_eq(mb->mb_addr_spec, addr);
	assert_decoded(mb->mb_display_name, name);
}

/* Parse msg with libetpan and check it says what went in: headers,
 * the MIME tree, and each part's decoded text. */
static void
assert_parses_back(const char *msg, const struct mp_rendered *r,
    const struct mp_rcpt *to, const char *kind, const char *item,
    const char *msgid, const char *ref)
{
	struct mailmime *top = parse_message(msg), *body, *alt;
	struct mailimf_field *x;
	char t[64], *s, *want;

	x = imf_field(top, MAILIMF_FIELD_FROM, NULL);
	ck_assert_ptr_nonnull(x);
	assert_mailbox(x->fld_data.fld_from->frm_mb_list,
	    gcfg->delivery.from_name, gcfg->delivery.from_addr);
	x = imf_field(top, MAILIMF_FIELD_TO, NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(clist_count(x->fld_data.fld_to->to_addr_list->
	    ad_list), 1);
	{
		struct mailimf_address *a = clist_content(clist_begin(
		    x->fld_data.fld_to->to_addr_list->ad_list));
		struct mailimf_mailbox *mb = a->ad_data.ad_mailbox;

		ck_assert_int_eq(a->ad_type, MAILIMF_ADDRESS_MAILBOX);
		ck_assert_str_eq(mb->mb_addr_spec, to->email);
		assert_decoded(mb->mb_display_name, to->name);
	}
	x = imf_field(top, MAILIMF_FIELD_SUBJECT, NULL);
	ck_assert_ptr_nonnull(x);
	assert_decoded(x->fld_data.fld_subject->sbj_value, r->subject);
	x = imf_field(top, MAILIMF_FIELD_MESSAGE_ID, NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->fld_data.fld_message_id->mid_value, msgid);
	x = imf_field(top, MAILIMF_FIELD_ORIG_DATE, NULL);
	ck_assert_ptr_nonnull(x);
	x = imf_field(top, MAILIMF_FIELD_REFERENCES, NULL);
	if (ref == NULL) {
		ck_assert_ptr_null(x);
	} else {
		ck_assert_ptr_nonnull(x);
		ck_assert_int_eq(clist_count(x->fld_data.fld_references->
		    mid_list), 1);
		ck_assert_str_eq(clist_content(clist_begin(
		    x->fld_data.fld_references->mid_list)), ref);
		x = imf_field(top, MAILIMF_FIELD_IN_REPLY_TO, NULL);
		ck_assert_ptr_nonnull(x);
	}
	ck_assert_str_eq(opt_value(top, "List-Id"),
	    "IGF MAG <mag.intgovforum.org>");
	ck_assert_str_eq(opt_value(top, "Auto-Submitted"), "auto-generated");
	ck_assert_str_eq(opt_value(top, "Precedence"), "bulk");
	ck_assert_str_eq(opt_value(top, "X-Auto-Response-Suppress"), "All");
	ck_assert_str_eq(opt_value(top, "X-Magpie-Kind"), kind);
	if (item != NULL)
		ck_assert_str_eq(opt_value(top, "X-Magpie-Item"), item);
	else
		ck_assert_ptr_null(imf_field(top, MAILIMF_FIELD_OPTIONAL_FIELD,
		    "X-Magpie-Item"));

	body = top->mm_data.mm_message.mm_msg_mime;
	ctype(body, t, sizeof(t));
	if (r->ics != NULL) {
		ck_assert_str_eq(t, "multipart/mixed");
		ck_assert_int_eq(nparts(body), 2);
		alt = nth_part(body, 0);
		s = part_text(nth_part(body, 1), "text/calendar",
		    MAILMIME_MECHANISM_BASE64);
		ck_assert_str_eq(s, r->ics);
		free(s);
		ck_assert_str_eq(mailmime_content_param_get(nth_part(body, 1)->
		    mm_content_type, "method"), "PUBLISH");
	} else {
		alt = body;
	}
	ctype(alt, t, sizeof(t));
	ck_assert_str_eq(t, "multipart/alternative");
	ck_assert_int_eq(nparts(alt), 2);
	s = part_text(nth_part(alt, 0), "text/plain",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	want = crlf(r->text);
	ck_assert_str_eq(s, want);
	free(s);
	free(want);
	s = part_text(nth_part(alt, 1), "text/html",
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	want = crlf(r->html);
	ck_assert_str_eq(s, want);
	free(s);
	free(want);
	mailmime_free(top);
}

START_TEST(test_golden_digest)
{
	const struct mp_member *mem = mp_config_member(gcfg, "dmitry");
	struct mp_rcpt to = { mem, mem->name, mem->email, mem->tz };
	struct mp_err e = { 0 };
	struct mp_rendered r;
	char *msg, msgid[256];
	int64_t now = tu_time("2021-06-15T04:00:00Z");

	gadd("1@x", "1@x", "Ана Петрова", "Бюджет на 2022 год",
	    "2021-06-14T08:00:00Z", "Прошу прислать замечания до пятницы.");
	gadd("2@x", "2@x", "李明", "会议议程 <draft> & notes",
	    "2021-06-14T09:00:00Z", "我同意。");
	gadd("3@x", "2@x", "سارة", "Re: 会议议程 <draft> & notes",
	    "2021-06-14T10:00:00Z", "موافقة، مع تغيير واحد: \"<b>\" 👍");
	ck_assert_int_eq(mp_store_add_action(gst, "1@x", "request", NULL,
	    "2021-06-18", "Send comments on the budget", &e), 0);
	ck_assert_int_eq(mp_render_digest(gcfg, gst, mem, 0, now, &r, &e), 0);
	ck_assert_ptr_nonnull(r.html);
	ck_assert_ptr_null(r.ics);
	/* The HTML escapes what came from mail; the text does not. */
	ck_assert_ptr_nonnull(strstr(r.html, "会议议程 &lt;draft&gt; &amp; "
	    "notes"));
	ck_assert_ptr_nonnull(strstr(r.html, "&quot;&lt;b&gt;&quot;"));
	ck_assert_ptr_nonnull(strstr(r.text, "会议议程 <draft> & notes"));
	msg = golden_compose(&r, &to, "digest", NULL,
	    "digest//0/dmitry@example.org/1623729600", NULL, now, msgid,
	    sizeof(msgid));
	assert_lines(msg);
	assert_golden("digest", msg);
	assert_parses_back(msg, &r, &to, "digest", NULL, msgid, NULL);
	free(msg);
	mp_rendered_free(&r);
}
END_TEST

START_TEST(test_golden_reminder)
{
	struct mp_plan *p;
	struct mp_err e = { 0 };
	struct mp_rendered r;
	char *msg, msgid[256], ref[256];
	int64_t now = tu_time("2021-06-15T00:00:00Z");
	size_t n;

	ck_assert_int_eq(mp_schedule_reminders(gcfg, now, &p, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(p[1].rcpt.email, "fang@example.org");
	ck_assert_int_eq(mp_render_reminder(gcfg, &p[1], now, &r, &e), 0);
	ck_assert_ptr_nonnull(r.ics);
	ck_assert_ptr_nonnull(strstr(r.html,
	    "mag-dashboard?a=1&amp;b=2\""));
	msg = golden_compose(&r, &p[1].rcpt, "reminder", "evals",
	    "reminder/evals/259200/fang@example.org/1623974340",
	    "reminder/evals/604800/fang@example.org/1623974340", now, msgid,
	    sizeof(msgid));
	assert_lines(msg);
	assert_golden("reminder", msg);
	mp_compose_message_id("reminder/evals/604800/fang@example.org/"
	    "1623974340", gcfg->delivery.from_addr, ref, sizeof(ref));
	assert_parses_back(msg, &r, &p[1].rcpt, "reminder", "evals", msgid,
	    ref);
	free(msg);
	mp_rendered_free(&r);
	free(p);
}
END_TEST

START_TEST(test_golden_changed)
{
	const struct mp_member *mem = mp_config_member(gcfg, "fang");
	struct mp_rcpt to = { mem, mem->name, mem->email, mem->tz };
	struct mp_notice nt = { MP_NOTICE_CHANGED,
		mp_config_item(gcfg, "consult"), 0, 0, 1 };
	struct mp_err e = { 0 };
	struct mp_rendered r;
	char *msg, msgid[256];
	int64_t now = tu_time("2021-06-16T09:30:00Z");

	nt.old_due = tu_time("2021-06-21T13:00:00Z");
	nt.old_ends = tu_time("2021-06-21T15:00:00Z");
	ck_assert_int_eq(mp_render_notice(gcfg, &nt, &to, now, &r, &e), 0);
	ck_assert_str_eq(r.subject, "Changed: IGF 2021 Open Consultations now "
	    "starts Tue 22 Jun 21:00 CST");
	ck_assert_msg(strstr(r.text, "  Now:  Tue 22 Jun 2021 21:00 CST "
	    "(until 00:00 CST)\n        Tue 22 Jun 13:00 UTC\n"
	    "  Was:  Mon 21 Jun 2021 21:00 CST (until 23:00 CST)\n"
	    "        Mon 21 Jun 13:00 UTC\n") != NULL, "%s", r.text);
	ck_assert_ptr_nonnull(strstr(r.ics, "\r\nSEQUENCE:1\r\n"));
	ck_assert_ptr_nonnull(strstr(r.html, "Online &lt;Zoom&gt;"));
	msg = golden_compose(&r, &to, "changed", "consult",
	    "changed/consult/0/fang@example.org/1624366800", NULL, now, msgid,
	    sizeof(msgid));
	assert_lines(msg);
	assert_golden("changed", msg);
	assert_parses_back(msg, &r, &to, "changed", "consult", msgid, NULL);
	free(msg);
	mp_rendered_free(&r);

	/* Cancelled: same UID, STATUS:CANCELLED, no alarm. */
	nt.kind = MP_NOTICE_CANCELLED;
	nt.sequence = 2;
	ck_assert_int_eq(mp_render_notice(gcfg, &nt, &to, now, &r, &e), 0);
	ck_assert_str_eq(r.subject, "Cancelled: IGF 2021 Open Consultations "
	    "(Tue 22 Jun 21:00 CST)");
	ck_assert_ptr_nonnull(strstr(r.ics, "\r\nSTATUS:CANCELLED\r\n"));
	ck_assert_ptr_nonnull(strstr(r.ics, "\r\nUID:consult@example.org\r\n"));
	ck_assert_ptr_null(strstr(r.ics, "VALARM"));
	ck_assert_ptr_nonnull(strstr(r.text, "IGF 2021 Open Consultations "
	    "(Tue 22 Jun 2021 21:00 CST) is cancelled."));
	mp_rendered_free(&r);
}
END_TEST

/* A title with a line break (config) cannot break the subject line. */
START_TEST(test_render_subject_one_line)
{
	struct mp_item it = *mp_config_item(gcfg, "evals");
	const struct mp_member *mem = mp_config_member(gcfg, "fang");
	struct mp_plan p;
	struct mp_err e = { 0 };
	struct mp_rendered r;
	char *msg, msgid[256];

	memset(&p, 0, sizeof(p));
	it.title = (char *)"Evals\r\nBcc: victim@example.org";
	p.item = &it;
	p.due = it.due;
	p.offset = 259200;
	p.rcpt.member = mem;
	p.rcpt.name = mem->name;
	p.rcpt.email = mem->email;
	p.rcpt.tz = mem->tz;
	ck_assert_int_eq(mp_render_reminder(gcfg, &p, tu_time("2021-06-15T00:00:00Z"),
	    &r, &e), 0);
	ck_assert_ptr_null(strpbrk(r.subject, "\r\n"));
	msg = golden_compose(&r, &p.rcpt, "reminder", "evals", "k", NULL,
	    tu_time("2021-06-15T00:00:00Z"), msgid, sizeof(msgid));
	assert_lines(msg);
	/* In the header block only: the body may say what it likes. */
	*strstr(msg, "\r\n\r\n") = '\0';
	ck_assert_ptr_null(strstr(msg, "\r\nBcc:"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nSubject: Reminder: Evals  Bcc: "
	    "victim@example.org due in"));
	free(msg);
	mp_rendered_free(&r);
}
END_TEST

static Suite *
compose_suite(void)
{
	Suite *s = suite_create("compose");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_simple_exact);
	tcase_add_test(tc, test_threading_headers_and_zone);
	tcase_add_test(tc, test_long_references_fold);
	tcase_add_test(tc, test_long_ascii_subject_folds);
	tcase_add_test(tc, test_quoted_names);
	tcase_add_test(tc, test_lookalike_encoded_word);
	tcase_add_test(tc, test_non_ascii_names_and_subject);
	tcase_add_test(tc, test_long_cjk_subject);
	tcase_add_test(tc, test_rfc2047_scripts);
	tcase_add_test(tc, test_unfoldable_inputs);
	tcase_add_test(tc, test_encode_header_first_len);
	tcase_add_test(tc, test_qp_round_trip);
	tcase_add_test(tc, test_header_injection_folded);
	tcase_add_test(tc, test_header_injection_refused);
	tcase_add_test(tc, test_bad_utf8_text_replaced);
	tcase_add_test(tc, test_bad_addresses_refused);
	tcase_add_test(tc, test_alternative_structure);
	tcase_add_test(tc, test_mixed_with_alternative_and_ics);
	tcase_add_test(tc, test_mixed_text_and_ics);
	tcase_add_test(tc, test_message_id);
	suite_add_tcase(s, tc);
	tc = tcase_create("golden");
	tcase_add_checked_fixture(tc, golden_setup, golden_teardown);
	tcase_add_test(tc, test_golden_digest);
	tcase_add_test(tc, test_golden_reminder);
	tcase_add_test(tc, test_golden_changed);
	tcase_add_test(tc, test_render_subject_one_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(compose_suite());
}
