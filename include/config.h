/*
 * config.h - the configuration model (INI files read with inih).
 *
 * mp_config_load() reads the main file and every file it includes, fills
 * one struct mp_config, validates it, and collects every problem found as
 * "FILE:LINE: message" in the diagnostics (it never stops at the first).
 * Relative paths in values (store path, mbox:/maildir: sources,
 * maildir: transport, templates, password and CA files, includes) are
 * relative to the directory of the file that contains them; the model
 * holds them already joined.
 *
 * Everything in the model is owned by the struct mp_config and valid until
 * mp_config_free(). Every entry carries the file and line it came from.
 */
#ifndef MP_CONFIG_H
#define MP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct mp_diag;

#define MP_MAX_REMIND 16

enum mp_tls { MP_TLS_AUTO = 0, MP_TLS_NONE };           /* AUTO: required */
enum mp_digest_mode { MP_DIGEST_DAILY = 0, MP_DIGEST_WEEKLY, MP_DIGEST_OFF };
enum mp_item_kind { MP_ITEM_DEADLINE = 0, MP_ITEM_EVENT, MP_ITEM_REMINDER };
enum mp_date_order { MP_DATE_DMY = 0, MP_DATE_MDY };

struct mp_where {
	const char *file;   /* borrowed from mp_config.files */
	int line;
};

struct mp_list_cfg {
	char *id;               /* section name: [list mag] -> "mag" */
	char *name;             /* display name; default: id */
	char *source;           /* imaps://user@host[:port]/Folder, imap://..., mbox:PATH, maildir:PATH (path joined) */
	char *user;             /* optional; else taken from the URL */
	char *password_file;    /* joined path or NULL */
	char *password_command; /* or NULL */
	char *ca_file;          /* joined path or NULL: system trust store */
	char *list_id;          /* or NULL: keep every message */
	char *archive_url;      /* Mustache-ish pattern with {{message_id}}, or NULL */
	enum mp_tls tls;
	int batch;              /* messages per FETCH/commit, default 200 */
	int64_t max_size;       /* bytes, default 25 MB */
	int timeout;            /* seconds, default 60 */
	struct mp_where where;
};

struct mp_delivery_cfg {
	char *transport;        /* smtp://h:587, smtps://h:465, sendmail:PATH, maildir:PATH (joined) */
	char *user;
	char *password_file;
	char *password_command;
	char *ca_file;
	char *from;             /* "Name <addr>" as written */
	char *from_name;        /* parsed display name ("" when none) */
	char *from_addr;        /* parsed address */
	char *bounce;           /* envelope sender; default from_addr */
	enum mp_tls tls;
	int timeout;            /* seconds, default 60 */
	int max_attempts;       /* temporary failures before giving up, default 10 */
	int64_t max_age;        /* seconds a pending email is retried, default 3d */
	struct mp_where where;
};

struct mp_digest_cfg {
	int minute;             /* minutes after local midnight, default 07:00 */
	int weekday;            /* weekly digests: 0 = Sunday .. 6, default 1 (Monday) */
	int send_empty;         /* default 0 */
	int days_ahead;         /* agenda horizon in the digest, default 14 */
	char *template;         /* joined path prefix, e.g. ".../templates/digest" */
	struct mp_where where;
};

struct mp_member {
	char *id;               /* section name */
	char *name;             /* default: id */
	char *email;            /* required */
	char *tz;               /* IANA zone, default "UTC" */
	enum mp_digest_mode digest;
	char **groups;          /* owned array of owned strings */
	size_t ngroups;
	struct mp_where where;
};

struct mp_quiet {
	int64_t first_day;      /* days since epoch (civil date), inclusive */
	int64_t last_day;       /* inclusive */
};

struct mp_calendar_cfg {
	struct mp_quiet *quiet;
	size_t nquiet;
	int skip_weekends;
	struct mp_where where;
};

struct mp_extract_cfg {
	enum mp_date_order date_order;
};

/* [threads] */
struct mp_threads_cfg {
	int64_t subject_window; /* seconds; -1: no subject fallback ("off") */
};

/* A deadline, an event or one of the chair's reminders. */
struct mp_item {
	enum mp_item_kind kind;
	char *id;               /* section name, used as X-Magpie-Item */
	char *title;            /* default: id; reminders: subject */
	int64_t due;            /* deadline due / event starts / reminder at */
	char *zone;             /* zone as written in due/starts/at ("UTC") */
	int64_t ends;           /* events: end, or 0 */
	int64_t remind[MP_MAX_REMIND]; /* offsets before due, largest first */
	size_t nremind;
	int64_t overdue;        /* notice this long after due, 0 = none */
	char **to;              /* raw entries: member id, group:NAME, address */
	size_t nto;
	char **pending;         /* addresses or member ids; NULL = everyone */
	size_t npending;
	char *url, *note, *location;   /* optional */
	char *subject, *body;          /* reminders */
	int64_t repeat;         /* reminders: seconds between repeats, 0 = once */
	int64_t until;          /* reminders: last repeat at or before, 0 = none */
	struct mp_where where;
};

struct mp_config {
	char *path;             /* main file as given */
	char **files;           /* every file read, in order; owned */
	size_t nfiles;
	char *store_path;       /* joined; default "var/magpie.db" beside the main file */
	struct mp_list_cfg *lists;
	size_t nlists;
	struct mp_delivery_cfg delivery;
	struct mp_digest_cfg digest;
	struct mp_member *members;
	size_t nmembers;
	struct mp_item *items;
	size_t nitems;
	struct mp_calendar_cfg calendar;
	struct mp_extract_cfg extract;
	struct mp_threads_cfg threads;
};

/* A resolved recipient; strings borrowed from the config. */
struct mp_rcpt {
	const struct mp_member *member;  /* NULL for a bare address */
	const char *name;                /* member name, or "" */
	const char *email;
	const char *tz;                  /* member zone, or "UTC" */
};

/* Load and validate. Returns 0 and *out on success; -1 when any problem
 * was found, with every problem in d and *out NULL. */
int mp_config_load(const char *path, struct mp_config **out,
    struct mp_diag *d);
void mp_config_free(struct mp_config *c);

const struct mp_member *mp_config_member(const struct mp_config *c,
    const char *email_or_id);
const struct mp_item *mp_config_item(const struct mp_config *c,
    const char *id);

/* Resolve an item's "to" into unique recipients (by address, in config
 * order of members). *out is owned by the caller (free()). */
int mp_config_recipients(const struct mp_config *c, const struct mp_item *it,
    struct mp_rcpt **out, size_t *n);

/* 1 when email (any case) is among the recipients of it. */
int mp_config_is_recipient(const struct mp_config *c,
    const struct mp_item *it, const char *email);

/* "deadline", "event" or "reminder". */
const char *mp_config_item_kind_name(enum mp_item_kind k);

/* 1 when email is listed in it->pending (by address or member id), or when
 * the item has no pending list. */
int mp_config_is_pending(const struct mp_config *c, const struct mp_item *it,
    const char *email);

#endif
