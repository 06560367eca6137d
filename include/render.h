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
struct mp_member;
struct mp_plan;
struct mp_store;
struct mp_err;
struct mp_val;

struct mp_rendered {
	char *subject;          /* owned, UTF-8, one line */
	char *text;             /* owned */
	char *html;             /* owned, or NULL when no HTML template */
	int empty;              /* digest: no new mail and nothing ahead */
	int64_t upto_seq;       /* digest: highest message seq covered */
};

/* The digest of member m covering messages with seq > after_seq. */
int mp_render_digest(const struct mp_config *c, struct mp_store *st,
    const struct mp_member *m, int64_t after_seq, int64_t now,
    struct mp_rendered *out, struct mp_err *e);

/* A reminder (deadline, event or the chair's) for one recipient. */
int mp_render_reminder(const struct mp_config *c, const struct mp_plan *p,
    int64_t now, struct mp_rendered *out, struct mp_err *e);

/* Path of a template: the folder of [digest] template plus name and ext
 * ("reminder", ".txt"). Caller frees. */
char *mp_render_template_path(const struct mp_config *c, const char *name,
    const char *ext);

void mp_rendered_free(struct mp_rendered *r);

#endif
