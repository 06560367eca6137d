/*
 * schedule.c - digest slots and due reminders.
 *
 * "Latest offset only": with offsets 7d, 3d, 1d a run that wakes up 2 days
 * before the deadline after a week of downtime sends the 3d reminder and
 * never the 7d one, which would arrive stale and next to the 3d one.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "datetime.h"
#include "schedule.h"

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

int
mp_schedule_reminders(const struct mp_config *c, int64_t now,
    struct mp_plan **out, size_t *n)
{
	struct mp_rcpt *r = NULL;
	size_t i, j, k, nr, cap = 0;
	struct mp_plan p;
	int64_t fire;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->nitems; i++) {
		const struct mp_item *it = &c->items[i];

		memset(&p, 0, sizeof(p));
		p.item = it;
		if (it->kind == MP_ITEM_REMINDER) {
			p.kind = MP_PLAN_REMINDER;
			p.due = occurrence(it, now);
			p.fire = p.due;
			p.first = 1;
			if (p.due == 0)
				continue;
		} else {
			if (now >= it->due || it->nremind == 0)
				continue;
			/* remind[] is sorted largest first: the last offset
			 * whose time has come is the latest one due. */
			for (k = it->nremind; k-- > 0;) {
				fire = it->due - it->remind[k];
				if (fire <= now)
					break;
			}
			if (k == (size_t)-1)
				continue;
			p.kind = MP_PLAN_REMINDER;
			p.offset = it->remind[k];
			p.fire = it->due - it->remind[k];
			p.due = it->due;
			p.first = k == 0;
		}
		if (mp_config_recipients(c, it, &r, &nr) != 0)
			return -1;
		for (j = 0; j < nr; j++) {
			if (!p.first && !mp_config_is_pending(c, it, r[j].email))
				continue;
			p.rcpt = r[j];
			add_plan(out, n, &cap, &p);
		}
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
