/*
 * job.c - the steps of a run that send: change notices, reminders and
 * digests (mail comes into the store through ingest.c).
 *
 * Exactly once: every email has a ledger key. It is recorded as pending
 * (and committed) before the transport sees it and as sent after the
 * transport accepted it. A crash between the two leaves it pending, and
 * the next run sends it again: at most one duplicate, never a loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "config.h"
#include "deliver.h"
#include "err.h"
#include "job.h"
#include "log.h"
#include "render.h"
#include "schedule.h"
#include "store.h"

void
mp_job_init(struct mp_job *j, const struct mp_config *c, struct mp_store *st,
    int64_t now, int dry_run)
{
	memset(j, 0, sizeof(*j));
	j->cfg = c;
	j->st = st;
	j->now = now;
	j->dry_run = dry_run;
}

void
mp_job_finish(struct mp_job *j)
{
	mp_deliver_close(j->tr);
	j->tr = NULL;
}

/* ---- sending ---- */

static void
key_string(const struct mp_ledger_key *k, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%lld/%s/%lld", k->kind, k->item,
	    (long long)k->offset, k->rcpt, (long long)k->due);
}

static const char *
list_id_header(const struct mp_config *c, char *buf, size_t n)
{
	if (c->nlists == 0 || c->lists[0].list_id == NULL)
		return NULL;
	snprintf(buf, n, "%s <%s>", c->lists[0].name, c->lists[0].list_id);
	return buf;
}

/* Compose the email for key k into out. */
static int
compose_one(struct mp_job *j, const struct mp_ledger_key *k,
    const char *to_name, const char *zone, const struct mp_rendered *r,
    const char *item, const char *thread_key, struct mp_buf *out,
    char *msgid, size_t idlen, struct mp_err *e)
{
	const struct mp_config *c = j->cfg;
	char key[1024], ref[256], lid[512];
	struct mp_mail m;

	key_string(k, key, sizeof(key));
	mp_compose_message_id(key, c->delivery.from_addr, msgid, idlen);
	memset(&m, 0, sizeof(m));
	m.from_name = c->delivery.from_name;
	m.from_addr = c->delivery.from_addr;
	m.to_name = to_name != NULL ? to_name : "";
	m.to_addr = k->rcpt;
	m.subject = r->subject;
	m.date = j->now;
	m.zone = zone;
	m.message_id = msgid;
	if (thread_key != NULL) {
		mp_compose_message_id(thread_key, c->delivery.from_addr, ref,
		    sizeof(ref));
		if (strcmp(ref, msgid) != 0) {
			m.in_reply_to = ref;
			m.references = ref;
		}
	}
	m.list_id = list_id_header(c, lid, sizeof(lid));
	m.kind = k->kind;
	m.item = item;
	m.text = r->text;
	m.html = r->html;
	m.ics = r->ics;
	m.ics_method = r->ics != NULL ? "PUBLISH" : NULL;
	return mp_compose(&m, out, e);
}

/*
 * Record, deliver, record. Returns 0 when sent, -1 on a failure that was
 * counted (the run goes on), -2 when the run must stop, with e set: a
 * store error, or a transport that cannot work at all (cannot be opened;
 * SMTP: cannot connect, no STARTTLS, TLS/certificate failure,
 * authentication or sender refused).
 *
 * A crash (or a failed ledger write) after the server's 250 and before
 * the sent row is committed leaves the key pending. A pending key is
 * simply sent again by the next run that plans it: emails go one at a
 * time (pending committed, submit, sent committed), so a crash leaves at
 * most one email in this state and the price is at most one duplicate
 * of it; the opposite choice (treating pending as sent) could lose it.
 * The same holds when the connection drops after the data went out and
 * before the reply came (RFC 1047): the email stays pending and is sent
 * again.
 *
 * Failures: a temporary one (4xx, connection lost) leaves the key pending
 * for the next run until delivery.max_attempts attempts or until it is
 * delivery.max_age older than its planned time; then it is failed. A
 * permanent one (5xx for the recipient or the message) fails that key
 * only. When the session itself failed (mp_deliver_down) the email is
 * not at fault: it stays pending until max_age (max_attempts does not
 * apply) and the run stops with the transport's error (exit 75, 69, 77
 * or 78).
 */
static int
deliver_one(struct mp_job *j, const struct mp_ledger_key *k,
    const char *msgid, const struct mp_buf *mail, const char *subject,
    struct mp_err *e)
{
	const struct mp_config *c = j->cfg;
	const char *env_from = c->delivery.bounce != NULL ?
	    c->delivery.bounce : c->delivery.from_addr;
	struct mp_err de = { 0 };
	char reply[512];

	if (j->dry_run) {
		printf("would send %s to %s: %s\n", k->kind, k->rcpt, subject);
		j->sent++;
		return 0;
	}
	if (j->tr == NULL && mp_deliver_open(&c->delivery, &j->tr, e) != 0)
		return -2;
	if (mp_deliver_down(j->tr, e))
		return -2;
	if (mp_store_begin(j->st, e) != 0 ||
	    mp_store_ledger_pending(j->st, k, msgid, j->now, e) != 0 ||
	    mp_store_commit(j->st, e) != 0)
		return -2;
	if (mp_deliver_send(j->tr, env_from, k->rcpt, mail->data, mail->len,
	    reply, sizeof(reply), &de) != 0) {
		int down = mp_deliver_down(j->tr, NULL);
		int retry = de.temporary || down;
		int64_t planned = k->due - k->offset;
		int stale = c->delivery.max_age > 0 &&
		    j->now - planned > c->delivery.max_age;
		enum mp_ledger_state s;
		int attempts = 0;

		mp_store_ledger_get(j->st, k, &s, &attempts);
		/* A session that cannot work is not this email's fault, and
		 * it is the first one of every run of the outage: counting
		 * those runs as attempts would lose it. max_age still ends. */
		if (retry && (down || attempts < c->delivery.max_attempts) &&
		    !stale) {
			j->temp_failed++;
			if (down) {
				if (e != NULL)
					*e = de;
				return -2;
			}
			mp_warnx("%s to %s: %s (will retry)", k->kind, k->rcpt,
			    de.msg);
			return -1;
		}
		if (retry && stale)
			mp_warnx("%s to %s: giving up, pending for longer than "
			    "max_age: %s", k->kind, k->rcpt, de.msg);
		else if (retry)
			mp_warnx("%s to %s: giving up after %d attempts: %s",
			    k->kind, k->rcpt, attempts, de.msg);
		else
			mp_warnx("%s to %s failed: %s", k->kind, k->rcpt,
			    de.msg);
		j->perm_failed++;
		if (mp_store_ledger_failed(j->st, k, de.msg, j->now, e) != 0)
			return -2;
		if (down) {
			if (e != NULL)
				*e = de;
			return -2;
		}
		return -1;
	}
	if (mp_store_ledger_sent(j->st, k, reply, j->now, e) != 0)
		return -2;
	mp_info("sent %s to %s: %s", k->kind, k->rcpt, subject);
	j->sent++;
	return 0;
}

int
mp_job_remind(struct mp_job *j, struct mp_err *e)
{
	struct mp_plan *p = NULL;
	int64_t *since;
	size_t i, n = 0;
	int rc = 0;

	/* Reminders already past when an item moved are not sent late:
	 * its change notice said it all. */
	since = mp_xcalloc(j->cfg->nitems + 1, sizeof(*since));
	for (i = 0; i < j->cfg->nitems; i++) {
		struct mp_item_state is;

		if (mp_store_item_get(j->st, j->cfg->items[i].id, &is) == 0 &&
		    is.sequence > 0)
			since[i] = is.updated;
	}
	rc = mp_schedule_reminders_since(j->cfg, j->now, since, &p, &n);
	free(since);
	if (rc != 0)
		return mp_err_set(e, MP_EX_SOFTWARE, "cannot plan reminders");
	for (i = 0; i < n && rc != -2; i++) {
		struct mp_ledger_key k = { p[i].kind == MP_PLAN_OVERDUE ?
			"notice" : "reminder", p[i].item->id, p[i].offset,
			p[i].rcpt.email, p[i].due };
		struct mp_ledger_key first = k;
		struct mp_buf mail = MP_BUF_INIT;
		struct mp_rendered r;
		struct mp_item_state is;
		struct mp_err ce = { 0 };
		enum mp_ledger_state s;
		char msgid[256], thread_key[1024];
		int attempts;

		if (mp_store_ledger_get(j->st, &k, &s, &attempts) == 0 &&
		    (s == MP_LEDGER_SENT || s == MP_LEDGER_FAILED))
			continue;
		if (mp_render_reminder(j->cfg, &p[i], j->now, &r, e) != 0) {
			rc = -2;
			break;
		}
		/* Calendars keep the copy with the highest SEQUENCE: once
		 * the item changed, every later .ics must carry the count. */
		if (r.ics != NULL && mp_store_item_get(j->st, p[i].item->id,
		    &is) == 0 && is.sequence > 0) {
			free(r.ics);
			r.ics = NULL;
			if (mp_render_ics(j->cfg, p[i].item, is.sequence, 0,
			    j->now, &r.ics, e) != 0) {
				mp_rendered_free(&r);
				rc = -2;
				break;
			}
		}
		/* Later reminders of one item refer to the first one. */
		if (p[i].item->nremind > 0)
			first.offset = p[i].item->remind[0];
		key_string(&first, thread_key, sizeof(thread_key));
		if (compose_one(j, &k, p[i].rcpt.name, p[i].rcpt.tz, &r,
		    p[i].item->id, thread_key, &mail, msgid, sizeof(msgid),
		    &ce) != 0) {
			/* One bad address must not hold up everyone else's
			 * reminders. */
			mp_warnx("reminder %s to %s: %s", p[i].item->id,
			    k.rcpt, ce.msg);
			j->perm_failed++;
		} else {
			rc = deliver_one(j, &k, msgid, &mail, r.subject, e) ==
			    -2 ? -2 : 0;
		}
		mp_rendered_free(&r);
		mp_buf_free(&mail);
	}
	free(p);
	return rc == -2 ? -1 : 0;
}

/* Send (or print) one member's digest for slot. */
static int
digest_one(struct mp_job *j, const struct mp_member *m, int64_t slot,
    int print, int scheduled, struct mp_err *e)
{
	struct mp_ledger_key k = { "digest", "", 0, m->email, slot };
	struct mp_buf mail = MP_BUF_INIT;
	struct mp_rendered r;
	enum mp_ledger_state s;
	int64_t last_seq = 0, last_slot = 0;
	char msgid[256];
	int attempts, rc;

	if (scheduled && mp_store_ledger_get(j->st, &k, &s, &attempts) == 0 &&
	    (s == MP_LEDGER_SENT || s == MP_LEDGER_FAILED))
		return 0;
	mp_store_digest_get(j->st, m->email, &last_seq, &last_slot);
	/* A slot found empty was served too: mail that comes later waits
	 * for the next slot rather than sending this one hours late. */
	if (scheduled && last_slot >= slot)
		return 0;
	if (mp_render_digest(j->cfg, j->st, m, last_seq, j->now, &r, e) != 0)
		return -1;
	if (r.empty && !j->cfg->digest.send_empty && !print) {
		mp_info("digest for %s: nothing new, not sent", m->email);
		j->skipped++;
		mp_rendered_free(&r);
		if (scheduled && !j->dry_run && mp_store_digest_set(j->st,
		    m->email, last_seq, slot, e) != 0)
			return -1;
		return 0;
	}
	rc = compose_one(j, &k, m->name, m->tz, &r, NULL, NULL, &mail, msgid,
	    sizeof(msgid), e);
	if (rc == 0 && print) {
		fwrite(mail.data, 1, mail.len, stdout);
		fputs("\r\n", stdout);
	} else if (rc == 0) {
		rc = deliver_one(j, &k, msgid, &mail, r.subject, e);
		if (rc == 0 && !j->dry_run &&
		    mp_store_digest_set(j->st, m->email, r.upto_seq, slot,
		    e) != 0)
			rc = -2;
		rc = rc == -2 ? -1 : 0;
	}
	mp_rendered_free(&r);
	mp_buf_free(&mail);
	return rc;
}

int
mp_job_digests(struct mp_job *j, struct mp_err *e)
{
	size_t i;

	for (i = 0; i < j->cfg->nmembers; i++) {
		const struct mp_member *m = &j->cfg->members[i];
		int64_t slot = mp_schedule_digest_slot(m, &j->cfg->digest,
		    j->now);

		/* Quiet days and weekends pause digests; the next one
		 * covers everything stored since the last one sent. */
		if (slot == 0 || mp_schedule_omitted(&j->cfg->calendar, slot,
		    m->tz))
			continue;
		if (digest_one(j, m, slot, 0, 1, e) != 0)
			return -1;
	}
	return 0;
}

int
mp_job_digest_now(struct mp_job *j, const char *only, int print,
    struct mp_err *e)
{
	const struct mp_member *one = NULL;
	size_t i;

	if (only != NULL) {
		one = mp_config_member(j->cfg, only);
		if (one == NULL)
			return mp_err_set(e, MP_EX_USAGE,
			    "%s is not a member in the configuration", only);
		return digest_one(j, one, j->now, print, 0, e);
	}
	for (i = 0; i < j->cfg->nmembers; i++)
		if (j->cfg->members[i].digest != MP_DIGEST_OFF &&
		    digest_one(j, &j->cfg->members[i], j->now, print, 0, e) != 0)
			return -1;
	return 0;
}

/* ---- changed and cancelled deadlines and events ---- */

struct who {
	char **v;
	size_t n;
};

static int
add_who(const char *rcpt, void *ctx)
{
	struct who *w = ctx;

	w->v = mp_xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n++] = mp_xstrdup(rcpt);
	return 0;
}

static void
free_who(struct who *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

/* One notice to everyone who was told the old time. *incomplete is set
 * when any of them must be retried, so the item's state is kept and the
 * next run tries again (the ledger stops what was sent). Returns -1 on
 * a store or rendering error. */
static int
notify(struct mp_job *j, const struct mp_notice *n, const char *kind,
    int64_t old_due, int64_t key_due, int *incomplete, struct mp_err *e)
{
	const struct mp_item *it = n->item;
	struct who w = { 0 };
	size_t i;
	int rc = 0;

	if (mp_store_ledger_reminded(j->st, it->id, old_due, add_who, &w,
	    e) != 0)
		return -1;
	for (i = 0; i < w.n && rc == 0; i++) {
		const struct mp_member *m = mp_config_member(j->cfg, w.v[i]);
		struct mp_ledger_key k = { kind, it->id, 0, w.v[i], key_due };
		struct mp_ledger_key first = { "reminder", it->id,
			it->nremind > 0 ? it->remind[0] : 0, w.v[i], old_due };
		struct mp_rcpt r = { m, m != NULL ? m->name : "", w.v[i],
			m != NULL ? m->tz : "UTC" };
		struct mp_buf mail = MP_BUF_INIT;
		struct mp_rendered out;
		enum mp_ledger_state s;
		char msgid[256], thread_key[1024];
		int attempts, d;

		if (mp_store_ledger_get(j->st, &k, &s, &attempts) == 0 &&
		    (s == MP_LEDGER_SENT || s == MP_LEDGER_FAILED))
			continue;
		if (mp_render_notice(j->cfg, n, &r, j->now, &out, e) != 0) {
			rc = -1;
			break;
		}
		/* In the thread of the reminders of the old time. */
		key_string(&first, thread_key, sizeof(thread_key));
		if (compose_one(j, &k, r.name, r.tz, &out, it->id, thread_key,
		    &mail, msgid, sizeof(msgid), e) != 0) {
			rc = -1;
		} else {
			d = deliver_one(j, &k, msgid, &mail, out.subject, e);
			if (d == -2)
				rc = -1;
			else if (d == -1)
				*incomplete = 1;
		}
		mp_rendered_free(&out);
		mp_buf_free(&mail);
	}
	free_who(&w);
	return rc;
}

struct gone {
	struct mp_item_state *v;
	char **names, **titles;
	size_t n;
	const struct mp_config *cfg;
};

static int
add_gone(const struct mp_item_state *is, void *ctx)
{
	struct gone *g = ctx;
	const struct mp_item *it = mp_config_item(g->cfg, is->item);

	if (it != NULL && it->kind != MP_ITEM_REMINDER)
		return 0;
	g->v = mp_xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
	g->names = mp_xrealloc(g->names, (g->n + 1) * sizeof(*g->names));
	g->titles = mp_xrealloc(g->titles, (g->n + 1) * sizeof(*g->titles));
	g->v[g->n] = *is;
	g->names[g->n] = mp_xstrdup(is->item);
	g->titles[g->n] = mp_xstrdup(is->title != NULL ? is->title : is->item);
	g->n++;
	return 0;
}

int
mp_job_changes(struct mp_job *j, struct mp_err *e)
{
	const struct mp_config *c = j->cfg;
	struct gone g = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < c->nitems && rc == 0; i++) {
		const struct mp_item *it = &c->items[i];
		struct mp_item_state old, now = { it->id, it->due, it->ends, 0,
			it->title, 0 };
		struct mp_notice n;
		int known, incomplete = 0;

		if (it->kind == MP_ITEM_REMINDER)
			continue;
		known = mp_store_item_get(j->st, it->id, &old);
		if (known < 0)
			return mp_err_set(e, MP_EX_IOERR, "cannot read the "
			    "state of [%s]", it->id);
		if (known == 0 && old.due == it->due && old.ends == it->ends)
			continue;
		if (known == 0) {
			memset(&n, 0, sizeof(n));
			n.kind = MP_NOTICE_CHANGED;
			n.item = it;
			n.old_due = old.due;
			n.old_ends = old.ends;
			n.sequence = old.sequence + 1;
			now.sequence = n.sequence;
			mp_info("[%s] moved: notifying who was reminded", it->id);
			if (notify(j, &n, "changed", old.due, it->due,
			    &incomplete, e) != 0)
				return -1;
		}
		if (!incomplete && !j->dry_run)
			rc = mp_store_item_set(j->st, &now, j->now, e);
	}
	if (rc != 0)
		return rc;

	/* Deadlines and events gone from the configuration. */
	g.cfg = c;
	if (mp_store_item_each(j->st, add_gone, &g, e) != 0)
		rc = -1;
	for (i = 0; i < g.n && rc == 0; i++) {
		struct mp_item it;
		struct mp_notice n;
		int incomplete = 0;

		memset(&it, 0, sizeof(it));
		it.kind = g.v[i].ends > 0 ? MP_ITEM_EVENT : MP_ITEM_DEADLINE;
		it.id = g.names[i];
		it.title = g.titles[i];
		it.due = g.v[i].due;
		it.ends = g.v[i].ends;
		it.zone = (char *)"UTC";
		memset(&n, 0, sizeof(n));
		n.kind = MP_NOTICE_CANCELLED;
		n.item = &it;
		n.sequence = g.v[i].sequence + 1;
		mp_info("[%s] removed: notifying who was reminded", it.id);
		if (notify(j, &n, "cancelled", it.due, it.due, &incomplete,
		    e) != 0)
			rc = -1;
		else if (!incomplete && !j->dry_run)
			rc = mp_store_item_delete(j->st, it.id, e);
	}
	for (i = 0; i < g.n; i++) {
		free(g.names[i]);
		free(g.titles[i]);
	}
	free(g.names);
	free(g.titles);
	free(g.v);
	return rc;
}
