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
	char *thread, *subject, *from, *own;
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

struct acollect {
	struct mp_val *list;
};

static int
collect_action(const struct mp_stored_action *a, void *ctx)
{
	struct acollect *ac = ctx;
	struct mp_val *v = mp_val_map();

	mp_val_set_str(v, "kind", a->kind);
	mp_val_set_str(v, "text", a->text);
	mp_val_set_str(v, "due", a->due != NULL ? a->due : "");
	mp_val_set_bool(v, "has_due", a->due != NULL && *a->due);
	mp_val_set_str(v, "assignee", a->assignee != NULL ? a->assignee : "");
	mp_val_set_bool(v, "has_assignee", a->assignee != NULL && *a->assignee);
	mp_val_set_str(v, "from", a->from_name != NULL ? a->from_name : "");
	mp_val_set_str(v, "subject", a->subject != NULL ? a->subject : "");
	mp_val_push(ac->list, v);
	return 0;
}

static int
is_recipient(const struct mp_config *c, const struct mp_item *it,
    const struct mp_member *m)
{
	struct mp_rcpt *r;
	size_t i, n;
	int yes = 0;

	if (mp_config_recipients(c, it, &r, &n) != 0)
		return 0;
	for (i = 0; i < n && !yes; i++)
		yes = r[i].member == m;
	free(r);
	return yes;
}

static const char *
item_kind(const struct mp_item *it)
{
	return it->kind == MP_ITEM_DEADLINE ? "deadline" :
	    it->kind == MP_ITEM_EVENT ? "event" : "reminder";
}

/* Fields every template gets for an item, in the viewer's zone. */
static void
item_fields(struct mp_val *v, const struct mp_item *it, const char *tz,
    int64_t now)
{
	char left[64];

	mp_val_set_str(v, "id", it->id);
	mp_val_set_str(v, "kind", item_kind(it));
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

/* Render base.txt (required) and base.html (when present). */
static int
render_pair(const char *base, const struct mp_val *data,
    struct mp_rendered *out, struct mp_err *e)
{
	struct mp_buf b = MP_BUF_INIT;
	char path[4096];

	snprintf(path, sizeof(path), "%s.txt", base);
	if (mp_template_render_file(path, data, &b, e) != 0) {
		mp_buf_free(&b);
		return -1;
	}
	out->text = mp_buf_detach(&b);
	snprintf(path, sizeof(path), "%s.html", base);
	if (access(path, R_OK) == 0) {
		if (mp_template_render_file(path, data, &b, e) != 0) {
			mp_buf_free(&b);
			return -1;
		}
		out->html = mp_buf_detach(&b);
	}
	return 0;
}

int
mp_render_digest(const struct mp_config *c, struct mp_store *st,
    const struct mp_member *m, int64_t after_seq, int64_t now,
    struct mp_rendered *out, struct mp_err *e)
{
	struct collect col = { 0 };
	struct dthread *th = NULL;
	struct mp_val *d, *threads, *ahead;
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
		mp_val_push(threads, t);
	}
	mp_val_set(d, "threads", threads);
	mp_val_set_bool(d, "has_threads", nth > 0);
	mp_val_set_num(d, "nthreads", (double)nth);
	mp_val_set_num(d, "nmessages", (double)col.n);
	mp_val_set_num(d, "more_threads", (double)(nth > DIGEST_MAX_THREADS ?
	    nth - DIGEST_MAX_THREADS : 0));
	mp_val_set_bool(d, "has_more_threads", nth > DIGEST_MAX_THREADS);

	ac.list = mp_val_list();
	if (mp_store_each_action(st, after_seq, collect_action, &ac, e) != 0) {
		mp_val_free(ac.list);
		mp_val_free(d);
		goto done;
	}
	mp_val_set_bool(d, "has_actions", mp_val_len(ac.list) > 0);
	mp_val_set(d, "actions", ac.list);

	ahead = mp_val_list();
	mp_schedule_agenda(c, now, (int64_t)c->digest.days_ahead * 86400,
	    &items, &nitems);
	for (i = 0; i < nitems; i++) {
		struct mp_val *v;

		if (items[i].item->kind == MP_ITEM_REMINDER ||
		    !is_recipient(c, items[i].item, m))
			continue;
		v = mp_val_map();
		item_fields(v, items[i].item, m->tz, now);
		mp_val_push(ahead, v);
		nahead++;
	}
	free(items);
	mp_val_set(d, "ahead", ahead);
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
	}
	free(col.v);
	free(th);
	if (rc != 0)
		mp_rendered_free(out);
	return rc;
}

int
mp_render_reminder(const struct mp_config *c, const struct mp_plan *p,
    int64_t now, struct mp_rendered *out, struct mp_err *e)
{
	const struct mp_item *it = p->item;
	struct mp_val *d;
	char subj[512], left[64], when[96], *base;
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
	if (it->kind == MP_ITEM_REMINDER)
		snprintf(subj, sizeof(subj), "%s", it->subject != NULL ?
		    it->subject : it->title);
	else if (it->kind == MP_ITEM_DEADLINE)
		snprintf(subj, sizeof(subj), "Reminder: %s due in %s (%s)",
		    it->title, left, when);
	else
		snprintf(subj, sizeof(subj), "Reminder: %s in %s (%s)",
		    it->title, left, when);
	mp_val_set_str(d, "subject", subj);
	out->subject = mp_xstrdup(subj);
	base = mp_render_template_path(c, "reminder", "");
	rc = render_pair(base, d, out, e);
	free(base);
	mp_val_free(d);
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
	memset(r, 0, sizeof(*r));
}
