/*
 * dateexpr.c - date and time expressions in free text.
 *
 * The text is cut into tokens (words, numbers, single punctuation marks,
 * each knowing whether space preceded it), and a small recursive-descent
 * grammar runs over them. Working on tokens keeps multi-word forms
 * ("the day after tomorrow", "next week Wednesday", "23 hours 59 UTC")
 * simple and bounds the work per position.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "dateexpr.h"
#include "datetime.h"
#include "wordset.h"

enum { TK_WORD, TK_NUM, TK_PUNCT };

struct tok {
	size_t off, len;
	int type;
	int val;                /* number (capped) or punctuation char */
	int ndig;
	int sp;                 /* white space (or start) before */
	int cap;                /* starts with an ASCII capital */
	int upper;              /* all ASCII capitals, length >= 2 */
	char w[24];             /* lower-cased word, truncated */
};

struct px {
	const char *s;
	const struct tok *t;
	int n;
	const struct mp_dateref *ref;
	int64_t rday;           /* the reference's local day number */
	int rwday;              /* its weekday, 0 = Sunday */
	int ry, rm, rd;
};

/* What the grammar found before resolution into mp_dateexpr. */
struct dx {
	unsigned flags;
	int64_t day;            /* when MP_DX_DATE */
	int hh, mm;             /* when MP_DX_TIME */
	int64_t eday;           /* range end day, or INT64_MIN */
	int ehh, emm;           /* range end time, or -1 */
	int wd;                 /* written weekday, or -1 */
	char zone[48];
	long zoff;
	int ziana;              /* zone is an IANA name */
};

#define NODAY INT64_MIN

static const char *const month_names[] = { "january", "february", "march",
	"april", "may", "june", "july", "august", "september", "october",
	"november", "december" };
static const char *const wday_names[] = { "sunday", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday" };

/* ---- tokens ---- */

static int
is_wordbyte(unsigned char c)
{
	return mp_is_alpha(c) || c >= 0x80;
}

/* UTF-8 dashes and minus read as '-'; no-break spaces as space. */
static int
utf8_special(const unsigned char *p, size_t left, int *kind)
{
	if (p[0] != 0xe2 && p[0] != 0xc2)
		return 0;
	if (left >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] == 0x93 || p[2] == 0x94)) {
		*kind = '-';
		return 3;
	}
	if (left >= 3 && p[0] == 0xe2 && p[1] == 0x88 && p[2] == 0x92) {
		*kind = '-';
		return 3;
	}
	if (left >= 2 && p[0] == 0xc2 && p[1] == 0xa0) {
		*kind = ' ';
		return 2;
	}
	if (left >= 3 && p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0xaf) {
		*kind = ' ';
		return 3;
	}
	return 0;
}

/* Tokens go to stack (n slots) first, to the heap beyond. */
static int
tokenize(const char *s, size_t len, struct tok **out, struct tok *stack,
    size_t nstack)
{
	const unsigned char *p = (const unsigned char *)s;
	struct tok *t = stack;
	size_t i = 0, cap = nstack;
	int n = 0, sp = 1, k, m;

	while (i < len) {
		struct tok *x;

		if (p[i] == '\0')
			break;
		if (mp_is_space(p[i])) {
			sp = 1;
			i++;
			continue;
		}
		m = utf8_special(p + i, len - i, &k);
		if (m > 0 && k == ' ') {
			sp = 1;
			i += (size_t)m;
			continue;
		}
		if ((size_t)n == cap) {
			struct tok *nt;

			cap = cap ? cap * 2 : 64;
			nt = malloc(cap * sizeof(*t));
			if (nt == NULL)
				abort();
			if (n > 0)
				memcpy(nt, t, (size_t)n * sizeof(*t));
			if (t != stack)
				free(t);
			t = nt;
		}
		x = &t[n++];
		memset(x, 0, sizeof(*x));
		x->off = i;
		x->sp = sp;
		sp = 0;
		if (m > 0) {
			x->type = TK_PUNCT;
			x->val = k;
			x->len = (size_t)m;
			i += (size_t)m;
		} else if (mp_is_digit(p[i])) {
			size_t j = i;
			long v = 0;

			while (j < len && mp_is_digit(p[j])) {
				if (v < 1000000)
					v = v * 10 + (p[j] - '0');
				j++;
			}
			x->type = TK_NUM;
			x->val = (int)v;
			x->ndig = (int)(j - i);
			x->len = j - i;
			i = j;
		} else if (is_wordbyte(p[i])) {
			size_t j = i, w = 0;

			x->cap = mp_is_upper(p[i]);
			x->upper = 1;
			while (j < len && (is_wordbyte(p[j]) || ((p[j] == '\'' ||
			    p[j] == '_') && j + 1 < len && is_wordbyte(p[j + 1])))) {
				if (utf8_special(p + j, len - j, &k) > 0)
					break;
				if (!mp_is_upper(p[j]))
					x->upper = 0;
				if (w + 1 < sizeof(x->w))
					x->w[w++] = (char)(mp_is_upper(p[j]) ?
					    p[j] + 32 : p[j]);
				j++;
			}
			x->w[w] = '\0';
			if (j - i < 2)
				x->upper = 0;
			x->type = TK_WORD;
			x->len = j - i;
			i = j;
		} else {
			x->type = TK_PUNCT;
			x->val = p[i];
			x->len = 1;
			i++;
		}
	}
	*out = t;
	return n;
}

/* ---- token tests ---- */

static int
W(const struct px *P, int i, const char *w)
{
	return i >= 0 && i < P->n && P->t[i].type == TK_WORD &&
	    P->t[i].w[0] == w[0] && strcmp(P->t[i].w, w) == 0;
}

static int
PU(const struct px *P, int i, int c)
{
	return i >= 0 && i < P->n && P->t[i].type == TK_PUNCT &&
	    P->t[i].val == c;
}

static int
NUM(const struct px *P, int i)
{
	return i >= 0 && i < P->n && P->t[i].type == TK_NUM;
}

/* Adjacent: token i follows i-1 without space. */
static int
ADJ(const struct px *P, int i)
{
	return i > 0 && i < P->n && !P->t[i].sp;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static int
wday_of(int64_t day)
{
	int w = (int)((day + 4) % 7);

	return w < 0 ? w + 7 : w;
}

/* Month name at i ("June", "Jun", "Jun.", "Sept"): 1..12, *next after. */
static int
month_at(const struct px *P, int i, int *next)
{
	const char *w;
	size_t n;
	int k;

	if (i < 0 || i >= P->n || P->t[i].type != TK_WORD)
		return 0;
	w = P->t[i].w;
	n = strlen(w);
	/* "may" and "march" are verbs unless capitalised */
	if (!P->t[i].cap && (strcmp(w, "may") == 0 || strcmp(w, "march") == 0 ||
	    strcmp(w, "mar") == 0))
		return 0;
	if (strchr("jfmasond", w[0]) == NULL || n < 3)
		return 0;
	for (k = 0; k < 12; k++) {
		if (w[0] != month_names[k][0])
			continue;
		if (strcmp(w, month_names[k]) == 0 || (n == 3 &&
		    strncmp(w, month_names[k], 3) == 0) ||
		    (k == 8 && strcmp(w, "sept") == 0)) {
			*next = i + 1;
			if (n < strlen(month_names[k]) && PU(P, i + 1, '.') &&
			    ADJ(P, i + 1))
				*next = i + 2;
			return k + 1;
		}
	}
	return 0;
}

/* Weekday at i ("Friday", "Fri", "Fri."); abbreviations must be
 * capitalised so "sat" and "sun" stay words. 0..6 or -1. */
static int
wday_at(const struct px *P, int i, int *next)
{
	static const char *const ab[] = { "sun", "mon", "tue", "wed", "thu",
		"fri", "sat" };
	const char *w;
	int k;

	if (i < 0 || i >= P->n || P->t[i].type != TK_WORD)
		return -1;
	w = P->t[i].w;
	if (strchr("smtwf", w[0]) == NULL)
		return -1;
	for (k = 0; k < 7; k++) {
		if (w[0] == wday_names[k][0] && strcmp(w, wday_names[k]) == 0) {
			*next = i + 1;
			return k;
		}
	}
	if (!P->t[i].cap)
		return -1;
	for (k = 0; k < 7; k++) {
		if (strcmp(w, ab[k]) == 0 || (k == 2 && strcmp(w, "tues") == 0) ||
		    (k == 4 && (strcmp(w, "thur") == 0 ||
		    strcmp(w, "thurs") == 0))) {
			*next = i + 1;
			if (PU(P, i + 1, '.') && ADJ(P, i + 1))
				*next = i + 2;
			return k;
		}
	}
	return -1;
}

/* A day number 1..31 at i with an optional ordinal suffix. */
static int
day_at(const struct px *P, int i, int *next, int *ordinal)
{
	int v;

	if (!NUM(P, i) || P->t[i].ndig > 2)
		return 0;
	v = P->t[i].val;
	if (v < 1 || v > 31)
		return 0;
	*ordinal = 0;
	*next = i + 1;
	if (ADJ(P, i + 1) && (W(P, i + 1, "st") || W(P, i + 1, "nd") ||
	    W(P, i + 1, "rd") || W(P, i + 1, "th"))) {
		*ordinal = 1;
		*next = i + 2;
	}
	/* "17.06.2021" and "17/06" are numeric dates, "2.5" not a day. */
	if (!*ordinal && (PU(P, i + 1, '.') || PU(P, i + 1, '/') ||
	    PU(P, i + 1, ':')) && ADJ(P, i + 1) && NUM(P, i + 2) &&
	    ADJ(P, i + 2))
		return 0;
	return v;
}

static int
year_at(const struct px *P, int i)
{
	if (NUM(P, i) && P->t[i].ndig == 4 && P->t[i].val >= 1970 &&
	    P->t[i].val <= 2100)
		return P->t[i].val;
	return 0;
}

static int
small_number(const struct px *P, int i)
{
	static const char *const w[] = { "zero", "one", "two", "three",
		"four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
		"twelve" };
	int k;

	if (NUM(P, i) && P->t[i].ndig <= 3)
		return P->t[i].val;
	if (W(P, i, "a") || W(P, i, "an"))
		return 1;
	for (k = 1; k < 13; k++)
		if (W(P, i, w[k]))
			return k;
	return -1;
}

/* ---- resolution helpers ---- */

static int
valid_date(int y, int m, int d)
{
	return y >= 1970 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 &&
	    d <= days_in_month(y, m);
}

/* A day and month without a year: the reference's year, or the next one
 * when that date is more than about six months past. */
static int64_t
infer_year(const struct px *P, int m, int d)
{
	int y = P->ry;
	int64_t day;

	if (m == 2 && d == 29) {
		while (!valid_date(y, m, d) && y < P->ry + 4)
			y++;
	}
	if (!valid_date(y, m, d))
		return NODAY;
	day = mp_dt_days_from_civil(y, m, d);
	if (day < P->rday - 183) {
		if (!valid_date(y + 1, m, d))
			return NODAY;
		day = mp_dt_days_from_civil(y + 1, m, d);
	}
	return day;
}

static int64_t
ymd(const struct px *P, int y, int m, int d)
{
	if (y == 0)
		return infer_year(P, m, d);
	if (!valid_date(y, m, d))
		return NODAY;
	return mp_dt_days_from_civil(y, m, d);
}

/* Monday-based weekday: Monday 0 .. Sunday 6. */
static int
mon0(int wd)
{
	return (wd + 6) % 7;
}

/* The next such weekday strictly after the reference day. */
static int64_t
next_wday(const struct px *P, int wd)
{
	int d = (wd - P->rwday + 7) % 7;

	return P->rday + (d == 0 ? 7 : d);
}

/* That weekday in the Monday-to-Sunday week after the reference's. */
static int64_t
following_week_wday(const struct px *P, int wd)
{
	return P->rday - mon0(P->rwday) + 7 + mon0(wd);
}

static int64_t
this_week_friday(const struct px *P)
{
	int64_t f = P->rday - mon0(P->rwday) + 4;

	return f < P->rday ? f + 7 : f;
}

static int64_t
month_end(int y, int m)
{
	return mp_dt_days_from_civil(y, m, days_in_month(y, m));
}

/* ---- zones ---- */

struct zabbr {
	const char *name;
	int min;                /* offset in minutes east of UTC */
};

static const struct zabbr zabbrs[] = {
	{ "UTC", 0 }, { "GMT", 0 }, { "Z", 0 }, { "WET", 0 }, { "WEST", 60 },
	{ "CET", 60 }, { "CEST", 120 }, { "BST", 60 }, { "IST", 330 },
	{ "WAT", 60 }, { "CAT", 120 }, { "SAST", 120 }, { "EET", 120 },
	{ "EEST", 180 }, { "EAT", 180 }, { "MSK", 180 }, { "GST", 240 },
	{ "PKT", 300 }, { "NPT", 345 }, { "BDT", 360 }, { "ICT", 420 },
	{ "WIB", 420 }, { "HKT", 480 }, { "SGT", 480 }, { "AWST", 480 },
	{ "PHT", 480 }, { "JST", 540 }, { "KST", 540 }, { "ACST", 570 },
	{ "AEST", 600 }, { "AEDT", 660 }, { "NZST", 720 }, { "NZDT", 780 },
	{ "EDT", -240 }, { "EST", -300 }, { "CDT", -300 }, { "MDT", -360 },
	{ "MST", -420 }, { "PDT", -420 }, { "PST", -480 }, { "AKDT", -480 },
	{ "HST", -600 }, { "BRT", -180 }, { "ART", -180 }, { "CLT", -240 },
	{ "COT", -300 }, { "PET", -300 }, { "AOE", -720 },
	{ NULL, 0 }
};

/* "<place> time" -> IANA zone. */
static const char *const place_zones[][2] = {
	{ "geneva", "Europe/Zurich" }, { "katowice", "Europe/Warsaw" },
	{ "warsaw", "Europe/Warsaw" }, { "paris", "Europe/Paris" },
	{ "brussels", "Europe/Brussels" }, { "berlin", "Europe/Berlin" },
	{ "vienna", "Europe/Vienna" }, { "rome", "Europe/Rome" },
	{ "madrid", "Europe/Madrid" }, { "london", "Europe/London" },
	{ "lisbon", "Europe/Lisbon" }, { "dublin", "Europe/Dublin" },
	{ "moscow", "Europe/Moscow" }, { "nairobi", "Africa/Nairobi" },
	{ "lagos", "Africa/Lagos" }, { "cairo", "Africa/Cairo" },
	{ "johannesburg", "Africa/Johannesburg" },
	{ "delhi", "Asia/Kolkata" }, { "india", "Asia/Kolkata" },
	{ "tokyo", "Asia/Tokyo" }, { "beijing", "Asia/Shanghai" },
	{ "singapore", "Asia/Singapore" }, { "sydney", "Australia/Sydney" },
	{ "eastern", "America/New_York" }, { "york", "America/New_York" },
	{ "washington", "America/New_York" }, { "central", "America/Chicago" },
	{ "mountain", "America/Denver" }, { "pacific", "America/Los_Angeles" },
	{ "brasilia", "America/Sao_Paulo" },
	{ "bras\xc3\xadlia", "America/Sao_Paulo" },
	{ "european", "Europe/Paris" }, { "cet", "Europe/Paris" },
	{ NULL, NULL }
};

static void
set_fixed_zone(struct dx *d, const char *name, long off)
{
	snprintf(d->zone, sizeof(d->zone), "%s", name);
	d->zoff = off;
	d->ziana = 0;
	d->flags |= MP_DX_ZONE;
}

/* A signed offset after UTC/GMT or alone: "+8", "+08:00", "+0200",
 * "-3". Returns the next token or -1. */
static int
offset_at(const struct px *P, int i, long *off)
{
	int sign, h, m = 0, k;

	if (!PU(P, i, '+') && !PU(P, i, '-'))
		return -1;
	sign = P->t[i].val == '-' ? -1 : 1;
	k = i + 1;
	if (!NUM(P, k) || !ADJ(P, k))
		return -1;
	if (P->t[k].ndig <= 2) {
		h = P->t[k].val;
		k++;
		if (PU(P, k, ':') && ADJ(P, k) && NUM(P, k + 1) &&
		    P->t[k + 1].ndig == 2) {
			m = P->t[k + 1].val;
			k += 2;
		}
	} else if (P->t[k].ndig == 4) {
		h = P->t[k].val / 100;
		m = P->t[k].val % 100;
		k++;
	} else {
		return -1;
	}
	if (h > 14 || m > 59)
		return -1;
	*off = sign * (h * 3600L + m * 60L);
	return k;
}

/* A zone after a clock time. Returns the next token or -1. */
static int
zone_at(const struct px *P, int i, struct dx *d)
{
	int k, paren = 0, j;
	long off;
	size_t z;

	if (PU(P, i, '(')) {
		paren = 1;
		i++;
	}
	if (i >= P->n)
		return -1;
	k = -1;
	if (P->t[i].type == TK_WORD) {
		const struct tok *t = &P->t[i];

		if (W(P, i, "anywhere") && W(P, i + 1, "on") &&
		    W(P, i + 2, "earth")) {
			set_fixed_zone(d, "AoE", -12 * 3600L);
			k = i + 3;
			if (PU(P, k, ')') && paren)
				return k + 1;
			if (PU(P, k, '(') && W(P, k + 1, "aoe") &&
			    PU(P, k + 2, ')'))
				k += 3;
			return paren ? -1 : k;
		}
		if ((strcmp(t->w, "utc") == 0 || strcmp(t->w, "gmt") == 0) &&
		    (t->upper || t->cap)) {
			set_fixed_zone(d, t->upper ? (t->w[0] == 'u' ? "UTC" :
			    "GMT") : "UTC", 0);
			k = i + 1;
			if ((j = offset_at(P, k, &off)) > 0) {
				char name[48];

				snprintf(name, sizeof(name), "UTC%c%02ld:%02ld",
				    off < 0 ? '-' : '+', labs(off) / 3600,
				    labs(off) % 3600 / 60);
				set_fixed_zone(d, name, off);
				k = j;
			}
		} else if (strcmp(t->w, "aoe") == 0) {
			set_fixed_zone(d, "AoE", -12 * 3600L);
			k = i + 1;
		} else if (t->upper || (t->len == 1 && t->cap)) {
			for (z = 0; zabbrs[z].name != NULL; z++) {
				char up[24];
				size_t q;

				for (q = 0; t->w[q] && q + 1 < sizeof(up); q++)
					up[q] = (char)toupper((unsigned char)t->w[q]);
				up[q] = '\0';
				if (strcmp(up, zabbrs[z].name) == 0) {
					set_fixed_zone(d, zabbrs[z].name,
					    zabbrs[z].min * 60L);
					k = i + 1;
					break;
				}
			}
			/* CST: China when the writer is at +08, else US. */
			if (k < 0 && strcmp(t->w, "cst") == 0) {
				set_fixed_zone(d, "CST", P->ref->off == 8 * 3600 ?
				    8 * 3600L : -6 * 3600L);
				k = i + 1;
			}
			if (k < 0 && (strcmp(t->w, "et") == 0 ||
			    strcmp(t->w, "pt") == 0 || strcmp(t->w, "ct") == 0)) {
				snprintf(d->zone, sizeof(d->zone), "%s",
				    t->w[0] == 'e' ? "America/New_York" :
				    t->w[0] == 'p' ? "America/Los_Angeles" :
				    "America/Chicago");
				d->ziana = 1;
				d->flags |= MP_DX_ZONE;
				k = i + 1;
			}
		}
		/* IANA name: Area/Location[/Location] */
		if (k < 0 && t->cap && PU(P, i + 1, '/') && ADJ(P, i + 1) &&
		    i + 2 < P->n && P->t[i + 2].type == TK_WORD &&
		    ADJ(P, i + 2)) {
			size_t a = t->off, b;
			char name[48];

			j = i + 3;
			if (PU(P, j, '/') && ADJ(P, j) && j + 1 < P->n &&
			    P->t[j + 1].type == TK_WORD && ADJ(P, j + 1))
				j += 2;
			b = P->t[j - 1].off + P->t[j - 1].len;
			if (b - a < sizeof(name)) {
				memcpy(name, P->s + a, b - a);
				name[b - a] = '\0';
				if (mp_tz_valid(name)) {
					snprintf(d->zone, sizeof(d->zone), "%s",
					    name);
					d->ziana = 1;
					d->flags |= MP_DX_ZONE;
					k = j;
				}
			}
		}
		/* "Geneva time", "Pacific time", "Central European Summer
		 * Time", "local time" */
		if (k < 0) {
			j = i;
			if (W(P, j, "us"))
				j++;
			if (W(P, j, "local") && W(P, j + 1, "time")) {
				char name[48];
				long o = P->ref->off;

				snprintf(name, sizeof(name), "%c%02ld:%02ld",
				    o < 0 ? '-' : '+', labs(o) / 3600,
				    labs(o) % 3600 / 60);
				set_fixed_zone(d, name, o);
				k = j + 2;
			} else {
				for (z = 0; place_zones[z][0] != NULL; z++)
					if (W(P, j, place_zones[z][0]))
						break;
				if (place_zones[z][0] != NULL) {
					int q = j + 1;

					if (W(P, q, "european"))
						q++;
					if (W(P, q, "summer") ||
					    W(P, q, "standard") ||
					    W(P, q, "daylight"))
						q++;
					if (W(P, q, "time")) {
						snprintf(d->zone,
						    sizeof(d->zone), "%s",
						    place_zones[z][1]);
						d->ziana = 1;
						d->flags |= MP_DX_ZONE;
						k = q + 1;
					}
				}
			}
		}
	} else if (PU(P, i, '+') || PU(P, i, '-')) {
		if ((j = offset_at(P, i, &off)) > 0 &&
		    (P->t[i + 1].ndig == 4 || PU(P, i + 2, ':') ||
		    P->t[i].sp == 1)) {
			char name[48];

			snprintf(name, sizeof(name), "%c%02ld:%02ld",
			    off < 0 ? '-' : '+', labs(off) / 3600,
			    labs(off) % 3600 / 60);
			set_fixed_zone(d, name, off);
			k = j;
		}
	}
	if (k < 0)
		return -1;
	if (paren) {
		if (!PU(P, k, ')'))
			return -1;
		k++;
	}
	return k;
}

/* ---- times ---- */

/* am/pm at i: 1 am, 2 pm, 0 none; *next after it. */
static int
ampm_at(const struct px *P, int i, int *next)
{
	if (W(P, i, "am") || W(P, i, "pm")) {
		*next = i + 1;
		return P->t[i].w[0] == 'a' ? 1 : 2;
	}
	if ((W(P, i, "a") || W(P, i, "p")) && PU(P, i + 1, '.') &&
	    ADJ(P, i + 1) && W(P, i + 2, "m") && ADJ(P, i + 2)) {
		*next = i + 3;
		if (PU(P, i + 3, '.') && ADJ(P, i + 3))
			*next = i + 4;
		return P->t[i].w[0] == 'a' ? 1 : 2;
	}
	return 0;
}

/* One clock time (without zone or range). *weak is set for forms that
 * need a zone or am/pm to count ("16.00"). */
static int
clock_at(const struct px *P, int i, int *hh, int *mm, int *weak)
{
	int k, h, m = 0, ap, have_m = 0;

	*weak = 0;
	if (W(P, i, "noon") || W(P, i, "midday")) {
		*hh = 12;
		*mm = 0;
		return i + 1;
	}
	if (W(P, i, "midnight")) {
		*hh = 23;
		*mm = 59;
		return i + 1;
	}
	if (!NUM(P, i))
		return -1;
	/* No part of a longer number group ("1.5.3", "12:30:45:10"). */
	if (i > 0 && ADJ(P, i) && (PU(P, i - 1, '.') || PU(P, i - 1, ':') ||
	    PU(P, i - 1, '/') || PU(P, i - 1, ',')))
		return -1;
	if (P->t[i].ndig == 4 && (W(P, i + 1, "hrs") || W(P, i + 1, "hours") ||
	    W(P, i + 1, "h"))) {
		h = P->t[i].val / 100;
		m = P->t[i].val % 100;
		if (h > 24 || m > 59)
			return -1;
		*hh = h;
		*mm = m;
		return i + 2;
	}
	if (P->t[i].ndig > 2 || P->t[i].val > 24)
		return -1;
	h = P->t[i].val;
	k = i + 1;
	if ((PU(P, k, ':') || PU(P, k, '.')) && ADJ(P, k) && NUM(P, k + 1) &&
	    ADJ(P, k + 1) && P->t[k + 1].ndig == 2 && P->t[k + 1].val <= 59) {
		if (P->t[k].val == '.') {
			*weak = 1;
			/* "2.10.3" is a version */
			if (PU(P, k + 2, '.') && ADJ(P, k + 2) &&
			    NUM(P, k + 3))
				return -1;
		}
		m = P->t[k + 1].val;
		have_m = 1;
		k += 2;
		if (PU(P, k, ':') && ADJ(P, k) && NUM(P, k + 1) &&
		    P->t[k + 1].ndig == 2)
			k += 2;
	} else if (W(P, k, "h") && ADJ(P, k)) {
		k++;
		if (NUM(P, k) && ADJ(P, k) && P->t[k].ndig == 2 &&
		    P->t[k].val <= 59) {
			m = P->t[k].val;
			k++;
		}
		have_m = 1;
	} else if ((W(P, k, "hours") || W(P, k, "hrs")) && NUM(P, k + 1) &&
	    P->t[k + 1].ndig == 2 && P->t[k + 1].val <= 59) {
		m = P->t[k + 1].val;
		have_m = 1;
		k += 2;
	}
	if ((ap = ampm_at(P, k, &k)) != 0) {
		if (h < 1 || h > 12)
			return -1;
		if (ap == 1 && h == 12)
			h = 0;
		else if (ap == 2 && h != 12)
			h += 12;
		*weak = 0;
	} else if (W(P, k, "o") && PU(P, k + 1, '\'')) {
		k += 2;
		if (W(P, k, "clock"))
			k++;
	} else if (!have_m) {
		return -1;
	}
	if (h == 24 && m == 0) {
		h = 23;
		m = 59;
	}
	if (h > 23)
		return -1;
	*hh = h;
	*mm = m;
	return k;
}

/* A time with optional range end and zone: "13:00-16:00 UTC",
 * "from 9 to 11am", "9am EDT", "23 hours 59 UTC". */
static int
time_at(const struct px *P, int i, struct dx *d)
{
	int k, h, m, weak, k2, h2, m2, weak2, zk;

	if ((k = clock_at(P, i, &h, &m, &weak)) < 0) {
		/* "9-11am": the first part borrows the am/pm. */
		if (!NUM(P, i) || P->t[i].ndig > 2 || P->t[i].val < 1 ||
		    P->t[i].val > 12 || !PU(P, i + 1, '-') ||
		    (k2 = clock_at(P, i + 2, &h2, &m2, &weak2)) < 0 ||
		    weak2)
			return -1;
		h = P->t[i].val;
		if (h2 >= 12 && h + 12 <= h2 && h != 12)
			h += 12;
		m = 0;
		weak = 0;
		k = i + 1;
	}
	d->hh = h;
	d->mm = m;
	d->ehh = d->emm = -1;
	if ((PU(P, k, '-') || W(P, k, "to") || W(P, k, "until") ||
	    W(P, k, "till") || W(P, k, "and")) &&
	    (k2 = clock_at(P, k + 1, &h2, &m2, &weak2)) > 0) {
		d->ehh = h2;
		d->emm = m2;
		if (weak && !weak2)
			weak = 0;
		k = k2;
	}
	if ((zk = zone_at(P, k, d)) > 0) {
		k = zk;
		weak = 0;
	}
	if (weak)
		return -1;
	d->flags |= MP_DX_TIME;
	return k;
}

/* ---- dates ---- */

/* A word that may follow "the 22nd" used as a date ("on the 22nd,",
 * "the 22nd at 14:00"); a noun after it ("the 16th IGF") is no date. */
static int
after_ordinal_ok(const struct px *P, int i)
{
	static const char *const ok[] = { "at", "from", "to", "and", "or",
		"until", "till", "by", "in", "for", "as", "if", "is", "will",
		"so", "but", "which", "when", "between", "right", "after",
		"before", "morning", "afternoon", "evening", "we", "i", "you",
		"then", "instead", "would", "could", "should", "with", "this",
		"next", "too", "also", "please", "it", "there", "are", "works",
		"work", "only", "noon", "midnight", "latest", "the", NULL };
	size_t k;

	if (i >= P->n || P->t[i].type != TK_WORD)
		return !NUM(P, i) || !P->t[i].sp;
	for (k = 0; ok[k] != NULL; k++)
		if (strcmp(P->t[i].w, ok[k]) == 0)
			return 1;
	return 0;
}

static int
before_ordinal_ok(const struct px *P, int i)
{
	static const char *const ok[] = { "on", "by", "before", "until", "till",
		"from", "for", "due", "through", "than", "after", "since",
		"of", "is", "until", "around", "to", "and", NULL };
	size_t k;

	if (i < 0)
		return 0;
	for (k = 0; ok[k] != NULL; k++)
		if (W(P, i, ok[k]))
			return 1;
	return 0;
}

/* Numeric dates: 2021-06-17, 2021/06/17, 17/06/2021, 17.06.2021,
 * 17/06/21, 25/6, 7/15. */
static int
numeric_date_at(const struct px *P, int i, struct dx *d)
{
	int a, b, c, y, m, dd, sep, k;

	if (!NUM(P, i))
		return -1;
	if (i > 0 && ADJ(P, i) && (PU(P, i - 1, '.') || PU(P, i - 1, '/') ||
	    PU(P, i - 1, '-') || PU(P, i - 1, ':') || NUM(P, i - 1) ||
	    P->t[i - 1].type == TK_WORD))
		return -1;
	if (!(PU(P, i + 1, '-') || PU(P, i + 1, '/') || PU(P, i + 1, '.')) ||
	    !ADJ(P, i + 1) || !NUM(P, i + 2) || !ADJ(P, i + 2))
		return -1;
	sep = P->t[i + 1].val;
	a = P->t[i].val;
	b = P->t[i + 2].val;
	k = i + 3;
	c = -1;
	if (PU(P, k, sep) && ADJ(P, k) && NUM(P, k + 1) && ADJ(P, k + 1)) {
		c = P->t[k + 1].val;
		if (P->t[k + 1].ndig != 2 && P->t[k + 1].ndig != 4 &&
		    !(P->t[i].ndig == 4))
			return -1;
		k += 2;
		/* longer groups are versions or addresses */
		if ((PU(P, k, '.') || PU(P, k, sep)) && ADJ(P, k) &&
		    NUM(P, k + 1) && ADJ(P, k + 1))
			return -1;
		if (P->t[i].ndig == 4) {
			y = a;
			m = b;
			dd = c;
			if (P->t[i + 2].ndig > 2 || P->t[k - 1].ndig > 2)
				return -1;
		} else {
			if (P->t[i].ndig > 2 || P->t[i + 2].ndig > 2)
				return -1;
			if (sep == '-' && P->t[k - 1].ndig != 4)
				return -1;
			if (sep == '.' && P->t[k - 1].ndig != 4)
				return -1;
			y = c < 100 ? 2000 + c : c;
			if (a > 12 || (b <= 12 && !P->ref->month_first)) {
				dd = a;
				m = b;
			} else {
				m = a;
				dd = b;
			}
		}
	} else {
		/* Two parts: only with a slash, and only where a date is
		 * expected ("by 25/6", "on 7/15", "Friday 2/7"). */
		int wd, q;

		if (sep != '/' || P->t[i].ndig > 2 || P->t[i + 2].ndig > 2)
			return -1;
		if ((PU(P, k, '/') || PU(P, k, '.')) && ADJ(P, k) &&
		    NUM(P, k + 1))
			return -1;
		if (!before_ordinal_ok(P, i - 1) &&
		    wday_at(P, i - 1, &q) < 0 && !PU(P, i - 1, ',') &&
		    !PU(P, i - 1, '(') && (wd = wday_at(P, i - 2, &q)) < 0)
			return -1;
		y = 0;
		if (a > 12 || (b <= 12 && !P->ref->month_first)) {
			dd = a;
			m = b;
		} else {
			m = a;
			dd = b;
		}
	}
	if (y != 0 && !valid_date(y, m, dd))
		return -1;
	if (y == 0 && (m < 1 || m > 12 || dd < 1 || dd > days_in_month(2000, m)))
		return -1;
	d->day = ymd(P, y, m, dd);
	if (d->day == NODAY)
		return -1;
	d->flags |= MP_DX_DATE;
	return k;
}

/* A range end after a day: "22-23 June" gives 23 (month follows). */
static int
day_range_end(const struct px *P, int i, int *end)
{
	int k, o;

	if (!(PU(P, i, '-') || W(P, i, "to") || W(P, i, "and") ||
	    W(P, i, "until") || W(P, i, "till")))
		return -1;
	if ((*end = day_at(P, i + 1, &k, &o)) == 0)
		return -1;
	return k;
}

/* Explicit calendar dates: "17 June [2021]", "17th of June", "June 17th,
 * 2021", "22-23 June", "June 22-23", numeric forms. */
static int
explicit_at(const struct px *P, int i, struct dx *d)
{
	int k, v, o, mo, y = 0, e = 0, k2, q, emo;

	if ((k = numeric_date_at(P, i, d)) > 0)
		return k;
	if ((v = day_at(P, i, &k, &o)) > 0) {
		if ((k2 = day_range_end(P, k, &e)) > 0 &&
		    (mo = month_at(P, W(P, k2, "of") ? k2 + 1 : k2, &q)) > 0) {
			k = q;
		} else {
			e = 0;
			if (W(P, k, "of"))
				k++;
			if ((mo = month_at(P, k, &k)) == 0)
				return -1;
		}
		if (PU(P, k, ',') && year_at(P, k + 1))
			k++;
		if ((y = year_at(P, k)) != 0)
			k++;
		if ((d->day = ymd(P, y, mo, v)) == NODAY)
			return -1;
		d->flags |= MP_DX_DATE;
		if (e > v) {
			d->eday = ymd(P, y, mo, e);
			if (d->eday != NODAY && d->eday < d->day)
				d->eday = ymd(P, y + (y ? 1 : 0), mo, e);
			if (d->eday != NODAY)
				d->flags |= MP_DX_RANGE;
		} else if ((PU(P, k, '-') || W(P, k, "to") ||
		    W(P, k, "until")) && (e = day_at(P, k + 1, &k2, &o)) > 0 &&
		    (emo = month_at(P, k2, &q)) > 0) {
			int ey = year_at(P, q);
			int64_t ed = ymd(P, ey ? ey : y, emo, e);

			if (ed != NODAY && ed > d->day) {
				d->eday = ed;
				d->flags |= MP_DX_RANGE;
				k = ey ? q + 1 : q;
			}
		}
		return k;
	}
	if ((mo = month_at(P, i, &k)) > 0) {
		if ((v = day_at(P, k, &k2, &o)) == 0)
			return -1;
		/* "May 2021" is a month, "June 2" a day */
		k = k2;
		if ((k2 = day_range_end(P, k, &e)) > 0 && e > v &&
		    !month_at(P, k2, &q))
			k = k2;
		else
			e = 0;
		if (PU(P, k, ',') && year_at(P, k + 1))
			k++;
		if ((y = year_at(P, k)) != 0)
			k++;
		if ((d->day = ymd(P, y, mo, v)) == NODAY)
			return -1;
		d->flags |= MP_DX_DATE;
		if (e > v && (d->eday = ymd(P, y, mo, e)) != NODAY)
			d->flags |= MP_DX_RANGE;
		return k;
	}
	return -1;
}

/* "the 22nd" alone, or "the 25th of June". */
static int
ordinal_day_at(const struct px *P, int i, struct dx *d)
{
	int k, v, o, mo, q, y, m;
	int64_t day;

	if (!W(P, i, "the"))
		return -1;
	if ((v = day_at(P, i + 1, &k, &o)) == 0 || !o)
		return -1;
	if (W(P, k, "of") && (mo = month_at(P, k + 1, &q)) > 0) {
		k = q;
		y = 0;
		if (PU(P, k, ',') && year_at(P, k + 1))
			k++;
		if ((y = year_at(P, k)) != 0)
			k++;
		if ((d->day = ymd(P, y, mo, v)) == NODAY)
			return -1;
		d->flags |= MP_DX_DATE;
		return k;
	}
	if (!after_ordinal_ok(P, k))
		return -1;
	/* the next such day on or after the reference date */
	y = P->ry;
	m = P->rm;
	if (v < P->rd) {
		m++;
	}
	for (q = 0; q < 3; q++, m++) {
		if (m > 12) {
			m = 1;
			y++;
		}
		if (v <= days_in_month(y, m))
			break;
	}
	day = mp_dt_days_from_civil(y, m, v);
	d->day = day;
	d->flags |= MP_DX_DATE | MP_DX_RELATIVE;
	return k;
}

/* "in two weeks", "within 10 days", "a week from today", "two weeks'
 * time". */
static int
offset_date_at(const struct px *P, int i, struct dx *d)
{
	int k = i, n, unit;

	if (W(P, k, "in") || W(P, k, "within")) {
		k++;
		if (W(P, k, "the") && (W(P, k + 1, "next") ||
		    W(P, k + 1, "coming")))
			k += 2;
	} else if (!(small_number(P, k) > 0 && (W(P, k + 1, "week") ||
	    W(P, k + 1, "weeks") || W(P, k + 1, "days") ||
	    W(P, k + 1, "day")) && W(P, k + 2, "from"))) {
		return -1;
	}
	if (W(P, k, "a") && W(P, k + 1, "couple") && W(P, k + 2, "of")) {
		n = 2;
		k += 3;
	} else if (W(P, k, "a") && W(P, k + 1, "fortnight")) {
		n = 14;
		k += 2;
		unit = 1;
		goto have;
	} else if ((n = small_number(P, k)) < 0) {
		return -1;
	} else {
		k++;
	}
	if (W(P, k, "day") || W(P, k, "days"))
		unit = 1;
	else if (W(P, k, "week") || W(P, k, "weeks"))
		unit = 7;
	else
		return -1;
	k++;
	if (n < 1 || n > 365)
		return -1;
have:
	if (PU(P, k, '\'') || W(P, k, "s"))
		k++;
	if (W(P, k, "time"))
		k++;
	if (W(P, k, "from") && (W(P, k + 1, "today") || W(P, k + 1, "now"))) {
		k += 2;
	} else if (W(P, k, "from") && W(P, k + 1, "tomorrow")) {
		k += 2;
		n += 0;
		d->day = P->rday + 1 + (int64_t)n * unit;
		d->flags |= MP_DX_DATE | MP_DX_RELATIVE;
		return k;
	} else if (W(P, k, "from")) {
		return -1;
	}
	d->day = P->rday + (int64_t)n * unit;
	d->flags |= MP_DX_DATE | MP_DX_RELATIVE;
	return k;
}

/* Words that make a weekday an adjective ("our regular Wednesday call")
 * or a recurrence ("every Monday"). */
static int
wday_not_a_date(const struct px *P, int i, int next)
{
	static const char *const det[] = { "our", "the", "your", "their",
		"regular", "usual", "weekly", "every", "each", "a", "its",
		"my", "his", "her", "monthly", NULL };
	size_t k;

	for (k = 0; det[k] != NULL; k++)
		if (W(P, i - 1, det[k]))
			break;
	if (det[k] == NULL)
		return 0;
	if (W(P, i - 1, "every") || W(P, i - 1, "each"))
		return 1;
	/* "the Friday after", "our Friday call" */
	return next < P->n && P->t[next].type == TK_WORD &&
	    !W(P, next, "at") && !W(P, next, "the") && !W(P, next, "next");
}

static int
weekday_date_at(const struct px *P, int i, struct dx *d)
{
	int k = i, wd, mode = 0, q, eod = 0;
	struct dx e;

	/* COB/EOD/end of day before a weekday */
	if (W(P, k, "cob") || W(P, k, "eod") || W(P, k, "eob")) {
		k++;
		eod = 1;
	} else if ((W(P, k, "end") || W(P, k, "close")) && W(P, k + 1, "of") &&
	    (W(P, k + 2, "day") || W(P, k + 2, "business"))) {
		k += 3;
		eod = 1;
	} else if (W(P, k, "end") && W(P, k + 1, "of") && W(P, k + 2, "the") &&
	    W(P, k + 3, "day")) {
		k += 4;
		eod = 1;
	}
	if (eod) {
		if (PU(P, k, ','))
			k++;
		if (W(P, k, "on"))
			k++;
	}
	if (W(P, k, "this") || W(P, k, "coming")) {
		mode = 1;
		k++;
	} else if (W(P, k, "next")) {
		if (W(P, k + 1, "week") && wday_at(P, k + 2, &q) >= 0) {
			mode = 2;
			k += 2;
		} else {
			mode = 2;
			k++;
		}
	} else if (W(P, k, "last") || W(P, k, "past") ||
	    W(P, k, "previous")) {
		mode = 3;
		k++;
	} else if (W(P, k, "this") && W(P, k + 1, "coming")) {
		mode = 1;
		k += 2;
	}
	if ((wd = wday_at(P, k, &q)) < 0) {
		if (!eod)
			return -1;
		/* "end of day" alone: today, date only */
		if (W(P, k, "today") || W(P, k, "tomorrow")) {
			d->day = P->rday + (W(P, k, "tomorrow") ? 1 : 0);
			k++;
		} else {
			memset(&e, 0, sizeof(e));
			e.eday = NODAY;
			e.ehh = e.emm = -1;
			if (k > i + 3 && (q = explicit_at(P, k, &e)) > 0) {
				d->day = e.day;
				k = q;
			} else {
				d->day = P->rday;
				if (PU(P, k - 1, ',') || W(P, k - 1, "on"))
					k--;
			}
		}
		d->flags |= MP_DX_DATE | MP_DX_RELATIVE | MP_DX_EOD;
		return k;
	}
	if (mode == 0 && !eod && wday_not_a_date(P, k, q))
		return -1;
	d->wd = wd;
	k = q;
	if (eod)
		d->flags |= MP_DX_EOD;
	/* An explicit date after the weekday wins over it. */
	{
		int j = k;

		memset(&e, 0, sizeof(e));
		e.eday = NODAY;
		e.ehh = e.emm = -1;
		if (PU(P, j, ','))
			j++;
		if (W(P, j, "the") && (q = ordinal_day_at(P, j, &e)) > 0) {
			/* "Friday the 18th": the next 18th that is... the
			 * next such day on or after the reference. */
			*d = e;
			d->wd = wd;
			if (wday_of(d->day) != wd)
				d->flags |= MP_DX_WDAY_CONFLICT;
			return q;
		}
		if ((q = explicit_at(P, j, &e)) > 0) {
			e.wd = wd;
			*d = e;
			d->flags &= ~MP_DX_RELATIVE;
			if (eod)
				d->flags |= MP_DX_EOD;
			if (wday_of(d->day) != wd)
				d->flags |= MP_DX_WDAY_CONFLICT;
			return q;
		}
	}
	if (mode == 0 && W(P, k, "next") && W(P, k + 1, "week")) {
		mode = 2;
		k += 2;
	} else if (mode == 0 && W(P, k, "this") && W(P, k + 1, "week")) {
		mode = 1;
		k += 2;
	} else if (mode == 0 && W(P, k, "last") && W(P, k + 1, "week")) {
		mode = 3;
		k += 2;
	} else if (W(P, k, "week") && mode == 2) {
		k++;
	}
	switch (mode) {
	case 2:
		d->day = following_week_wday(P, wd);
		break;
	case 3:
		d->day = P->rday - ((P->rwday - wd + 7) % 7 == 0 ? 7 :
		    (P->rwday - wd + 7) % 7);
		break;
	default:
		d->day = next_wday(P, wd);
		break;
	}
	d->flags |= MP_DX_DATE | MP_DX_RELATIVE;
	return k;
}

/* today, tomorrow, end of the week/month, next week, ... */
static int
relative_at(const struct px *P, int i, struct dx *d)
{
	int k = i, mo, q;

	if (W(P, k, "today") || W(P, k, "tonight")) {
		d->day = P->rday;
		k++;
		goto rel;
	}
	if (W(P, k, "tomorrow")) {
		d->day = P->rday + 1;
		k++;
		goto rel;
	}
	if (W(P, k, "yesterday")) {
		d->day = P->rday - 1;
		k++;
		goto rel;
	}
	if (W(P, k, "the") && W(P, k + 1, "day") && W(P, k + 2, "after") &&
	    W(P, k + 3, "tomorrow")) {
		d->day = P->rday + 2;
		k += 4;
		goto rel;
	}
	if (W(P, k, "day") && W(P, k + 1, "after") && W(P, k + 2, "tomorrow")) {
		d->day = P->rday + 2;
		k += 3;
		goto rel;
	}
	if (W(P, k, "this") && (W(P, k + 1, "morning") ||
	    W(P, k + 1, "afternoon") || W(P, k + 1, "evening"))) {
		d->day = P->rday;
		k += 2;
		goto rel;
	}
	if (W(P, k, "last") && W(P, k + 1, "night")) {
		d->day = P->rday - 1;
		k += 2;
		goto rel;
	}
	if (W(P, k, "eow")) {
		d->day = this_week_friday(P);
		k++;
		goto rel;
	}
	if (W(P, k, "eom")) {
		d->day = month_end(P->ry, P->rm);
		k++;
		goto rel;
	}
	/* (the) end of (the|this|next) week/month, end of June */
	if (W(P, k, "the") && W(P, k + 1, "end"))
		k++;
	if (W(P, k, "end") && W(P, k + 1, "of")) {
		int j = k + 2, next = 0;

		if (W(P, j, "the") || W(P, j, "this"))
			j++;
		else if (W(P, j, "next")) {
			next = 1;
			j++;
		}
		if (W(P, j, "week")) {
			d->day = next ? following_week_wday(P, 5) :
			    this_week_friday(P);
			k = j + 1;
			goto rel;
		}
		if (W(P, j, "month")) {
			int y = P->ry, m = P->rm + next;

			if (m > 12) {
				m = 1;
				y++;
			}
			d->day = month_end(y, m);
			k = j + 1;
			goto rel;
		}
		if (W(P, j, "year")) {
			d->day = mp_dt_days_from_civil(P->ry + next, 12, 31);
			k = j + 1;
			goto rel;
		}
		if (j == k + 2 && (mo = month_at(P, j, &q)) > 0 &&
		    P->t[j].cap) {
			int64_t last = infer_year(P, mo, 1);
			int y, m, dd;

			if (last == NODAY)
				return -1;
			mp_dt_civil_from_days(last, &y, &m, &dd);
			d->day = month_end(y, m);
			k = q;
			if ((y = year_at(P, k)) != 0) {
				d->day = month_end(y, mo);
				k++;
			}
			d->flags |= MP_DX_DATE;
			return k;
		}
		return -1;
	}
	k = i;
	/* spans: next week, this week, later this week, next month, in
	 * July, early July, mid-July, July 2021 */
	if (W(P, k, "later") || W(P, k, "early") || W(P, k, "earlier"))
		k++;
	if (wday_at(P, k + 2, &q) >= 0 && W(P, k + 1, "week"))
		return -1;
	if ((W(P, k, "next") || W(P, k, "this") || W(P, k, "last") ||
	    W(P, k, "coming")) && (W(P, k + 1, "week") ||
	    W(P, k + 1, "month") || W(P, k + 1, "weekend"))) {
		int sign = W(P, k, "last") ? -1 : W(P, k, "next") ? 1 : 0;

		if (W(P, k + 1, "month")) {
			d->day = P->rday + sign * 30;
		} else {
			d->day = P->rday - mon0(P->rwday) + sign * 7;
			if (W(P, k + 1, "weekend"))
				d->day += 5;
			if (sign == 0 && d->day < P->rday)
				d->day = P->rday;
		}
		d->flags |= MP_DX_DATE | MP_DX_VAGUE | MP_DX_RELATIVE;
		return k + 2;
	}
	k = i;
	if (W(P, k, "in") || W(P, k, "during") || W(P, k, "early") ||
	    W(P, k, "mid") || W(P, k, "late") || W(P, k, "until")) {
		k++;
		if (PU(P, k, '-') && ADJ(P, k))
			k++;
		if (W(P, k, "early") || W(P, k, "mid") || W(P, k, "late")) {
			k++;
			if (PU(P, k, '-') && ADJ(P, k))
				k++;
		}
		if ((mo = month_at(P, k, &q)) > 0 && P->t[k].cap &&
		    !NUM(P, q)) {
			int64_t first = infer_year(P, mo, 1);

			if (first == NODAY)
				return -1;
			k = q;
			if (year_at(P, k)) {
				first = mp_dt_days_from_civil(P->t[k].val, mo,
				    1);
				k++;
			}
			d->day = first;
			d->flags |= MP_DX_DATE | MP_DX_VAGUE;
			return k;
		}
	}
	return -1;
rel:
	d->flags |= MP_DX_DATE | MP_DX_RELATIVE;
	if (W(P, k, "morning") || W(P, k, "afternoon") ||
	    W(P, k, "evening") || W(P, k, "night"))
		k++;
	return k;
}

static int
date_at(const struct px *P, int i, struct dx *d)
{
	int k;

	if ((k = relative_at(P, i, d)) > 0)
		return k;
	if ((k = weekday_date_at(P, i, d)) > 0)
		return k;
	if ((k = offset_date_at(P, i, d)) > 0)
		return k;
	if ((k = ordinal_day_at(P, i, d)) > 0) {
		if (i > 0 && !before_ordinal_ok(P, i - 1) &&
		    (d->flags & MP_DX_RELATIVE))
			return -1;
		return k;
	}
	if ((k = explicit_at(P, i, d)) > 0)
		return k;
	return -1;
}

/* Words that may sit between a date and its time, or a time and its
 * date. */
static int
skip_link(const struct px *P, int k, int *paren)
{
	int n;

	*paren = 0;
	for (n = 0; n < 3 && k < P->n; n++) {
		if (PU(P, k, ',') || W(P, k, "at") || PU(P, k, '@') ||
		    W(P, k, "from") || W(P, k, "between") || W(P, k, "on") ||
		    W(P, k, "starting") || W(P, k, "beginning") ||
		    W(P, k, "by") || W(P, k, "before") || W(P, k, "until") ||
		    PU(P, k, '-') || W(P, k, "of")) {
			k++;
		} else if (PU(P, k, '(')) {
			*paren = 1;
			k++;
		} else {
			break;
		}
	}
	return k;
}

static int
expr_at(const struct px *P, int i, struct dx *d)
{
	int k, j, q, paren;
	struct dx t;

	memset(d, 0, sizeof(*d));
	d->eday = NODAY;
	d->ehh = d->emm = -1;
	d->wd = -1;
	if ((k = date_at(P, i, d)) > 0) {
		if (d->flags & MP_DX_VAGUE)
			return k;
		j = skip_link(P, k, &paren);
		t = *d;
		if ((q = time_at(P, j, &t)) > 0) {
			if (paren && PU(P, q, ')'))
				q++;
			*d = t;
			k = q;
		}
		return k;
	}
	if ((k = time_at(P, i, d)) > 0) {
		j = skip_link(P, k, &paren);
		t = *d;
		if (j > k && (q = date_at(P, j, &t)) > 0 &&
		    !(t.flags & MP_DX_VAGUE)) {
			if (paren && PU(P, q, ')'))
				q++;
			*d = t;
			k = q;
		}
		return k;
	}
	return -1;
}

/* Words that can open an expression. */
static const char *const starters[] = {
	"a", "an", "apr", "april", "aug", "august", "close", "cob", "coming",
	"day", "dec", "december", "during", "earlier", "early", "eight", "eleven",
	"end", "eob", "eod", "eom", "eow", "feb", "february", "five", "four",
	"fri", "friday", "in", "jan", "january", "jul", "july", "jun", "june",
	"last", "late", "later", "mar", "march", "may", "mid", "midday",
	"midnight", "mon", "monday", "next", "nine", "noon", "nov", "november",
	"oct", "october", "one", "past", "previous", "sat", "saturday", "sep",
	"sept", "september", "seven", "six", "sun", "sunday", "ten", "the",
	"this", "three", "thu", "thur", "thurs", "thursday", "today", "tomorrow",
	"tonight", "tue", "tues", "tuesday", "twelve", "two", "until", "wed",
	"wednesday", "within", "yesterday", NULL
};

/* A cheap test before trying the grammar at token i. */
static int
may_start(const struct px *P, int i)
{
	if (P->t[i].type == TK_NUM)
		return 1;
	return P->t[i].type == TK_WORD && mp_word_in(P->t[i].w, starters);
}

/* ---- resolution into struct mp_dateexpr ---- */

static int64_t
local_instant(int64_t day, int hh, int mm, const struct dx *d,
    const struct mp_dateref *ref, long *off)
{
	if (d->ziana) {
		struct mp_tm tm;
		int64_t t;

		memset(&tm, 0, sizeof(tm));
		mp_dt_civil_from_days(day, &tm.year, &tm.mon, &tm.mday);
		tm.hour = hh;
		tm.min = mm;
		if (mp_dt_from_local(&tm, d->zone, &t) == 0) {
			*off = (long)(day * 86400 + hh * 3600 + mm * 60 - t);
			return t;
		}
	}
	*off = (d->flags & MP_DX_ZONE) ? d->zoff : ref->off;
	return day * 86400 + hh * 3600L + mm * 60L - *off;
}

static void
finish(const struct px *P, const struct dx *d, struct mp_dateexpr *x)
{
	int64_t day = (d->flags & MP_DX_DATE) ? d->day : P->rday;
	long off;

	x->flags = d->flags;
	mp_dt_civil_from_days(day, &x->year, &x->mon, &x->mday);
	x->wday = wday_of(day);
	x->hour = x->min = -1;
	x->end_hour = x->end_min = -1;
	snprintf(x->zone, sizeof(x->zone), "%s",
	    (d->flags & MP_DX_ZONE) ? d->zone : "");
	if (d->flags & MP_DX_TIME) {
		x->hour = d->hh;
		x->min = d->mm;
		x->instant = local_instant(day, d->hh, d->mm, d, P->ref, &off);
	} else {
		x->instant = local_instant(day, 0, 0, d, P->ref, &off);
	}
	x->zone_off = off;
	if ((d->flags & MP_DX_DATE) && day < P->rday)
		x->flags |= MP_DX_PAST;
	if (d->eday != NODAY || d->ehh >= 0) {
		int64_t eday = d->eday != NODAY ? d->eday : day;

		x->flags |= MP_DX_RANGE;
		mp_dt_civil_from_days(eday, &x->end_year, &x->end_mon,
		    &x->end_mday);
		x->end_hour = d->ehh;
		x->end_min = d->emm;
		x->end_instant = local_instant(eday, d->ehh >= 0 ? d->ehh : 0,
		    d->ehh >= 0 ? d->emm : 0, d, P->ref, &off);
	}
}

static void
px_init(struct px *P, const char *s, const struct tok *t, int n,
    const struct mp_dateref *ref)
{
	int64_t l = ref->t + ref->off;

	P->s = s;
	P->t = t;
	P->n = n;
	P->ref = ref;
	P->rday = l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
	P->rwday = wday_of(P->rday);
	mp_dt_civil_from_days(P->rday, &P->ry, &P->rm, &P->rd);
}

static size_t
tok_end(const struct px *P, int k)
{
	return P->t[k - 1].off + P->t[k - 1].len;
}

size_t
mp_dateexpr_parse(const char *s, size_t len, const struct mp_dateref *ref,
    struct mp_dateexpr *out)
{
	struct tok stack[64], *t = NULL;
	struct px P;
	struct dx d;
	int n, k;
	size_t used = 0;

	memset(out, 0, sizeof(*out));
	n = tokenize(s, len, &t, stack, 64);
	px_init(&P, s, t, n, ref);
	if (n > 0 && t[0].off == 0 && (k = expr_at(&P, 0, &d)) > 0) {
		finish(&P, &d, out);
		used = tok_end(&P, k);
		out->start = 0;
		out->end = used;
	}
	if (t != stack)
		free(t);
	return used;
}

/*
 * Every expression holds a number or one of these words: month and
 * weekday names, number words, the relative days and spans, the named
 * times (a clock time needs a number or noon, midday, midnight; a zone
 * only follows a time). The other words the grammar reads ("the", "in",
 * "next", "end", "close", "of" ...) only come beside one of them. Most
 * sentences that extraction asks about hold none (two in three have no
 * digit either) and are not tokenised: 9,400 instructions each.
 */
static const char *const anchors[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december", "jan",
	"feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
	"dec", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday", "sunday", "mon", "tue", "tues", "wed", "thu", "thur",
	"thurs", "fri", "sat", "sun", "zero", "one", "two", "three", "four",
	"five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
	"couple", "today", "tonight", "tomorrow", "yesterday", "day", "days",
	"week", "weeks", "weekend", "weekly", "month", "monthly", "year",
	"fortnight", "hours", "hrs", "morning", "afternoon", "evening",
	"night", "noon", "midday", "midnight", "eod", "eob", "eom", "eow",
	"cob", "business", NULL
};

/* 0 when s[0..len) can hold no expression: no digit, no anchor word.
 * Words are split more finely than tokenize() splits them (at every
 * byte that is not an ASCII letter), so a word the grammar could read is
 * seen whole here. */
static int
may_hold(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j;
	unsigned h;
	char w[16];

	while (i < len && p[i] != '\0') {
		if (mp_is_digit(p[i]))
			return 1;
		if (!mp_is_alpha(p[i])) {
			i++;
			continue;
		}
		h = MP_WORD_HASH_INIT;
		for (j = 0; i < len && mp_is_alpha(p[i]); i++, j++)
			if (j + 1 < sizeof(w)) {
				w[j] = (char)(mp_is_upper(p[i]) ? p[i] + 32 :
				    p[i]);
				h = mp_word_hash_add(h, (unsigned char)w[j]);
			}
		if (j + 1 < sizeof(w)) {
			w[j] = '\0';
			if (mp_word_in_n(w, j, h, anchors))
				return 1;
		}
	}
	return 0;
}

size_t
mp_dateexpr_scan(const char *s, size_t len, const struct mp_dateref *ref,
    struct mp_dateexpr *out, size_t max)
{
	struct tok stack[128], *t = NULL;
	struct px P;
	struct dx d;
	size_t found = 0;
	int n, i, k;

	if (!may_hold(s, len))
		return 0;
	n = tokenize(s, len, &t, stack, 128);
	px_init(&P, s, t, n, ref);
	for (i = 0; i < n && found < max;) {
		/* An expression starts at a word boundary only. */
		if (!may_start(&P, i) ||
		    (t[i].type != TK_PUNCT && !t[i].sp && i > 0 &&
		    t[i - 1].type != TK_PUNCT) ||
		    (k = expr_at(&P, i, &d)) <= 0) {
			i++;
			continue;
		}
		finish(&P, &d, &out[found]);
		out[found].start = t[i].off;
		out[found].end = tok_end(&P, k);
		found++;
		i = k;
	}
	if (t != stack)
		free(t);
	return found;
}

void
mp_dateexpr_combine(struct mp_dateexpr *d, const struct mp_dateexpr *t,
    const struct mp_dateref *ref)
{
	int64_t day = mp_dt_days_from_civil(d->year, d->mon, d->mday);
	int64_t tday = mp_dt_days_from_civil(t->year, t->mon, t->mday);

	if (!(t->flags & MP_DX_TIME))
		return;
	d->flags |= MP_DX_TIME | (t->flags & MP_DX_ZONE);
	d->flags &= ~MP_DX_EOD;
	d->hour = t->hour;
	d->min = t->min;
	memcpy(d->zone, t->zone, sizeof(d->zone));
	/* t's instant is its local time on its own day in its offset: move
	 * it by whole days; IANA offsets rarely change within a week. */
	d->instant = t->instant + (day - tday) * 86400;
	d->zone_off = t->zone_off;
	if (t->end_hour >= 0) {
		d->flags |= MP_DX_RANGE;
		d->end_year = d->year;
		d->end_mon = d->mon;
		d->end_mday = d->mday;
		d->end_hour = t->end_hour;
		d->end_min = t->end_min;
		d->end_instant = t->end_instant + (day - tday) * 86400;
	}
	(void)ref;
}

void
mp_dateexpr_due(const struct mp_dateexpr *x, char *buf, size_t n)
{
	if (n == 0)
		return;
	buf[0] = '\0';
	if (x->flags & MP_DX_TIME)
		mp_dt_iso_utc(x->instant, buf, n);
	else if (x->flags & MP_DX_DATE)
		snprintf(buf, n, "%04d-%02d-%02d", x->year, x->mon, x->mday);
}
