/*
 * datetime.h - instants, IANA time zones, config times and durations.
 *
 * An instant is an int64_t count of seconds since 1970-01-01T00:00:00Z.
 * Zones are IANA names read from the system tz database ($TZDIR, else
 * /usr/share/zoneinfo); "UTC", "GMT" and "Z" are always known.
 * The clock is mp_dt_now(): --now replaces it everywhere via mp_dt_set_now().
 */
#ifndef MP_DATETIME_H
#define MP_DATETIME_H

#include <stddef.h>
#include <stdint.h>

struct mp_err;

/* Broken-down local time in some zone. */
struct mp_tm {
	int year;          /* 2021 */
	int mon;           /* 1..12 */
	int mday;          /* 1..31 */
	int hour, min, sec;
	int wday;          /* 0 = Sunday */
	int yday;          /* 0..365 */
	long gmtoff;       /* seconds east of UTC */
	char abbr[16];     /* "CEST", "+08", "UTC" */
};

/* The clock. mp_dt_set_now(t) fixes it (t >= 0); -1 returns to real time. */
int64_t mp_dt_now(void);
void mp_dt_set_now(int64_t t);

/* 1 when zone is a known IANA zone name (or UTC/GMT/Z), else 0. Rejects
 * names with "..", leading "/", or characters outside [A-Za-z0-9_+-/]. */
int mp_tz_valid(const char *zone);

/* Instant -> local time in zone. Returns -1 for an unknown zone. */
int mp_dt_local(int64_t t, const char *zone, struct mp_tm *out);

/* Local wall time (year, mon, mday, hour, min, sec of tm) in zone ->
 * instant. A time inside a DST gap resolves forward (02:30 on a
 * spring-forward day becomes 03:30); an ambiguous time in the autumn
 * overlap resolves to the earlier instant. Returns -1 for an unknown zone
 * or out-of-range fields. */
int mp_dt_from_local(const struct mp_tm *tm, const char *zone, int64_t *out);

/* Parse a time as written in config files and on the command line:
 *   "2021-06-17 23:59 UTC", "2021-06-22 13:00 Europe/Warsaw",
 *   "2021-06-17 23:59:30 +02:00", "2021-06-14T06:00:00Z",
 *   "2021-06-14T08:00:00+02:00", "2021-06-14T06:00Z",
 *   "2021-06-22" (00:00 in default_zone),
 *   "2021-06-22 13:00" (in default_zone).
 * default_zone may be NULL (then a zone is required). On success stores
 * the instant and, when zone/zlen are given, the zone as written ("UTC",
 * "Europe/Warsaw", "+02:00"). Returns -1 and an explanatory message in e
 * on failure. */
int mp_dt_parse(const char *s, const char *default_zone, int64_t *out,
    char *zone, size_t zlen, struct mp_err *e);

/* "07:00" or "7:00" -> minutes after midnight (0..1439), else -1. */
int mp_dt_parse_hhmm(const char *s);

/* One duration: "7d", "3d", "6h", "90m", "45s", "2w", also combined
 * "1d12h" and with spaces "1d 12h". Returns seconds (> 0), or -1. */
int64_t mp_dt_parse_duration(const char *s);

/* A comma separated list of durations ("7d, 3d, 1d, 6h"): fills out[]
 * (at most max), sorted from largest to smallest, duplicates removed.
 * Returns the count, or -1 (with a message in e naming the bad element). */
int mp_dt_parse_durations(const char *s, int64_t *out, size_t max,
    struct mp_err *e);

/* Format t in zone with strftime(3) conventions (%Z gives the zone's
 * abbreviation for that instant). Returns the length, 0 on error. */
size_t mp_dt_format(int64_t t, const char *zone, const char *fmt, char *buf,
    size_t n);

/* "2021-06-17T23:59:00Z" (buf >= 21 bytes). */
void mp_dt_iso_utc(int64_t t, char *buf, size_t n);

/* RFC 5322 date-time: "Thu, 17 Jun 2021 23:59:00 +0000" in zone. */
void mp_dt_rfc5322(int64_t t, const char *zone, char *buf, size_t n);

/* "3 days 4 hours", "5 hours", "45 minutes", "now" for a span in seconds
 * (negative spans are formatted as their absolute value). */
void mp_dt_span(int64_t secs, char *buf, size_t n);

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
int64_t mp_dt_days_from_civil(int y, int m, int d);
void mp_dt_civil_from_days(int64_t days, int *y, int *m, int *d);

#endif
