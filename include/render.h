/*
 * render.h - the data behind each email (digest, reminder) and its
 * rendering through the Mustache templates of the configuration.
 *
 * Digest and reminder data are built as struct mp_val trees (val.h) so a
 * template author sees the same names in every template; the names are
 * listed in etc/templates/README.
 */
#ifndef MP_RENDER_H
#define MP_RENDER_H

#include <stdint.h>

struct mp_config;
struct mp_item;
struct mp_member;
struct mp_plan;
struct mp_rcpt;
struct mp_store;
struct mp_err;
struct mp_val;

/* Text parts are wrapped at this many columns. */
#define MP_RENDER_WIDTH 72

struct mp_rendered {
	char *subject;          /* owned, UTF-8, one line */
	char *text;             /* owned */
	char *html;             /* owned, or NULL when no HTML template */
	char *ics;              /* owned text/calendar (METHOD:PUBLISH) for
	                         * deadlines and events, or NULL */
	int empty;              /* digest: no new mail and nothing ahead */
	int64_t upto_seq;       /* digest: highest message seq covered */
};

/* The digest of member m covering messages with seq > after_seq. */
int mp_render_digest(const struct mp_config *c, struct mp_store *st,
    const struct mp_member *m, int64_t after_seq, int64_t now,
    struct mp_rendered *out, struct mp_err *e);

/* A reminder for one recipient: deadlines and events through the
 * "reminder" templates with an .ics (SEQUENCE 0: see mp_render_ics), the
 * chair's through "adhoc". Titles, subjects and bodies come from config:
 * control characters in them become spaces in the subject, so no value
 * can break a header. */
int mp_render_reminder(const struct mp_config *c, const struct mp_plan *p,
    int64_t now, struct mp_rendered *out, struct mp_err *e);

/* The .ics of a deadline or event: UID mp_ics_uid(item id, sender),
 * DTSTART/DTEND in UTC (a deadline is the half hour before it is due,
 * since RFC 5545 wants DTEND after DTSTART), SUMMARY, DESCRIPTION (note,
 * times), URL, LOCATION, the given SEQUENCE, STATUS:CANCELLED when
 * cancelled, and a VALARM (1 hour before a deadline, 15 minutes before an
 * event). *out is owned by the caller. */
int mp_render_ics(const struct mp_config *c, const struct mp_item *it,
    int sequence, int cancelled, int64_t now, char **out, struct mp_err *e);

enum mp_notice_kind { MP_NOTICE_CHANGED = 0, MP_NOTICE_CANCELLED };

/* A change or cancellation of a deadline or event, for recipients who
 * were reminded of it. */
struct mp_notice {
	enum mp_notice_kind kind;
	/* CHANGED: the item as configured now. CANCELLED: the item as last
	 * known; when it is gone from the config the caller may build one
	 * with only kind, id, title (the id will do), due and ends set. */
	const struct mp_item *item;
	int64_t old_due;        /* CHANGED: the time recipients were told */
	int64_t old_ends;       /* CHANGED: events' old end, or 0 */
	int sequence;           /* iCalendar SEQUENCE (store item_state) */
};

/* Render the notice through the "changed" or "cancelled" templates, with
 * an .ics carrying the new time (or STATUS:CANCELLED). Template data: the
 * item fields of a reminder, plus old_when, old_when_utc, old_ends and
 * has_old_ends (CHANGED). */
int mp_render_notice(const struct mp_config *c, const struct mp_notice *n,
    const struct mp_rcpt *to, int64_t now, struct mp_rendered *out,
    struct mp_err *e);

/* Path of a template: the folder of [digest] template plus name and ext
 * ("reminder", ".txt"). Caller frees. */
char *mp_render_template_path(const struct mp_config *c, const char *name,
    const char *ext);

void mp_rendered_free(struct mp_rendered *r);

/* Templates are parsed once per process and kept; this forgets them
 * (for a changed template, and at exit so nothing is left allocated). */
void mp_render_cache_clear(void);

#endif
