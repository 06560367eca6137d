/*
 * extract.c - action items from a message's own text.
 *
 * Foundation version: sentence splitting, a keyword classifier and the
 * common absolute date forms ("17 June", "June 17th", "2021-06-17",
 * "23:59 UTC"), resolved against the message's Date and zone. Quoted text
 * and signatures never reach it (mime.c splits them off).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "extract.h"
#include "mime.h"

static const char *months[] = { "january", "february", "march", "april",
	"may", "june", "july", "august", "september", "october", "november",
	"december" };

const char *
mp_action_kind_name(enum mp_action_kind k)
{
	switch (k) {
	case MP_ACT_DEADLINE: return "deadline";
	case MP_ACT_REQUEST: return "request";
	case MP_ACT_EVENT: return "event";
	}
	return "?";
}

/* Month name (full or three-letter) at p; returns 1..12 and its length. */
static int
month_at(const char *p, size_t *len)
{
	int i;
	size_t n;

	for (i = 0; i < 12; i++) {
		n = strlen(months[i]);
		if (strncasecmp(p, months[i], n) == 0 && !isalpha((unsigned char)p[n])) {
			*len = n;
			return i + 1;
		}
		if (strncasecmp(p, months[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
			*len = 3;
			return i + 1;
		}
	}
	return 0;
}

struct found {
	int y, m, d;            /* date, y = 0 when not written */
	int hh, mm;             /* time, hh = -1 when none */
	long off;               /* zone offset when has_zone */
	int has_zone;
};

static int
number_at(const char *p, int *v, size_t *len)
{
	size_t i = 0;
	int n = 0;

	while (isdigit((unsigned char)p[i]) && i < 5)
		n = n * 10 + (p[i++] - '0');
	if (i == 0 || isdigit((unsigned char)p[i]))
		return 0;
	*v = n;
	*len = i;
	return 1;
}

static size_t
skip_ordinal(const char *p)
{
	if (strncasecmp(p, "st", 2) == 0 || strncasecmp(p, "nd", 2) == 0 ||
	    strncasecmp(p, "rd", 2) == 0 || strncasecmp(p, "th", 2) == 0)
		return isalpha((unsigned char)p[2]) ? 0 : 2;
	return 0;
}

/* Find the first date (and a time with zone after it) in s. */
static int
find_date(const char *s, struct found *f)
{
	const char *p;
	size_t len, ml;
	int v, m, y;

	memset(f, 0, sizeof(*f));
	f->hh = -1;
	for (p = s; *p; p++) {
		if (p > s && isalnum((unsigned char)p[-1]))
			continue;
		if (isdigit((unsigned char)*p)) {
			/* 2021-06-17 */
			if (sscanf(p, "%4d-%2d-%2d", &y, &m, &v) == 3 &&
			    y > 1999 && m >= 1 && m <= 12 && v >= 1 && v <= 31) {
				f->y = y; f->m = m; f->d = v;
				p += 10;
				goto time;
			}
			/* 17 June [2021] */
			if (number_at(p, &v, &len) && v >= 1 && v <= 31) {
				const char *q = p + len;

				q += skip_ordinal(q);
				while (*q == ' ')
					q++;
				if (strncasecmp(q, "of ", 3) == 0)
					q += 3;
				if ((m = month_at(q, &ml)) != 0) {
					f->d = v; f->m = m;
					q += ml;
					if (*q == ' ' && number_at(q + 1, &y, &len) &&
					    len == 4) {
						f->y = y;
						q += 1 + len;
					}
					p = q;
					goto time;
				}
			}
		} else if ((m = month_at(p, &ml)) != 0) {
			/* June 17[th][, 2021] */
			const char *q = p + ml;

			while (*q == ' ')
				q++;
			if (number_at(q, &v, &len) && v >= 1 && v <= 31) {
				f->m = m; f->d = v;
				q += len;
				q += skip_ordinal(q);
				if (q[0] == ',' && q[1] == ' ' &&
				    number_at(q + 2, &y, &len) && len == 4) {
					f->y = y;
					q += 2 + len;
				}
				p = q;
				goto time;
			}
		}
	}
	return 0;
time:
	/* A time with an explicit zone within the rest of the sentence. */
	for (; *p; p++) {
		int hh, mm;

		if (!isdigit((unsigned char)*p) || (isdigit((unsigned char)p[-1])))
			continue;
		if (sscanf(p, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			continue;
		p = strchr(p, ':') + 3;
		while (*p == ' ')
			p++;
		if (strncmp(p, "UTC", 3) == 0 || strncmp(p, "GMT", 3) == 0) {
			f->hh = hh; f->mm = mm; f->has_zone = 1; f->off = 0;
		}
		break;
	}
	return 1;
}

static int
contains_word(const char *lower, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		const char *p = lower;
		size_t n = strlen(words[i]);

		while ((p = strstr(p, words[i])) != NULL) {
			if ((p == lower || !isalpha((unsigned char)p[-1])) &&
			    !isalpha((unsigned char)p[n]))
				return 1;
			p += n;
		}
	}
	return 0;
}

static const char *const w_deadline[] = { "deadline", "due", "no later than",
	"submit", "submitted", NULL };
static const char *const w_event[] = { "meeting", "call", "session",
	"consultation", "consultations", "webinar", "workshop", "forum", NULL };
static const char *const w_request[] = { "please", "could you", "can you",
	"would you", "kindly", "we ask", "are invited to", "are requested to",
	NULL };

/* Greeting or sentence-initial name: "Wim, could you ..." -> "Wim". */
static char *
assignee_of(const char *sent, const struct mp_extract_opts *o)
{
	const char *p = sent;
	size_t n = 0;
	size_t i;

	while (p[n] && (isalpha((unsigned char)p[n]) || (unsigned char)p[n] >= 0x80 ||
	    p[n] == '-'))
		n++;
	if (n < 2 || p[n] != ',' || !isupper((unsigned char)p[0]))
		return NULL;
	if (o == NULL || o->config == NULL)
		return mp_xstrndup(p, n);
	for (i = 0; i < o->config->nmembers; i++) {
		const char *name = o->config->members[i].name;

		if (strncmp(name, p, n) == 0 && (name[n] == ' ' || name[n] == '\0'))
			return mp_xstrndup(p, n);
	}
	return NULL;
}

static void
add_action(struct mp_action **out, size_t *n, enum mp_action_kind k,
    const char *text, char *assignee, const char *due)
{
	struct mp_action *a;

	*out = mp_xrealloc(*out, (*n + 1) * sizeof(**out));
	a = &(*out)[(*n)++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->text = mp_xstrdup(text);
	a->assignee = assignee;
	snprintf(a->due, sizeof(a->due), "%s", due);
}

static void
classify(const char *sent, const struct mp_msg *m,
    const struct mp_extract_opts *o, struct mp_action **out, size_t *n)
{
	struct mp_buf low = MP_BUF_INIT;
	struct mp_tm mt;
	struct found f;
	char due[32] = "";
	int has_date, past = 0;
	size_t i;

	for (i = 0; sent[i]; i++)
		mp_buf_addc(&low, (char)tolower((unsigned char)sent[i]));
	has_date = find_date(sent, &f);
	if (has_date) {
		int64_t day, msgday;

		/* The message's own calendar day, in its own zone. */
		msgday = (m->date + m->date_off) / 86400;
		mp_dt_local(m->date + m->date_off, "UTC", &mt);
		if (f.y == 0) {
			f.y = mt.year;
			if (mp_dt_days_from_civil(f.y, f.m, f.d) < msgday - 180)
				f.y++;
		}
		day = mp_dt_days_from_civil(f.y, f.m, f.d);
		past = day < msgday;
		if (f.hh >= 0 && f.has_zone)
			mp_dt_iso_utc(day * 86400 + f.hh * 3600 + f.mm * 60 -
			    f.off, due, sizeof(due));
		else
			snprintf(due, sizeof(due), "%04d-%02d-%02d", f.y, f.m,
			    f.d);
	}
	if (has_date && past)
		goto out;
	if (has_date && contains_word(low.data, w_deadline))
		add_action(out, n, MP_ACT_DEADLINE, sent, NULL, due);
	else if (has_date && contains_word(low.data, w_event))
		add_action(out, n, MP_ACT_EVENT, sent, NULL, due);
	else if (contains_word(low.data, w_request))
		add_action(out, n, MP_ACT_REQUEST, sent, assignee_of(sent, o),
		    due);
out:
	mp_buf_free(&low);
}

int
mp_extract(const struct mp_msg *m, const struct mp_extract_opts *o,
    struct mp_action **out, size_t *n)
{
	struct mp_buf s = MP_BUF_INIT;
	const char *p;

	*out = NULL;
	*n = 0;
	if (m->own == NULL)
		return 0;
	for (p = m->own;; p++) {
		int end = *p == '\0' || (p[0] == '\n' && p[1] == '\n') ||
		    ((*p == '.' || *p == '!' || *p == '?') &&
		    (p[1] == ' ' || p[1] == '\n' || p[1] == '\0'));

		if (!end) {
			if (*p == '\n' || *p == '\t' || *p == '\r') {
				if (s.len > 0 && s.data[s.len - 1] != ' ')
					mp_buf_addc(&s, ' ');
			} else if (*p != ' ' || (s.len > 0 &&
			    s.data[s.len - 1] != ' ')) {
				mp_buf_addc(&s, *p);
			}
			continue;
		}
		if (*p == '.' || *p == '!' || *p == '?')
			mp_buf_addc(&s, *p);
		while (s.len > 0 && s.data[s.len - 1] == ' ')
			s.data[--s.len] = '\0';
		if (s.len > 8 && s.len < 1000)
			classify(s.data, m, o, out, n);
		mp_buf_reset(&s);
		if (*p == '\0')
			break;
	}
	mp_buf_free(&s);
	return 0;
}

void
mp_actions_free(struct mp_action *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(a[i].assignee);
		free(a[i].text);
	}
	free(a);
}
