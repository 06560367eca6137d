/*
 * extract.h - action items (requests, deadlines, dated events) from a
 * message's own text, with dates resolved against its Date and zone.
 */
#ifndef MP_EXTRACT_H
#define MP_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

struct mp_msg;
struct mp_config;

enum mp_action_kind { MP_ACT_DEADLINE = 0, MP_ACT_REQUEST, MP_ACT_EVENT };

struct mp_action {
	enum mp_action_kind kind;
	char *assignee;         /* owned: the name as written, or NULL for
	                           everyone, a group or an organisation */
	const char *member;     /* borrowed from opts->config: the id of the
	                           member the assignee names, or NULL */
	char due[32];           /* "", "2021-06-17" or "2021-06-17T23:59:00Z" */
	char *text;             /* owned: the sentence, whitespace folded */
};

struct mp_extract_opts {
	int month_first;        /* 1: 06/17/2021 is month-first */
	const struct mp_config *config;   /* members for assignees, or NULL */
};

/* Items found in m->own, in text order. *out owned by the caller. */
int mp_extract(const struct mp_msg *m, const struct mp_extract_opts *o,
    struct mp_action **out, size_t *n);
void mp_actions_free(struct mp_action *a, size_t n);
const char *mp_action_kind_name(enum mp_action_kind k);

#endif
