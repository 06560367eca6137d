/*
 * datetime.c - instants, zones, config times, durations.
 *
 * Zones are applied through TZ and the C library's tz database reader
 * (localtime_r reads $TZDIR or /usr/share/zoneinfo, footer rules included,
 * so instants past the last explicit transition are still right). The C
 * library silently falls back to UTC for a zone it cannot find, which is
 * why every zone is checked by mp_tz_valid() first. magpie is single
 * threaded; the current TZ is cached so repeated calls in one zone are
 * cheap.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "datetime.h"
#include "err.h"

/* The zone functions switch the process's TZ: one thread at a time
 * (import extracts dates on a worker thread). */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t fixed_now = -1;
static char cur_zone[128];

int64_t
mp_dt_now(void)
{
	return fixed_now >= 0 ? fixed_now : (int64_t)time(NULL);
}

void
mp_dt_set_now(int64_t t)
{
	fixed_now = t < 0 ? -1 : t;
}

static int
is_utc(const char *zone)
{
	return strcasecmp(zone, "UTC") == 0 || strcasecmp(zone, "GMT") == 0 ||
	    strcmp(zone, "Z") == 0 || strcmp(zone, "Etc/UTC") == 0 ||
	    strcmp(zone, "Etc/GMT") == 0;
}

static int
tz_valid(const char *zone)
{
	static char last_ok[128];
	const char *dir, *p;
	char path[512], magic[4];
	struct stat st;
	FILE *f;
	int ok;

	if (zone == NULL || *zone == '\0')
		return 0;
	if (is_utc(zone))
		return 1;
	if (strcmp(zone, last_ok) == 0)
		return 1;
	if (strlen(zone) >= sizeof(last_ok) || zone[0] == '/' ||
	    strstr(zone, "..") != NULL)
		return 0;
	for (p = zone; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("_+-/", *p) == NULL)
			return 0;
	dir = getenv("TZDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, zone) >=
	    sizeof(path))
		return 0;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	if (ok)
		snprintf(last_ok, sizeof(last_ok), "%s", zone);
	return ok;
}

int
mp_tz_valid(const char *zone)
{
	int ok;

	pthread_mutex_lock(&tz_lock);
	ok = tz_valid(zone);
	pthread_mutex_unlock(&tz_lock);
	return ok;
}

/* Called with tz_lock held. */
static int
use_zone(const char *zone)
{
	if (zone == NULL || !tz_valid(zone))
		return -1;
	if (strcmp(cur_zone, zone) == 0)
		return 0;
	if (setenv("TZ", is_utc(zone) ? "UTC0" : zone, 1) != 0)
		return -1;
	tzset();
	snprintf(cur_zone, sizeof(cur_zone), "%s", zone);
	return 0;
}

int64_t
mp_dt_days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil, proleptic Gregorian. */
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
mp_dt_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

int
mp_dt_local(int64_t t, const char *zone, struct mp_tm *out)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int rc;

	pthread_mutex_lock(&tz_lock);
	rc = use_zone(zone) != 0 || localtime_r(&tt, &tm) == NULL ? -1 : 0;
	/* tm_zone points into the zone data that the next switch frees */
	if (rc == 0)
		snprintf(out->abbr, sizeof(out->abbr), "%s",
		    tm.tm_zone != NULL ? tm.tm_zone : "");
	pthread_mutex_unlock(&tz_lock);
	if (rc != 0)
		return -1;
	out->year = tm.tm_year + 1900;
	out->mon = tm.tm_mon + 1;
	out->mday = tm.tm_mday;
	out->hour = tm.tm_hour;
	out->min = tm.tm_min;
	out->sec = tm.tm_sec;
	out->wday = tm.tm_wday;
	out->yday = tm.tm_yday;
	out->gmtoff = tm.tm_gmtoff;
	return 0;
}

static long
offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

int
mp_dt_from_local(const struct mp_tm *tm, const char *zone, int64_t *out)
{
	int64_t wall, best = 0, cand;
	long offs[3];
	int i, found = 0;

	if (tm->mon < 1 || tm->mon > 12 || tm->mday < 1 ||
	    tm->mday > days_in_month(tm->year, tm->mon) || tm->hour < 0 ||
	    tm->hour > 23 || tm->min < 0 || tm->min > 59 || tm->sec < 0 ||
	    tm->sec > 60)
		return -1;
	pthread_mutex_lock(&tz_lock);
	if (use_zone(zone) != 0) {
		pthread_mutex_unlock(&tz_lock);
		return -1;
	}
	wall = mp_dt_days_from_civil(tm->year, tm->mon, tm->mday) * 86400 +
	    tm->hour * 3600 + tm->min * 60 + tm->sec;
	/* The instant t satisfies t + offset(t) == wall. Offsets change at
	 * most a few times a year, so the offsets a day either side of the
	 * wall time are the only candidates. */
	offs[0] = offset_at(wall - 86400);
	offs[1] = offset_at(wall);
	offs[2] = offset_at(wall + 86400);
	for (i = 0; i < 3; i++) {
		cand = wall - offs[i];
		if (offset_at(cand) == offs[i] && (!found || cand < best)) {
			best = cand;
			found = 1;
		}
	}
	if (!found) {
		/* In a gap (spring forward): read the wall time with the
		 * offset in force before it, which lands after the gap. */
		best = wall - offs[0];
	}
	pthread_mutex_unlock(&tz_lock);
	*out = best;
	return 0;
}

static int
digits(const char **pp, int n, int *val)
{
	const char *p = *pp;
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*pp = p + n;
	*val = v;
	return 0;
}

/* "+02:00", "+0200", "+02", "-05:30" -> seconds east; -1 on error. */
static int
parse_offset(const char *s, long *off)
{
	int sign, h, m = 0;
	const char *p = s;

	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &h) != 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p != '\0' && digits(&p, 2, &m) != 0)
		return -1;
	if (*p != '\0' || h > 14 || m > 59)
		return -1;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

int
mp_dt_parse(const char *s, const char *default_zone, int64_t *out,
    char *zone, size_t zlen, struct mp_err *e)
{
	struct mp_tm tm;
	const char *p = s, *z;
	char zbuf[128];
	size_t zl;
	long off;
	int64_t t;

	memset(&tm, 0, sizeof(tm));
	while (isspace((unsigned char)*p))
		p++;
	if (digits(&p, 4, &tm.year) != 0 || *p++ != '-' ||
	    digits(&p, 2, &tm.mon) != 0 || *p++ != '-' ||
	    digits(&p, 2, &tm.mday) != 0)
		return mp_err_set(e, MP_EX_DATAERR,
		    "expected a date like 2021-06-17 23:59 UTC");
	if ((*p == 'T' || *p == ' ') && isdigit((unsigned char)p[1])) {
		p++;
		if (digits(&p, 2, &tm.hour) != 0 || *p++ != ':' ||
		    digits(&p, 2, &tm.min) != 0)
			return mp_err_set(e, MP_EX_DATAERR,
			    "expected a time like 23:59");
		if (*p == ':') {
			const char *q = p + 1;

			if (digits(&q, 2, &tm.sec) == 0)
				p = q;
		}
	}
	if (tm.mon < 1 || tm.mon > 12 || tm.mday < 1 ||
	    tm.mday > days_in_month(tm.year, tm.mon) || tm.hour > 23 ||
	    tm.min > 59 || tm.sec > 59)
		return mp_err_set(e, MP_EX_DATAERR, "no such date or time");
	while (isspace((unsigned char)*p))
		p++;
	zl = strlen(p);
	while (zl > 0 && isspace((unsigned char)p[zl - 1]))
		zl--;
	if (zl >= sizeof(zbuf))
		return mp_err_set(e, MP_EX_DATAERR, "time zone name too long");
	memcpy(zbuf, p, zl);
	zbuf[zl] = '\0';
	z = zbuf;
	if (*z == '\0') {
		if (default_zone == NULL)
			return mp_err_set(e, MP_EX_DATAERR,
			    "no time zone (add UTC, an offset like +02:00 "
			    "or a zone like Europe/Warsaw)");
		z = default_zone;
	}
	if (*z == '+' || *z == '-') {
		if (parse_offset(z, &off) != 0)
			return mp_err_set(e, MP_EX_DATAERR,
			    "bad UTC offset '%s'", z);
		t = mp_dt_days_from_civil(tm.year, tm.mon, tm.mday) * 86400 +
		    tm.hour * 3600 + tm.min * 60 + tm.sec - off;
	} else {
		if (!mp_tz_valid(z))
			return mp_err_set(e, MP_EX_DATAERR,
			    "unknown time zone '%s'", z);
		if (mp_dt_from_local(&tm, z, &t) != 0)
			return mp_err_set(e, MP_EX_DATAERR,
			    "no such date or time");
	}
	*out = t;
	if (zone != NULL && zlen > 0)
		snprintf(zone, zlen, "%s", z);
	return 0;
}

int
mp_dt_parse_hhmm(const char *s)
{
	int h = 0, m;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	h = *p++ - '0';
	if (isdigit((unsigned char)*p))
		h = h * 10 + (*p++ - '0');
	if (*p++ != ':' || digits(&p, 2, &m) != 0 || *p != '\0')
		return -1;
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

int64_t
mp_dt_parse_duration(const char *s)
{
	const char *p = s;
	int64_t total = 0, n, unit;
	int any = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (!isdigit((unsigned char)*p))
			return -1;
		n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p++ - '0');
			if (n > 100000000)
				return -1;
		}
		switch (*p++) {
		case 'w': unit = 7 * 86400; break;
		case 'd': unit = 86400; break;
		case 'h': unit = 3600; break;
		case 'm': unit = 60; break;
		case 's': unit = 1; break;
		default: return -1;
		}
		total += n * unit;
		if (total > (int64_t)3650 * 86400)
			return -1;
		any = 1;
	}
	return any && total > 0 ? total : -1;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

int
mp_dt_parse_durations(const char *s, int64_t *out, size_t max,
    struct mp_err *e)
{
	char item[64];
	const char *p = s, *q;
	size_t n = 0, i, j, len;
	int64_t d;

	while (*p != '\0') {
		q = strchr(p, ',');
		len = q != NULL ? (size_t)(q - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0 || len >= sizeof(item))
			return mp_err_set(e, MP_EX_DATAERR,
			    "bad duration '%.*s'", (int)(len < 40 ? len : 40),
			    p);
		memcpy(item, p, len);
		item[len] = '\0';
		d = mp_dt_parse_duration(item);
		if (d < 0)
			return mp_err_set(e, MP_EX_DATAERR,
			    "bad duration '%s'", item);
		if (n == max)
			return mp_err_set(e, MP_EX_DATAERR,
			    "more than %zu durations", max);
		out[n++] = d;
		if (q == NULL)
			break;
		p = q + 1;
	}
	if (n == 0)
		return mp_err_set(e, MP_EX_DATAERR, "no duration given");
	qsort(out, n, sizeof(*out), cmp_desc);
	for (i = 1, j = 1; i < n; i++)
		if (out[i] != out[j - 1])
			out[j++] = out[i];
	return (int)j;
}

size_t
mp_dt_format(int64_t t, const char *zone, const char *fmt, char *buf,
    size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	pthread_mutex_lock(&tz_lock);
	if (use_zone(zone) != 0 || localtime_r(&tt, &tm) == NULL)
		n = 0;
	else
		n = strftime(buf, n, fmt, &tm);
	pthread_mutex_unlock(&tz_lock);
	return n;
}

void
mp_dt_iso_utc(int64_t t, char *buf, size_t n)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t rem = t - days * 86400;
	int y, m, d;

	mp_dt_civil_from_days(days, &y, &m, &d);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
	    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

void
mp_dt_rfc5322(int64_t t, const char *zone, char *buf, size_t n)
{
	static const char *wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
		"Sat" };
	static const char *mn[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct mp_tm tm;
	long off;

	if (zone == NULL || mp_dt_local(t, zone, &tm) != 0)
		mp_dt_local(t, "UTC", &tm);
	off = tm.gmtoff;
	snprintf(buf, n, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    wd[tm.wday], tm.mday, mn[tm.mon - 1], tm.year, tm.hour, tm.min,
	    tm.sec, off < 0 ? '-' : '+', labs(off) / 3600,
	    labs(off) / 60 % 60);
}

void
mp_dt_span(int64_t secs, char *buf, size_t n)
{
	int64_t d, h, m;

	if (secs < 0)
		secs = -secs;
	d = secs / 86400;
	h = secs / 3600 % 24;
	m = secs / 60 % 60;
	if (d > 0 && h > 0)
		snprintf(buf, n, "%lld day%s %lld hour%s", (long long)d,
		    d == 1 ? "" : "s", (long long)h, h == 1 ? "" : "s");
	else if (d > 0)
		snprintf(buf, n, "%lld day%s", (long long)d, d == 1 ? "" : "s");
	else if (h > 0 && m > 0)
		snprintf(buf, n, "%lld hour%s %lld minute%s", (long long)h,
		    h == 1 ? "" : "s", (long long)m, m == 1 ? "" : "s");
	else if (h > 0)
		snprintf(buf, n, "%lld hour%s", (long long)h,
		    h == 1 ? "" : "s");
	else if (m > 0)
		snprintf(buf, n, "%lld minute%s", (long long)m,
		    m == 1 ? "" : "s");
	else
		snprintf(buf, n, "less than a minute");
}
