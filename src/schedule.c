/*
 * schedule.c - digest slots and due reminders.
 *
 * "Latest offset only": with offsets 7d, 3d, 1d a run that wakes up 2 days
 * before the deadline after a week of downtime sends the 3d reminder and
 * never the 7d one, which would arrive stale and next to the 3d one.
 *
 * Omitted days (quiet periods, weekends) are judged in each recipient's
 * own zone: Saturday morning in Auckland is Friday in New York.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "datetime.h"
#include "schedule.h"

int
mp_schedule_omitted(const struct mp_calendar_cfg *cal, int64_t t,
    const char *zone)
{
	struct mp_tm tm;
	int64_t day;
	size_t i;

	if (cal->nquiet == 0 && !cal->skip_weekends)
		return 0;
	if (mp_dt_local(t, zone, &tm) != 0)
		return 0;
	if (cal->skip_weekends && (tm.wday == 0 || tm.wday == 6))
		return 1;
	day = mp_dt_days_from_civil(tm.year, tm.mon, tm.mday);
	for (i = 0; i < cal->nquiet; i++)
		if (day >= cal->quiet[i].first_day &&
		    day <= cal->quiet[i].last_day)
			return 1;
	return 0;
}

int64_t
mp_schedule_before(const struct mp_calendar_cfg *cal, int64_t t,
    const char *zone)
{
	struct mp_tm tm, day;
	int64_t d, moved;
	int back;

	if (!mp_schedule_omitted(cal, t, zone) ||
	    mp_dt_local(t, zone, &tm) != 0)
		return t;
	d = mp_dt_days_from_civil(tm.year, tm.mon, tm.mday);
	/* Quiet periods are finite, so a working day comes; the bound only
	 * guards against a calendar that omits everything. */
	for (back = 1; back <= 400; back++) {
		memset(&day, 0, sizeof(day));
		mp_dt_civil_from_days(d - back, &day.year, &day.mon, &day.mday);
		day.hour = tm.hour;
		day.min = tm.min;
		day.sec = tm.sec;
		if (mp_dt_from_local(&day, zone, &moved) != 0)
			return t;
		if (!mp_schedule_omitted(cal, moved, zone))
			return moved;
	}
	return t;
}

int64_t
mp_schedule_digest_slot(const struct mp_member *m,
    const struct mp_digest_cfg *d, int64_t now)
{
	struct mp_tm tm, day;
	int64_t days, slot;
	int back;

	if (m->digest == MP_DIGEST_OFF)
		return 0;
	if (mp_dt_local(now, m->tz, &tm) != 0)
		return 0;
	days = mp_dt_days_from_civil(tm.year, tm.mon, tm.mday);
	/* Walk back from today until a slot at or before now (at most a
	 * week and a day for weekly digests). */
	for (back = 0; back <= 8; back++) {
		int wday = (int)(((days - back) % 7 + 11) % 7); /* 1970-01-01 was a Thursday */

		if (m->digest == MP_DIGEST_WEEKLY && wday != d->weekday)
			continue;
		memset(&day, 0, sizeof(day));
		mp_dt_civil_from_days(days - back, &day.year, &day.mon,
		    &day.mday);
		day.hour = d->minute / 60;
		day.min = d->minute % 60;
		if (mp_dt_from_local(&day, m->tz, &slot) != 0)
			return 0;
		if (slot <= now)
			return slot;
	}
	return 0;
}

size_t
mp_schedule_fire_times(const struct mp_item *it, int64_t *out, size_t max)
{
	size_t i;

	for (i = 0; i < it->nremind && i < max; i++)
		out[i] = it->due - it->remind[i];
	return i;
}

static void
add_plan(struct mp_plan **out, size_t *n, size_t *cap,
    const struct mp_plan *p)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*out = mp_xrealloc(*out, *cap * sizeof(**out));
	}
	(*out)[(*n)++] = *p;
}

/* The chair's reminder: the latest occurrence at or before now, if it is
 * within the grace period; 0 when none. */
static int64_t
occurrence(const struct mp_item *it, int64_t now)
{
	int64_t t = it->due, k;

	if (now < t)
		return 0;
	if (it->repeat > 0) {
		k = (now - t) / it->repeat;
		t += k * it->repeat;
		if (it->until > 0 && t > it->until) {
			k = (it->until - it->due) / it->repeat;
			t = it->due + k * it->repeat;
		}
	}
	return now - t < MP_SCHEDULE_GRACE ? t : 0;
}

/* Plan one item for one recipient. */
static void
plan_rcpt(const struct mp_config *c, const struct mp_item *it,
    const struct mp_rcpt *r, int64_t now, int64_t not_before,
    struct mp_plan **out, size_t *n, size_t *cap)
{
	const struct mp_calendar_cfg *cal = &c->calendar;
	struct mp_plan p;
	int64_t fire;
	size_t k;

	memset(&p, 0, sizeof(p));
	p.item = it;
	p.rcpt = *r;
	if (it->kind == MP_ITEM_REMINDER) {
		/* The chair's: a moved occurrence is still identified by its
		 * own time, so the ledger sees one email per occurrence. */
		int64_t next = it->due;

		p.kind = MP_PLAN_REMINDER;
		p.first = 1;
		p.due = occurrence(it, now);
		/* An occurrence on an omitted day is sent the working day
		 * before: look at the next one too. */
		if (it->repeat > 0 && now >= it->due)
			next = it->due + ((now - it->due) / it->repeat + 1) *
			    it->repeat;
		if (next > now && (it->until == 0 || next <= it->until) &&
		    mp_schedule_before(cal, next, r->tz) <= now) {
			p.due = next;
		}
		if (p.due == 0)
			return;
		p.fire = mp_schedule_before(cal, p.due, r->tz);
		if (p.fire > now || now - p.fire >= MP_SCHEDULE_GRACE)
			return;
		add_plan(out, n, cap, &p);
		return;
	}
	p.due = it->due;
	if (now < it->due) {
		/* remind[] is sorted largest first: the last offset whose
		 * (moved) time has come is the latest one due. */
		for (k = it->nremind; k-- > 0;) {
			fire = mp_schedule_before(cal, it->due - it->remind[k],
			    r->tz);
			if (fire <= now)
				break;
		}
		if (k == (size_t)-1 || fire < not_before)
			return;
		p.kind = MP_PLAN_REMINDER;
		p.offset = it->remind[k];
		p.fire = fire;
		p.first = k == 0;
		if (!p.first && !mp_config_is_pending(c, it, r->email))
			return;
		add_plan(out, n, cap, &p);
		return;
	}
	if (it->overdue > 0 && it->kind == MP_ITEM_DEADLINE &&
	    now >= it->due + it->overdue &&
	    now - (it->due + it->overdue) < MP_SCHEDULE_GRACE &&
	    mp_config_is_pending(c, it, r->email)) {
		p.kind = MP_PLAN_OVERDUE;
		p.offset = -it->overdue;
		p.fire = it->due + it->overdue;
		add_plan(out, n, cap, &p);
	}
}

int
mp_schedule_reminders(const struct mp_config *c, int64_t now,
    struct mp_plan **out, size_t *n)
{
	return mp_schedule_reminders_since(c, now, NULL, out, n);
}

int
mp_schedule_reminders_since(const struct mp_config *c, int64_t now,
    const int64_t *not_before, struct mp_plan **out, size_t *n)
{
	struct mp_rcpt *r = NULL;
	size_t i, j, nr, cap = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->nitems; i++) {
		const struct mp_item *it = &c->items[i];

		if (it->kind != MP_ITEM_REMINDER && it->nremind == 0 &&
		    it->overdue == 0)
			continue;
		/* After the deadline only an overdue notice can be due:
		 * skip expanding the recipients of everything past. */
		if (it->kind != MP_ITEM_REMINDER && now >= it->due &&
		    (it->overdue == 0 || now >= it->due + it->overdue +
		    MP_SCHEDULE_GRACE))
			continue;
		if (mp_config_recipients(c, it, &r, &nr) != 0)
			return -1;
		for (j = 0; j < nr; j++)
			plan_rcpt(c, it, &r[j], now, not_before != NULL ?
			    not_before[i] : 0, out, n, &cap);
		free(r);
		r = NULL;
	}
	return 0;
}

static int
cmp_agenda(const void *a, const void *b)
{
	const struct mp_agenda *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return strcmp(x->item->id, y->item->id);
}

/* The first occurrence of a chair's reminder at or after now, 0 if none. */
static int64_t
next_occurrence(const struct mp_item *it, int64_t now)
{
	int64_t t = it->due;

	if (t < now && it->repeat > 0)
		t += (now - t + it->repeat - 1) / it->repeat * it->repeat;
	if (t < now || (it->until > 0 && t > it->until))
		return 0;
	return t;
}

int
mp_schedule_agenda(const struct mp_config *c, int64_t now, int64_t horizon,
    struct mp_agenda **out, size_t *n)
{
	size_t i;

	*out = mp_xcalloc(c->nitems + 1, sizeof(**out));
	*n = 0;
	for (i = 0; i < c->nitems; i++) {
		const struct mp_item *it = &c->items[i];
		int64_t at = it->due, end = it->due;

		if (it->kind == MP_ITEM_REMINDER)
			at = end = next_occurrence(it, now);
		else if (it->kind == MP_ITEM_EVENT && it->ends > it->due)
			end = it->ends;  /* an event under way is on it */
		if (at == 0 || end < now || at >= now + horizon)
			continue;
		(*out)[*n].item = it;
		(*out)[*n].at = at;
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), cmp_agenda);
	return 0;
}
