/*
 * fuzz_mime.c - libFuzzer target for the message parser: any bytes must
 * give a message (or the empty-input error) whose every string is valid
 * UTF-8, without a crash, leak or undefined behaviour; and the fast path
 * must give what libetpan gives (MP_MIME_SLOW) whenever it answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mime.h"
#include "thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	int k, i;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc2 ? 1 : 0;
		if (k == 0 || *p > 0xf4)
			return 0;
		cp = *p & (0x3f >> k);
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += k + 1;
	}
	return 1;
}

static int
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The fast path's message equals libetpan's, field by field. */
static void
compare(const char *raw, size_t size)
{
	struct mp_msg *f = NULL, *s = NULL;
	struct mp_err e;
	size_t i;
	int rf, rs;

	rf = mp_mime_parse_flags(raw, size, 0, MP_MIME_FAST_ONLY, &f, &e);
	rs = mp_mime_parse_flags(raw, size, 0, MP_MIME_SLOW, &s, &e);
	if (rf == 1 || (rf != 0 && rf == rs)) {
		mp_msg_free(s);
		return;
	}
	if (rf != rs || !same(f->message_id, s->message_id) ||
	    !same(f->in_reply_to, s->in_reply_to) || f->nrefs != s->nrefs ||
	    !same(f->from.name, s->from.name) ||
	    !same(f->from.addr, s->from.addr) ||
	    !same(f->subject, s->subject) ||
	    !same(f->subject_norm, s->subject_norm) || f->date != s->date ||
	    f->date_off != s->date_off ||
	    f->date_fallback != s->date_fallback ||
	    !same(f->list_id, s->list_id) || !same(f->body, s->body) ||
	    !same(f->own, s->own) || !same(f->quoted, s->quoted) ||
	    !same(f->sig, s->sig) || f->warnings != s->warnings ||
	    !same(f->to, s->to) || !same(f->cc, s->cc) ||
	    !same(f->attachments, s->attachments))
		abort();
	for (i = 0; i < f->nrefs; i++)
		if (!same(f->refs[i], s->refs[i]))
			abort();
	mp_msg_free(f);
	mp_msg_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_msg *m = NULL;
	struct mp_err e;
	struct mp_thread_in in;
	struct mp_thread *t = NULL;
	size_t nt = 0, i;
	char *copy;

	/* the source promises a NUL after the message */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	compare(copy, size);
	if (mp_mime_parse(copy, size, 0, &m, &e) != 0) {
		free(copy);
		return 0;
	}
	if (!utf8_ok(m->message_id) || !utf8_ok(m->subject) ||
	    !utf8_ok(m->subject_norm) || !utf8_ok(m->from.name) ||
	    !utf8_ok(m->from.addr) || !utf8_ok(m->to) || !utf8_ok(m->cc) ||
	    !utf8_ok(m->attachments) || !utf8_ok(m->body) ||
	    !utf8_ok(m->own) || !utf8_ok(m->quoted) || !utf8_ok(m->sig) ||
	    *m->message_id == '\0' || strpbrk(m->subject, "\r\n") != NULL)
		abort();
	for (i = 0; i < m->nrefs; i++)
		if (!utf8_ok(m->refs[i]))
			abort();
	/* the threader takes what the parser gives */
	memset(&in, 0, sizeof(in));
	in.message_id = m->message_id;
	in.in_reply_to = m->in_reply_to;
	in.refs = (const char *const *)m->refs;
	in.nrefs = m->nrefs;
	in.subject_norm = m->subject_norm;
	in.is_reply = mp_mime_subject_is_reply(m->subject);
	in.date = m->date;
	mp_thread_build(&in, 1, &t, &nt);
	mp_threads_free(t, nt);
	mp_msg_free(m);
	free(copy);
	return 0;
}
