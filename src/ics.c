/*
 * ics.c - one-event iCalendar objects through libical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "buf.h"
#include "err.h"
#include "ics.h"

/* Longest alarm offset libical's int durations hold comfortably. */
#define ALARM_MAX (366 * 86400)

static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t len, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4;
		else
			return 0;
		for (i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		/* overlong 3/4-byte forms, surrogates, past U+10FFFF */
		if ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		p += len;
	}
	return 1;
}

/* RFC 5545 3.3.11: TEXT holds no control characters but HTAB; line
 * breaks travel escaped ("\n"), which libical does for LF. keep_lf
 * keeps LF (descriptions), everything else becomes a space. */
static char *
clean_text(const char *s, int keep_lf)
{
	char *t = mp_xstrdup(s), *p;

	for (p = t; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t' && !(c == '\n' && keep_lf)) ||
		    c == 0x7f)
			*p = ' ';
	}
	return t;
}

static struct icaltimetype
utc(int64_t t)
{
	return icaltime_from_timet_with_zone((time_t)t, 0,
	    icaltimezone_get_utc_timezone());
}

static void
add_text(icalcomponent *c, icalproperty *(*make)(const char *),
    const char *s, int keep_lf)
{
	char *t;

	if (s == NULL || *s == '\0')
		return;
	t = clean_text(s, keep_lf);
	icalcomponent_add_property(c, make(t));
	free(t);
}

static icalcomponent *
make_alarm(const struct mp_ics_event *ev)
{
	icalcomponent *a = icalcomponent_new_valarm();
	struct icaltriggertype trig;
	icalproperty *p;
	char *t;

	memset(&trig, 0, sizeof(trig));
	trig.time = icaltime_null_time();
	trig.duration = icaldurationtype_from_int(-(int)ev->alarm);
	p = icalproperty_new_trigger(trig);
	if (ev->alarm_at_end)
		icalproperty_add_parameter(p,
		    icalparameter_new_related(ICAL_RELATED_END));
	icalcomponent_add_property(a, icalproperty_new_action(
	    ICAL_ACTION_DISPLAY));
	icalcomponent_add_property(a, p);
	/* RFC 5545 3.6.6: a DISPLAY alarm must carry a DESCRIPTION. */
	t = clean_text(ev->summary, 0);
	icalcomponent_add_property(a, icalproperty_new_description(t));
	free(t);
	return a;
}

char *
mp_ics_event(const struct mp_ics_event *ev, struct mp_err *e)
{
	const char *texts[4];
	icalcomponent *cal, *vev;
	char *s, *out;
	size_t i;

	if (ev->uid == NULL || *ev->uid == '\0' || ev->summary == NULL ||
	    *ev->summary == '\0') {
		mp_err_set(e, MP_EX_DATAERR, "calendar event without %s",
		    ev->uid == NULL || *ev->uid == '\0' ? "UID" : "summary");
		return NULL;
	}
	if (ev->end <= ev->start) {
		mp_err_set(e, MP_EX_DATAERR, "calendar event %s ends before "
		    "it starts", ev->uid);
		return NULL;
	}
	texts[0] = ev->uid;
	texts[1] = ev->summary;
	texts[2] = ev->description;
	texts[3] = ev->location;
	for (i = 0; i < 4; i++)
		if (texts[i] != NULL && !utf8_ok(texts[i])) {
			mp_err_set(e, MP_EX_DATAERR, "calendar event %s: text "
			    "is not valid UTF-8", i == 0 ? "UID" : ev->uid);
			return NULL;
		}
	if (ev->url != NULL && strpbrk(ev->url, " \t\r\n\"<>") != NULL) {
		mp_err_set(e, MP_EX_DATAERR, "calendar event %s: bad URL",
		    ev->uid);
		return NULL;
	}

	cal = icalcomponent_new_vcalendar();
	icalcomponent_add_property(cal,
	    icalproperty_new_prodid("-//magpie//magpie reminders//EN"));
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalcomponent_add_property(cal,
	    icalproperty_new_method(ICAL_METHOD_PUBLISH));

	vev = icalcomponent_new_vevent();
	add_text(vev, icalproperty_new_uid, ev->uid, 0);
	icalcomponent_add_property(vev, icalproperty_new_dtstamp(
	    utc(ev->stamp)));
	icalcomponent_add_property(vev, icalproperty_new_dtstart(
	    utc(ev->start)));
	icalcomponent_add_property(vev, icalproperty_new_dtend(utc(ev->end)));
	icalcomponent_add_property(vev, icalproperty_new_sequence(
	    ev->sequence > 0 ? ev->sequence : 0));
	icalcomponent_add_property(vev, icalproperty_new_status(
	    ev->cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	/* Deadlines and meetings block no time in free/busy lookups. */
	icalcomponent_add_property(vev, icalproperty_new_transp(
	    ICAL_TRANSP_TRANSPARENT));
	add_text(vev, icalproperty_new_summary, ev->summary, 0);
	add_text(vev, icalproperty_new_description, ev->description, 1);
	add_text(vev, icalproperty_new_location, ev->location, 0);
	if (ev->url != NULL && *ev->url != '\0')
		icalcomponent_add_property(vev, icalproperty_new_url(ev->url));
	if (ev->alarm >= 0 && ev->alarm <= ALARM_MAX && !ev->cancelled)
		icalcomponent_add_component(vev, make_alarm(ev));
	icalcomponent_add_component(cal, vev);

	s = icalcomponent_as_ical_string_r(cal);
	icalcomponent_free(cal);
	if (s == NULL) {
		mp_err_set(e, MP_EX_SOFTWARE, "libical: %s",
		    icalerror_strerror(icalerrno));
		return NULL;
	}
	/* Our callers free with free(); libical's buffer has its own. */
	out = mp_xstrdup(s);
	icalmemory_free_buffer(s);
	return out;
}

void
mp_ics_uid(const char *item, const char *from_addr, char *buf, size_t n)
{
	const char *at = from_addr != NULL ? strrchr(from_addr, '@') : NULL;
	const char *dom = at != NULL && at[1] != '\0' ? at + 1 :
	    "magpie.invalid";

	if (n == 0)
		return;
	snprintf(buf, n, "%s@%s", item != NULL ? item : "", dom);
}
