/*
 * render.c - build template data for digests and reminders, render it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "ics.h"
#include "mime.h"
#include "render.h"
#include "schedule.h"
#include "store.h"
#include "template.h"
#include "val.h"

#define SNIPPET_MAX 240
#define DIGEST_MAX_THREADS 40

/* One new message as the digest needs it (strings owned). */
struct dmsg {
	int64_t seq, date;
	char *thread, *subject, *from, *own, *id;
};

struct dthread {
	const char *thread;
	size_t first, n;        /* range in the sorted message array */
	int64_t last;
};

struct collect {
	struct dmsg *v;
	size_t n, cap;
	int64_t max_seq;
};

static int
collect_msg(const struct mp_stored_msg *m, void *ctx)
{
	struct collect *c = ctx;
	struct dmsg *d;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = mp_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	d = &c->v[c->n++];
	d->seq = m->seq;
	d->date = m->date;
	d->thread = mp_xstrdup(m->thread != NULL ? m->thread : m->message_id);
	d->subject = mp_xstrdup(m->subject_norm != NULL && *m->subject_norm ?
	    m->subject_norm : m->subject != NULL ? m->subject : "");
	d->from = mp_xstrdup(m->from_name != NULL && *m->from_name ?
	    m->from_name : m->from_addr != NULL ? m->from_addr : "");
	d->own = mp_xstrdup(m->own != NULL ? m->own : "");
	d->id = mp_xstrdup(m->message_id);
	if (m->seq > c->max_seq)
		c->max_seq = m->seq;
	return 0;
}

static int
cmp_dmsg(const void *a, const void *b)
{
	const struct dmsg *x = a, *y = b;
	int r = strcmp(x->thread, y->thread);

	if (r != 0)
		return r;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_dthread(const void *a, const void *b)
{
	const struct dthread *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return strcmp(x->thread, y->thread);
}

/* One line of the newest own text, cut at a word boundary. */
static struct mp_val *
snippet(const char *own)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *p;
	struct mp_val *v;

	for (p = own; *p && b.len < SNIPPET_MAX; p++) {
		char c = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;

		if (c == ' ' && (b.len == 0 || b.data[b.len - 1] == ' '))
			continue;
		mp_buf_addc(&b, c);
	}
	if (*p != '\0') {
		/* back to a space, never inside a UTF-8 sequence */
		while (b.len > 0 && b.data[b.len - 1] != ' ')
			b.len--;
		while (b.len > 0 && b.data[b.len - 1] == ' ')
			b.len--;
		if (b.data != NULL)
			b.data[b.len] = '\0';
		mp_buf_adds(&b, " …");
	}
	while (b.len > 0 && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	v = mp_val_str(mp_buf_str(&b));
	mp_buf_free(&b);
	return v;
}

static void
set_time(struct mp_val *map, const char *key, int64_t t, const char *zone,
    const char *fmt)
{
	char buf[96];

	mp_dt_format(t, zone, fmt, buf, sizeof(buf));
	mp_val_set_str(map, key, buf);
}

/* One action item of the digest (strings owned). */
struct dact {
	char *thread, *subject, *kind, *text, *due, *assignee, *from;
	int64_t when;           /* due instant, INT64_MAX when none */
	int has_time;
	int64_t group_when;     /* soonest due in its thread */
};

struct acollect {
	struct dact *v;
	size_t n, cap;
};

static int
collect_action(const struct mp_stored_action *a, void *ctx)
{
	struct acollect *ac = ctx;
	struct dact *d;
	int64_t t;

	if (ac->n == ac->cap) {
		ac->cap = ac->cap ? ac->cap * 2 : 32;
		ac->v = mp_xrealloc(ac->v, ac->cap * sizeof(*ac->v));
	}
	d = &ac->v[ac->n++];
	memset(d, 0, sizeof(*d));
	d->thread = mp_xstrdup(a->thread != NULL ? a->thread : a->message_id);
	/* the thread's subject, without Re:/Fwd: and list tags */
	d->subject = mp_mime_subject_norm(a->subject != NULL ? a->subject :
	    "");
	d->kind = mp_xstrdup(a->kind);
	d->text = mp_xstrdup(a->text != NULL ? a->text : "");
	d->due = mp_xstrdup(a->due != NULL ? a->due : "");
	d->assignee = mp_xstrdup(a->assignee != NULL ? a->assignee : "");
	d->from = mp_xstrdup(a->from_name != NULL ? a->from_name : "");
	d->when = INT64_MAX;
	/* "2021-06-17T23:59:00Z" is an instant; "2021-06-17" a day, kept
	 * as its UTC midnight for ordering only. */
	if (*d->due && mp_dt_parse(d->due, "UTC", &t, NULL, 0, NULL) == 0) {
		d->when = t;
		d->has_time = strchr(d->due, 'T') != NULL;
	}
	return 0;
}

static void
free_dact(struct dact *d)
{
	free(d->thread);
	free(d->subject);
	free(d->kind);
	free(d->text);
	free(d->due);
	free(d->assignee);
	free(d->from);
}

static void
free_actions(struct acollect *ac)
{
	size_t i;

	for (i = 0; i < ac->n; i++)
		free_dact(&ac->v[i]);
	free(ac->v);
}

static int
cmp_dact_thread(const void *a, const void *b)
{
	const struct dact *x = a, *y = b;

	return strcmp(x->thread, y->thread);
}

/* Soonest thread first, then soonest item; undated last. */
static int
cmp_dact(const void *a, const void *b)
{
	const struct dact *x = a, *y = b;
	int r;

	if (x->group_when != y->group_when)
		return x->group_when < y->group_when ? -1 : 1;
	if ((r = strcmp(x->thread, y->thread)) != 0)
		return r;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return 0;
}

static int
in_calendar(const struct mp_config *c, const struct dact *a)
{
	size_t i;
	int64_t day = a->when / 86400;

	for (i = 0; i < c->nitems; i++) {
		const struct mp_item *it = &c->items[i];

		if (it->kind == MP_ITEM_REMINDER)
			continue;
		if (a->has_time ? llabs(it->due - a->when) < 3600 :
		    it->due / 86400 == day || (it->ends > 0 &&
		    day >= it->due / 86400 && day <= it->ends / 86400))
			return 1;
	}
	return 0;
}

static int
in_group(const struct mp_member *m, const char *group)
{
	size_t i;

	for (i = 0; i < m->ngroups; i++)
		if (strcmp(m->groups[i], group) == 0)
			return 1;
	return 0;
}

static struct mp_val *
action_val(const struct dact *a, const char *when)
{
	struct mp_val *v = mp_val_map();

	mp_val_set_str(v, "kind", a->kind);
	mp_val_set_str(v, "text", a->text);
	mp_val_set_str(v, "due", a->due);
	mp_val_set_str(v, "when", when);
	mp_val_set_bool(v, "has_due", *when != '\0');
	mp_val_set_str(v, "assignee", a->assignee);
	mp_val_set_bool(v, "has_assignee", *a->assignee != '\0');
	mp_val_set_str(v, "from", a->from);
	mp_val_set_str(v, "subject", a->subject);
	return v;
}

/* The digest's action items: past ones dropped, grouped by thread, the
 * soonest first, due times in the member's zone. Members of the
 * secretariat or chair groups also get the dates found in mail that no
 * deadline or event of the configuration has. */
static void
action_data(const struct mp_config *c, const struct mp_member *m,
    struct acollect *ac, int64_t now, struct mp_val *d)
{
	struct mp_val *flat = mp_val_list(), *groups = mp_val_list();
	struct mp_val *unlisted = mp_val_list(), *items = NULL;
	size_t i, j, k;
	int staff = in_group(m, "secretariat") || in_group(m, "chair");

	/* a dated item whose time (or day) is over has nothing left to do */
	for (i = 0, k = 0; i < ac->n; i++) {
		const struct dact *a = &ac->v[i];

		if (a->when != INT64_MAX &&
		    a->when + (a->has_time ? 0 : 86400) <= now) {
			free_dact(&ac->v[i]);
			continue;
		}
		ac->v[k++] = ac->v[i];
	}
	ac->n = k;
	if (ac->n > 0)
		qsort(ac->v, ac->n, sizeof(*ac->v), cmp_dact_thread);
	for (i = 0; i < ac->n; i = j) {
		int64_t soonest = INT64_MAX;

		for (j = i; j < ac->n && strcmp(ac->v[j].thread,
		    ac->v[i].thread) == 0; j++)
			if (ac->v[j].when < soonest)
				soonest = ac->v[j].when;
		for (k = i; k < j; k++)
			ac->v[k].group_when = soonest;
	}
	if (ac->n > 0)
		qsort(ac->v, ac->n, sizeof(*ac->v), cmp_dact);
	for (i = 0; i < ac->n; i++) {
		const struct dact *a = &ac->v[i];
		char when[96] = "";

		/* a bare date has no zone: it is shown as written */
		if (a->when != INT64_MAX)
			mp_dt_format(a->when, a->has_time ? m->tz : "UTC",
			    a->has_time ? "%a %d %b %H:%M %Z" : "%a %d %b",
			    when, sizeof(when));
		if (i == 0 || strcmp(a->thread, ac->v[i - 1].thread) != 0) {
			struct mp_val *g = mp_val_map();

			mp_val_set_str(g, "subject", a->subject);
			items = mp_val_set(g, "items", mp_val_list());
			mp_val_push(groups, g);
		}
		mp_val_push(items, action_val(a, when));
		mp_val_push(flat, action_val(a, when));
		if (staff && a->when != INT64_MAX &&
		    strcmp(a->kind, "request") != 0 && !in_calendar(c, a))
			mp_val_push(unlisted, action_val(a, when));
	}
	mp_val_set_bool(d, "has_actions", ac->n > 0);
	mp_val_set(d, "actions", flat);
	mp_val_set(d, "action_threads", groups);
	mp_val_set_bool(d, "has_unlisted", mp_val_len(unlisted) > 0);
	mp_val_set(d, "unlisted", unlisted);
}

/* Fields every template gets for an item, in the viewer's zone. */
static void
item_fields(struct mp_val *v, const struct mp_item *it, const char *tz,
    int64_t now)
{
	char left[64];

	mp_val_set_str(v, "id", it->id);
	mp_val_set_str(v, "kind", mp_config_item_kind_name(it->kind));
	mp_val_set_bool(v, "is_deadline", it->kind == MP_ITEM_DEADLINE);
	mp_val_set_bool(v, "is_event", it->kind == MP_ITEM_EVENT);
	mp_val_set_str(v, "title", it->title);
	set_time(v, "when", it->due, tz, "%a %d %b %Y %H:%M %Z");
	set_time(v, "when_utc", it->due, "UTC", "%a %d %b %H:%M UTC");
	set_time(v, "date", it->due, tz, "%A %d %B %Y");
	mp_dt_span(it->due - now, left, sizeof(left));
	mp_val_set_str(v, "left", left);
	if (it->ends > it->due)
		set_time(v, "ends", it->ends, tz, "%H:%M %Z");
	if (it->url != NULL)
		mp_val_set_str(v, "url", it->url);
	if (it->note != NULL)
		mp_val_set_str(v, "note", it->note);
	if (it->location != NULL)
		mp_val_set_str(v, "location", it->location);
}

static struct mp_val *
common_data(const struct mp_config *c, const char *name, const char *email,
    const char *tz, int64_t now)
{
	struct mp_val *d = mp_val_map();
	struct mp_val *who = mp_val_map();
	const char *list = c->nlists > 0 ? c->lists[0].name : "magpie";

	mp_val_set_str(who, "name", name != NULL && *name ? name : email);
	mp_val_set_str(who, "email", email);
	mp_val_set_str(who, "tz", tz);
	mp_val_set(d, "member", who);
	mp_val_set_str(d, "list", list);
	mp_val_set_str(d, "from", c->delivery.from_name != NULL &&
	    *c->delivery.from_name ? c->delivery.from_name :
	    c->delivery.from_addr);
	mp_val_set_str(d, "from_email", c->delivery.from_addr);
	set_time(d, "today", now, tz, "%A %d %B %Y");
	return d;
}

char *
mp_render_template_path(const struct mp_config *c, const char *name,
    const char *ext)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *t = c->digest.template, *slash = strrchr(t, '/');

	if (slash != NULL)
		mp_buf_add(&b, t, (size_t)(slash - t + 1));
	mp_buf_printf(&b, "%s%s", name, ext);
	return mp_buf_detach(&b);
}

/* Templates are parsed once per process: a run renders the same few
 * templates for every member. */
#define CACHE_MAX 32

static struct {
	char *path;
	struct mp_template *t;          /* NULL: the file does not exist */
} cache[CACHE_MAX];
static size_t ncache;

void
mp_render_cache_clear(void)
{
	size_t i;

	for (i = 0; i < ncache; i++) {
		free(cache[i].path);
		mp_template_free(cache[i].t);
	}
	ncache = 0;
}

/* The compiled template at path; *t NULL when optional and missing. */
static int
template_at(const char *path, int optional, struct mp_template **t,
    struct mp_err *e)
{
	size_t i;

	*t = NULL;
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].path, path) == 0) {
			*t = cache[i].t;
			return 0;
		}
	if (optional && access(path, R_OK) != 0)
		;
	else if (mp_template_load(path, t, e) != 0)
		return -1;
	if (ncache == CACHE_MAX)
		mp_render_cache_clear();
	cache[ncache].path = mp_xstrdup(path);
	cache[ncache].t = *t;
	ncache++;
	return 0;
}

/* Columns of a UTF-8 string of n bytes (code points; wide scripts count
 * one, which errs on the side of shorter lines). */
static size_t
columns(const char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)p[i] & 0xc0) != 0x80;
	return c;
}

/* Lines wrapped at width columns for mail readers (RFC 3676 suggests 72
 * or less; format=flowed is not used, so lines are really broken).
 * Continuation lines keep the indentation, plus the width of a "- " or
 * "12. " list marker; a word longer than a line (a URL) is never cut,
 * and stays on the line where it starts. The signature separator "-- " is kept as it is. */
static char *
wrap_text(const char *in, size_t width)
{
	struct mp_buf b = MP_BUF_INIT;
	const char *line = in, *end;

	while (*line != '\0') {
		size_t len, ind = 0, hang, col, n;
		const char *p, *w;

		end = strchr(line, '\n');
		len = end != NULL ? (size_t)(end - line) : strlen(line);
		if (columns(line, len) <= width) {
			mp_buf_add(&b, line, len);
			goto next;
		}
		while (ind < len && line[ind] == ' ')
			ind++;
		hang = ind;
		if (ind + 1 < len && (line[ind] == '-' || line[ind] == '*') &&
		    line[ind + 1] == ' ')
			hang = ind + 2;
		else {
			size_t k = ind;

			while (k < len && line[k] >= '0' && line[k] <= '9')
				k++;
			if (k > ind && k + 1 < len && line[k] == '.' &&
			    line[k + 1] == ' ')
				hang = k + 2;
		}
		mp_buf_add(&b, line, ind);
		col = ind;
		p = line + ind;
		while (p < line + len) {
			for (w = p; w < line + len && *w != ' '; w++)
				;
			n = (size_t)(w - p);
			/* a word too long for any line (a URL) stays where
			 * it is: breaking before it gains nothing */
			if (col > hang && col + 1 + columns(p, n) > width &&
			    hang + columns(p, n) <= width) {
				size_t k;

				mp_buf_addc(&b, '\n');
				for (k = 0; k < hang; k++)
					mp_buf_addc(&b, ' ');
				col = hang;
			} else if (col > ind && p > line + ind) {
				mp_buf_addc(&b, ' ');
				col++;
			}
			mp_buf_add(&b, p, n);
			col += columns(p, n);
			for (p = w; p < line + len && *p == ' '; p++)
				;
		}
next:
		if (end == NULL)
			break;
		mp_buf_addc(&b, '\n');
		line = end + 1;
	}
	return mp_buf_detach(&b);
}

/* Render base.txt (required) and base.html (when present). */
static int
render_pair(const char *base, const struct mp_val *data,
    struct mp_rendered *out, struct mp_err *e)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_template *t;
	char path[4096];

	snprintf(path, sizeof(path), "%s.txt", base);
	if (template_at(path, 0, &t, e) != 0 ||
	    mp_template_apply(t, data, &b, e) != 0) {
		mp_buf_free(&b);
		return -1;
	}
	out->text = wrap_text(mp_buf_str(&b), MP_RENDER_WIDTH);
	mp_buf_free(&b);
	snprintf(path, sizeof(path), "%s.html", base);
	if (template_at(path, 1, &t, e) != 0)
		return -1;
	if (t != NULL) {
		if (mp_template_apply(t, data, &b, e) != 0) {
			mp_buf_free(&b);
			return -1;
		}
		out->html = mp_buf_detach(&b);
	}
	return 0;
}

/* archive_url with {{message_id}} replaced by the Message-ID, percent-
 * encoded as a URL path segment. */
static char *
archive_link(const char *pattern, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	struct mp_buf b = MP_BUF_INIT;
	const char *p = pattern, *q;

	while ((q = strstr(p, "{{message_id}}")) != NULL) {
		const unsigned char *c;

		mp_buf_add(&b, p, (size_t)(q - p));
		for (c = (const unsigned char *)id; *c; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' &&
			    *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			    strchr("-._~@!$&'()*+,;=:", *c) != NULL) {
				mp_buf_addc(&b, (char)*c);
			} else {
				mp_buf_addc(&b, '%');
				mp_buf_addc(&b, hex[*c >> 4]);
				mp_buf_addc(&b, hex[*c & 15]);
			}
		}
		p = q + strlen("{{message_id}}");
	}
	mp_buf_adds(&b, p);
	return mp_buf_detach(&b);
}

/* Number a link for the text part: v gets link_ref (and url), the links
 * list the entry "[n] url" that the text lists at its end. */
static void
add_link(struct mp_val *v, struct mp_val *links, const char *url)
{
	struct mp_val *l = mp_val_map();
	size_t n = mp_val_len(links) + 1;

	mp_val_set_str(v, "url", url);
	mp_val_set_num(v, "link_ref", (double)n);
	mp_val_set_num(l, "n", (double)n);
	mp_val_set_str(l, "url", url);
	mp_val_push(links, l);
}

int
mp_render_digest(const struct mp_config *c, struct mp_store *st,
    const struct mp_member *m, int64_t after_seq, int64_t now,
    struct mp_rendered *out, struct mp_err *e)
{
	struct collect col = { 0 };
	struct dthread *th = NULL;
	struct mp_val *d, *threads, *ahead, *links;
	struct acollect ac;
	struct mp_agenda *items = NULL;
	size_t i, j, nth = 0, nitems = 0, nahead = 0;
	char subj[256], day[64];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (mp_store_each_msg(st, after_seq, collect_msg, &col, e) != 0)
		goto done;
	out->upto_seq = col.max_seq > after_seq ? col.max_seq : after_seq;
	if (col.n > 0)
		qsort(col.v, col.n, sizeof(*col.v), cmp_dmsg);
	th = mp_xcalloc(col.n + 1, sizeof(*th));
	for (i = 0; i < col.n; i = j) {
		for (j = i; j < col.n && strcmp(col.v[j].thread,
		    col.v[i].thread) == 0; j++)
			;
		th[nth].thread = col.v[i].thread;
		th[nth].first = i;
		th[nth].n = j - i;
		th[nth].last = col.v[j - 1].date;
		nth++;
	}
	qsort(th, nth, sizeof(*th), cmp_dthread);

	d = common_data(c, m->name, m->email, m->tz, now);
	links = mp_val_list();
	threads = mp_val_list();
	for (i = 0; i < nth && i < DIGEST_MAX_THREADS; i++) {
		struct mp_val *t = mp_val_map();
		struct mp_buf who = MP_BUF_INIT;
		const struct dmsg *newest = &col.v[th[i].first + th[i].n - 1];

		mp_val_set_str(t, "subject", col.v[th[i].first].subject);
		mp_val_set_num(t, "count", (double)th[i].n);
		mp_val_set_bool(t, "several", th[i].n > 1);
		for (j = th[i].first; j < th[i].first + th[i].n; j++) {
			size_t k;
			int seen = 0;

			for (k = th[i].first; k < j && !seen; k++)
				seen = strcmp(col.v[k].from, col.v[j].from) == 0;
			if (seen)
				continue;
			if (who.len > 0)
				mp_buf_adds(&who, ", ");
			mp_buf_adds(&who, col.v[j].from);
		}
		mp_val_set_str(t, "participants", mp_buf_str(&who));
		mp_buf_free(&who);
		set_time(t, "last", th[i].last, m->tz, "%a %d %b %H:%M");
		mp_val_set_str(t, "last_from", newest->from);
		mp_val_set(t, "snippet", snippet(newest->own));
		mp_val_set_num(t, "rank", (double)(i + 1));
		if (c->nlists > 0 && c->lists[0].archive_url != NULL) {
			char *url = archive_link(c->lists[0].archive_url,
			    newest->id);

			add_link(t, links, url);
			free(url);
		}
		mp_val_push(threads, t);
	}
	mp_val_set(d, "threads", threads);
	mp_val_set_bool(d, "has_threads", nth > 0);
	mp_val_set_num(d, "nthreads", (double)nth);
	mp_val_set_num(d, "nmessages", (double)col.n);
	mp_val_set_num(d, "more_threads", (double)(nth > DIGEST_MAX_THREADS ?
	    nth - DIGEST_MAX_THREADS : 0));
	mp_val_set_bool(d, "has_more_threads", nth > DIGEST_MAX_THREADS);

	memset(&ac, 0, sizeof(ac));
	if (mp_store_each_action(st, after_seq, collect_action, &ac, e) != 0) {
		free_actions(&ac);
		mp_val_free(d);
		goto done;
	}
	action_data(c, m, &ac, now, d);
	free_actions(&ac);

	ahead = mp_val_list();
	mp_schedule_agenda(c, now, (int64_t)c->digest.days_ahead * 86400,
	    &items, &nitems);
	for (i = 0; i < nitems; i++) {
		struct mp_val *v;

		if (items[i].item->kind == MP_ITEM_REMINDER ||
		    !mp_config_is_recipient(c, items[i].item, m->email))
			continue;
		v = mp_val_map();
		item_fields(v, items[i].item, m->tz, now);
		if (items[i].item->url != NULL)
			add_link(v, links, items[i].item->url);
		mp_val_push(ahead, v);
		nahead++;
	}
	free(items);
	mp_val_set(d, "ahead", ahead);
	mp_val_set_bool(d, "has_links", mp_val_len(links) > 0);
	mp_val_set(d, "links", links);
	mp_val_set_bool(d, "has_ahead", nahead > 0);
	mp_val_set_num(d, "days_ahead", c->digest.days_ahead);

	mp_dt_format(now, m->tz, "%a %d %b %Y", day, sizeof(day));
	if (col.n > 0)
		snprintf(subj, sizeof(subj), "[%s] Digest %s: %zu message%s in "
		    "%zu thread%s", c->nlists > 0 ? c->lists[0].name : "magpie",
		    day, col.n, col.n == 1 ? "" : "s", nth, nth == 1 ? "" : "s");
	else
		snprintf(subj, sizeof(subj), "[%s] Digest %s: no new messages",
		    c->nlists > 0 ? c->lists[0].name : "magpie", day);
	mp_val_set_str(d, "subject", subj);
	out->subject = mp_xstrdup(subj);
	out->empty = col.n == 0 && nahead == 0;

	rc = render_pair(c->digest.template, d, out, e);
	mp_val_free(d);
done:
	for (i = 0; i < col.n; i++) {
		free(col.v[i].thread);
		free(col.v[i].subject);
		free(col.v[i].from);
		free(col.v[i].own);
		free(col.v[i].id);
	}
	free(col.v);
	free(th);
	if (rc != 0)
		mp_rendered_free(out);
	return rc;
}

/* Subjects are built from config titles: a control character there must
 * not reach a header (compose would refuse the whole email). */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* snprintf that never leaves half a UTF-8 character at the end. */
static void
utf8_cut(char *s)
{
	size_t n = strlen(s), i = n, need;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0x80)
		return;
	need = (unsigned char)s[i - 1] >= 0xf0 ? 4 :
	    (unsigned char)s[i - 1] >= 0xe0 ? 3 : 2;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

static void
set_subject(struct mp_val *d, struct mp_rendered *out, char *subj)
{
	utf8_cut(subj);
	one_line(subj);
	mp_val_set_str(d, "subject", subj);
	out->subject = mp_xstrdup(subj);
}

int
mp_render_ics(const struct mp_config *c, const struct mp_item *it,
    int sequence, int cancelled, int64_t now, char **out, struct mp_err *e)
{
	struct mp_ics_event ev;
	struct mp_buf desc = MP_BUF_INIT, sum = MP_BUF_INIT;
	char uid[512], when[96];

	*out = NULL;
	if (it->kind == MP_ITEM_REMINDER)
		return 0;
	memset(&ev, 0, sizeof(ev));
	mp_ics_uid(it->id, c->delivery.from_addr, uid, sizeof(uid));
	ev.uid = uid;
	ev.stamp = now;
	ev.sequence = sequence;
	ev.cancelled = cancelled;
	ev.url = it->url;
	ev.location = it->location;
	mp_dt_format(it->due, "UTC", "%a %d %b %Y %H:%M UTC", when,
	    sizeof(when));
	if (it->kind == MP_ITEM_DEADLINE) {
		/* A deadline is an instant; RFC 5545 3.8.2.2 wants DTEND
		 * after DTSTART, so the event is the half hour before it,
		 * and the alarm counts back from the deadline itself. */
		ev.start = it->due - 1800;
		ev.end = it->due;
		ev.alarm = 3600;
		ev.alarm_at_end = 1;
		mp_buf_printf(&sum, "Deadline: %s", it->title);
		mp_buf_printf(&desc, "%s is due %s.", it->title, when);
	} else {
		ev.start = it->due;
		ev.end = it->ends > it->due ? it->ends : it->due + 3600;
		ev.alarm = 900;
		mp_buf_adds(&sum, it->title);
		mp_buf_printf(&desc, "%s starts %s.", it->title, when);
	}
	if (it->note != NULL && *it->note != '\0')
		mp_buf_printf(&desc, "\n\n%s", it->note);
	if (it->url != NULL && *it->url != '\0')
		mp_buf_printf(&desc, "\n\n%s", it->url);
	ev.summary = mp_buf_str(&sum);
	ev.description = mp_buf_str(&desc);
	*out = mp_ics_event(&ev, e);
	mp_buf_free(&sum);
	mp_buf_free(&desc);
	return *out != NULL ? 0 : -1;
}

int
mp_render_reminder(const struct mp_config *c, const struct mp_plan *p,
    int64_t now, struct mp_rendered *out, struct mp_err *e)
{
	const struct mp_item *it = p->item;
	struct mp_val *d;
	char subj[512], left[64], when[96], *base, probe[4096];
	int rc;

	memset(out, 0, sizeof(*out));
	d = common_data(c, p->rcpt.name, p->rcpt.email, p->rcpt.tz, now);
	item_fields(d, it, p->rcpt.tz, now);
	mp_dt_span(p->offset, left, sizeof(left));
	mp_val_set_str(d, "offset", left);
	mp_val_set_bool(d, "is_chair", it->kind == MP_ITEM_REMINDER);
	if (it->subject != NULL)
		mp_val_set_str(d, "subject_text", it->subject);
	if (it->body != NULL)
		mp_val_set_str(d, "body", it->body);
	mp_dt_span(it->due - now, left, sizeof(left));
	mp_dt_format(it->due, p->rcpt.tz, "%a %d %b %H:%M %Z", when,
	    sizeof(when));
	mp_val_set_bool(d, "is_overdue", p->kind == MP_PLAN_OVERDUE);
	if (p->kind == MP_PLAN_OVERDUE) {
		/* after the deadline: the deadline block must not say
		 * "due in" */
		mp_val_set_bool(d, "is_deadline", 0);
		snprintf(subj, sizeof(subj), "Overdue: %s was due %s", it->title,
		    when);
	} else if (it->kind == MP_ITEM_REMINDER)
		snprintf(subj, sizeof(subj), "%s", it->subject != NULL ?
		    it->subject : it->title);
	else if (it->kind == MP_ITEM_DEADLINE)
		snprintf(subj, sizeof(subj), "Reminder: %s due in %s (%s)",
		    it->title, left, when);
	else
		snprintf(subj, sizeof(subj), "Reminder: %s in %s (%s)",
		    it->title, left, when);
	set_subject(d, out, subj);
	base = mp_render_template_path(c, "adhoc", "");
	snprintf(probe, sizeof(probe), "%s.txt", base);
	/* Template folders from before adhoc.txt existed keep working. */
	if (it->kind != MP_ITEM_REMINDER || access(probe, R_OK) != 0) {
		free(base);
		base = mp_render_template_path(c, "reminder", "");
	}
	rc = render_pair(base, d, out, e);
	free(base);
	mp_val_free(d);
	if (rc == 0)
		rc = mp_render_ics(c, it, 0, 0, now, &out->ics, e);
	if (rc != 0)
		mp_rendered_free(out);
	return rc;
}

int
mp_render_notice(const struct mp_config *c, const struct mp_notice *n,
    const struct mp_rcpt *to, int64_t now, struct mp_rendered *out,
    struct mp_err *e)
{
	const struct mp_item *it = n->item;
	int changed = n->kind == MP_NOTICE_CHANGED;
	struct mp_val *d;
	char subj[512], when[96], *base;
	int rc;

	memset(out, 0, sizeof(*out));
	if (it->kind == MP_ITEM_REMINDER)
		return mp_err_set(e, MP_EX_SOFTWARE, "%s: the chair's reminders "
		    "have no change notices", it->id);
	d = common_data(c, to->name, to->email, to->tz, now);
	item_fields(d, it, to->tz, now);
	mp_val_set_bool(d, "is_changed", changed);
	mp_val_set_bool(d, "is_cancelled", !changed);
	if (changed) {
		set_time(d, "old_when", n->old_due, to->tz,
		    "%a %d %b %Y %H:%M %Z");
		set_time(d, "old_when_utc", n->old_due, "UTC",
		    "%a %d %b %H:%M UTC");
		if (n->old_ends > n->old_due)
			set_time(d, "old_ends", n->old_ends, to->tz,
			    "%H:%M %Z");
		mp_val_set_bool(d, "has_old_ends", n->old_ends > n->old_due);
	}
	mp_dt_format(it->due, to->tz, "%a %d %b %H:%M %Z", when, sizeof(when));
	if (!changed)
		snprintf(subj, sizeof(subj), "Cancelled: %s (%s)", it->title,
		    when);
	else if (it->kind == MP_ITEM_DEADLINE)
		snprintf(subj, sizeof(subj), "Changed: %s now due %s",
		    it->title, when);
	else
		snprintf(subj, sizeof(subj), "Changed: %s now starts %s",
		    it->title, when);
	set_subject(d, out, subj);
	base = mp_render_template_path(c, changed ? "changed" : "cancelled",
	    "");
	rc = render_pair(base, d, out, e);
	free(base);
	mp_val_free(d);
	if (rc == 0)
		rc = mp_render_ics(c, it, n->sequence, !changed, now, &out->ics,
		    e);
	if (rc != 0)
		mp_rendered_free(out);
	return rc;
}

void
mp_rendered_free(struct mp_rendered *r)
{
	if (r == NULL)
		return;
	free(r->subject);
	free(r->text);
	free(r->html);
	free(r->ics);
	memset(r, 0, sizeof(*r));
}
