/*
 * dateexpr.h - date and time expressions as people write them in mail
 * ("Thursday 17 June 2021 at 23:59 UTC", "next Wednesday", "on the 22nd",
 * "17/06/2021", "by the end of the month", "in two weeks", "9am EDT"),
 * resolved against a reference instant and zone (a message's Date).
 *
 * Independent of extraction: it knows nothing of sentences or kinds.
 * Resolution rules:
 *   - a day and month without a year take the reference's local year, or
 *     the next year when that date is more than about six months past;
 *   - a bare weekday or "this <weekday>" is the next such day after the
 *     reference's local date; "next <weekday>", "<weekday> next week" and
 *     "next week <weekday>" are that weekday of the following Monday-to-
 *     Sunday week;
 *   - "the 22nd" is the next 22nd on or after the reference date;
 *   - "end of the week" and "COB/EOD <weekday>" without a clock time are
 *     dates only; "end of the week" is that week's Friday;
 *   - numeric dates are day-first unless month_first, except where only
 *     one reading exists (a part above 12);
 *   - an explicit date wins over a weekday that contradicts it
 *     (MP_DX_WDAY_CONFLICT says so);
 *   - a time without a written zone is in the reference's offset;
 *     "midnight" is 23:59, "noon" 12:00.
 */
#ifndef MP_DATEEXPR_H
#define MP_DATEEXPR_H

#include <stddef.h>
#include <stdint.h>

struct mp_dateref {
	int64_t t;              /* reference instant (a message's Date) */
	long off;               /* its zone, seconds east of UTC */
	int month_first;        /* 1: "06/07/2021" is 7 June */
};

#define MP_DX_DATE      0x001   /* a calendar date was written or implied */
#define MP_DX_TIME      0x002   /* a clock time was written */
#define MP_DX_ZONE      0x004   /* the zone was written */
#define MP_DX_RANGE     0x008   /* end_* hold the end of a range */
#define MP_DX_VAGUE     0x010   /* a span ("next week", "in July"): the
                                   date is its start, not a due date */
#define MP_DX_WDAY_CONFLICT 0x020 /* the written weekday disagrees */
#define MP_DX_PAST      0x040   /* before the reference's local date */
#define MP_DX_RELATIVE  0x080   /* resolved from the reference */
#define MP_DX_EOD       0x100   /* "end of day", "COB": date only */

struct mp_dateexpr {
	size_t start, end;      /* byte span of the expression in the text */
	unsigned flags;
	int year, mon, mday;    /* local date; for a bare time, the reference's */
	int wday;               /* of that date, 0 = Sunday */
	int hour, min;          /* local clock time when MP_DX_TIME */
	char zone[48];          /* as written ("UTC", "CEST", "+02:00",
	                           "Europe/Geneva", "AoE"), else "" */
	long zone_off;          /* seconds east of UTC used for the time */
	int64_t instant;        /* UTC instant of the time, or of the local
	                           midnight of the date in that zone */
	int end_year, end_mon, end_mday;        /* when MP_DX_RANGE */
	int end_hour, end_min;  /* -1 when the range has no end time */
	int64_t end_instant;
};

/* Parse one expression starting exactly at s[0] (at most len bytes).
 * Returns the number of bytes used (> 0) and fills *out (start = 0), or
 * 0 when s does not start with a date or time expression. */
size_t mp_dateexpr_parse(const char *s, size_t len,
    const struct mp_dateref *ref, struct mp_dateexpr *out);

/* Every expression in s[0..len), in text order, without overlaps; at
 * most max are stored. Returns how many were stored. */
size_t mp_dateexpr_scan(const char *s, size_t len,
    const struct mp_dateref *ref, struct mp_dateexpr *out, size_t max);

/* The date of d with the clock time and zone of t (a bare time found
 * elsewhere in the same sentence); recomputes the instants. */
void mp_dateexpr_combine(struct mp_dateexpr *d, const struct mp_dateexpr *t,
    const struct mp_dateref *ref);

/* "2021-06-17T23:59:00Z" when a time is known, "2021-06-17" for a date,
 * "" otherwise (buf of at least 21 bytes). */
void mp_dateexpr_due(const struct mp_dateexpr *x, char *buf, size_t n);

#endif
