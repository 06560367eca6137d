/* source.c - mbox (plain or gzip), Maildir and single-file sources. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "datetime.h"
#include "err.h"
#include "log.h"
#include "source.h"

/* Larger messages are skipped: nothing on a mailing list is this big, and
 * the bound keeps one broken archive from exhausting memory. */
#define MAX_MSG ((size_t)64 * 1024 * 1024)
#define CHUNK (256 * 1024)

struct mbox {
	const char *path;       /* borrowed */
	mp_source_cb cb;
	void *ctx;
	struct mp_err *e;       /* borrowed */
	struct mp_buf msg;      /* owned: the message being collected */
	char *chunk;            /* the buffer being read (one byte more) */
	size_t span, nspan;     /* the message's last nspan bytes, still
	                           at chunk + span (uncopied) */
	struct mp_buf line;     /* owned: a line split across two chunks */
	int line_overflow;      /* that line was longer than MAX_MSG */
	struct mp_buf origin;   /* owned */
	size_t nmsg;
	int in_msg;
	int in_header;
	int skip;               /* message over MAX_MSG: drop its lines */
	int pipermail;          /* From_ line used "user at host" */
	int prev_blank;
	int64_t delivered;
};

struct tok {
	const char *p;
	size_t n;
};

/* The callback may have filled e itself (through its ctx): keep that. */
static int
stopped(struct mp_err *e, const char *origin)
{
	if (e != NULL && e->code == 0)
		mp_err_set(e, MP_EX_SOFTWARE,
		    "%s: reading stopped by the caller", origin);
	return -1;
}

static int
is_blank_line(const char *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\n') ||
	    (n == 2 && p[0] == '\r' && p[1] == '\n');
}

static size_t
split_tokens(const char *p, size_t n, struct tok *t, size_t max)
{
	size_t i = 0, k = 0;

	while (i < n && k < max) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n'))
			i++;
		if (i >= n)
			break;
		t[k].p = p + i;
		while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
		    p[i] != '\n')
			i++;
		t[k].n = (size_t)(p + i - t[k].p);
		k++;
	}
	return k;
}

static int
tok_is(const struct tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static int
tok_num(const struct tok *t, size_t off, size_t len, int *out)
{
	int v = 0;
	size_t i;

	if (off + len > t->n)
		return -1;
	for (i = off; i < off + len; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return -1;
		v = v * 10 + (t->p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
name_index(const struct tok *t, const char *names)
{
	int i;

	if (t->n != 3)
		return -1;
	for (i = 0; names[i * 3] != '\0'; i++)
		if (strncmp(names + i * 3, t->p, 3) == 0)
			return i;
	return -1;
}

/* The From_ line date is asctime(3) output, "Thu Jun 17 10:00:00 2021",
 * in UTC; some writers add a numeric zone after the year. */
static int64_t
from_line_date(const struct tok *t, size_t nt)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t i;
	int mon, day, hh, mm, ss = 0, year, zone = 0, zh, zm;

	for (i = 0; i + 4 < nt; i++) {
		if (name_index(&t[i], days) < 0)
			continue;
		mon = name_index(&t[i + 1], months);
		if (mon < 0)
			continue;
		if (t[i + 2].n < 1 || t[i + 2].n > 2 ||
		    tok_num(&t[i + 2], 0, t[i + 2].n, &day) < 0)
			continue;
		if ((t[i + 3].n != 5 && t[i + 3].n != 8) ||
		    tok_num(&t[i + 3], 0, 2, &hh) < 0 ||
		    t[i + 3].p[2] != ':' ||
		    tok_num(&t[i + 3], 3, 2, &mm) < 0)
			continue;
		if (t[i + 3].n == 8 && (t[i + 3].p[5] != ':' ||
		    tok_num(&t[i + 3], 6, 2, &ss) < 0))
			continue;
		if (t[i + 4].n != 4 || tok_num(&t[i + 4], 0, 4, &year) < 0)
			continue;
		if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
			continue;
		if (i + 5 < nt && t[i + 5].n == 5 &&
		    (t[i + 5].p[0] == '+' || t[i + 5].p[0] == '-') &&
		    tok_num(&t[i + 5], 1, 2, &zh) == 0 &&
		    tok_num(&t[i + 5], 3, 2, &zm) == 0) {
			zone = (zh * 60 + zm) * 60;
			if (t[i + 5].p[0] == '-')
				zone = -zone;
		}
		return mp_dt_days_from_civil((int)year, mon + 1, day) * 86400 +
		    hh * 3600 + mm * 60 + ss - zone;
	}
	return 0;
}

/* Pipermail obfuscates "user@host" as "user at host" (Mailman 2
 * ARCHIVER_OBSCURES_EMAILADDRS), in the From_ line and in From:. */
static int
is_obfuscated(const struct tok *t, size_t nt)
{
	return nt >= 3 && tok_is(&t[1], "at") &&
	    memchr(t[0].p, '@', t[0].n) == NULL &&
	    memchr(t[2].p, '@', t[2].n) == NULL;
}

static int
addr_char_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strchr("@<>()\",;:[]\\", p[i]) != NULL ||
		    (unsigned char)p[i] < 0x21)
			return 0;
	return n > 0;
}

/* Turns "From: user at host (Name)" into "From: Name <user@host>" in buf.
 * Returns 1 when the line had that exact shape and was rewritten. */
static int
pipermail_from(struct mp_buf *b, const char *p, size_t n)
{
	const char *eol, *s, *end, *local, *dom, *name = NULL;
	size_t nlocal, ndom, nname = 0, i;
	int quote = 0;

	if (n < 6 || memcmp(p, "From: ", 6) != 0)
		return 0;
	end = p + n;
	eol = end;
	while (eol > p && (eol[-1] == '\n' || eol[-1] == '\r'))
		eol--;
	s = p + 6;
	local = s;
	while (s < eol && *s != ' ')
		s++;
	nlocal = (size_t)(s - local);
	if (eol - s < 5 || memcmp(s, " at ", 4) != 0)
		return 0;
	s += 4;
	dom = s;
	while (s < eol && *s != ' ')
		s++;
	ndom = (size_t)(s - dom);
	if (!addr_char_ok(local, nlocal) || !addr_char_ok(dom, ndom))
		return 0;
	if (s < eol) {
		if (eol - s < 4 || s[1] != '(' || eol[-1] != ')')
			return 0;
		name = s + 2;
		nname = (size_t)(eol - 1 - name);
		if (nname == 0)
			return 0;
		for (i = 0; i < nname; i++)
			if (name[i] == '\r' || name[i] == '\n')
				return 0;
	}
	mp_buf_adds(b, "From: ");
	if (name != NULL) {
		if (!(nname >= 2 && name[0] == '"' && name[nname - 1] == '"')) {
			for (i = 0; i < nname; i++)
				if (strchr("()<>[]:;@\\,.\"", name[i]) != NULL)
					quote = 1;
			/* RFC 2047 5: encoded words may not be quoted. */
			for (i = 0; i + 1 < nname; i++)
				if (name[i] == '=' && name[i + 1] == '?')
					quote = 0;
		}
		if (quote) {
			mp_buf_addc(b, '"');
			for (i = 0; i < nname; i++) {
				if (name[i] == '"' || name[i] == '\\')
					mp_buf_addc(b, '\\');
				mp_buf_addc(b, name[i]);
			}
			mp_buf_addc(b, '"');
		} else {
			mp_buf_add(b, name, nname);
		}
		mp_buf_adds(b, " <");
	}
	mp_buf_add(b, local, nlocal);
	mp_buf_addc(b, '@');
	mp_buf_add(b, dom, ndom);
	if (name != NULL)
		mp_buf_addc(b, '>');
	mp_buf_add(b, eol, (size_t)(end - eol));
	return 1;
}

/* The length of the message collected so far. */
static size_t
msg_len(const struct mbox *m)
{
	return m->msg.len + m->nspan;
}

/* Copy the span into msg: before the chunk is read over, and before
 * msg is written to in any other way. */
static void
msg_settle(struct mbox *m)
{
	if (m->nspan > 0)
		mp_buf_add(&m->msg, m->chunk + m->span, m->nspan);
	m->nspan = 0;
}

/* Add p[0..n) to the message. Bytes in the chunk are only marked while
 * they follow on from one another: most messages lie whole in one
 * chunk, and go to the callback from there, without a copy. */
static void
msg_add(struct mbox *m, const char *p, size_t n)
{
	int in_chunk = m->chunk != NULL &&
	    (uintptr_t)p - (uintptr_t)m->chunk < CHUNK;

	if (in_chunk && m->nspan > 0 && m->chunk + m->span + m->nspan == p) {
		m->nspan += n;
		return;
	}
	msg_settle(m);
	if (in_chunk && m->msg.len == 0) {
		m->span = (size_t)(p - m->chunk);
		m->nspan = n;
		return;
	}
	mp_buf_add(&m->msg, p, n);
}

/* "PATH:N" for the m->nmsg'th message (no printf: once per message). */
static void
origin_of(struct mbox *m)
{
	char num[24], *p = num + sizeof(num);
	size_t n = m->nmsg;

	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	mp_buf_reset(&m->origin);
	mp_buf_adds(&m->origin, m->path);
	mp_buf_addc(&m->origin, ':');
	mp_buf_add(&m->origin, p, (size_t)(num + sizeof(num) - p));
}

static int
mbox_flush(struct mbox *m)
{
	struct mp_buf *b = &m->msg;
	char *raw, save = 0;
	size_t len;
	int rc;

	if (!m->in_msg)
		return 0;
	m->in_msg = 0;
	if (m->skip) {
		m->skip = 0;
		m->nspan = 0;
		mp_buf_reset(b);
		return 0;
	}
	if (b->len == 0 && m->nspan > 0) {
		raw = m->chunk + m->span;
		len = m->nspan;
		m->nspan = 0;
	} else {
		msg_settle(m);
		raw = b->data;
		len = b->len;
	}
	/* The empty line before the next From_ line belongs to the mbox
	 * format, not to the message (as mutt and Python's mailbox do). */
	if (len >= 4 && memcmp(raw + len - 4, "\r\n\r\n", 4) == 0)
		len -= 2;
	else if (len >= 2 && memcmp(raw + len - 2, "\n\n", 2) == 0)
		len -= 1;
	/* a NUL after it (in the chunk, for the call: the chunk has one
	 * byte more than is read into it) */
	if (raw != NULL) {
		save = raw[len];
		raw[len] = '\0';
	}
	origin_of(m);
	rc = m->cb(raw != NULL ? raw : "", len, m->delivered,
	    mp_buf_str(&m->origin), m->ctx);
	if (raw != NULL)
		raw[len] = save;
	mp_buf_reset(b);
	if (b->cap > 4 * 1024 * 1024)
		mp_buf_free(b);
	return rc == 0 ? 0 : stopped(m->e, mp_buf_str(&m->origin));
}

static void
mbox_start(struct mbox *m, const char *p, size_t n)
{
	struct tok t[24];
	size_t nt = 0;

	m->nmsg++;
	m->in_msg = 1;
	m->in_header = 1;
	m->skip = 0;
	m->pipermail = 0;
	m->delivered = 0;
	if (p != NULL) {
		nt = split_tokens(p + 5, n - 5, t, sizeof(t) / sizeof(t[0]));
		m->delivered = from_line_date(t, nt);
		m->pipermail = is_obfuscated(t, nt);
	}
}

/* The line p[0..n) begins "From " (after a blank line: a From_ line). */
static int
from_line(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* mboxrd: ">From ", ">>From ", ... lose one '>'. */
static int
quoted_from(const char *p, size_t n)
{
	size_t q = 0;

	while (q < n && p[q] == '>')
		q++;
	return q > 0 && from_line(p + q, n - q);
}

static int
mbox_line(struct mbox *m, const char *p, size_t n, int overflow)
{
	int blank = !overflow && is_blank_line(p, n);

	if (!overflow && m->prev_blank && from_line(p, n)) {
		if (mbox_flush(m) < 0)
			return -1;
		mbox_start(m, p, n);
		m->prev_blank = 0;
		return 0;
	}
	m->prev_blank = blank;
	if (!m->in_msg) {
		/* Text before the first From_ line: a file that is one bare
		 * message (e.g. a gzipped .eml), or blank lines to ignore. */
		if (blank)
			return 0;
		mbox_start(m, NULL, 0);
	}
	if (!m->skip && (overflow || msg_len(m) + n > MAX_MSG)) {
		mp_warnx("%s:%zu: message larger than %zu bytes, skipped",
		    m->path, m->nmsg, MAX_MSG);
		m->skip = 1;
		m->nspan = 0;
		mp_buf_free(&m->msg);
	}
	if (m->skip)
		return 0;
	if (m->in_header && blank)
		m->in_header = 0;
	if (m->in_header && m->pipermail) {
		msg_settle(m);
		if (pipermail_from(&m->msg, p, n))
			return 0;
	}
	if (quoted_from(p, n)) {
		p++;
		n--;
	}
	msg_add(m, p, n);
	return 0;
}

/* Does a blank line ("\n" or "\r\n") end just before k, a line start
 * after p (runs begin at line starts)? */
static int
blank_before(const char *p, const char *k)
{
	if (k - p < 1 || k[-1] != '\n')
		return 0;
	if (k - p == 1 || k[-2] == '\n')
		return 1;
	return k[-2] == '\r' && (k - p == 2 || k[-3] == '\n');
}

/* Does p[0..n) hold a blank line? */
static int
has_blank_line(const char *p, size_t n)
{
	const char *q = p, *e = p + n;

	if (n > 0 && (p[0] == '\n' || (n > 1 && p[0] == '\r' && p[1] == '\n')))
		return 1;
	while ((q = memchr(q, '\n', (size_t)(e - q))) != NULL) {
		q++;
		if (q < e && (*q == '\n' || (*q == '\r' && q + 1 < e &&
		    q[1] == '\n')))
			return 1;
	}
	return 0;
}

/* How many bytes of whole lines at p need none of mbox_line's care
 * (no From_ line, no quoted ">From ", no pipermail header, the message
 * under the bound): they are added at once. Most lines are such: the
 * run ends at the next "From " that begins a line after a blank one or
 * follows '>'s that do, found by looking at each 'F' rather than at each
 * line (line by line the reading took a tenth of an import's CPU; a
 * memchr per line, 98 a message, still took a twentieth). */
static size_t
mbox_plain_run(struct mbox *m, const char *p, size_t n)
{
	const char *lim, *q = p, *f, *k, *end = NULL;
	size_t len;

	if (!m->in_msg || m->skip || (m->in_header && m->pipermail))
		return 0;
	/* mbox_line keeps a message under MAX_MSG or skips it */
	lim = p + (n < MAX_MSG - msg_len(m) ? n : MAX_MSG - msg_len(m));
	while (end == NULL && lim - q >= 5 &&
	    (f = memchr(q, 'F', (size_t)(lim - q) - 4)) != NULL) {
		q = f + 1;
		if (memcmp(f, "From ", 5) != 0)
			continue;
		for (k = f; k > p && k[-1] == '>'; k--)
			;
		if (k > p && k[-1] != '\n')
			continue;       /* inside a line */
		if (k < f || (k == p ? m->prev_blank : blank_before(p, k)))
			end = k;
	}
	if (end == NULL) {
		/* whole lines only (and a "From " cut at lim is in the
		 * line that follows them) */
		for (end = lim; end > p && end[-1] != '\n'; end--)
			;
	}
	if (end == p)
		return 0;
	len = (size_t)(end - p);
	msg_add(m, p, len);
	if (m->in_header && has_blank_line(p, len))
		m->in_header = 0;
	m->prev_blank = blank_before(p, end);
	return len;
}

static int
mbox_lines(struct mbox *m, const char *p, size_t n)
{
	const char *nl;
	size_t len;

	while (n > 0) {
		if (m->line.len == 0 && !m->line_overflow &&
		    (len = mbox_plain_run(m, p, n)) > 0) {
			p += len;
			n -= len;
			continue;
		}
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (nl != NULL && m->line.len == 0 && !m->line_overflow) {
			if (mbox_line(m, p, len, 0) < 0)
				return -1;
		} else {
			if (m->line.len + len > MAX_MSG + 2) {
				m->line_overflow = 1;
				mp_buf_free(&m->line);
			}
			if (!m->line_overflow)
				mp_buf_add(&m->line, p, len);
			if (nl != NULL) {
				if (mbox_line(m, mp_buf_str(&m->line),
				    m->line.len, m->line_overflow) < 0)
					return -1;
				mp_buf_reset(&m->line);
				m->line_overflow = 0;
			}
		}
		p += len;
		n -= len;
	}
	return 0;
}

/* Lines of a chunk of the mbox, read into chunk[0..n) (which has a
 * byte more, for mbox_flush's NUL); what the message holds of it is
 * copied before the next chunk is read over it. */
static int
mbox_chunk(struct mbox *m, char *chunk, size_t n)
{
	int rc;

	m->chunk = chunk;
	rc = mbox_lines(m, chunk, n);
	msg_settle(m);
	m->chunk = NULL;
	return rc;
}

static int
open_error(const char *path, struct mp_err *e)
{
	if (errno == ENOENT || errno == ENOTDIR || errno == EACCES ||
	    errno == EPERM)
		return mp_err_set(e, MP_EX_NOINPUT, "%s: %s", path,
		    strerror(errno));
	return mp_err_set(e, MP_EX_IOERR, "%s: %s", path, strerror(errno));
}

static void
mbox_init(struct mbox *m, const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e)
{
	memset(m, 0, sizeof(*m));
	m->path = path;
	m->cb = cb;
	m->ctx = ctx;
	m->e = e;
	m->prev_blank = 1;
}

/* The last line and message after the last chunk (rc 0), and m freed. */
static int
mbox_end(struct mbox *m, int rc)
{
	if (rc == 0 && (m->line.len > 0 || m->line_overflow))
		rc = mbox_line(m, mp_buf_str(&m->line), m->line.len,
		    m->line_overflow);
	if (rc == 0)
		rc = mbox_flush(m);
	mp_buf_free(&m->msg);
	mp_buf_free(&m->line);
	mp_buf_free(&m->origin);
	return rc;
}

/* An uncompressed mbox, read in chunks; closes fd. */
static int
read_plain(const char *path, int fd, struct mp_err *e, struct mbox *m)
{
	char *chunk = mp_xmalloc(CHUNK + 1);
	ssize_t n;
	int rc = 0;

	for (;;) {
		n = read(fd, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mp_err_set(e, MP_EX_IOERR, "%s: %s", path,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (mbox_chunk(m, chunk, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	close(fd);
	free(chunk);
	return mbox_end(m, rc);
}

int
mp_source_read_mbox(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e)
{
	struct mbox m;
	gzFile gz;
	char *chunk;
	unsigned char magic[2];
	ssize_t got;
	int n, rc = 0, zerr, fd;
	const char *zmsg;

	mp_err_clear(e);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, e);
	mbox_init(&m, path, cb, ctx, e);
	/* zlib reads plain files too, but through a buffer of its own and
	 * a copy (443 MB for 100,000 messages): a plain file is read
	 * directly. */
	got = pread(fd, magic, sizeof(magic), 0);
	if (got < 0) {
		rc = mp_err_set(e, MP_EX_IOERR, "%s: %s", path,
		    strerror(errno));
		close(fd);
		return rc;
	}
	if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
		return read_plain(path, fd, e, &m);
	gz = gzdopen(fd, "rb");
	if (gz == NULL) {
		close(fd);
		return mp_err_set(e, MP_EX_OSERR, "%s: cannot open", path);
	}
	gzbuffer(gz, CHUNK);
	chunk = mp_xmalloc(CHUNK + 1);
	for (;;) {
		n = gzread(gz, chunk, CHUNK);
		if (n < 0) {
			zmsg = gzerror(gz, &zerr);
			rc = mp_err_set(e, zerr == Z_ERRNO ? MP_EX_IOERR :
			    MP_EX_DATAERR, "%s: %s", path,
			    zerr == Z_ERRNO ? strerror(errno) : zmsg);
			break;
		}
		if (n == 0) {
			/* A truncated stream ends like EOF; only gzerror
			 * tells (Z_BUF_ERROR). */
			zmsg = gzerror(gz, &zerr);
			if (zerr != Z_OK)
				rc = mp_err_set(e, MP_EX_DATAERR, "%s: %s",
				    path, zmsg);
			break;
		}
		if (mbox_chunk(&m, chunk, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	gzclose(gz);
	free(chunk);
	return mbox_end(&m, rc);
}

/* A Maildir's files, listed before reading so that the order is the
 * names' (deterministic). Names sit in one arena, and each file takes 16
 * bytes more: a 100,000-message folder lists in about 6 MB. */
struct ent {
	union {
		size_t off;     /* while listing: offset in the arena */
		const char *p;  /* once listed */
	} name;
	int sub;                /* index in maildir_subs */
};

struct listing {
	struct ent *v;
	size_t n, cap;
	struct mp_buf names;    /* NUL-terminated names */
};

static const char *const maildir_subs[] = { "cur", "new" };

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->name.p, y->name.p);

	return c != 0 ? c : x->sub - y->sub;
}

/* Returns 1 when the folder existed, 0 when it did not. */
static int
list_folder(const char *dir, int sub, struct listing *l)
{
	struct mp_buf p = MP_BUF_INIT;
	struct dirent *d;
	struct stat st;
	DIR *dp;
	size_t base;

	mp_buf_printf(&p, "%s/%s", dir, maildir_subs[sub]);
	dp = opendir(mp_buf_str(&p));
	if (dp == NULL) {
		if (errno != ENOENT)
			mp_warn("%s", mp_buf_str(&p));
		mp_buf_free(&p);
		return 0;
	}
	mp_buf_addc(&p, '/');
	base = p.len;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		/* The type as the directory tells it, where the file system
		 * does: no stat for each file (size and time come with the
		 * read). Links and unknown types are looked at. */
		if (d->d_type != DT_REG) {
			if (d->d_type != DT_UNKNOWN && d->d_type != DT_LNK)
				continue;
			p.len = base;
			mp_buf_adds(&p, d->d_name);
			if (stat(mp_buf_str(&p), &st) != 0 ||
			    !S_ISREG(st.st_mode))
				continue;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->v = mp_xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n].name.off = l->names.len;
		l->v[l->n].sub = sub;
		l->n++;
		mp_buf_add(&l->names, d->d_name, strlen(d->d_name) + 1);
	}
	closedir(dp);
	mp_buf_free(&p);
	return 1;
}

/* A Maildir file whole, with its time: 0, or 1 when skipped (warned). */
static int
read_mail_file(const char *path, char **data, size_t *len, int64_t *mtime)
{
	if (mp_read_file_time(path, MAX_MSG, data, len, mtime) == 0)
		return 0;
	if (errno == EFBIG)
		mp_warnx("%s: message larger than %zu bytes, skipped", path,
		    MAX_MSG);
	else
		mp_warn("%s: skipped", path);
	return 1;
}

int
mp_source_read_maildir(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e)
{
	struct listing l = { NULL, 0, 0, MP_BUF_INIT };
	struct mp_buf file = MP_BUF_INIT;
	size_t i, len;
	struct stat st;
	int64_t mtime;
	char *data;
	int found, rc = 0;

	mp_err_clear(e);
	if (stat(path, &st) != 0)
		return open_error(path, e);
	found = list_folder(path, 0, &l);
	found |= list_folder(path, 1, &l);
	if (!found)
		return mp_err_set(e, MP_EX_NOINPUT,
		    "%s: not a Maildir (no cur/ or new/)", path);
	for (i = 0; i < l.n; i++)
		l.v[i].name.p = l.names.data + l.v[i].name.off;
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), ent_cmp);
	for (i = 0; i < l.n && rc == 0; i++) {
		mp_buf_reset(&file);
		mp_buf_printf(&file, "%s/%s/%s", path, maildir_subs[l.v[i].sub],
		    l.v[i].name.p);
		if (read_mail_file(mp_buf_str(&file), &data, &len, &mtime) != 0)
			continue;
		if (cb(data, len, mtime, mp_buf_str(&file), ctx) != 0)
			rc = stopped(e, mp_buf_str(&file));
		free(data);
	}
	mp_buf_free(&file);
	mp_buf_free(&l.names);
	free(l.v);
	return rc;
}

int
mp_source_read_file(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e)
{
	struct stat st;
	char *data;
	size_t len;
	int rc;

	mp_err_clear(e);
	if (stat(path, &st) != 0)
		return open_error(path, e);
	if (!S_ISREG(st.st_mode))
		return mp_err_set(e, MP_EX_DATAERR, "%s: not a regular file",
		    path);
	if (mp_read_file(path, MAX_MSG, &data, &len) != 0) {
		if (errno == EFBIG)
			return mp_err_set(e, MP_EX_DATAERR,
			    "%s: message larger than %zu bytes", path,
			    MAX_MSG);
		return open_error(path, e);
	}
	rc = cb(data, len, (int64_t)st.st_mtime, path, ctx) == 0 ? 0 :
	    stopped(e, path);
	free(data);
	return rc;
}

static int
is_dir(const char *dir, const char *sub)
{
	struct mp_buf p = MP_BUF_INIT;
	struct stat st;
	int ok;

	mp_buf_printf(&p, "%s/%s", dir, sub);
	ok = stat(mp_buf_str(&p), &st) == 0 && S_ISDIR(st.st_mode);
	mp_buf_free(&p);
	return ok;
}

int
mp_source_read(const char *path, mp_source_cb cb, void *ctx,
    struct mp_err *e)
{
	unsigned char head[5];
	struct stat st;
	ssize_t got;
	int fd;

	mp_err_clear(e);
	if (stat(path, &st) != 0)
		return open_error(path, e);
	if (S_ISDIR(st.st_mode)) {
		if (is_dir(path, "cur") || is_dir(path, "new"))
			return mp_source_read_maildir(path, cb, ctx, e);
		return mp_err_set(e, MP_EX_DATAERR,
		    "%s: a directory but not a Maildir (no cur/ or new/)",
		    path);
	}
	if (!S_ISREG(st.st_mode))
		return mp_err_set(e, MP_EX_DATAERR, "%s: not a regular file",
		    path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, e);
	got = read(fd, head, sizeof(head));
	close(fd);
	if (got < 0)
		return mp_err_set(e, MP_EX_IOERR, "%s: %s", path,
		    strerror(errno));
	if ((got >= 2 && head[0] == 0x1f && head[1] == 0x8b) ||
	    (got == 5 && memcmp(head, "From ", 5) == 0))
		return mp_source_read_mbox(path, cb, ctx, e);
	return mp_source_read_file(path, cb, ctx, e);
}
