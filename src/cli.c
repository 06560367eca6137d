/*
 * cli.c - command line parsing, the commands, and their output.
 *
 * The only place that turns an mp_err into an exit status: the codes are
 * sysexits.h values already (see err.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "compose.h"
#include "config.h"
#include "datetime.h"
#include "embed.h"
#include "err.h"
#include "extract.h"
#include "job.h"
#include "log.h"
#include "mime.h"
#include "render.h"
#include "schedule.h"
#include "source.h"
#include "store.h"
#include "template.h"
#include "val.h"

struct cli {
	const char *config_path;
	int dry_run;
	int64_t now;
	int argc;               /* command and its arguments */
	char **argv;
	struct mp_config *cfg;  /* owned, loaded on demand */
	struct mp_store *st;    /* owned */
	struct mp_lock *lock;   /* owned */
};

/* `magpie COMMAND --help`: one line of usage and what it does. */
static const struct {
	const char *name, *usage, *what;
} commands[] = {
	{ "run", "run", "fetch every source, send the reminders and "
	    "notices that are due, then the digests that are due; what cron "
	    "calls" },
	{ "fetch", "fetch", "sync every [list] source into the store" },
	{ "import", "import PATH...", "read mbox files (also .gz), Maildir "
	    "folders and message files into the store" },
	{ "threads", "threads [--since TIME] [--json]", "list the threads, "
	    "most recent activity first" },
	{ "actions", "actions [--since TIME] [--json]", "list the action "
	    "items found in stored mail" },
	{ "extract", "extract [--json] FILE...", "print the action items of "
	    "message files, without the store" },
	{ "digest", "digest [--to ADDR] [--print]", "build the digest now for "
	    "one member or all; --print writes it to stdout, sending nothing" },
	{ "remind", "remind", "send the reminders and notices that are due" },
	{ "agenda", "agenda [--days N] [--tz ZONE] [--to ADDR] [--json]",
	    "deadlines, events and reminders of the next N days (30), in ZONE; "
	    "with --to, those of one member, in the member's zone" },
	{ "check", "check", "validate configuration, members, deadlines and "
	    "templates; print every problem as FILE:LINE: message" },
	{ "render", "render TEMPLATE [--data FILE.json]", "render a Mustache "
	    "template with JSON data to stdout" },
	{ "preview", "preview reminder ITEM --to ADDR", "print the reminder "
	    "email for ITEM as ADDR would get it now" },
	{ "init", "init DIR", "write a starter configuration that passes "
	    "check" },
};

static int
command_help(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd) != 0)
			continue;
		printf("usage: magpie [-c FILE] [-n] [--now TIME] [-q|-v] %s\n"
		    "%s.\n", commands[i].usage, commands[i].what);
		return 0;
	}
	return -1;
}

static void
print_usage(FILE *f)
{
	size_t i;

	fputs("usage: magpie [-c FILE] [-n|--dry-run] [--now TIME] [-q|-v] "
	    "COMMAND [ARGS]\n\ncommands (magpie COMMAND --help tells more):\n",
	    f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fputs("\nDefault config: $MAGPIE_CONFIG, else ./etc/magpie.ini. "
	    "See magpie(1).\n", f);
}

static int
usage(const char *fmt, const char *arg)
{
	if (fmt != NULL) {
		fputs("magpie: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	print_usage(stderr);
	return MP_EX_USAGE;
}

static int
fail(const struct mp_err *e)
{
	mp_warnx("%s", e->msg[0] ? e->msg : "failed");
	return e->code ? e->code : MP_EX_SOFTWARE;
}

static int
load_config(struct cli *c)
{
	struct mp_diag d = { 0 };
	size_t i;

	if (c->cfg != NULL)
		return 0;
	if (mp_config_load(c->config_path, &c->cfg, &d) != 0) {
		for (i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
		mp_diag_free(&d);
		return MP_EX_CONFIG;
	}
	mp_diag_free(&d);
	return 0;
}

/* Config, then the run lock (when writing), then the store. Returns -1
 * when another run holds the lock (the caller exits 0). */
static int
open_store(struct cli *c, int writing, struct mp_err *e)
{
	int rc;

	if ((rc = load_config(c)) != 0)
		return rc;
	if (writing) {
		rc = mp_lock_acquire(c->cfg->store_path, &c->lock, e);
		if (rc == 1) {
			mp_info("another magpie run holds %s.lock; nothing to do",
			    c->cfg->store_path);
			return -1;
		}
		if (rc != 0)
			return e->code ? e->code : MP_EX_CANTCREAT;
	}
	if (mp_store_open(c->cfg->store_path, &c->st, e) != 0)
		return e->code ? e->code : MP_EX_CANTCREAT;
	return 0;
}

/* Parse "--since T" style time arguments (default zone UTC). */
static int
parse_time_arg(const char *s, int64_t *t)
{
	struct mp_err e = { 0 };

	if (mp_dt_parse(s, "UTC", t, NULL, 0, &e) != 0) {
		mp_warnx("bad time '%s': %s", s, e.msg);
		return -1;
	}
	return 0;
}

/* ---- run, fetch, import, remind, digest ---- */

/*
 * The run's line on stderr, and its exit status when nothing stopped it:
 * 75 (EX_TEMPFAIL) when some email is left to retry, so cron or systemd
 * show that the next run has work to finish; else 65 (EX_DATAERR) when
 * some email failed for good (a 5xx for its recipient, or given up after
 * max_attempts/max_age): the rest was delivered, but an address or the
 * server's policy needs a human, and each failure was named on stderr.
 * A failed key is never retried, so the next run exits 0 again.
 */
static int
summary(const struct mp_job *j, int rc)
{
	if (j->stored || j->duplicates || j->filtered || j->sent ||
	    j->temp_failed || j->perm_failed || j->broken)
		mp_note("%ld stored, %ld duplicate, %ld other list, %ld with "
		    "problems, %ld actions; %ld sent, %ld skipped, %ld to retry, "
		    "%ld failed", j->stored, j->duplicates, j->filtered,
		    j->broken, j->actions, j->sent, j->skipped, j->temp_failed,
		    j->perm_failed);
	if (j->thread_loaded > 0)
		mp_info("threading read %ld stored messages again, %ld of them "
		    "kept from the batch before", j->thread_loaded,
		    j->thread_warm);
	if (rc == 0 && j->temp_failed > 0)
		rc = MP_EX_TEMPFAIL;
	if (rc == 0 && j->perm_failed > 0)
		rc = MP_EX_DATAERR;
	return rc;
}

static int
cmd_run(struct cli *c, int steps)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	int rc;

	if ((rc = open_store(c, 1, &e)) != 0)
		return rc < 0 ? 0 : rc == MP_EX_CONFIG ? rc : fail(&e);
	mp_job_init(&j, c->cfg, c->st, c->now, c->dry_run);
	if ((steps & 1) && mp_job_fetch(&j, &e) != 0)
		rc = e.code ? e.code : MP_EX_TEMPFAIL;   /* go on */
	if ((steps & 2) && (mp_job_changes(&j, &e) != 0 ||
	    mp_job_remind(&j, &e) != 0)) {
		mp_job_finish(&j);
		return fail(&e);
	}
	if ((steps & 4) && mp_job_digests(&j, &e) != 0) {
		mp_job_finish(&j);
		return fail(&e);
	}
	mp_job_finish(&j);
	return summary(&j, rc);
}

static int
cmd_import(struct cli *c)
{
	struct mp_err e = { 0 };
	struct mp_job j;
	int i, rc;

	if (c->argc < 2)
		return usage("import: no PATH given", NULL);
	if ((rc = open_store(c, 1, &e)) != 0)
		return rc < 0 ? 0 : rc == MP_EX_CONFIG ? rc : fail(&e);
	mp_job_init(&j, c->cfg, c->st, c->now, c->dry_run);
	for (i = 1; i < c->argc; i++) {
		if (mp_job_import(&j, c->argv[i], NULL, "import", &e) != 0) {
			rc = fail(&e);
			break;
		}
	}
	mp_job_finish(&j);
	return summary(&j, rc);
}

static int
cmd_digest(struct cli *c)
{
	struct mp_err e = { 0 };
	const char *to = NULL;
	struct mp_job j;
	int i, print = 0, rc;

	for (i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--print") == 0)
			print = 1;
		else if (strcmp(c->argv[i], "--to") == 0 && i + 1 < c->argc)
			to = c->argv[++i];
		else
			return usage("digest: unknown argument '%s'",
			    c->argv[i]);
	}
	if ((rc = open_store(c, !print, &e)) != 0)
		return rc < 0 ? 0 : rc == MP_EX_CONFIG ? rc : fail(&e);
	mp_job_init(&j, c->cfg, c->st, c->now, c->dry_run);
	rc = mp_job_digest_now(&j, to, print, &e) != 0 ? fail(&e) : 0;
	mp_job_finish(&j);
	return print ? rc : summary(&j, rc);
}

/* ---- threads, actions ---- */

struct list_opts {
	int json;
	int64_t since;
};

static int
list_args(struct cli *c, struct list_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			o->json = 1;
		else if (strcmp(c->argv[i], "--since") == 0 && i + 1 < c->argc) {
			if (parse_time_arg(c->argv[++i], &o->since) != 0)
				return MP_EX_USAGE;
		} else
			return usage("unknown argument '%s'", c->argv[i]);
	}
	return 0;
}

static int
print_thread(const struct mp_thread_view *t, void *ctx)
{
	const struct list_opts *o = ctx;
	struct mp_buf b = MP_BUF_INIT;
	char last[32];
	size_t i;

	if (o->json) {
		mp_dt_iso_utc(t->last, last, sizeof(last));
		mp_buf_adds(&b, "{\"thread\":");
		mp_buf_json_str(&b, t->id);
		mp_buf_adds(&b, ",\"subject\":");
		mp_buf_json_str(&b, t->subject);
		mp_buf_adds(&b, ",\"messages\":[");
		for (i = 0; i < t->n; i++) {
			if (i > 0)
				mp_buf_addc(&b, ',');
			mp_buf_json_str(&b, t->msgids[i]);
		}
		mp_buf_adds(&b, "],\"participants\":[");
		for (i = 0; i < t->nparticipants; i++) {
			if (i > 0)
				mp_buf_addc(&b, ',');
			mp_buf_json_str(&b, t->participants[i]);
		}
		mp_buf_adds(&b, "],\"last\":");
		mp_buf_json_str(&b, last);
		mp_buf_adds(&b, "}\n");
	} else {
		mp_dt_format(t->last, "UTC", "%Y-%m-%d %H:%M", last,
		    sizeof(last));
		mp_buf_printf(&b, "%s  %3zu  %s\n", last, t->n, t->subject);
		mp_buf_adds(&b, "                       ");
		for (i = 0; i < t->nparticipants; i++)
			mp_buf_printf(&b, "%s%s", i ? ", " : "",
			    t->participants[i]);
		mp_buf_addc(&b, '\n');
	}
	fputs(mp_buf_str(&b), stdout);
	mp_buf_free(&b);
	return 0;
}

static int
cmd_threads(struct cli *c)
{
	struct mp_err e = { 0 };
	struct list_opts o;
	struct mp_job j;
	int rc;

	if ((rc = list_args(c, &o)) != 0)
		return rc;
	if ((rc = open_store(c, 0, &e)) != 0)
		return rc == MP_EX_CONFIG ? rc : fail(&e);
	mp_job_init(&j, c->cfg, c->st, c->now, 1);
	rc = mp_job_each_thread(&j, o.since, print_thread, &o, &e) != 0 ?
	    fail(&e) : 0;
	mp_job_finish(&j);
	return rc;
}

static void
print_action(const char *file, const char *msgid, const char *kind,
    const char *assignee, const char *due, const char *text, int json)
{
	struct mp_buf b = MP_BUF_INIT;

	if (json) {
		mp_buf_adds(&b, "{");
		if (file != NULL) {
			mp_buf_adds(&b, "\"file\":");
			mp_buf_json_str(&b, file);
			mp_buf_adds(&b, ",");
		}
		mp_buf_adds(&b, "\"message_id\":");
		mp_buf_json_str(&b, msgid);
		mp_buf_adds(&b, ",\"kind\":");
		mp_buf_json_str(&b, kind);
		mp_buf_adds(&b, ",\"assignee\":");
		mp_buf_json_str(&b, assignee != NULL && *assignee ? assignee :
		    NULL);
		mp_buf_adds(&b, ",\"due\":");
		mp_buf_json_str(&b, due != NULL && *due ? due : NULL);
		mp_buf_adds(&b, ",\"text\":");
		mp_buf_json_str(&b, text);
		mp_buf_adds(&b, "}\n");
	} else {
		mp_buf_printf(&b, "%-8s %-20s %s%s%s\n", kind,
		    due != NULL && *due ? due : "-", assignee != NULL &&
		    *assignee ? assignee : "", assignee != NULL && *assignee ?
		    ": " : "", text);
	}
	fputs(mp_buf_str(&b), stdout);
	mp_buf_free(&b);
}

static int
print_stored_action(const struct mp_stored_action *a, void *ctx)
{
	const struct list_opts *o = ctx;

	/* --since: items of messages written at or after T */
	if (o->since != 0 && a->date < o->since)
		return 0;
	print_action(NULL, a->message_id, a->kind, a->assignee, a->due,
	    a->text, o->json);
	return 0;
}

static int
cmd_actions(struct cli *c)
{
	struct mp_err e = { 0 };
	struct list_opts o;
	int rc;

	if ((rc = list_args(c, &o)) != 0)
		return rc;
	if ((rc = open_store(c, 0, &e)) != 0)
		return rc == MP_EX_CONFIG ? rc : fail(&e);
	return mp_store_each_action(c->st, 0, print_stored_action, &o, &e) !=
	    0 ? fail(&e) : 0;
}

/* ---- extract ---- */

struct extract_ctx {
	const char *file;
	int json;
	const struct mp_config *cfg;
	int bad;
};

static int
extract_one(const char *raw, size_t len, int64_t delivered,
    const char *origin, void *ctx)
{
	struct extract_ctx *x = ctx;
	struct mp_extract_opts o = { 0 };
	struct mp_msg *m = NULL;
	struct mp_action *a;
	struct mp_err e = { 0 };
	const char *base;
	size_t i, n;

	if (mp_mime_parse(raw, len, delivered, &m, &e) != 0) {
		mp_warnx("%s: not a message: %s", origin, e.msg);
		x->bad++;
		return 0;
	}
	o.config = x->cfg;
	o.month_first = x->cfg != NULL &&
	    x->cfg->extract.date_order == MP_DATE_MDY;
	mp_extract(m, &o, &a, &n);
	/* "017.eml", or "archive.mbox:17" for a message of an mbox */
	base = strrchr(origin, '/');
	base = base != NULL ? base + 1 : origin;
	for (i = 0; i < n; i++)
		print_action(base, m->message_id,
		    mp_action_kind_name(a[i].kind), a[i].assignee, a[i].due,
		    a[i].text, x->json);
	mp_actions_free(a, n);
	mp_msg_free(m);
	return 0;
}

static int
cmd_extract(struct cli *c)
{
	struct extract_ctx x = { 0 };
	struct mp_diag d = { 0 };
	struct mp_err e = { 0 };
	int i, rc = 0, nfiles = 0;

	/* Members make assignees better; the command works without them. */
	if (mp_config_load(c->config_path, &c->cfg, &d) != 0)
		c->cfg = NULL;
	mp_diag_free(&d);
	x.cfg = c->cfg;
	for (i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0) {
			x.json = 1;
			continue;
		}
		nfiles++;
		x.file = c->argv[i];
		if (mp_source_read(c->argv[i], extract_one, &x, &e) != 0)
			rc = fail(&e);
	}
	if (nfiles == 0)
		return usage("extract: no FILE given", NULL);
	return rc != 0 ? rc : x.bad ? MP_EX_DATAERR : 0;
}

/* ---- agenda ---- */

static int
cmd_agenda(struct cli *c)
{
	struct mp_agenda *items = NULL;
	const struct mp_member *m = NULL;
	const char *tz = NULL, *to = NULL;
	struct mp_buf b = MP_BUF_INIT;
	size_t i, k, n = 0, shown = 0;
	int json = 0, days = 30, rc;

	for (i = 1; i < (size_t)c->argc; i++) {
		const char *a = c->argv[i];

		if (strcmp(a, "--json") == 0)
			json = 1;
		else if (strcmp(a, "--tz") == 0 && i + 1 < (size_t)c->argc)
			tz = c->argv[++i];
		else if (strcmp(a, "--to") == 0 && i + 1 < (size_t)c->argc)
			to = c->argv[++i];
		else if (strcmp(a, "--days") == 0 && i + 1 < (size_t)c->argc) {
			days = atoi(c->argv[++i]);
			if (days <= 0 || days > 3660)
				return usage("agenda: bad --days '%s'",
				    c->argv[i]);
		} else
			return usage("agenda: unknown argument '%s'", a);
	}
	if ((rc = load_config(c)) != 0)
		return rc;
	if (to != NULL && (m = mp_config_member(c->cfg, to)) != NULL)
		to = m->email;
	if (tz == NULL && m != NULL)
		tz = m->tz;
	if (tz == NULL)
		tz = getenv("TZ") != NULL && mp_tz_valid(getenv("TZ")) ?
		    getenv("TZ") : "UTC";
	if (!mp_tz_valid(tz))
		return usage("agenda: unknown time zone '%s'", tz);
	mp_schedule_agenda(c->cfg, c->now, (int64_t)days * 86400, &items, &n);
	if (!json) {
		char from[64];

		mp_dt_format(c->now, tz, "%a %d %b %Y %H:%M %Z", from,
		    sizeof(from));
		mp_buf_printf(&b, "Agenda %s%sfrom %s, next %d days (%s)\n",
		    to != NULL ? to : "", to != NULL ? " " : "", from, days,
		    tz);
	}
	for (i = 0; i < n; i++) {
		const struct mp_item *it = items[i].item;
		int64_t at = items[i].at;
		const char *kind = mp_config_item_kind_name(it->kind);
		int64_t fire[MP_MAX_REMIND];
		size_t nf = mp_schedule_fire_times(it, fire, MP_MAX_REMIND);
		char when[64], utc[32], left[64], end[32];

		if (to != NULL && !mp_config_is_recipient(c->cfg, it, to))
			continue;
		shown++;
		/* Reminder times as they will go out: moved off quiet days
		 * and weekends, and only to pending after the first. */
		for (k = 0; k < nf; k++) {
			fire[k] = mp_schedule_before(&c->cfg->calendar, fire[k],
			    tz);
			if (to != NULL && k > 0 &&
			    !mp_config_is_pending(c->cfg, it, to))
				fire[k] = 0;
		}
		mp_dt_span(at - c->now, left, sizeof(left));
		if (json) {
			int first = 1;

			mp_dt_iso_utc(at, utc, sizeof(utc));
			mp_dt_format(at, tz, "%Y-%m-%dT%H:%M:%S%z", when,
			    sizeof(when));
			mp_buf_adds(&b, "{\"item\":");
			mp_buf_json_str(&b, it->id);
			mp_buf_printf(&b, ",\"kind\":\"%s\",\"title\":", kind);
			mp_buf_json_str(&b, it->title);
			mp_buf_printf(&b, ",\"at\":\"%s\",\"local\":\"%s\"",
			    utc, when);
			if (it->ends > 0) {
				mp_dt_iso_utc(it->ends, end, sizeof(end));
				mp_buf_printf(&b, ",\"ends\":\"%s\"", end);
			}
			mp_buf_adds(&b, ",\"reminders\":[");
			for (k = 0; k < nf; k++) {
				if (fire[k] == 0)
					continue;
				mp_dt_iso_utc(fire[k], utc, sizeof(utc));
				mp_buf_printf(&b, "%s\"%s\"", first ? "" : ",",
				    utc);
				first = 0;
			}
			mp_buf_adds(&b, "]}\n");
			continue;
		}
		mp_dt_format(at, tz, "%a %d %b %Y %H:%M %Z", when,
		    sizeof(when));
		mp_dt_format(at, "UTC", "%Y-%m-%d %H:%M UTC", utc,
		    sizeof(utc));
		mp_buf_printf(&b, "\n%s  %-8s  %s [%s]\n", when, kind,
		    it->title, it->id);
		if (at >= c->now)
			mp_buf_printf(&b, "    in %s; %s", left, utc);
		else
			mp_buf_printf(&b, "    under way; started %s", utc);
		if (it->ends > it->due) {
			mp_dt_format(it->ends, tz, "%H:%M %Z", end, sizeof(end));
			mp_buf_printf(&b, "; ends %s", end);
		}
		mp_buf_addc(&b, '\n');
		for (k = 0; k < nf; k++) {
			if (fire[k] == 0 || fire[k] < c->now)
				continue;
			mp_dt_format(fire[k], tz, "%a %d %b %H:%M", when,
			    sizeof(when));
			mp_dt_span(it->remind[k], left, sizeof(left));
			mp_buf_printf(&b, "    reminder %s before: %s\n", left,
			    when);
		}
	}
	if (!json && shown == 0)
		mp_buf_adds(&b, "\nNothing scheduled.\n");
	fputs(mp_buf_str(&b), stdout);
	mp_buf_free(&b);
	free(items);
	return 0;
}

/* ---- check, render, preview ---- */

static int
cmd_check(struct cli *c)
{
	/* NULL ext: the .html alternative is optional. adhoc falls back to
	 * reminder (render.c), so only reminder.txt must exist. */
	static const struct {
		const char *name, *ext;
		int required;
	} tmpl[] = {
		{ "reminder", ".txt", 1 }, { "reminder", ".html", 0 },
		{ "adhoc", ".txt", 0 }, { "adhoc", ".html", 0 },
		{ "changed", ".txt", 1 }, { "changed", ".html", 0 },
		{ "cancelled", ".txt", 1 }, { "cancelled", ".html", 0 },
	};
	struct mp_diag d = { 0 };
	char path[4096];
	size_t i;
	int rc, problems = 0;

	if ((rc = load_config(c)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s.txt", c->cfg->digest.template);
	problems += mp_template_check(path, &d);
	snprintf(path, sizeof(path), "%s.html", c->cfg->digest.template);
	if (access(path, R_OK) == 0)
		problems += mp_template_check(path, &d);
	for (i = 0; i < sizeof(tmpl) / sizeof(tmpl[0]); i++) {
		char *p = mp_render_template_path(c->cfg, tmpl[i].name,
		    tmpl[i].ext);

		if (tmpl[i].required || access(p, R_OK) == 0)
			problems += mp_template_check(p, &d);
		free(p);
	}
	for (i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.lines[i]);
	mp_diag_free(&d);
	return problems > 0 ? MP_EX_CONFIG : 0;
}

static int
cmd_render(struct cli *c)
{
	struct mp_buf b = MP_BUF_INIT;
	struct mp_err e = { 0 };
	struct mp_val *data = NULL;
	const char *tmpl = NULL, *datafile = NULL;
	char *json;
	size_t len;
	int i, rc = 0;

	for (i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--data") == 0 && i + 1 < c->argc)
			datafile = c->argv[++i];
		else if (tmpl == NULL && c->argv[i][0] != '-')
			tmpl = c->argv[i];
		else
			return usage("render: unknown argument '%s'",
			    c->argv[i]);
	}
	if (tmpl == NULL)
		return usage("render: no TEMPLATE given", NULL);
	if (datafile != NULL) {
		if (mp_read_file(datafile, 16 << 20, &json, &len) != 0) {
			mp_warn("%s", datafile);
			return MP_EX_NOINPUT;
		}
		data = mp_val_from_json(json, len, &e);
		free(json);
		if (data == NULL) {
			mp_warnx("%s: %s", datafile, e.msg);
			return MP_EX_DATAERR;
		}
	} else {
		data = mp_val_map();
	}
	if (mp_template_render_file(tmpl, data, &b, &e) != 0)
		rc = fail(&e);
	else
		fwrite(b.data != NULL ? b.data : "", 1, b.len, stdout);
	mp_buf_free(&b);
	mp_val_free(data);
	return rc;
}

static int
cmd_preview(struct cli *c)
{
	struct mp_buf mail = MP_BUF_INIT;
	const struct mp_member *mem;
	const struct mp_item *it;
	struct mp_rendered r;
	struct mp_err e = { 0 };
	struct mp_plan p;
	struct mp_mail m;
	char msgid[256], lid[512];
	size_t k;
	int rc;

	if (c->argc != 5 || strcmp(c->argv[1], "reminder") != 0 ||
	    strcmp(c->argv[3], "--to") != 0)
		return usage("usage: preview reminder ITEM --to ADDR", NULL);
	if ((rc = load_config(c)) != 0)
		return rc;
	it = mp_config_item(c->cfg, c->argv[2]);
	if (it == NULL) {
		mp_warnx("no deadline, event or reminder named '%s'",
		    c->argv[2]);
		return MP_EX_USAGE;
	}
	memset(&p, 0, sizeof(p));
	p.item = it;
	p.due = it->due;
	mem = mp_config_member(c->cfg, c->argv[4]);
	p.rcpt.member = mem;
	p.rcpt.name = mem != NULL ? mem->name : "";
	p.rcpt.email = mem != NULL ? mem->email : c->argv[4];
	p.rcpt.tz = mem != NULL ? mem->tz : "UTC";
	/* The offset that applies now, else the first one. */
	for (k = 0; k < it->nremind; k++)
		if (it->due - it->remind[k] <= c->now)
			p.offset = it->remind[k];
	if (p.offset == 0 && it->nremind > 0)
		p.offset = it->remind[0];
	if (mp_render_reminder(c->cfg, &p, c->now, &r, &e) != 0)
		return fail(&e);
	memset(&m, 0, sizeof(m));
	mp_compose_message_id(it->id, c->cfg->delivery.from_addr, msgid,
	    sizeof(msgid));
	m.from_name = c->cfg->delivery.from_name;
	m.from_addr = c->cfg->delivery.from_addr;
	m.to_name = p.rcpt.name;
	m.to_addr = p.rcpt.email;
	m.subject = r.subject;
	m.date = c->now;
	m.zone = p.rcpt.tz;
	m.message_id = msgid;
	m.kind = "reminder";
	m.item = it->id;
	if (c->cfg->nlists > 0 && c->cfg->lists[0].list_id != NULL) {
		snprintf(lid, sizeof(lid), "%s <%s>", c->cfg->lists[0].name,
		    c->cfg->lists[0].list_id);
		m.list_id = lid;
	}
	m.text = r.text;
	m.html = r.html;
	m.ics = r.ics;
	m.ics_method = r.ics != NULL ? "PUBLISH" : NULL;
	if (mp_compose(&m, &mail, &e) != 0)
		rc = fail(&e);
	else
		fwrite(mail.data, 1, mail.len, stdout);
	mp_rendered_free(&r);
	mp_buf_free(&mail);
	return rc;
}

/* ---- init ---- */

static const char init_main[] =
"; magpie.ini - written by `magpie init`; see magpie.ini(5).\n"
"; Relative paths are relative to this file's folder.\n"
"include = members.ini, deadlines.d/*.ini\n"
"\n"
"[store]\n"
"; On a server, e.g. /var/lib/magpie/magpie.db (writable by magpie only).\n"
"path = var/magpie.db\n"
"\n"
"[list mag]\n"
"name = IGF MAG\n"
"; FILL IN: where the list archive is. Over IMAP (TLS is verified):\n"
";   source = imaps://list-archive@imap.example.org/INBOX\n"
";   password_file = imap.pass      ; chmod 600\n"
"; or a local Maildir or mbox that receives the list:\n"
"source = maildir:archive\n"
"; keep only this list's messages when the folder holds several:\n"
"; list_id = mag.example.org\n"
"\n"
"[delivery]\n"
"; FILL IN: how to send. Over SMTP submission (STARTTLS, verified):\n"
";   transport = smtp://smtp.example.org:587\n"
";   user = magpie\n"
";   password_file = smtp.pass      ; chmod 600\n"
"; or the local sendmail: transport = sendmail:/usr/sbin/sendmail\n"
"; Until then, emails are written to the Maildir outbox/ to look at:\n"
"transport = maildir:outbox\n"
"from = List Secretariat <secretariat@example.org>\n"
"\n"
"[digest]\n"
"; in each member's own time zone\n"
"time = 07:00\n"
"send_empty = no\n"
"template = templates/digest\n";

static const char init_members[] =
"; members.ini - who gets digests and reminders. One section a member.\n"
";   tz      IANA zone (digests arrive at [digest] time there)\n"
";   digest  daily | weekly | off\n"
";   groups  for 'to = group:NAME' in deadlines; 'secretariat' and\n"
";           'chair' also get the dates found in mail that are not in\n"
";           the calendar\n"
"\n"
"; FILL IN: one section per member.\n"
"[member secretariat]\n"
"name = List Secretariat\n"
"email = secretariat@example.org\n"
"tz = UTC\n"
"digest = daily\n"
"groups = members, secretariat\n";

static const char init_deadlines[] =
"; deadlines.ini - the secretariat's calendar: [deadline NAME],\n"
"; [event NAME] and the chair's [reminder NAME]. See magpie.ini(5).\n"
"\n"
"; FILL IN: replace this example.\n"
"[deadline example]\n"
"title = Example deadline\n"
"due = 2030-01-31 23:59 UTC\n"
"remind = 7d, 1d\n"
"to = group:members\n";

/* Write text to dir/name; never over an existing file. */
static int
init_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		mp_warnx("%s/%s: path too long", dir, name);
		return MP_EX_CANTCREAT;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		mp_warn("%s", path);
		return MP_EX_CANTCREAT;
	}
	f = fdopen(fd, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		mp_warn("%s", path);
		return MP_EX_IOERR;
	}
	return 0;
}

static int
init_dir(const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		mp_warn("%s", dir);
		return MP_EX_CANTCREAT;
	}
	return 0;
}

static int
cmd_init(struct cli *c)
{
	const struct mp_embedded *t;
	char sub[4096];
	const char *dir;
	int rc;

	if (c->argc != 2)
		return usage("usage: magpie init DIR", NULL);
	dir = c->argv[1];
	if ((rc = init_dir(dir)) != 0)
		return rc;
	snprintf(sub, sizeof(sub), "%s/magpie.ini", dir);
	if (access(sub, F_OK) == 0) {
		mp_warnx("%s exists: not overwriting anything", sub);
		return MP_EX_CANTCREAT;
	}
	if ((rc = init_file(dir, "magpie.ini", init_main)) != 0 ||
	    (rc = init_file(dir, "members.ini", init_members)) != 0)
		return rc;
	snprintf(sub, sizeof(sub), "%s/deadlines.d", dir);
	if ((rc = init_dir(sub)) != 0 ||
	    (rc = init_file(sub, "deadlines.ini", init_deadlines)) != 0)
		return rc;
	snprintf(sub, sizeof(sub), "%s/templates", dir);
	if ((rc = init_dir(sub)) != 0)
		return rc;
	for (t = mp_embedded_templates; t->name != NULL; t++)
		if ((rc = init_file(sub, t->name, t->text)) != 0)
			return rc;
	printf("Wrote a starter configuration to %s/. Next:\n"
	    "  1. %s/magpie.ini: the list's archive ([list]) and how to send "
	    "([delivery]);\n"
	    "  2. %s/members.ini: one [member] per person, with time zone;\n"
	    "  3. %s/deadlines.d/: the deadlines and events to remind of;\n"
	    "  4. magpie -c %s/magpie.ini check, then add the cron line of "
	    "magpie(1).\n", dir, dir, dir, dir, dir);
	return 0;
}

/* ---- main ---- */

static void
cleanup(struct cli *c)
{
	mp_store_close(c->st);
	mp_lock_release(c->lock);
	mp_config_free(c->cfg);
	mp_render_cache_clear();
}

int
mp_cli_main(int argc, char **argv)
{
	struct cli c;
	const char *cmd;
	int i, rc;

	memset(&c, 0, sizeof(c));
	c.config_path = getenv("MAGPIE_CONFIG");
	if (c.config_path == NULL || *c.config_path == '\0')
		c.config_path = "etc/magpie.ini";
	c.now = -1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 && i + 1 < argc)
			c.config_path = argv[++i];
		else if (strcmp(a, "-n") == 0 || strcmp(a, "--dry-run") == 0)
			c.dry_run = 1;
		else if (strcmp(a, "--now") == 0 && i + 1 < argc) {
			if (parse_time_arg(argv[++i], &c.now) != 0)
				return MP_EX_USAGE;
		} else if (strncmp(a, "--now=", 6) == 0) {
			if (parse_time_arg(a + 6, &c.now) != 0)
				return MP_EX_USAGE;
		} else if (strcmp(a, "-q") == 0)
			mp_log_set(MP_LOG_QUIET);
		else if (strcmp(a, "-v") == 0)
			mp_log_set(MP_LOG_VERBOSE);
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("magpie %s\n", MP_VERSION);
			return 0;
		} else
			return usage("unknown option '%s'", a);
	}
	if (i >= argc)
		return usage("no command given", NULL);
	if (c.now >= 0)
		mp_dt_set_now(c.now);
	c.now = mp_dt_now();
	c.argc = argc - i;
	c.argv = argv + i;
	cmd = c.argv[0];
	for (i = 1; i < c.argc; i++)
		if (strcmp(c.argv[i], "--help") == 0 ||
		    strcmp(c.argv[i], "-h") == 0)
			return command_help(cmd) == 0 ? 0 :
			    usage("unknown command '%s'", cmd);
	if (strcmp(cmd, "run") == 0)
		rc = c.argc == 1 ? cmd_run(&c, 7) : usage("run takes no "
		    "arguments", NULL);
	else if (strcmp(cmd, "fetch") == 0)
		rc = cmd_run(&c, 1);
	else if (strcmp(cmd, "remind") == 0)
		rc = cmd_run(&c, 2);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(&c);
	else if (strcmp(cmd, "threads") == 0)
		rc = cmd_threads(&c);
	else if (strcmp(cmd, "actions") == 0)
		rc = cmd_actions(&c);
	else if (strcmp(cmd, "extract") == 0)
		rc = cmd_extract(&c);
	else if (strcmp(cmd, "digest") == 0)
		rc = cmd_digest(&c);
	else if (strcmp(cmd, "agenda") == 0)
		rc = cmd_agenda(&c);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(&c);
	else if (strcmp(cmd, "render") == 0)
		rc = cmd_render(&c);
	else if (strcmp(cmd, "preview") == 0)
		rc = cmd_preview(&c);
	else if (strcmp(cmd, "init") == 0)
		rc = cmd_init(&c);
	else
		rc = usage("unknown command '%s'", cmd);
	cleanup(&c);
	return rc;
}
