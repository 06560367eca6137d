/*
 * ics.h - iCalendar (RFC 5545) attachments for reminders and notices:
 * one VCALENDAR with METHOD:PUBLISH holding one VEVENT and a VALARM,
 * written by libical.
 *
 * Calendar clients match an event by UID and keep the copy with the
 * highest SEQUENCE, so a UID must stay the same for an item across every
 * email (mp_ics_uid) and the sequence must grow whenever its time changes.
 */
#ifndef MP_ICS_H
#define MP_ICS_H

#include <stddef.h>
#include <stdint.h>

struct mp_err;

struct mp_ics_event {
	const char *uid;         /* required, e.g. from mp_ics_uid */
	int64_t start;           /* DTSTART, UTC instant */
	int64_t end;             /* DTEND, after start */
	int64_t stamp;           /* DTSTAMP: when this version was written */
	const char *summary;     /* required, UTF-8 */
	const char *description; /* UTF-8 or NULL */
	const char *url;         /* or NULL */
	const char *location;    /* or NULL */
	int sequence;            /* >= 0 */
	int cancelled;           /* STATUS:CANCELLED instead of CONFIRMED */
	int64_t alarm;           /* VALARM this many seconds before, or < 0 */
	int alarm_at_end;        /* the alarm counts back from DTEND */
};

/* The calendar text (CRLF lines, UTF-8), caller frees. NULL with
 * MP_EX_DATAERR when a required field is missing, end <= start, or a
 * text is not valid UTF-8; control characters in texts are replaced by
 * spaces (RFC 5545 3.3.11 allows none but HTAB). */
char *mp_ics_event(const struct mp_ics_event *ev, struct mp_err *e);

/* Stable UID "ITEM@DOMAIN" of an item (its INI section name), DOMAIN
 * from the sender's address ("magpie.invalid" without one). */
void mp_ics_uid(const char *item, const char *from_addr, char *buf,
    size_t n);

#endif
