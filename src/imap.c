/*
 * imap.c - incremental, resumable sync of one IMAP folder (libetpan).
 *
 * The connection is ours: a TCP socket with SO_RCVTIMEO/SO_SNDTIMEO (the
 * configured timeout on every read and write), wrapped in a mailstream
 * low driver that reads through tls.c once TLS is up. libetpan's own TLS
 * layer neither verifies the server nor keeps its timeouts in the right
 * unit, so it is not used.
 *
 * FETCH commands are pipelined two deep: while magpie parses and stores
 * one batch the server already sends the next. libetpan has no API for
 * that, so each command is written with mailimap_send_current_tag() and
 * its response read with mailimap_parse_response() after setting
 * imap_tag back to that command's tag (the parser checks it).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "config.h"
#include "datetime.h"
#include "err.h"
#include "imap.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "tls.h"

#define STREAM_BUF (64 * 1024)
#define BATCH_BYTES ((size_t)64 * 1024 * 1024)  /* per FETCH, besides batch */
#define SLACK ((size_t)1024 * 1024)             /* protocol overhead allowed */

/* ---- URL ---- */

static int
pct_decode(const char *s, size_t n, char *out, size_t max)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			c = (int)strtol(hex, NULL, 16);
			i += 2;
		}
		if (c == 0 || c == '\r' || c == '\n' || o + 1 >= max)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
mp_imap_url_parse(const char *url, struct mp_imap_url *u, struct mp_err *e)
{
	const char *p, *auth_end, *at = NULL, *h, *hend, *q, *path;
	long port = 0;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "imaps://", 8) == 0) {
		u->implicit_tls = 1;
		p = url + 8;
	} else if (strncmp(url, "imap://", 7) == 0) {
		p = url + 7;
	} else {
		return mp_err_set(e, MP_EX_CONFIG, "'%s' is not an imap:// or "
		    "imaps:// URL", url);
	}
	auth_end = p + strcspn(p, "/?#");
	for (q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL && pct_decode(p, (size_t)(at - p), u->user,
	    sizeof(u->user)) != 0)
		goto bad;
	h = at != NULL ? at + 1 : p;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(auth_end - h));
		if (hend == NULL)
			goto bad;
		h++;
		q = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(auth_end - h));
		if (hend == NULL)
			hend = auth_end;
		q = hend;
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(u->host))
		goto bad;
	memcpy(u->host, h, (size_t)(hend - h));
	u->host[hend - h] = '\0';
	if (q < auth_end) {
		if (*q != ':' || q + 1 == auth_end || auth_end - q > 6)
			goto bad;
		for (q++; q < auth_end; q++) {
			if (!isdigit((unsigned char)*q))
				goto bad;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			goto bad;
	}
	u->port = port != 0 ? (int)port : u->implicit_tls ? 993 : 143;
	path = *auth_end == '/' ? auth_end + 1 : auth_end;
	if (*path == '\0' || *path == '?' || *path == '#') {
		strcpy(u->folder, "INBOX");
	} else if (pct_decode(path, strcspn(path, "?#"), u->folder,
	    sizeof(u->folder)) != 0) {
		goto bad;
	}
	return 0;
bad:
	return mp_err_set(e, MP_EX_CONFIG, "bad IMAP URL '%s' (imaps://"
	    "[USER@]HOST[:PORT]/FOLDER)", url);
}

static int
loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* ---- the connection: a mailstream low driver over our socket ---- */

struct conn {
	int fd;
	struct mp_tls_conn *tls;
	size_t budget;          /* bytes the server may still send */
	int timed_out, over;
};

static ssize_t
low_read(mailstream_low *s, void *buf, size_t n)
{
	struct conn *c = s->data;
	ssize_t r;

	if (c->tls != NULL) {
		r = mp_tls_read(c->tls, buf, n);
	} else {
		do {
			r = read(c->fd, buf, n);
		} while (r < 0 && errno == EINTR);
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == ETIMEDOUT))
		c->timed_out = 1;
	if (r > 0) {
		/* Bounded: never more than the sizes announced allow. */
		if ((size_t)r > c->budget) {
			c->over = 1;
			return -1;
		}
		c->budget -= (size_t)r;
	}
	return r;
}

static ssize_t
low_write(mailstream_low *s, const void *buf, size_t n)
{
	struct conn *c = s->data;
	ssize_t r;

	if (c->tls != NULL)
		r = mp_tls_write(c->tls, buf, n);
	else {
		do {
			r = send(c->fd, buf, n, MSG_NOSIGNAL);
		} while (r < 0 && errno == EINTR);
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == ETIMEDOUT))
		c->timed_out = 1;
	return r;
}

static int
low_close(mailstream_low *s)
{
	struct conn *c = s->data;

	mp_tls_close(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return 0;
}

static int
low_get_fd(mailstream_low *s)
{
	return ((struct conn *)s->data)->fd;
}

static void
low_free(mailstream_low *s)
{
	free(s->data);
	free(s);
}

static mailstream_low_driver conn_driver = {
	low_read, low_write, low_close, low_get_fd, low_free,
	NULL, NULL, NULL, NULL, NULL, NULL
};

static int
tcp_connect(const struct mp_imap_url *u, int timeout, int *out,
    struct mp_err *e)
{
	struct addrinfo hints, *res = NULL, *a;
	struct timeval tv = { timeout, 0 };
	char port[16];
	int fd = -1, r, err = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r != 0)
		return mp_err_set(e, MP_EX_TEMPFAIL, "cannot resolve %s: %s",
		    u->host, gai_strerror(r));
	for (a = res; a != NULL; a = a->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(err);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			err = 0;
		} else if (errno != EINPROGRESS) {
			err = errno;
		} else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do {
				r = poll(&pfd, 1, timeout * 1000);
			} while (r < 0 && errno == EINTR);
			if (r == 0)
				err = ETIMEDOUT;
			else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &err, &len) != 0)
				err = errno;
		}
		if (err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return mp_err_set(e, MP_EX_TEMPFAIL, "cannot connect to %s "
		    "port %d: %s", u->host, u->port, strerror(err));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		close(fd);
		return mp_err_set(e, MP_EX_OSERR, "socket setup: %s",
		    strerror(errno));
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

/* ---- one sync ---- */

struct cand {
	uint32_t uid;
	uint32_t size;
};

struct batch {
	size_t from, to;        /* range in cands */
	size_t bytes;
	long nfetch;
	int tag;                /* 0: nothing to fetch */
};

struct sync {
	const struct mp_list_cfg *l;
	struct mp_imap_url u;
	char where[300];        /* "host:port" for messages */
	struct conn *c;
	mailimap *im;
	struct mp_store *st;
	char *key;
	int64_t now;
	mp_source_cb cb;
	void *ctx;
	struct mp_imap_stats stats;
	struct cand *cands;
	size_t ncands;
	clist *pool;            /* FETCH data received, not yet stored */
	/* progress */
	int progress;
	double t0, shown;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
progress(struct sync *s, int last)
{
	double t = mono(), rate;

	if (!s->progress || (!last && t - s->shown < 0.25))
		return;
	s->shown = t;
	rate = t > s->t0 ? (double)s->stats.fetched / (t - s->t0) : 0;
	fprintf(stderr, "\rmagpie: list %s: %ld of %ld messages, %.0f/s\033[K",
	    s->l->id, s->stats.fetched + s->stats.skipped, s->stats.total,
	    rate);
	if (last)
		fputc('\n', stderr);
}

/* An error for a failed libetpan call r during what. */
static int
net_err(struct sync *s, int r, const char *what, struct mp_err *e)
{
	if (s->c->over)
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: the server sent "
		    "more than it announced during %s; giving up", s->where,
		    what);
	if (s->c->timed_out)
		return mp_err_set(e, MP_EX_TEMPFAIL, "%s: timed out after %d s "
		    "during %s", s->where, s->l->timeout, what);
	if (r == MAILIMAP_ERROR_STREAM)
		return mp_err_set(e, MP_EX_TEMPFAIL, "%s: connection lost "
		    "during %s", s->where, what);
	if (r == MAILIMAP_ERROR_PARSE || r == MAILIMAP_ERROR_PROTOCOL)
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: unexpected "
		    "response during %s", s->where, what);
	if (r == MAILIMAP_ERROR_MEMORY)
		return mp_err_set(e, MP_EX_OSERR, "out of memory");
	return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: %s failed%s%s",
	    s->where, what, s->im->imap_response != NULL ? ": " : "",
	    s->im->imap_response != NULL ? s->im->imap_response : "");
}

static int
start_tls(struct sync *s, struct mp_err *e)
{
	if (mp_tls_open(s->c->fd, s->u.host, s->l->ca_file, &s->c->tls, e)
	    != 0) {
		/* e names the host; add the port for the reader. */
		struct mp_err keep = *e;

		return mp_err_set(e, keep.code, "%s (port %d)", keep.msg,
		    s->u.port);
	}
	return 0;
}

static int
capability(struct sync *s, struct mp_err *e)
{
	struct mailimap_capability_data *cap = NULL;
	int r = mailimap_capability(s->im, &cap);

	if (r != MAILIMAP_NO_ERROR)
		return net_err(s, r, "CAPABILITY", e);
	mailimap_capability_data_free(cap);
	return 0;
}

static int
open_session(struct sync *s, struct mp_err *e)
{
	mailstream_low *low;
	mailstream *stream;
	int fd = -1, r, plain_ok;

	plain_ok = s->l->tls == MP_TLS_NONE && !s->u.implicit_tls;
	if (plain_ok && !loopback(s->u.host))
		return mp_err_set(e, MP_EX_CONFIG, "%s: tls = none is only "
		    "allowed for a loopback host", s->where);
	if (tcp_connect(&s->u, s->l->timeout, &fd, e) != 0)
		return -1;
	s->c = mp_xcalloc(1, sizeof(*s->c));
	s->c->fd = fd;
	s->c->budget = SLACK;
	if (s->u.implicit_tls && start_tls(s, e) != 0) {
		close(fd);
		free(s->c);
		s->c = NULL;
		return -1;
	}
	low = mailstream_low_new(s->c, &conn_driver);
	stream = low != NULL ? mailstream_new(low, STREAM_BUF) : NULL;
	s->im = mailimap_new(0, NULL);
	if (stream == NULL || s->im == NULL) {
		mp_warnx("out of memory");
		abort();
	}
	r = mailimap_connect(s->im, stream);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		return net_err(s, r, "the greeting", e);
	if (s->u.implicit_tls || plain_ok)
		return capability(s, e);
	/* imap:// with STARTTLS required. */
	if (r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED && capability(s, e) != 0)
		return -1;
	if (r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	    !mailimap_has_extension(s->im, "STARTTLS"))
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: the server does "
		    "not offer STARTTLS; refusing to log in without TLS (use "
		    "imaps://, or tls = none for a loopback server)",
		    s->where);
	r = mailimap_starttls(s->im);
	if (r != MAILIMAP_NO_ERROR)
		return net_err(s, r, "STARTTLS", e);
	/* Anything already buffered came before TLS: an injection. */
	if (s->im->imap_stream->read_buffer_len != 0)
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: data after "
		    "STARTTLS before the TLS handshake; refusing", s->where);
	if (start_tls(s, e) != 0)
		return -1;
	/* Capabilities from before TLS cannot be trusted (RFC 3501 6.2.1). */
	return capability(s, e);
}

static char *
b64(const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = mp_xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tab[p[i + 2] & 63];
	}
	if (i < n) {
		*o++ = tab[p[i] >> 2];
		if (i + 1 < n) {
			*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = tab[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tab[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
send_raw(struct sync *s, const char *text, size_t n)
{
	return mailstream_write(s->im->imap_stream, text, n) < 0 ? -1 : 0;
}

/* AUTHENTICATE PLAIN (RFC 4616), with SASL-IR when offered. */
static int
auth_plain(struct sync *s, const char *user, const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass), n = ul + pl + 2;
	unsigned char *msg = mp_xmalloc(n);
	struct mailimap_response *resp = NULL;
	char *enc, *line;
	int ir = mailimap_has_extension(s->im, "SASL-IR"), r, state;

	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, pass, pl);
	enc = b64(msg, n);
	explicit_bzero(msg, n);
	free(msg);
	r = mailimap_send_current_tag(s->im) != MAILIMAP_NO_ERROR ||
	    send_raw(s, "AUTHENTICATE PLAIN", 18) != 0 ||
	    (ir && (send_raw(s, " ", 1) != 0 ||
	    send_raw(s, enc, strlen(enc)) != 0)) ||
	    send_raw(s, "\r\n", 2) != 0 ||
	    mailstream_flush(s->im->imap_stream) != 0 ? -1 : 0;
	if (r == 0 && (line = mailimap_read_line(s->im)) == NULL)
		r = -1;
	if (r == 0 && !ir && line[0] == '+') {
		if (send_raw(s, enc, strlen(enc)) != 0 ||
		    send_raw(s, "\r\n", 2) != 0 ||
		    mailstream_flush(s->im->imap_stream) != 0 ||
		    mailimap_read_line(s->im) == NULL)
			r = -1;
	}
	explicit_bzero(enc, strlen(enc));
	free(enc);
	if (r != 0)
		return MAILIMAP_ERROR_STREAM;
	r = mailimap_parse_response(s->im, &resp);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	state = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->
	    rsp_type;
	mailimap_response_free(resp);
	if (state != MAILIMAP_RESP_COND_STATE_OK)
		return MAILIMAP_ERROR_LOGIN;
	s->im->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return MAILIMAP_NO_ERROR;
}

static int
login(struct sync *s, struct mp_err *e)
{
	const char *user = s->l->user != NULL ? s->l->user : s->u.user;
	const char *how;
	char *pass = NULL;
	int r;

	if (s->im->imap_state == MAILIMAP_STATE_AUTHENTICATED)
		return 0;       /* PREAUTH, over TLS or loopback */
	if (*user == '\0')
		return mp_err_set(e, MP_EX_CONFIG, "[list %s]: no IMAP user "
		    "(put it in the URL or set 'user')", s->l->id);
	if (s->l->password_file == NULL && s->l->password_command == NULL)
		return mp_err_set(e, MP_EX_CONFIG, "[list %s]: no "
		    "password_file or password_command", s->l->id);
	if (mp_secret_get(s->l->password_file, s->l->password_command, &pass,
	    e) != 0)
		return -1;
	if (mailimap_has_authentication(s->im, "PLAIN")) {
		how = "AUTHENTICATE PLAIN";
		r = auth_plain(s, user, pass);
	} else if (!mailimap_has_extension(s->im, "LOGINDISABLED")) {
		how = "LOGIN";
		r = mailimap_login(s->im, user, pass);
	} else {
		mp_secret_free(pass);
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: the server offers "
		    "neither AUTH=PLAIN nor LOGIN", s->where);
	}
	mp_secret_free(pass);
	if (r == MAILIMAP_ERROR_LOGIN)
		return mp_err_set(e, MP_EX_NOPERM, "%s: login as %s refused "
		    "(%s): %s; check the password", s->where, user, how,
		    s->im->imap_response != NULL ? s->im->imap_response : "");
	if (r != MAILIMAP_NO_ERROR)
		return net_err(s, r, how, e);
	return 0;
}

/* Write "TAG UID FETCH <set> <items>" without waiting; returns the tag. */
static int
send_fetch(struct sync *s, const struct cand *c, size_t from, size_t to,
    uint32_t max_size, const char *items, size_t allow, int *tag)
{
	struct mp_buf b = MP_BUF_INIT;
	size_t i;
	int r, first = 1;

	mp_buf_adds(&b, "UID FETCH ");
	for (i = from; i < to; i++) {
		size_t j = i;

		if (max_size && c[i].size > max_size)
			continue;
		while (j + 1 < to && c[j + 1].uid == c[j].uid + 1 &&
		    !(max_size && c[j + 1].size > max_size))
			j++;
		mp_buf_printf(&b, first ? "%u" : ",%u", c[i].uid);
		if (j > i)
			mp_buf_printf(&b, ":%u", c[j].uid);
		first = 0;
		i = j;
	}
	mp_buf_printf(&b, " %s\r\n", items);
	r = mailimap_send_current_tag(s->im) != MAILIMAP_NO_ERROR ||
	    send_raw(s, b.data, b.len) != 0 ||
	    mailstream_flush(s->im->imap_stream) != 0 ? -1 : 0;
	mp_buf_free(&b);
	*tag = s->im->imap_tag;
	s->c->budget += allow;
	return r;
}

/* Read the response to the command tagged tag; *list owns its FETCH data. */
static int
read_fetch(struct sync *s, int tag, clist **list, struct mp_err *e)
{
	struct mailimap_response *resp = NULL;
	int cur = s->im->imap_tag, r, state;

	*list = NULL;
	s->im->imap_tag = tag;
	if (mailimap_read_line(s->im) == NULL)
		r = MAILIMAP_ERROR_STREAM;
	else
		r = mailimap_parse_response(s->im, &resp);
	s->im->imap_tag = cur;
	if (r != MAILIMAP_NO_ERROR)
		return net_err(s, r, "FETCH", e);
	*list = s->im->imap_response_info->rsp_fetch_list;
	s->im->imap_response_info->rsp_fetch_list = NULL;
	state = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->
	    rsp_type;
	mailimap_response_free(resp);
	if (state != MAILIMAP_RESP_COND_STATE_OK) {
		if (*list != NULL)
			mailimap_fetch_list_free(*list);
		*list = NULL;
		return net_err(s, MAILIMAP_ERROR_FETCH, "FETCH", e);
	}
	return 0;
}

struct att {
	uint32_t uid;
	uint32_t size;
	const char *body;
	size_t len;
	int64_t date;
};

static void
att_of(struct mailimap_msg_att *m, struct att *a)
{
	clistiter *it;

	memset(a, 0, sizeof(*a));
	for (it = clist_begin(m->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			a->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			a->size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE: {
			struct mailimap_date_time *d =
			    st->att_data.att_internal_date;
			int z = d->dt_zone < 0 ? -d->dt_zone : d->dt_zone;
			int64_t off = (z / 100) * 3600 + (z % 100) * 60;

			a->date = mp_dt_days_from_civil(d->dt_year, d->dt_month,
			    d->dt_day) * 86400 + d->dt_hour * 3600 +
			    d->dt_min * 60 + d->dt_sec -
			    (d->dt_zone < 0 ? -off : off);
			break;
		}
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			a->body = st->att_data.att_body_section->sec_body_part;
			a->len = st->att_data.att_body_section->sec_length;
			break;
		default:
			break;
		}
	}
}

static int
cand_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct cand *)a)->uid;
	uint32_t y = ((const struct cand *)b)->uid;

	return x < y ? -1 : x > y;
}

/* UID and size of every message after last_uid. */
static int
list_new(struct sync *s, uint32_t last_uid, uint32_t exists,
    struct mp_err *e)
{
	struct mp_buf b = MP_BUF_INIT;
	clist *list = NULL;
	clistiter *it;
	int tag, r;

	mp_buf_printf(&b, "UID FETCH %u:* (UID RFC822.SIZE)\r\n",
	    last_uid + 1);
	r = mailimap_send_current_tag(s->im) != MAILIMAP_NO_ERROR ||
	    send_raw(s, b.data, b.len) != 0 ||
	    mailstream_flush(s->im->imap_stream) != 0;
	mp_buf_free(&b);
	if (r)
		return net_err(s, MAILIMAP_ERROR_STREAM, "FETCH", e);
	tag = s->im->imap_tag;
	s->c->budget += SLACK + (size_t)exists * 128;
	if (read_fetch(s, tag, &list, e) != 0)
		return -1;
	s->cands = mp_xcalloc((size_t)clist_count(list) + 1,
	    sizeof(*s->cands));
	for (it = clist_begin(list); it != NULL; it = clist_next(it)) {
		struct att a;

		att_of(clist_content(it), &a);
		/* "n:*" also names the last message when its UID < n. */
		if (a.uid > last_uid)
			s->cands[s->ncands++] = (struct cand){ a.uid, a.size };
	}
	mailimap_fetch_list_free(list);
	qsort(s->cands, s->ncands, sizeof(*s->cands), cand_cmp);
	s->stats.total = (long)s->ncands;
	return 0;
}

static struct batch *
plan(struct sync *s, size_t *nb)
{
	uint32_t max = s->l->max_size > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)s->l->max_size;
	struct batch *b = mp_xcalloc(s->ncands + 1, sizeof(*b));
	size_t i, n = 0;

	for (i = 0; i < s->ncands; i++) {
		struct batch *cur = &b[n];
		int big = s->cands[i].size > max;

		if (cur->to > cur->from && !big &&
		    (cur->nfetch >= s->l->batch ||
		    cur->bytes + s->cands[i].size > BATCH_BYTES)) {
			n++;
			cur = &b[n];
		}
		if (cur->to == cur->from)
			cur->from = cur->to = i;
		cur->to = i + 1;
		if (!big) {
			cur->nfetch++;
			cur->bytes += s->cands[i].size;
		}
	}
	*nb = s->ncands > 0 ? n + 1 : 0;
	return b;
}

static int
send_batch(struct sync *s, struct batch *b)
{
	uint32_t max = s->l->max_size > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)s->l->max_size;

	if (b->nfetch == 0)
		return 0;
	return send_fetch(s, s->cands, b->from, b->to, max,
	    "(UID INTERNALDATE BODY.PEEK[])",
	    b->bytes + b->bytes / 8 + SLACK + (size_t)b->nfetch * 256,
	    &b->tag);
}

/* Store one batch and its high-water mark in one transaction. The
 * server may send the data of a later pipelined FETCH before the tagged
 * end of an earlier one (Dovecot runs them in parallel), so the data is
 * pooled and each batch takes its own UIDs from the pool. */
static int
store_batch(struct sync *s, const struct batch *b, struct mp_err *e)
{
	uint32_t lo = s->cands[b->from].uid, hi = s->cands[b->to - 1].uid;
	clistiter *it;
	size_t i;

	if (mp_store_begin(s->st, e) != 0)
		return -1;
	for (it = clist_begin(s->pool); it != NULL;) {
		struct mailimap_msg_att *m = clist_content(it);
		struct att a;
		char origin[300];
		int rc = 0;

		att_of(m, &a);
		if (a.uid > hi) {
			it = clist_next(it);
			continue;
		}
		if (a.uid >= lo && a.body != NULL) {
			snprintf(origin, sizeof(origin), "%s:%u", s->l->id,
			    a.uid);
			rc = s->cb(a.body, a.len, a.date, origin, s->ctx);
			s->stats.fetched += rc == 0;
			progress(s, 0);
		}
		mailimap_msg_att_free(m);
		it = clist_delete(s->pool, it);
		if (rc != 0)
			goto fail;
	}
	if (s->cb(NULL, 0, 0, NULL, s->ctx) != 0)
		goto fail;
	for (i = b->from; i < b->to; i++) {
		if ((int64_t)s->cands[i].size <= s->l->max_size)
			continue;
		mp_warnx("list %s: message UID %u is %u bytes, over max_size; "
		    "skipped", s->l->id, s->cands[i].uid, s->cands[i].size);
		if (mp_store_skip_add(s->st, s->key, s->cands[i].uid,
		    s->cands[i].size, "over max_size", s->now, e) != 0)
			goto fail;
		s->stats.skipped++;
	}
	if (mp_store_source_set(s->st, s->key, s->stats.uidvalidity, hi, e)
	    != 0)
		goto fail;
	if (mp_store_commit(s->st, e) != 0)
		return -1;
	s->stats.last_uid = hi;
	return 0;
fail:
	mp_store_rollback(s->st);
	return -1;
}

static int
fetch_all(struct sync *s, struct mp_err *e)
{
	struct batch *b;
	size_t nb, k, sent = 0;
	int rc = -1;

	b = plan(s, &nb);
	s->pool = clist_new();
	s->t0 = mono();
	for (; sent < nb && sent < 2; sent++)
		if (send_batch(s, &b[sent]) != 0) {
			net_err(s, MAILIMAP_ERROR_STREAM, "FETCH", e);
			goto out;
		}
	for (k = 0; k < nb; k++) {
		clist *list = NULL;

		if (b[k].tag != 0) {
			if (read_fetch(s, b[k].tag, &list, e) != 0)
				goto out;
			if (list != NULL) {
				clist_concat(s->pool, list);
				clist_free(list);
			}
		}
		if (sent < nb && send_batch(s, &b[sent++]) != 0) {
			net_err(s, MAILIMAP_ERROR_STREAM, "FETCH", e);
			goto out;
		}
		if (store_batch(s, &b[k], e) != 0)
			goto out;
	}
	rc = 0;
out:
	if (s->pool != NULL)
		mailimap_fetch_list_free(s->pool);
	s->pool = NULL;
	free(b);
	return rc;
}

static int
sync_folder(struct sync *s, struct mp_err *e)
{
	struct mailimap_selection_info *sel;
	uint32_t old_validity = 0, last_uid = 0;
	int r;

	if (mp_store_source_get(s->st, s->key, &old_validity, &last_uid) != 0)
		return mp_err_set(e, MP_EX_IOERR, "cannot read the sync state "
		    "of list %s", s->l->id);
	r = mailimap_examine(s->im, s->u.folder);
	if (r == MAILIMAP_ERROR_EXAMINE)
		return mp_err_set(e, MP_EX_CONFIG, "%s: cannot open folder "
		    "'%s': %s", s->where, s->u.folder,
		    s->im->imap_response != NULL ? s->im->imap_response : "");
	if (r != MAILIMAP_NO_ERROR)
		return net_err(s, r, "EXAMINE", e);
	sel = s->im->imap_selection_info;
	s->stats.uidvalidity = sel->sel_uidvalidity;
	if (old_validity != 0 && old_validity != sel->sel_uidvalidity) {
		mp_info("list %s: UIDVALIDITY changed (%u -> %u): re-syncing; "
		    "messages already stored are recognised by Message-ID",
		    s->l->id, old_validity, sel->sel_uidvalidity);
		last_uid = 0;
		s->stats.resynced = 1;
	}
	s->stats.last_uid = last_uid;
	/* Nothing new: no FETCH at all. */
	if (sel->sel_exists == 0 || (sel->sel_uidnext != 0 &&
	    sel->sel_uidnext <= last_uid + 1) || last_uid == UINT32_MAX) {
		s->ncands = 0;
	} else if (list_new(s, last_uid, sel->sel_exists, e) != 0) {
		return -1;
	}
	if (s->ncands > 0)
		return fetch_all(s, e);
	if (old_validity != sel->sel_uidvalidity) {
		if (mp_store_begin(s->st, e) != 0)
			return -1;
		if (mp_store_source_set(s->st, s->key, sel->sel_uidvalidity,
		    last_uid, e) != 0) {
			mp_store_rollback(s->st);
			return -1;
		}
		return mp_store_commit(s->st, e);
	}
	return 0;
}

int
mp_imap_sync(const struct mp_list_cfg *l, struct mp_store *st, int64_t now,
    mp_source_cb cb, void *ctx, struct mp_imap_stats *stats,
    struct mp_err *e)
{
	struct sync s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.l = l;
	s.st = st;
	s.now = now;
	s.cb = cb;
	s.ctx = ctx;
	if (mp_imap_url_parse(l->source, &s.u, e) != 0)
		goto out;
	snprintf(s.where, sizeof(s.where), strchr(s.u.host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", s.u.host, s.u.port);
	{
		struct mp_buf k = MP_BUF_INIT;

		mp_buf_printf(&k, "%s %s", l->id, l->source);
		s.key = mp_buf_detach(&k);
	}
	s.progress = mp_log_get() != MP_LOG_QUIET && isatty(2);
	if (open_session(&s, e) != 0 || login(&s, e) != 0 ||
	    sync_folder(&s, e) != 0)
		goto out;
	if (s.progress && s.stats.total > 0)
		progress(&s, 1);
	s.progress = 0;
	mp_info("list %s: %s/%s: %ld new, %ld fetched, %ld over max_size "
	    "(UIDVALIDITY %u, last UID %u)", l->id, s.where, s.u.folder,
	    s.stats.total, s.stats.fetched, s.stats.skipped,
	    s.stats.uidvalidity, s.stats.last_uid);
	rc = 0;
out:
	if (s.progress && s.stats.total > 0)
		fputc('\n', stderr);
	if (s.im != NULL) {
		/* After a failure leave without a word: the server may be
		 * gone, hung or not to be trusted (mailimap_free would say
		 * LOGOUT and wait for the answer). */
		if (rc != 0 && s.im->imap_stream != NULL) {
			mailstream_close(s.im->imap_stream);
			s.im->imap_stream = NULL;
		}
		mailimap_free(s.im);
	}
	free(s.cands);
	free(s.key);
	if (stats != NULL)
		*stats = s.stats;
	return rc;
}
