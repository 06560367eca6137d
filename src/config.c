/*
 * config.c - read and validate magpie's INI configuration.
 *
 * What the files mean (man/magpie.ini.5 is the user's version of this):
 *
 * Files.  Keys before the first section may only be
 *     include = members.ini, deadlines.d/[0-9a-z]*.ini
 * a comma separated list of paths or glob(3) patterns, relative to the
 * directory of the including file.  The files a pattern matches are read
 * in byte order of their names (not the locale's); a pattern matching
 * nothing is fine, a plain path that does not exist is an error.  Included
 * files are read where the include is (before the including file's
 * sections), may include others (at most 8 levels), and a file reached
 * twice (same device and inode) is read once.
 * `include` inside a section is an error.  Every file read is listed in
 * mp_config.files, and every struct mp_where points into that list.
 *
 * Sections.  [store], [delivery], [digest], [calendar], [extract] and
 * [threads] may appear several times (their keys merge), [list NAME],
 * [member NAME], [deadline NAME], [event NAME] and [reminder NAME] once per
 * NAME, where NAME is [A-Za-z0-9._-]+.  Deadlines, events and reminders
 * share one name space: the name becomes X-Magpie-Item.  A key given twice
 * for the same entry is an error, wherever the second one is.  [delivery]
 * is required, with 'transport' and 'from', so that every command can rely
 * on them.
 *
 * Values.  inih strips whitespace and inline comments (" ;" onwards).  An
 * indented line after a key continues that key's value (inih's multi-line
 * mode); the parts are joined with a newline, which separates list elements
 * like a comma, is kept in 'body' and 'note', and is refused in values that
 * end up in a mail header (names, titles, subjects, addresses).  Relative
 * paths are joined to the directory of the file that holds them; the store
 * and template defaults are relative to the main file.
 *
 * Recipients ('to', 'pending'): group:NAME (a group some member has, or
 * "all"), a member id, or an address (anything with an '@').
 *
 * Errors.  Nothing stops at the first problem: every one is collected with
 * the file and line of the key (or of the section header when a required
 * key is missing), checks that need the whole model (groups, member ids,
 * required keys) run after the last file, and the list is reported sorted
 * by file (in reading order) and line.
 *
 * inih reports a syntax error only as the first bad line number, calls the
 * handler for key lines only (not for section headers, so an empty section
 * is invisible) and has no line numbers in Debian's build.  So the reader
 * function below counts lines and looks at each raw line before inih does:
 * it handles section headers itself, reports malformed lines, and hands
 * inih a harmless replacement for them ("\n", or "[s]\n" so that inih
 * forgets the previous key exactly when we do).  inih is otherwise
 * line-synchronous: the handler runs before the next line is read.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "thread.h"

#define MAX_DEPTH 8
#define MAX_FILE_SIZE (1024 * 1024)
#define CUR_TOP (-2L)
#define CUR_NONE (-1L)

enum sect {
	S_STORE = 0, S_LIST, S_DELIVERY, S_DIGEST, S_CALENDAR, S_EXTRACT,
	S_THREADS, S_MEMBER, S_DEADLINE, S_EVENT, S_REMINDER, S_COUNT
};

static const char *const keys_store[] = { "path", NULL };
static const char *const keys_list[] = {
	"name", "source", "user", "password_file", "password_command",
	"ca_file", "list_id", "archive_url", "tls", "batch", "max_size",
	"timeout", NULL
};
static const char *const keys_delivery[] = {
	"transport", "user", "password_file", "password_command", "ca_file",
	"from", "bounce", "tls", "timeout", "max_attempts", "max_age", NULL
};
static const char *const keys_digest[] = {
	"time", "weekday", "send_empty", "days_ahead", "template", NULL
};
static const char *const keys_calendar[] = { "quiet", "skip_weekends", NULL };
static const char *const keys_extract[] = { "date_order", NULL };
static const char *const keys_threads[] = { "subject_window", NULL };
static const char *const keys_member[] = {
	"name", "email", "tz", "digest", "groups", NULL
};
static const char *const keys_deadline[] = {
	"title", "due", "remind", "to", "url", "note", "pending", "overdue",
	NULL
};
static const char *const keys_event[] = {
	"title", "starts", "ends", "remind", "to", "url", "note", "location",
	"pending", "overdue", NULL
};
static const char *const keys_reminder[] = {
	"at", "to", "subject", "body", "url", "repeat", "until", NULL
};

static const struct {
	const char *name;
	int named;
	const char *const *keys;
} sects[S_COUNT] = {
	[S_STORE] = { "store", 0, keys_store },
	[S_LIST] = { "list", 1, keys_list },
	[S_DELIVERY] = { "delivery", 0, keys_delivery },
	[S_DIGEST] = { "digest", 0, keys_digest },
	[S_CALENDAR] = { "calendar", 0, keys_calendar },
	[S_EXTRACT] = { "extract", 0, keys_extract },
	[S_THREADS] = { "threads", 0, keys_threads },
	[S_MEMBER] = { "member", 1, keys_member },
	[S_DEADLINE] = { "deadline", 1, keys_deadline },
	[S_EVENT] = { "event", 1, keys_event },
	[S_REMINDER] = { "reminder", 1, keys_reminder },
};

struct keyrec {
	const char *key;        /* borrowed from the sects[] tables */
	struct mp_where where;
};

/* One section entry being filled (a singleton's merged sections share one). */
struct ent {
	enum sect kind;
	size_t idx;             /* into lists, members or items */
	char *name;             /* NAME of a named section, else NULL */
	char *label;            /* "[deadline x]", for messages */
	struct mp_where where;  /* (first) header */
	struct keyrec *keys;
	size_t nkeys;
};

struct diagrec {
	const char *file;       /* borrowed from mp_config */
	size_t rank;            /* index of file in mp_config.files */
	int line;
	size_t seq;
	char *msg;
};

struct fileid {
	dev_t dev;
	ino_t ino;
};

struct loader {
	struct mp_config *c;
	char *maindir;
	struct ent *ents;
	size_t nents;
	long single[S_COUNT];   /* ent index of each singleton, or -1 */
	struct diagrec *diags;
	size_t ndiags;
	struct fileid *ids;
	size_t nids;
};

/* The state of one file being parsed. */
struct fctx {
	struct loader *L;
	FILE *fp;
	const char *file;       /* borrowed from mp_config.files */
	char *dir;
	int depth;
	int line;
	char *raw;
	size_t rawcap;
	int have_key;           /* a key line since the last header */
	int cont;               /* the current line continues that key */
	long cur;               /* ent index, CUR_TOP or CUR_NONE */
	int pactive;            /* a key waits for possible continuations */
	char *pkey;
	struct mp_buf pval;
	int pline;
	long pent;
};

static void diag(struct loader *L, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
diag(struct loader *L, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	struct diagrec *r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->diags = mp_xrealloc(L->diags, (L->ndiags + 1) * sizeof(*L->diags));
	r = &L->diags[L->ndiags];
	r->file = file;
	r->line = line;
	r->seq = L->ndiags++;
	r->msg = mp_xstrdup(msg);
}

#define ferr(fc, line, ...) diag((fc)->L, (fc)->file, (line), __VA_ARGS__)
#define werr(L, w, ...) diag((L), (w)->file, (w)->line, __VA_ARGS__)

/* ---- small helpers ---------------------------------------------------- */

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mp_xstrdup(".");
	if (slash == path)
		return mp_xstrdup("/");
	return mp_xstrndup(path, (size_t)(slash - path));
}

static char *
join(const char *dir, const char *rel)
{
	struct mp_buf b = MP_BUF_INIT;

	if (rel[0] == '/' || strcmp(dir, ".") == 0)
		return mp_xstrdup(rel);
	mp_buf_adds(&b, dir);
	if (dir[strlen(dir) - 1] != '/')
		mp_buf_addc(&b, '/');
	mp_buf_adds(&b, rel);
	return mp_buf_detach(&b);
}

static void
set_str(char **field, const char *v)
{
	free(*field);
	*field = mp_xstrdup(v);
}

static void
push_str(char ***arr, size_t *n, const char *s)
{
	*arr = mp_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = mp_xstrdup(s);
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Split on ',' and newlines (continuation lines); trims, skips empties. */
static void
split_list(const char *s, char ***out, size_t *n)
{
	const char *p = s, *q;
	size_t len;
	char *one;

	*out = NULL;
	*n = 0;
	while (*p != '\0') {
		len = strcspn(p, ",\n");
		q = p + len;
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len > 0) {
			one = mp_xstrndup(p, len);
			push_str(out, n, one);
			free(one);
		}
		p = *q != '\0' ? q + 1 : q;
	}
}

static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	return 1;
}

/* An RFC 5322 addr-spec in its common dot-atom form (UTF-8 allowed). */
static int
addr_ok(const char *s)
{
	const char *at = strrchr(s, '@'), *p;

	if (at == NULL || at == s || at[1] == '\0')
		return 0;
	if (s[0] == '.' || at[-1] == '.')
		return 0;
	for (p = s; p < at; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch >= 0x80 || isalnum(ch))
			continue;
		if (strchr("!#$%&'*+/=?^_`{|}~-", ch) != NULL)
			continue;
		if (ch == '.' && p[1] != '.')
			continue;
		return 0;
	}
	for (p = at + 1; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch >= 0x80 || isalnum(ch) || ch == '-')
			continue;
		if (ch == '.' && p != at + 1 && p[1] != '.' && p[1] != '\0')
			continue;
		return 0;
	}
	return 1;
}

/*
 * "Name <addr>", "\"Last, First\" <addr>", "<addr>" or "addr".  Returns
 * -1 when the address is not addr-spec shaped.
 */
static int
parse_mailbox(const char *s, char **name, char **addr)
{
	size_t len = strlen(s);
	const char *lt;
	struct mp_buf nb = MP_BUF_INIT;
	char *a, *n;
	size_t nl;

	*name = *addr = NULL;
	if (len > 0 && s[len - 1] == '>') {
		lt = strrchr(s, '<');
		if (lt == NULL)
			return -1;
		a = mp_xstrndup(lt + 1, (size_t)(s + len - 1 - (lt + 1)));
		nl = (size_t)(lt - s);
		while (nl > 0 && isspace((unsigned char)s[nl - 1]))
			nl--;
		n = mp_xstrndup(s, nl);
		if (nl >= 2 && n[0] == '"' && n[nl - 1] == '"') {
			const char *p;

			for (p = n + 1; p < n + nl - 1; p++) {
				if (*p == '\\' && p + 1 < n + nl - 1)
					p++;
				mp_buf_addc(&nb, *p);
			}
			free(n);
			n = mp_buf_detach(&nb);
		} else if (strpbrk(n, "<>\"") != NULL) {
			free(n);
			free(a);
			return -1;
		}
	} else {
		a = mp_xstrdup(s);
		n = mp_xstrdup("");
	}
	if (!addr_ok(a)) {
		free(a);
		free(n);
		return -1;
	}
	*name = n;
	*addr = a;
	return 0;
}

/*
 * Host of scheme://[user@]host[:port][/path] into host[n]; -1 when the URL
 * has no host or a bad port.
 */
static int
url_host(const char *url, char *host, size_t n)
{
	const char *p = strstr(url, "://"), *end, *h, *q, *after, *hend;
	size_t hl;

	if (p == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	h = p;
	for (q = p; q < end; q++)
		if (*q == '@')
			h = q + 1;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(end - h));
		if (hend == NULL)
			return -1;
		h++;
		after = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		if (hend == NULL)
			hend = end;
		after = hend;
	}
	hl = (size_t)(hend - h);
	if (hl == 0 || hl >= n)
		return -1;
	if (after < end) {
		long port = 0;

		if (*after != ':' || after + 1 == end || end - after > 6)
			return -1;
		for (q = after + 1; q < end; q++) {
			if (!isdigit((unsigned char)*q))
				return -1;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

static int
loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0;
}

/* ---- entries ---------------------------------------------------------- */

static const struct keyrec *
find_key(const struct ent *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->nkeys; i++)
		if (strcmp(e->keys[i].key, key) == 0)
			return &e->keys[i];
	return NULL;
}

static const char *
known_key(enum sect kind, const char *key)
{
	const char *const *k;

	for (k = sects[kind].keys; *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return *k;
	return NULL;
}

static long
new_ent(struct fctx *fc, enum sect kind, const char *name)
{
	struct loader *L = fc->L;
	struct mp_config *c = L->c;
	struct mp_buf lb = MP_BUF_INIT;
	struct ent *e;
	size_t idx = 0;

	switch (kind) {
	case S_LIST: {
		struct mp_list_cfg *l;

		c->lists = mp_xrealloc(c->lists,
		    (c->nlists + 1) * sizeof(*c->lists));
		idx = c->nlists++;
		l = &c->lists[idx];
		memset(l, 0, sizeof(*l));
		l->id = mp_xstrdup(name);
		l->tls = MP_TLS_AUTO;
		l->batch = 200;
		l->max_size = (int64_t)25 * 1024 * 1024;
		l->timeout = 60;
		l->where.file = fc->file;
		l->where.line = fc->line;
		break;
	}
	case S_MEMBER: {
		struct mp_member *m;

		c->members = mp_xrealloc(c->members,
		    (c->nmembers + 1) * sizeof(*c->members));
		idx = c->nmembers++;
		m = &c->members[idx];
		memset(m, 0, sizeof(*m));
		m->id = mp_xstrdup(name);
		m->tz = mp_xstrdup("UTC");
		m->digest = MP_DIGEST_DAILY;
		m->where.file = fc->file;
		m->where.line = fc->line;
		break;
	}
	case S_DEADLINE:
	case S_EVENT:
	case S_REMINDER: {
		struct mp_item *it;

		c->items = mp_xrealloc(c->items,
		    (c->nitems + 1) * sizeof(*c->items));
		idx = c->nitems++;
		it = &c->items[idx];
		memset(it, 0, sizeof(*it));
		it->kind = kind == S_DEADLINE ? MP_ITEM_DEADLINE :
		    kind == S_EVENT ? MP_ITEM_EVENT : MP_ITEM_REMINDER;
		it->id = mp_xstrdup(name);
		it->where.file = fc->file;
		it->where.line = fc->line;
		break;
	}
	case S_DELIVERY:
		c->delivery.where.file = fc->file;
		c->delivery.where.line = fc->line;
		break;
	case S_DIGEST:
		c->digest.where.file = fc->file;
		c->digest.where.line = fc->line;
		break;
	case S_CALENDAR:
		c->calendar.where.file = fc->file;
		c->calendar.where.line = fc->line;
		break;
	default:
		break;
	}
	L->ents = mp_xrealloc(L->ents, (L->nents + 1) * sizeof(*L->ents));
	e = &L->ents[L->nents];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->idx = idx;
	e->name = mp_xstrdup(name);
	if (name != NULL)
		mp_buf_printf(&lb, "[%s %s]", sects[kind].name, name);
	else
		mp_buf_printf(&lb, "[%s]", sects[kind].name);
	e->label = mp_buf_detach(&lb);
	e->where.file = fc->file;
	e->where.line = fc->line;
	return (long)L->nents++;
}

static int
is_item(enum sect k)
{
	return k == S_DEADLINE || k == S_EVENT || k == S_REMINDER;
}

/* A header "[kind name]": text is what is between the brackets. */
static void
begin_section(struct fctx *fc, const char *text)
{
	struct loader *L = fc->L;
	char *copy = mp_xstrdup(text), *kind, *name, *p;
	size_t i;
	int k = -1;

	fc->cur = CUR_NONE;
	kind = copy;
	while (isspace((unsigned char)*kind))
		kind++;
	p = kind + strcspn(kind, " \t");
	name = p + strspn(p, " \t");
	*p = '\0';
	p = name + strlen(name);
	while (p > name && isspace((unsigned char)p[-1]))
		*--p = '\0';
	for (i = 0; i < S_COUNT; i++)
		if (strcmp(kind, sects[i].name) == 0)
			k = (int)i;
	if (k < 0) {
		ferr(fc, fc->line, "unknown section [%s]", text);
	} else if (!sects[k].named && *name != '\0') {
		ferr(fc, fc->line, "section [%s] takes no name", kind);
	} else if (sects[k].named && *name == '\0') {
		ferr(fc, fc->line, "section [%s] needs a name, as in [%s NAME]",
		    kind, kind);
	} else if (sects[k].named && !name_ok(name)) {
		ferr(fc, fc->line, "bad name '%s' in [%s %s]: use letters, "
		    "digits, '.', '_' and '-'", name, kind, name);
	} else if (!sects[k].named) {
		if (L->single[k] < 0)
			L->single[k] = new_ent(fc, (enum sect)k, NULL);
		fc->cur = L->single[k];
	} else {
		const struct ent *dup = NULL;

		for (i = 0; i < L->nents && dup == NULL; i++) {
			const struct ent *e = &L->ents[i];

			if (e->name == NULL || strcmp(e->name, name) != 0)
				continue;
			if ((int)e->kind == k ||
			    (is_item(e->kind) && is_item((enum sect)k)))
				dup = e;
		}
		if (dup != NULL && (int)dup->kind == k)
			ferr(fc, fc->line, "duplicate [%s %s] (first defined "
			    "at %s:%d)", kind, name, dup->where.file,
			    dup->where.line);
		else if (dup != NULL)
			ferr(fc, fc->line, "duplicate name '%s': [%s %s] "
			    "clashes with %s (at %s:%d)", name, kind, name,
			    dup->label, dup->where.file, dup->where.line);
		else
			fc->cur = new_ent(fc, (enum sect)k, name);
	}
	free(copy);
}

/* ---- values ----------------------------------------------------------- */

static int
one_line(struct fctx *fc, int line, const char *k, const char *v)
{
	if (strchr(v, '\n') == NULL)
		return 0;
	ferr(fc, line, "'%s' must be on one line", k);
	return -1;
}

static void
set_line(struct fctx *fc, int line, const char *k, const char *v,
    char **field)
{
	if (one_line(fc, line, k, v) == 0)
		set_str(field, v);
}

static void
set_int(struct fctx *fc, int line, const char *k, const char *v, long min,
    long max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    n < min || n > max) {
		ferr(fc, line, "bad number '%s' for '%s' (%ld..%ld)", v, k,
		    min, max);
		return;
	}
	*out = (int)n;
}

static void
set_size(struct fctx *fc, int line, const char *k, const char *v,
    int64_t *out)
{
	const char *p = v;
	int64_t n = 0, mul = 1;

	while (isdigit((unsigned char)*p) && n < ((int64_t)1 << 40))
		n = n * 10 + (*p++ - '0');
	switch (*p) {
	case 'k': case 'K': mul = 1024; p++; break;
	case 'm': case 'M': mul = 1024 * 1024; p++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; p++; break;
	default: break;
	}
	if (p == v || !isdigit((unsigned char)*v) || *p != '\0' || n <= 0 ||
	    n >= ((int64_t)1 << 40) / mul) {
		ferr(fc, line, "bad size '%s' for '%s' (bytes, or with a k, "
		    "M or G suffix)", v, k);
		return;
	}
	*out = n * mul;
}

static void
set_bool(struct fctx *fc, int line, const char *k, const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return;
		}
	}
	ferr(fc, line, "bad value '%s' for '%s' (yes or no)", v, k);
}

static void
set_tls(struct fctx *fc, int line, const char *v, enum mp_tls *out)
{
	if (strcmp(v, "auto") == 0)
		*out = MP_TLS_AUTO;
	else if (strcmp(v, "none") == 0)
		*out = MP_TLS_NONE;
	else
		ferr(fc, line, "bad value '%s' for 'tls' (auto or none)", v);
}

static void
set_duration(struct fctx *fc, int line, const char *k, const char *v,
    int64_t *out)
{
	int64_t d = mp_dt_parse_duration(v);

	if (d < 0)
		ferr(fc, line, "bad duration '%s' for '%s'", v, k);
	else
		*out = d;
}

static void
set_time(struct fctx *fc, int line, const char *k, const char *v,
    int64_t *out, char **zone)
{
	struct mp_err e;
	char z[128];

	mp_err_clear(&e);
	if (mp_dt_parse(v, NULL, out, z, sizeof(z), &e) != 0) {
		ferr(fc, line, "bad time '%s' for '%s': %s", v, k, e.msg);
		return;
	}
	if (zone != NULL)
		set_str(zone, z);
}

static int
cmp_i64_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static void
set_remind(struct fctx *fc, int line, const char *k, const char *v,
    struct mp_item *it)
{
	char **parts;
	size_t n, i, j;
	int64_t d[MP_MAX_REMIND];
	int bad = 0;

	split_list(v, &parts, &n);
	if (n == 0) {
		ferr(fc, line, "no duration in '%s'", k);
		bad = 1;
	} else if (n > MP_MAX_REMIND) {
		ferr(fc, line, "too many durations in '%s' (at most %d)", k,
		    MP_MAX_REMIND);
		bad = 1;
	}
	for (i = 0; !bad && i < n; i++) {
		d[i] = mp_dt_parse_duration(parts[i]);
		if (d[i] < 0) {
			ferr(fc, line, "bad duration '%s' in '%s'", parts[i],
			    k);
			bad = 1;
		}
	}
	if (!bad) {
		qsort(d, n, sizeof(d[0]), cmp_i64_desc);
		for (i = 0, j = 0; i < n; i++)
			if (j == 0 || d[i] != it->remind[j - 1])
				it->remind[j++] = d[i];
		it->nremind = j;
	}
	free_strv(parts, n);
}

static int
parse_day(const char *s, int64_t *out)
{
	int y, m, d, dim;
	size_t i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (m < 1 || m > 12 || d < 1)
		return -1;
	dim = (int)(mp_dt_days_from_civil(m == 12 ? y + 1 : y,
	    m == 12 ? 1 : m + 1, 1) - mp_dt_days_from_civil(y, m, 1));
	if (d > dim)
		return -1;
	*out = mp_dt_days_from_civil(y, m, d);
	return 0;
}

static void
set_quiet(struct fctx *fc, int line, const char *v, struct mp_calendar_cfg *cal)
{
	char **parts, *dots;
	size_t n, i;
	struct mp_quiet q;

	split_list(v, &parts, &n);
	for (i = 0; i < n; i++) {
		dots = strstr(parts[i], "..");
		if (dots != NULL) {
			char *a = mp_xstrndup(parts[i],
			    (size_t)(dots - parts[i]));
			char *b = dots + 2, *p;
			int ok;

			for (p = a + strlen(a); p > a && isspace(
			    (unsigned char)p[-1]); p--)
				p[-1] = '\0';
			while (isspace((unsigned char)*b))
				b++;
			ok = parse_day(a, &q.first_day) == 0 &&
			    parse_day(b, &q.last_day) == 0;
			free(a);
			if (!ok) {
				ferr(fc, line, "bad date range '%s' in "
				    "'quiet' (YYYY-MM-DD..YYYY-MM-DD)",
				    parts[i]);
				continue;
			}
			if (q.last_day < q.first_day) {
				ferr(fc, line, "bad date range '%s' in "
				    "'quiet': it ends before it starts",
				    parts[i]);
				continue;
			}
		} else if (parse_day(parts[i], &q.first_day) == 0) {
			q.last_day = q.first_day;
		} else {
			ferr(fc, line, "bad date '%s' in 'quiet' (YYYY-MM-DD)",
			    parts[i]);
			continue;
		}
		cal->quiet = mp_xrealloc(cal->quiet,
		    (cal->nquiet + 1) * sizeof(*cal->quiet));
		cal->quiet[cal->nquiet++] = q;
	}
	free_strv(parts, n);
}

static void
set_password_file(struct fctx *fc, int line, const char *v, char **field)
{
	struct stat st;
	char *path;

	if (one_line(fc, line, "password_file", v) != 0)
		return;
	path = join(fc->dir, v);
	if (stat(path, &st) != 0)
		ferr(fc, line, "cannot read password file %s: %s", path,
		    strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ferr(fc, line, "password file %s is not a regular file", path);
	else if (st.st_mode & 044)
		ferr(fc, line, "password file %s is readable by group or "
		    "others (chmod 600 it)", path);
	else if (st.st_mode & 022)
		ferr(fc, line, "password file %s is writable by group or "
		    "others (chmod 600 it)", path);
	else {
		free(*field);
		*field = path;
		return;
	}
	free(path);
}

static void
set_ca_file(struct fctx *fc, int line, const char *v, char **field)
{
	char *path;
	FILE *f;

	if (one_line(fc, line, "ca_file", v) != 0)
		return;
	path = join(fc->dir, v);
	f = fopen(path, "r");
	if (f == NULL) {
		ferr(fc, line, "cannot read CA file %s: %s", path,
		    strerror(errno));
		free(path);
		return;
	}
	fclose(f);
	free(*field);
	*field = path;
}

/* mbox:PATH / maildir:PATH with PATH joined to the file's directory. */
static char *
local_url(struct fctx *fc, const char *scheme, const char *path)
{
	struct mp_buf b = MP_BUF_INIT;
	char *j = join(fc->dir, path);

	mp_buf_printf(&b, "%s:%s", scheme, j);
	free(j);
	return mp_buf_detach(&b);
}

static void
set_source(struct fctx *fc, int line, const char *v, char **field)
{
	char host[256];

	if (one_line(fc, line, "source", v) != 0)
		return;
	if (strncmp(v, "imaps://", 8) == 0 || strncmp(v, "imap://", 7) == 0) {
		if (url_host(v, host, sizeof(host)) == 0) {
			set_str(field, v);
			return;
		}
	} else if (strncmp(v, "mbox:", 5) == 0 && v[5] != '\0') {
		free(*field);
		*field = local_url(fc, "mbox", v + 5);
		return;
	} else if (strncmp(v, "maildir:", 8) == 0 && v[8] != '\0') {
		free(*field);
		*field = local_url(fc, "maildir", v + 8);
		return;
	}
	ferr(fc, line, "bad source '%s' (imaps://[USER@]HOST[:PORT]/FOLDER, "
	    "imap://..., mbox:PATH or maildir:PATH)", v);
}

static void
set_transport(struct fctx *fc, int line, const char *v, char **field)
{
	char host[256];

	if (one_line(fc, line, "transport", v) != 0)
		return;
	if (strncmp(v, "smtps://", 8) == 0 || strncmp(v, "smtp://", 7) == 0) {
		if (url_host(v, host, sizeof(host)) == 0) {
			set_str(field, v);
			return;
		}
	} else if (strncmp(v, "sendmail:", 9) == 0 && v[9] != '\0') {
		set_str(field, v);
		return;
	} else if (strncmp(v, "maildir:", 8) == 0 && v[8] != '\0') {
		free(*field);
		*field = local_url(fc, "maildir", v + 8);
		return;
	}
	ferr(fc, line, "bad transport '%s' (smtp://HOST[:PORT], "
	    "smtps://HOST[:PORT], sendmail:PATH or maildir:PATH)", v);
}

static void
set_address(struct fctx *fc, int line, const char *k, const char *v,
    char **field)
{
	if (one_line(fc, line, k, v) != 0)
		return;
	if (!addr_ok(v)) {
		ferr(fc, line, "bad address '%s' for '%s'", v, k);
		return;
	}
	set_str(field, v);
}

static void
set_list(char ***arr, size_t *n, const char *v)
{
	free_strv(*arr, *n);
	split_list(v, arr, n);
}

/* ---- keys per section ------------------------------------------------- */

static void
apply_list(struct fctx *fc, const struct ent *e, const char *k,
    const char *v, int line)
{
	struct mp_list_cfg *l = &fc->L->c->lists[e->idx];

	if (strcmp(k, "name") == 0)
		set_line(fc, line, k, v, &l->name);
	else if (strcmp(k, "source") == 0)
		set_source(fc, line, v, &l->source);
	else if (strcmp(k, "user") == 0)
		set_line(fc, line, k, v, &l->user);
	else if (strcmp(k, "password_file") == 0)
		set_password_file(fc, line, v, &l->password_file);
	else if (strcmp(k, "password_command") == 0)
		set_line(fc, line, k, v, &l->password_command);
	else if (strcmp(k, "ca_file") == 0)
		set_ca_file(fc, line, v, &l->ca_file);
	else if (strcmp(k, "list_id") == 0)
		set_line(fc, line, k, v, &l->list_id);
	else if (strcmp(k, "archive_url") == 0)
		set_line(fc, line, k, v, &l->archive_url);
	else if (strcmp(k, "tls") == 0)
		set_tls(fc, line, v, &l->tls);
	else if (strcmp(k, "batch") == 0)
		set_int(fc, line, k, v, 1, 10000, &l->batch);
	else if (strcmp(k, "max_size") == 0)
		set_size(fc, line, k, v, &l->max_size);
	else if (strcmp(k, "timeout") == 0)
		set_int(fc, line, k, v, 1, 3600, &l->timeout);
}

static void
apply_delivery(struct fctx *fc, const char *k, const char *v, int line)
{
	struct mp_delivery_cfg *dl = &fc->L->c->delivery;

	if (strcmp(k, "transport") == 0) {
		set_transport(fc, line, v, &dl->transport);
	} else if (strcmp(k, "user") == 0) {
		set_line(fc, line, k, v, &dl->user);
	} else if (strcmp(k, "password_file") == 0) {
		set_password_file(fc, line, v, &dl->password_file);
	} else if (strcmp(k, "password_command") == 0) {
		set_line(fc, line, k, v, &dl->password_command);
	} else if (strcmp(k, "ca_file") == 0) {
		set_ca_file(fc, line, v, &dl->ca_file);
	} else if (strcmp(k, "from") == 0) {
		char *n, *a;

		if (one_line(fc, line, k, v) != 0)
			return;
		if (parse_mailbox(v, &n, &a) != 0) {
			ferr(fc, line, "bad address '%s' for 'from' (Name "
			    "<addr> or addr)", v);
			return;
		}
		set_str(&dl->from, v);
		free(dl->from_name);
		free(dl->from_addr);
		dl->from_name = n;
		dl->from_addr = a;
	} else if (strcmp(k, "bounce") == 0) {
		set_address(fc, line, k, v, &dl->bounce);
	} else if (strcmp(k, "tls") == 0) {
		set_tls(fc, line, v, &dl->tls);
	} else if (strcmp(k, "timeout") == 0) {
		set_int(fc, line, k, v, 1, 3600, &dl->timeout);
	} else if (strcmp(k, "max_attempts") == 0) {
		set_int(fc, line, k, v, 1, 1000, &dl->max_attempts);
	} else if (strcmp(k, "max_age") == 0) {
		set_duration(fc, line, k, v, &dl->max_age);
	}
}

static void
apply_digest(struct fctx *fc, const char *k, const char *v, int line)
{
	static const char *const days[] = {
		"sunday", "monday", "tuesday", "wednesday", "thursday",
		"friday", "saturday"
	};
	struct mp_digest_cfg *dg = &fc->L->c->digest;
	size_t i;
	int m;

	if (strcmp(k, "time") == 0) {
		m = mp_dt_parse_hhmm(v);
		if (m < 0)
			ferr(fc, line, "bad time '%s' for 'time' (HH:MM)", v);
		else
			dg->minute = m;
	} else if (strcmp(k, "weekday") == 0) {
		for (i = 0; i < 7; i++) {
			if (strcasecmp(v, days[i]) == 0 ||
			    (strlen(v) == 3 && strncasecmp(v, days[i], 3) == 0))
				break;
		}
		if (i == 7)
			ferr(fc, line, "bad weekday '%s' (sunday..saturday)",
			    v);
		else
			dg->weekday = (int)i;
	} else if (strcmp(k, "send_empty") == 0) {
		set_bool(fc, line, k, v, &dg->send_empty);
	} else if (strcmp(k, "days_ahead") == 0) {
		set_int(fc, line, k, v, 0, 366, &dg->days_ahead);
	} else if (strcmp(k, "template") == 0) {
		if (one_line(fc, line, k, v) == 0) {
			free(dg->template);
			dg->template = join(fc->dir, v);
		}
	}
}

static void
apply_member(struct fctx *fc, const struct ent *e, const char *k,
    const char *v, int line)
{
	struct mp_member *m = &fc->L->c->members[e->idx];
	size_t i;

	if (strcmp(k, "name") == 0) {
		set_line(fc, line, k, v, &m->name);
	} else if (strcmp(k, "email") == 0) {
		set_address(fc, line, k, v, &m->email);
	} else if (strcmp(k, "tz") == 0) {
		if (!mp_tz_valid(v))
			ferr(fc, line, "unknown time zone '%s'", v);
		else
			set_str(&m->tz, v);
	} else if (strcmp(k, "digest") == 0) {
		if (strcmp(v, "daily") == 0)
			m->digest = MP_DIGEST_DAILY;
		else if (strcmp(v, "weekly") == 0)
			m->digest = MP_DIGEST_WEEKLY;
		else if (strcmp(v, "off") == 0)
			m->digest = MP_DIGEST_OFF;
		else
			ferr(fc, line, "bad value '%s' for 'digest' (daily, "
			    "weekly or off)", v);
	} else if (strcmp(k, "groups") == 0) {
		set_list(&m->groups, &m->ngroups, v);
		for (i = 0; i < m->ngroups; i++)
			if (!name_ok(m->groups[i]))
				ferr(fc, line, "bad group name '%s': use "
				    "letters, digits, '.', '_' and '-'",
				    m->groups[i]);
	}
}

static void
apply_item(struct fctx *fc, const struct ent *e, const char *k,
    const char *v, int line)
{
	struct mp_item *it = &fc->L->c->items[e->idx];

	if (strcmp(k, "title") == 0) {
		set_line(fc, line, k, v, &it->title);
	} else if (strcmp(k, "due") == 0 || strcmp(k, "starts") == 0 ||
	    strcmp(k, "at") == 0) {
		set_time(fc, line, k, v, &it->due, &it->zone);
	} else if (strcmp(k, "ends") == 0) {
		set_time(fc, line, k, v, &it->ends, NULL);
	} else if (strcmp(k, "until") == 0) {
		set_time(fc, line, k, v, &it->until, NULL);
	} else if (strcmp(k, "remind") == 0) {
		set_remind(fc, line, k, v, it);
	} else if (strcmp(k, "to") == 0) {
		set_list(&it->to, &it->nto, v);
	} else if (strcmp(k, "pending") == 0) {
		set_list(&it->pending, &it->npending, v);
	} else if (strcmp(k, "url") == 0) {
		set_line(fc, line, k, v, &it->url);
	} else if (strcmp(k, "note") == 0) {
		set_str(&it->note, v);
	} else if (strcmp(k, "location") == 0) {
		set_line(fc, line, k, v, &it->location);
	} else if (strcmp(k, "subject") == 0) {
		set_line(fc, line, k, v, &it->subject);
	} else if (strcmp(k, "body") == 0) {
		set_str(&it->body, v);
	} else if (strcmp(k, "overdue") == 0) {
		set_duration(fc, line, k, v, &it->overdue);
	} else if (strcmp(k, "repeat") == 0) {
		if (strcmp(v, "daily") == 0)
			it->repeat = 86400;
		else if (strcmp(v, "weekly") == 0)
			it->repeat = 7 * 86400;
		else
			set_duration(fc, line, k, v, &it->repeat);
	}
}

static void expand_include(struct fctx *fc, const char *pat, int line);

static void
include(struct fctx *fc, const char *v, int line)
{
	char **parts;
	size_t n, i;

	split_list(v, &parts, &n);
	for (i = 0; i < n; i++)
		expand_include(fc, parts[i], line);
	free_strv(parts, n);
}

static void
apply(struct fctx *fc, long cur, const char *k, const char *v, int line)
{
	struct ent *e;
	const struct keyrec *dup;
	const char *key, *p;

	if (cur == CUR_NONE)
		return;
	if (*k == '\0') {
		ferr(fc, line, "no key name before '='");
		return;
	}
	if (cur == CUR_TOP) {
		if (strcmp(k, "include") == 0)
			include(fc, v, line);
		else
			ferr(fc, line, "unknown key '%s' before the first "
			    "section (only 'include' may be there)", k);
		return;
	}
	e = &fc->L->ents[cur];
	if (strcmp(k, "include") == 0) {
		ferr(fc, line, "'include' must come before the first "
		    "section");
		return;
	}
	key = known_key(e->kind, k);
	if (key == NULL) {
		ferr(fc, line, "unknown key '%s' in %s", k, e->label);
		return;
	}
	dup = find_key(e, key);
	if (dup != NULL) {
		ferr(fc, line, "duplicate key '%s' (first at %s:%d)", k,
		    dup->where.file, dup->where.line);
		return;
	}
	e->keys = mp_xrealloc(e->keys, (e->nkeys + 1) * sizeof(*e->keys));
	e->keys[e->nkeys].key = key;
	e->keys[e->nkeys].where.file = fc->file;
	e->keys[e->nkeys++].where.line = line;
	for (p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n') {
			ferr(fc, line, "control character in '%s'", k);
			return;
		}
	}
	if ((strcmp(key, "password_file") == 0 &&
	    find_key(e, "password_command") != NULL) ||
	    (strcmp(key, "password_command") == 0 &&
	    find_key(e, "password_file") != NULL)) {
		ferr(fc, line, "give password_file or password_command, not "
		    "both");
		return;
	}
	switch (e->kind) {
	case S_STORE:
		if (one_line(fc, line, k, v) == 0) {
			free(fc->L->c->store_path);
			fc->L->c->store_path = join(fc->dir, v);
		}
		break;
	case S_LIST:
		apply_list(fc, e, key, v, line);
		break;
	case S_DELIVERY:
		apply_delivery(fc, key, v, line);
		break;
	case S_DIGEST:
		apply_digest(fc, key, v, line);
		break;
	case S_CALENDAR:
		if (strcmp(key, "quiet") == 0)
			set_quiet(fc, line, v, &fc->L->c->calendar);
		else
			set_bool(fc, line, key, v,
			    &fc->L->c->calendar.skip_weekends);
		break;
	case S_EXTRACT:
		if (strcmp(v, "dmy") == 0)
			fc->L->c->extract.date_order = MP_DATE_DMY;
		else if (strcmp(v, "mdy") == 0)
			fc->L->c->extract.date_order = MP_DATE_MDY;
		else
			ferr(fc, line, "bad value '%s' for 'date_order' (dmy "
			    "or mdy)", v);
		break;
	case S_THREADS:
		/* "off" (or 0): no thread joins another by its subject */
		if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
			fc->L->c->threads.subject_window = -1;
		else
			set_duration(fc, line, key, v,
			    &fc->L->c->threads.subject_window);
		break;
	case S_MEMBER:
		apply_member(fc, e, key, v, line);
		break;
	default:
		apply_item(fc, e, key, v, line);
		break;
	}
}

/* ---- reading ---------------------------------------------------------- */

static void
flush(struct fctx *fc)
{
	if (!fc->pactive)
		return;
	fc->pactive = 0;
	apply(fc, fc->pent, fc->pkey, mp_buf_str(&fc->pval), fc->pline);
	free(fc->pkey);
	fc->pkey = NULL;
	mp_buf_reset(&fc->pval);
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct fctx *fc = user;

	if (fc->cont) {
		if (fc->pactive) {
			mp_buf_addc(&fc->pval, '\n');
			mp_buf_adds(&fc->pval, value);
		}
		return 1;
	}
	flush(fc);
	fc->pactive = 1;
	fc->pkey = mp_xstrdup(name);
	mp_buf_reset(&fc->pval);
	mp_buf_adds(&fc->pval, value);
	fc->pline = fc->line;
	fc->pent = fc->cur;
	return 1;
}

/* Mirrors inih's find_chars_or_comment(): is there a '=' or ':' before an
 * inline comment (a ';' after whitespace)? */
static int
key_shaped(const char *s)
{
	int was_space = 0;

	for (; *s; s++) {
		if (*s == '=' || *s == ':')
			return 1;
		if (was_space && *s == ';')
			return 0;
		was_space = isspace((unsigned char)*s);
	}
	return 0;
}

/* A header line starting at '['.  Returns 0 when well formed. */
static int
header(struct fctx *fc, const char *p)
{
	const char *close = strchr(p, ']'), *q;
	char *text;

	if (close == NULL)
		return -1;
	for (q = close + 1; isspace((unsigned char)*q); q++)
		;
	if (*q != '\0' && *q != ';' && *q != '#')
		return -1;
	text = mp_xstrndup(p + 1, (size_t)(close - p - 1));
	begin_section(fc, text);
	free(text);
	return 0;
}

static char *
reader(char *str, int num, void *stream)
{
	struct fctx *fc = stream;
	const char *out;
	char *s, *p;
	ssize_t n;
	size_t len;
	int bad_header = 0, had_key = fc->have_key;

	n = getline(&fc->raw, &fc->rawcap, fc->fp);
	if (n < 0)
		return NULL;
	fc->line++;
	fc->cont = 0;
	len = (size_t)n;
	if (len > 0 && fc->raw[len - 1] == '\n')
		fc->raw[--len] = '\0';
	if (len > 0 && fc->raw[len - 1] == '\r')
		fc->raw[--len] = '\0';
	s = fc->raw;
	if (fc->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	out = s;
	p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (memchr(fc->raw, '\0', len) != NULL) {
		ferr(fc, fc->line, "NUL byte in line");
		out = "";
	} else if (*p == '\0' || *p == ';' || *p == '#') {
		out = "";
	} else if (p > s && fc->have_key) {
		fc->cont = 1;
	} else if (*p == '[') {
		flush(fc);
		fc->have_key = 0;
		if (len + 2 > (size_t)num || header(fc, p) != 0) {
			bad_header = 1;
			fc->cur = CUR_NONE;
		}
		out = "[s]";
	} else if (key_shaped(p)) {
		fc->have_key = 1;
	} else {
		ferr(fc, fc->line, "expected 'key = value', '[section]' or a "
		    "comment");
		out = "";
	}
	if (bad_header) {
		if (len + 2 > (size_t)num)
			ferr(fc, fc->line, "line too long (more than %d "
			    "characters)", num - 2);
		else
			ferr(fc, fc->line, "expected a section header like "
			    "[member NAME]");
	} else if (out == s && len + 2 > (size_t)num) {
		ferr(fc, fc->line, "line too long (more than %d characters); "
		    "continue the value on an indented line", num - 2);
		out = "";
		fc->cont = 0;
		fc->have_key = had_key;
	}
	snprintf(str, (size_t)num, "%s\n", out);
	return str;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_file(struct loader *L, const char *path, int depth,
    struct fctx *parent, int pline);

static void
expand_include(struct fctx *fc, const char *pat, int line)
{
	struct mp_buf full = MP_BUF_INIT;
	const char *p;
	char *path;
	glob_t g;
	size_t i;
	int rc;
	struct stat st;

	if (fc->depth + 1 > MAX_DEPTH) {
		ferr(fc, line, "cannot include '%s': includes nested more "
		    "than %d deep", pat, MAX_DEPTH);
		return;
	}
	if (strpbrk(pat, "*?[") == NULL) {
		path = join(fc->dir, pat);
		if (stat(path, &st) != 0)
			ferr(fc, line, "cannot include '%s': %s", pat,
			    strerror(errno));
		else
			load_file(fc->L, path, fc->depth + 1, fc, line);
		free(path);
		return;
	}
	/* The directory is literal text, not part of the pattern. */
	if (pat[0] != '/' && strcmp(fc->dir, ".") != 0) {
		for (p = fc->dir; *p; p++) {
			if (strchr("*?[\\", *p) != NULL)
				mp_buf_addc(&full, '\\');
			mp_buf_addc(&full, *p);
		}
		mp_buf_addc(&full, '/');
	}
	mp_buf_adds(&full, pat);
	rc = glob(mp_buf_str(&full), GLOB_NOSORT, NULL, &g);
	if (rc == 0) {
		qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
		for (i = 0; i < g.gl_pathc; i++)
			if (stat(g.gl_pathv[i], &st) == 0 &&
			    S_ISREG(st.st_mode))
				load_file(fc->L, g.gl_pathv[i], fc->depth + 1,
				    fc, line);
	} else if (rc != GLOB_NOMATCH) {
		ferr(fc, line, "cannot expand '%s'", pat);
	}
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	mp_buf_free(&full);
}

static void
load_file(struct loader *L, const char *path, int depth, struct fctx *parent,
    int pline)
{
	struct mp_config *c = L->c;
	struct fctx fc;
	struct stat st;
	const char *why = NULL;
	FILE *fp;
	size_t i;

	fp = fopen(path, "r");
	if (fp == NULL)
		why = strerror(errno);
	else if (fstat(fileno(fp), &st) != 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = strerror(EISDIR);
	else if (st.st_size > MAX_FILE_SIZE)
		why = "file too large (more than 1 MiB)";
	if (why != NULL) {
		if (parent != NULL)
			diag(L, parent->file, pline, "cannot read %s: %s",
			    path, why);
		else
			diag(L, c->path, 0, "cannot read: %s", why);
		if (fp != NULL)
			fclose(fp);
		return;
	}
	for (i = 0; i < L->nids; i++) {
		if (L->ids[i].dev == st.st_dev && L->ids[i].ino == st.st_ino) {
			fclose(fp);
			return;
		}
	}
	L->ids = mp_xrealloc(L->ids, (L->nids + 1) * sizeof(*L->ids));
	L->ids[L->nids].dev = st.st_dev;
	L->ids[L->nids++].ino = st.st_ino;
	c->files = mp_xrealloc(c->files, (c->nfiles + 1) * sizeof(*c->files));
	c->files[c->nfiles] = mp_xstrdup(path);

	memset(&fc, 0, sizeof(fc));
	fc.L = L;
	fc.fp = fp;
	fc.file = c->files[c->nfiles++];
	fc.dir = dir_of(path);
	fc.depth = depth;
	fc.cur = CUR_TOP;
	ini_parse_stream(reader, &fc, on_key, &fc);
	flush(&fc);
	if (ferror(fp))
		ferr(&fc, fc.line, "read error: %s", strerror(errno));
	fclose(fp);
	free(fc.raw);
	free(fc.pkey);
	mp_buf_free(&fc.pval);
	free(fc.dir);
}

/* ---- whole-model checks ----------------------------------------------- */

static int
group_exists(const struct mp_config *c, const char *g)
{
	size_t i, j;

	if (strcmp(g, "all") == 0)
		return 1;
	for (i = 0; i < c->nmembers; i++)
		for (j = 0; j < c->members[i].ngroups; j++)
			if (strcmp(c->members[i].groups[j], g) == 0)
				return 1;
	return 0;
}

static const struct mp_member *
member_by_id(const struct mp_config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].id, id) == 0)
			return &c->members[i];
	return NULL;
}

static void
check_rcpts(struct loader *L, const struct ent *e, const char *key,
    char **v, size_t n)
{
	const struct keyrec *kr = find_key(e, key);
	size_t i;

	if (kr == NULL)
		return;
	if (n == 0)
		werr(L, &kr->where, "no recipient in '%s'", key);
	for (i = 0; i < n; i++) {
		if (strncmp(v[i], "group:", 6) == 0) {
			if (!group_exists(L->c, v[i] + 6))
				werr(L, &kr->where, "unknown group '%s'",
				    v[i] + 6);
		} else if (strchr(v[i], '@') != NULL) {
			if (!addr_ok(v[i]))
				werr(L, &kr->where, "bad address '%s' in '%s'",
				    v[i], key);
		} else if (member_by_id(L->c, v[i]) == NULL) {
			werr(L, &kr->where, "unknown member '%s'", v[i]);
		}
	}
}

static void
require(struct loader *L, const struct ent *e, const char *key)
{
	if (find_key(e, key) == NULL)
		werr(L, &e->where, "%s has no '%s'", e->label, key);
}

static void
check_tls(struct loader *L, const struct ent *e, enum mp_tls tls,
    const char *url)
{
	const struct keyrec *kr = find_key(e, "tls");
	char host[256];

	if (tls != MP_TLS_NONE || kr == NULL || url == NULL ||
	    strstr(url, "://") == NULL || url_host(url, host, sizeof(host)))
		return;
	if (!loopback(host))
		werr(L, &kr->where, "tls = none is only allowed for a loopback "
		    "host (127.0.0.1, ::1 or localhost), not '%s'", host);
}

static void
check_item(struct loader *L, const struct ent *e, struct mp_item *it)
{
	const struct keyrec *kr;

	switch (it->kind) {
	case MP_ITEM_DEADLINE:
		require(L, e, "due");
		break;
	case MP_ITEM_EVENT:
		require(L, e, "starts");
		kr = find_key(e, "ends");
		if (kr != NULL && it->due != 0 && it->ends != 0 &&
		    it->ends < it->due)
			werr(L, &kr->where, "'ends' is before 'starts'");
		break;
	case MP_ITEM_REMINDER:
		require(L, e, "at");
		require(L, e, "subject");
		kr = find_key(e, "until");
		if (kr != NULL && find_key(e, "repeat") == NULL)
			werr(L, &kr->where, "'until' needs 'repeat'");
		else if (kr != NULL && it->until != 0 && it->due != 0 &&
		    it->until < it->due)
			werr(L, &kr->where, "'until' is before 'at'");
		break;
	}
	require(L, e, "to");
	check_rcpts(L, e, "to", it->to, it->nto);
	check_rcpts(L, e, "pending", it->pending, it->npending);
	if (it->title == NULL)
		it->title = mp_xstrdup(it->subject != NULL ? it->subject :
		    it->id);
	if (it->zone == NULL)
		it->zone = mp_xstrdup("UTC");
}

static void
finish(struct loader *L)
{
	struct mp_config *c = L->c;
	struct mp_where top = { c->files[0], 0 };
	size_t i, j;

	if (c->store_path == NULL)
		c->store_path = join(L->maindir, "var/magpie.db");
	if (c->digest.template == NULL)
		c->digest.template = join(L->maindir, "templates/digest");
	if (c->digest.where.file == NULL)
		c->digest.where = top;
	if (c->calendar.where.file == NULL)
		c->calendar.where = top;
	if (L->single[S_DELIVERY] < 0) {
		c->delivery.where = top;
		diag(L, c->files[0], 0, "no [delivery] section (it needs "
		    "'transport' and 'from')");
	}
	for (i = 0; i < L->nents; i++) {
		const struct ent *e = &L->ents[i];

		switch (e->kind) {
		case S_LIST: {
			struct mp_list_cfg *l = &c->lists[e->idx];

			require(L, e, "source");
			check_tls(L, e, l->tls, l->source);
			if (l->name == NULL)
				l->name = mp_xstrdup(l->id);
			break;
		}
		case S_DELIVERY: {
			struct mp_delivery_cfg *dl = &c->delivery;

			require(L, e, "transport");
			require(L, e, "from");
			check_tls(L, e, dl->tls, dl->transport);
			if (dl->bounce == NULL)
				dl->bounce = mp_xstrdup(dl->from_addr);
			break;
		}
		case S_MEMBER: {
			struct mp_member *m = &c->members[e->idx];

			require(L, e, "email");
			if (m->name == NULL)
				m->name = mp_xstrdup(m->id);
			if (m->email == NULL)
				break;
			for (j = 0; j < e->idx; j++) {
				const struct mp_member *o = &c->members[j];

				if (o->email != NULL &&
				    strcasecmp(o->email, m->email) == 0) {
					werr(L, &find_key(e, "email")->where,
					    "email '%s' already belongs to "
					    "[member %s] (at %s:%d)", m->email,
					    o->id, o->where.file,
					    o->where.line);
					break;
				}
			}
			break;
		}
		case S_DEADLINE:
		case S_EVENT:
		case S_REMINDER:
			check_item(L, e, &c->items[e->idx]);
			break;
		default:
			break;
		}
	}
}

static size_t
file_rank(const struct mp_config *c, const char *file)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (c->files[i] == file)
			return i;
	return 0;
}

static int
cmp_diag(const void *a, const void *b)
{
	const struct diagrec *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- public ----------------------------------------------------------- */

int
mp_config_load(const char *path, struct mp_config **out, struct mp_diag *d)
{
	struct loader L;
	struct mp_config *c;
	size_t i, before = d->n;

	*out = NULL;
	memset(&L, 0, sizeof(L));
	for (i = 0; i < S_COUNT; i++)
		L.single[i] = -1;
	c = mp_xcalloc(1, sizeof(*c));
	c->path = mp_xstrdup(path);
	c->digest.minute = 7 * 60;
	c->digest.weekday = 1;
	c->digest.days_ahead = 14;
	c->delivery.timeout = 60;
	c->delivery.max_attempts = 10;
	c->delivery.max_age = 3 * 86400;
	c->threads.subject_window = MP_THREAD_SUBJECT_WINDOW;
	L.c = c;
	L.maindir = dir_of(path);

	load_file(&L, path, 0, NULL, 0);
	if (c->nfiles > 0)
		finish(&L);

	for (i = 0; i < L.ndiags; i++)
		L.diags[i].rank = file_rank(c, L.diags[i].file);
	if (L.ndiags > 0)
		qsort(L.diags, L.ndiags, sizeof(*L.diags), cmp_diag);
	for (i = 0; i < L.ndiags; i++) {
		mp_diag_add(d, L.diags[i].file, L.diags[i].line, "%s",
		    L.diags[i].msg);
		free(L.diags[i].msg);
	}
	free(L.diags);
	for (i = 0; i < L.nents; i++) {
		free(L.ents[i].name);
		free(L.ents[i].label);
		free(L.ents[i].keys);
	}
	free(L.ents);
	free(L.ids);
	free(L.maindir);
	if (d->n > before) {
		mp_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void
free_item(struct mp_item *it)
{
	free(it->id);
	free(it->title);
	free(it->zone);
	free_strv(it->to, it->nto);
	free_strv(it->pending, it->npending);
	free(it->url);
	free(it->note);
	free(it->location);
	free(it->subject);
	free(it->body);
}

void
mp_config_free(struct mp_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlists; i++) {
		struct mp_list_cfg *l = &c->lists[i];

		free(l->id);
		free(l->name);
		free(l->source);
		free(l->user);
		free(l->password_file);
		free(l->password_command);
		free(l->ca_file);
		free(l->list_id);
		free(l->archive_url);
	}
	free(c->lists);
	free(c->delivery.transport);
	free(c->delivery.user);
	free(c->delivery.password_file);
	free(c->delivery.password_command);
	free(c->delivery.ca_file);
	free(c->delivery.from);
	free(c->delivery.from_name);
	free(c->delivery.from_addr);
	free(c->delivery.bounce);
	free(c->digest.template);
	for (i = 0; i < c->nmembers; i++) {
		struct mp_member *m = &c->members[i];

		free(m->id);
		free(m->name);
		free(m->email);
		free(m->tz);
		free_strv(m->groups, m->ngroups);
	}
	free(c->members);
	for (i = 0; i < c->nitems; i++)
		free_item(&c->items[i]);
	free(c->items);
	free(c->calendar.quiet);
	free(c->store_path);
	free_strv(c->files, c->nfiles);
	free(c->path);
	free(c);
}

const struct mp_member *
mp_config_member(const struct mp_config *c, const char *email_or_id)
{
	const struct mp_member *m;
	size_t i;

	if (c == NULL || email_or_id == NULL)
		return NULL;
	m = member_by_id(c, email_or_id);
	if (m != NULL)
		return m;
	for (i = 0; i < c->nmembers; i++)
		if (c->members[i].email != NULL &&
		    strcasecmp(c->members[i].email, email_or_id) == 0)
			return &c->members[i];
	return NULL;
}

const struct mp_item *
mp_config_item(const struct mp_config *c, const char *id)
{
	size_t i;

	if (c == NULL || id == NULL)
		return NULL;
	for (i = 0; i < c->nitems; i++)
		if (strcmp(c->items[i].id, id) == 0)
			return &c->items[i];
	return NULL;
}

static int
has_group(const struct mp_member *m, const char *g)
{
	size_t i;

	if (strcmp(g, "all") == 0)
		return 1;
	for (i = 0; i < m->ngroups; i++)
		if (strcmp(m->groups[i], g) == 0)
			return 1;
	return 0;
}

/* Does one to/pending entry select member m? */
static int
selects(const char *entry, const struct mp_member *m)
{
	if (strncmp(entry, "group:", 6) == 0)
		return has_group(m, entry + 6);
	if (strchr(entry, '@') != NULL)
		return strcasecmp(entry, m->email) == 0;
	return strcmp(entry, m->id) == 0;
}

int
mp_config_recipients(const struct mp_config *c, const struct mp_item *it,
    struct mp_rcpt **out, size_t *n)
{
	struct mp_rcpt *r;
	size_t i, j, k, cnt = 0;

	*out = NULL;
	*n = 0;
	if (c == NULL || it == NULL)
		return -1;
	r = mp_xcalloc(c->nmembers + it->nto + 1, sizeof(*r));
	for (i = 0; i < c->nmembers; i++) {
		const struct mp_member *m = &c->members[i];

		for (j = 0; j < it->nto; j++) {
			if (selects(it->to[j], m)) {
				r[cnt].member = m;
				r[cnt].name = m->name;
				r[cnt].email = m->email;
				r[cnt++].tz = m->tz;
				break;
			}
		}
	}
	for (j = 0; j < it->nto; j++) {
		const char *a = it->to[j];

		if (strchr(a, '@') == NULL || strncmp(a, "group:", 6) == 0)
			continue;
		for (k = 0; k < cnt; k++)
			if (strcasecmp(r[k].email, a) == 0)
				break;
		if (k < cnt)
			continue;
		r[cnt].member = NULL;
		r[cnt].name = "";
		r[cnt].email = a;
		r[cnt++].tz = "UTC";
	}
	*out = r;
	*n = cnt;
	return 0;
}

int
mp_config_is_pending(const struct mp_config *c, const struct mp_item *it,
    const char *email)
{
	const struct mp_member *m;
	size_t i;

	if (it == NULL || it->npending == 0)
		return 1;
	if (email == NULL)
		return 0;
	m = mp_config_member(c, email);
	for (i = 0; i < it->npending; i++) {
		const char *p = it->pending[i];

		if (m != NULL && selects(p, m))
			return 1;
		if (m == NULL && strchr(p, '@') != NULL &&
		    strcasecmp(p, email) == 0)
			return 1;
	}
	return 0;
}

int
mp_config_is_recipient(const struct mp_config *c, const struct mp_item *it,
    const char *email)
{
	struct mp_rcpt *r;
	size_t i, n;
	int yes = 0;

	if (mp_config_recipients(c, it, &r, &n) != 0)
		return 0;
	for (i = 0; i < n && !yes; i++)
		yes = strcasecmp(r[i].email, email) == 0;
	free(r);
	return yes;
}

const char *
mp_config_item_kind_name(enum mp_item_kind k)
{
	return k == MP_ITEM_DEADLINE ? "deadline" :
	    k == MP_ITEM_EVENT ? "event" : "reminder";
}
