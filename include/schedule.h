/*
 * schedule.h - what is due now: digests at each member's breakfast time,
 * reminders at each offset before a deadline or event, the chair's
 * one-off and repeating reminders.
 *
 * Planning is pure: it reads the config and a clock value and returns
 * what should be sent; the ledger decides what already was.
 */
#ifndef MP_SCHEDULE_H
#define MP_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum mp_plan_kind {
	MP_PLAN_REMINDER = 0,   /* before a deadline/event, or the chair's */
	MP_PLAN_OVERDUE         /* after a deadline, to those still pending */
};

/* One email to one recipient. item and rcpt strings are borrowed from the
 * config. */
struct mp_plan {
	enum mp_plan_kind kind;
	const struct mp_item *item;
	struct mp_rcpt rcpt;
	int64_t offset;         /* seconds before due (0 for the chair's;
	                           overdue: seconds after, negative) */
	int64_t fire;           /* when it became due (after moving off
	                           quiet days and weekends) */
	int64_t due;            /* the deadline/event time; chair's: occurrence */
	int first;              /* 1 for the first offset (no pending filter) */
};

/* 1 when the local date of t in zone is a quiet day of the calendar or,
 * with skip_weekends, a Saturday or Sunday. */
int mp_schedule_omitted(const struct mp_calendar_cfg *cal, int64_t t,
    const char *zone);

/* t moved back to the same local time on the last day before it that is
 * not omitted (Remind's OMIT ... BEFORE); t itself when not omitted. */
int64_t mp_schedule_before(const struct mp_calendar_cfg *cal, int64_t t,
    const char *zone);

/* The latest digest slot at or before now for a member: the instant of
 * digest time on the member's local day (daily) or on the configured
 * weekday (weekly). 0 for digest = off. */
int64_t mp_schedule_digest_slot(const struct mp_member *m,
    const struct mp_digest_cfg *d, int64_t now);

/* Reminders due at now. For each item and recipient only the latest
 * offset whose time has come is planned (a late run never sends stale
 * ones), and nothing once the item's time has passed. A reminder time
 * that falls on an omitted day (quiet period, weekend) in the
 * recipient's zone moves back to the last day that is not. Offsets after
 * the first go only to pending recipients. The chair's reminders are due
 * from their time for one day (MP_SCHEDULE_GRACE). A deadline's overdue
 * notice goes to its pending recipients from due + overdue for one day.
 * *out is owned by the caller (free()). */
#define MP_SCHEDULE_GRACE 86400
int mp_schedule_reminders(const struct mp_config *c, int64_t now,
    struct mp_plan **out, size_t *n);

/* The same, where not_before[i] (for c->items[i]; 0 = none) is the time
 * item i got its current due time by a change: a reminder whose time was
 * already past then is not sent, as the change notice told it all. */
int mp_schedule_reminders_since(const struct mp_config *c, int64_t now,
    const int64_t *not_before, struct mp_plan **out, size_t *n);

/* One entry of the agenda: an item and the time it happens (for a
 * repeating reminder, its next occurrence). */
struct mp_agenda {
	const struct mp_item *item;     /* borrowed from the config */
	int64_t at;
};

/* Agenda: deadlines, events (also those under way) and the chair's
 * reminders whose time lies in [now, now + horizon), sorted by time.
 * *out owned by the caller (free()). */
int mp_schedule_agenda(const struct mp_config *c, int64_t now,
    int64_t horizon, struct mp_agenda **out, size_t *n);

/* Reminder instants of an item (due - offset for each offset), largest
 * offset first; returns the count written (at most max). */
size_t mp_schedule_fire_times(const struct mp_item *it, int64_t *out,
    size_t max);

#endif
