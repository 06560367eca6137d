/*
 * deliver.c - transports behind one small table: maildir:PATH,
 * sendmail:PATH, and smtp:// (STARTTLS required) and smtps:// (TLS from
 * the start) through libcurl.
 *
 * Local transports (maildir, sendmail) get the message with LF line ends:
 * the composed CRLF form is the wire format, local files and sendmail's
 * stdin use the local newline convention.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "deliver.h"
#include "err.h"
#include "secret.h"

#define SENDMAIL_OUT_MAX 400    /* bytes of sendmail output kept for errors */
#define EX_SENDMAIL_TEMP 75     /* EX_TEMPFAIL */
#define NAME_TRIES 100

/* Maildir names made by this process: per process, not per transport, so
 * two transports on one folder never pick the same name. */
static unsigned long maildir_counter;

struct transport_ops {
	const char *scheme;     /* prefix of the transport string */
	int (*open)(struct mp_transport *t, const char *rest,
	    const struct mp_delivery_cfg *cfg, struct mp_err *e);
	int (*send)(struct mp_transport *t, const char *env_from,
	    const char *rcpt, const char *data, size_t len, char *reply,
	    size_t rlen, struct mp_err *e);
	void (*close)(struct mp_transport *t);
};

struct mp_transport {
	const struct transport_ops *ops;
	char *path;             /* owned: maildir or sendmail program */
	char host[256];         /* maildir: sanitised host name */
	int timeout;            /* sendmail: seconds */
	void *impl;             /* owned by ops: state of a network transport */
};

/* CRLF -> LF; a lone CR is kept. */
static void
to_lf(struct mp_buf *out, const char *data, size_t len)
{
	size_t i, from = 0;

	for (i = 0; i + 1 < len; i++) {
		if (data[i] == '\r' && data[i + 1] == '\n') {
			mp_buf_add(out, data + from, i - from);
			from = i + 1;
		}
	}
	mp_buf_add(out, data + from, len - from);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- maildir ----------------------------------------------------------- */

static int
mkdir_0700(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

/* mkdir -p, each created directory 0700. */
static int
mkdirs(const char *path)
{
	char *p = mp_xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; *s != '\0' && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = mkdir_0700(p);
		*s = '/';
	}
	if (rc == 0)
		rc = mkdir_0700(p);
	free(p);
	return rc;
}

static int
maildir_open(struct mp_transport *t, const char *rest,
    const struct mp_delivery_cfg *cfg, struct mp_err *e)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char dir[PATH_MAX], *c;
	size_t i;

	if (*rest == '\0')
		return mp_err_set(e, MP_EX_CONFIG,
		    "maildir transport: no path");
	t->path = mp_xstrdup(rest);
	if (mkdirs(t->path) != 0)
		return mp_err_set(e, MP_EX_CANTCREAT, "maildir %s: %s", t->path,
		    strerror(errno));
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", t->path,
		    sub[i]) >= sizeof(dir))
			return mp_err_set(e, MP_EX_CONFIG,
			    "maildir path too long");
		if (mkdir_0700(dir) != 0)
			return mp_err_set(e, MP_EX_CANTCREAT, "maildir %s: %s",
			    dir, strerror(errno));
	}
	if (gethostname(t->host, sizeof(t->host) - 1) != 0 || !*t->host)
		snprintf(t->host, sizeof(t->host), "localhost");
	t->host[sizeof(t->host) - 1] = '\0';
	/* Maildir names must not contain '/' or ':' (the info separator);
	 * cut rather than escape, uniqueness comes from time/pid/counter. */
	for (c = t->host; *c != '\0'; c++)
		if (*c == '/' || *c == ':')
			*c = '_';
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
maildir_send(struct mp_transport *t, const char *env_from, const char *rcpt,
    const char *data, size_t len, char *reply, size_t rlen, struct mp_err *e)
{
	char name[512], tmp[PATH_MAX], new[PATH_MAX], newdir[PATH_MAX];
	struct mp_buf msg = MP_BUF_INIT;
	int fd = -1, tries, err;

	for (tries = 0; tries < NAME_TRIES; tries++) {
		snprintf(name, sizeof(name), "%lld.%ld_%lu.%s",
		    (long long)time(NULL), (long)getpid(), ++maildir_counter,
		    t->host);
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s", t->path,
		    name) >= sizeof(tmp) ||
		    (size_t)snprintf(new, sizeof(new), "%s/new/%s", t->path,
		    name) >= sizeof(new))
			return mp_err_set(e, MP_EX_CONFIG,
			    "maildir path too long");
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return mp_err_set(e, MP_EX_TEMPFAIL, "maildir %s: %s", tmp,
		    strerror(errno));
	to_lf(&msg, data, len);
	if (write_all(fd, mp_buf_str(&msg), msg.len) != 0 || fsync(fd) != 0) {
		err = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		err = errno;
		goto fail;
	}
	/* link(2) rather than rename(2): never replaces an existing file. */
	if (link(tmp, new) != 0) {
		err = errno;
		goto fail;
	}
	unlink(tmp);
	snprintf(newdir, sizeof(newdir), "%s/new", t->path);
	if (fsync_dir(newdir) != 0) {
		err = errno;
		unlink(new);
		mp_buf_free(&msg);
		return mp_err_set(e, MP_EX_TEMPFAIL, "maildir %s: %s", newdir,
		    strerror(err));
	}
	mp_buf_free(&msg);
	if (reply != NULL && rlen > 0)
		snprintf(reply, rlen, "maildir: new/%s", name);
	return 0;
fail:
	unlink(tmp);
	mp_buf_free(&msg);
	return mp_err_set(e, MP_EX_TEMPFAIL, "maildir %s: %s", tmp,
	    strerror(err));
}

/* ---- sendmail ---------------------------------------------------------- */

static int
sendmail_open(struct mp_transport *t, const char *rest,
    const struct mp_delivery_cfg *cfg, struct mp_err *e)
{
	if (*rest == '\0')
		return mp_err_set(e, MP_EX_CONFIG,
		    "sendmail transport: no path");
	t->path = mp_xstrdup(rest);
	if (access(t->path, X_OK) != 0)
		return mp_err_set(e, MP_EX_CONFIG, "sendmail %s: %s", t->path,
		    strerror(errno));
	t->timeout = cfg->timeout > 0 ? cfg->timeout : 60;
	return 0;
}

static int
cloexec_pipe(int fd[2])
{
	if (pipe(fd) != 0)
		return -1;
	if (fcntl(fd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(fd[1], F_SETFD, FD_CLOEXEC) != 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	return 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Feed msg to in (non-blocking) and collect up to gotmax - 1 bytes of
 * output from out, until both are done or the deadline passes; polling
 * both keeps a chatty sendmail from deadlocking us. Returns 0, or -1 with
 * errno ETIMEDOUT (deadline) or EPIPE (the message was not all taken).
 * Both fds are closed. */
static int
pump(int in, int out, const struct mp_buf *msg, char *got, size_t gotmax,
    int64_t deadline)
{
	size_t off = 0, glen = 0;
	int rc = 0;

	while (in >= 0 || out >= 0) {
		struct pollfd pfd[2];
		int64_t left = deadline - mono_ms();
		int n = 0, iin = -1, iout = -1, pr;

		if (left <= 0) {
			rc = -1;
			break;
		}
		if (out >= 0) {
			pfd[n].fd = out;
			pfd[n].events = POLLIN;
			iout = n++;
		}
		if (in >= 0) {
			pfd[n].fd = in;
			pfd[n].events = POLLOUT;
			iin = n++;
		}
		pr = poll(pfd, (nfds_t)n, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (pr <= 0)
			continue;
		if (iin >= 0 && pfd[iin].revents != 0) {
			ssize_t w = off < msg->len ? write(in,
			    msg->data + off, msg->len - off) : 0;

			if (w > 0)
				off += (size_t)w;
			/* EPIPE: sendmail quit early; its exit status
			 * tells why. */
			if (off >= msg->len || (w < 0 && errno != EINTR &&
			    errno != EAGAIN)) {
				close(in);
				in = -1;
			}
		}
		if (iout >= 0 && pfd[iout].revents != 0) {
			char b[512];
			ssize_t r = read(out, b, sizeof(b));

			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close(out);
				out = -1;
			} else if (glen + 1 < gotmax) {
				size_t k = (size_t)r < gotmax - 1 - glen ?
				    (size_t)r : gotmax - 1 - glen;

				memcpy(got + glen, b, k);
				glen += k;
			}
		}
	}
	got[glen] = '\0';
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc != 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (off < msg->len) {
		errno = EPIPE;
		return -1;
	}
	return 0;
}

/* Wait for pid until the deadline; then kill it. Returns the wait status,
 * or -1 (timed out, child killed and reaped). */
static int
reap(pid_t pid, int64_t deadline)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&nap, NULL);
	}
}

/* Make one line of the child's output fit for an error message. */
static void
tidy(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	while (p > s && p[-1] == ' ')
		*--p = '\0';
}

static int
sendmail_send(struct mp_transport *t, const char *env_from, const char *rcpt,
    const char *data, size_t len, char *reply, size_t rlen, struct mp_err *e)
{
	struct mp_buf msg = MP_BUF_INIT;
	struct sigaction ign, old;
	char got[SENDMAIL_OUT_MAX + 1];
	const char *from = *env_from != '\0' ? env_from : "<>";
	char *argv[7];
	int in[2], out[2], status, err, prc;
	int64_t deadline;
	pid_t pid;

	if (cloexec_pipe(in) != 0)
		return mp_err_set(e, MP_EX_TEMPFAIL, "pipe: %s",
		    strerror(errno));
	if (cloexec_pipe(out) != 0) {
		err = errno;
		close(in[0]);
		close(in[1]);
		return mp_err_set(e, MP_EX_TEMPFAIL, "pipe: %s", strerror(err));
	}
	argv[0] = t->path;
	argv[1] = (char *)"-i";
	argv[2] = (char *)"-f";
	argv[3] = (char *)from;
	argv[4] = (char *)"--";
	argv[5] = (char *)rcpt;
	argv[6] = NULL;

	/* A sendmail that exits without reading would kill us with SIGPIPE. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);

	pid = fork();
	if (pid < 0) {
		err = errno;
		sigaction(SIGPIPE, &old, NULL);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return mp_err_set(e, MP_EX_TEMPFAIL, "fork: %s", strerror(err));
	}
	if (pid == 0) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGPIPE, &dfl, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(out[1], 2) < 0)
			_exit(127);
		execv(t->path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);

	to_lf(&msg, data, len);
	deadline = mono_ms() + (int64_t)t->timeout * 1000;
	prc = pump(in[1], out[0], &msg, got, sizeof(got), deadline);
	err = errno;
	mp_buf_free(&msg);
	status = reap(pid, deadline);
	sigaction(SIGPIPE, &old, NULL);
	tidy(got);

	if (status == -1 || (prc != 0 && err == ETIMEDOUT))
		return mp_err_set(e, MP_EX_TEMPFAIL,
		    "sendmail %s: no answer within %d s", t->path, t->timeout);
	if (WIFSIGNALED(status))
		return mp_err_set(e, MP_EX_TEMPFAIL,
		    "sendmail %s: killed by signal %d%s%s", t->path,
		    WTERMSIG(status), *got ? ": " : "", got);
	if (WEXITSTATUS(status) == EX_SENDMAIL_TEMP)
		return mp_err_set(e, MP_EX_TEMPFAIL,
		    "sendmail %s: exit %d (temporary)%s%s", t->path,
		    WEXITSTATUS(status), *got ? ": " : "", got);
	/* Anything but EX_TEMPFAIL is final, as sendmail(8) means it. */
	if (WEXITSTATUS(status) != 0)
		return mp_err_set(e, MP_EX_DATAERR, "sendmail %s: exit %d%s%s",
		    t->path, WEXITSTATUS(status), *got ? ": " : "", got);
	if (prc != 0)
		return mp_err_set(e, MP_EX_TEMPFAIL,
		    "sendmail %s: exited 0 without reading the message: %s",
		    t->path, strerror(err));
	if (reply != NULL && rlen > 0)
		snprintf(reply, rlen, "sendmail: ok%s%s", *got ? ": " : "",
		    got);
	return 0;
}

/* ---- smtp, smtps (libcurl) ---------------------------------------------- */

/*
 * One curl easy handle per transport: libcurl keeps the connection in the
 * handle's cache, so each send after the first reuses it (MAIL FROM goes
 * straight on) and a closed one is reopened on the next send.
 *
 * To class a failure we need to know at which step of the session it
 * happened. libcurl only says "send error" or "weird reply" for most of
 * them, so the debug callback watches the command verbs going out and the
 * replies coming in (their text is kept for messages and the ledger).
 */

#define REPLY_MAX 400

enum smtp_phase {
	PH_CONNECT = 0,         /* nothing said yet: TCP, TLS, greeting */
	PH_HELLO,               /* EHLO, STARTTLS */
	PH_AUTH,
	PH_MAIL,
	PH_RCPT,
	PH_DATA,                /* the DATA command */
	PH_BODY                 /* after 354: the message and its end */
};

struct smtp {
	CURL *curl;
	struct curl_slist *rcpt;        /* owned, for the current send */
	char url[320];          /* scheme://host:port/ without user */
	char where[300];        /* host:port, for messages */
	char errbuf[CURL_ERROR_SIZE];
	char reply[REPLY_MAX];  /* last reply of the server, one line */
	long code;              /* its code, 0 when none in this send */
	int cont;               /* the last line was a continuation */
	int nreplies;           /* replies seen in this send */
	int quitting;           /* QUIT sent: its reply is not the answer */
	enum smtp_phase phase;
	const char *data;       /* borrowed: the message being sent */
	size_t len, off;
	int down;               /* the session itself failed */
	struct mp_err down_err;
};

static int curl_users;

static size_t
smtp_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct smtp *s = arg;
	size_t n = size * nitems;

	if (n > s->len - s->off)
		n = s->len - s->off;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return n;
}

/* One reply line: "250-text" or "250 text". */
static void
smtp_reply_line(struct smtp *s, const char *p, size_t n)
{
	size_t have, k;

	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (s->quitting)
		return;
	if (n < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return;
	if (!s->cont) {
		/* A new reply. */
		s->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		s->nreplies++;
		s->reply[0] = '\0';
		k = n < sizeof(s->reply) - 1 ? n : sizeof(s->reply) - 1;
		memcpy(s->reply, p, k);
		s->reply[k] = '\0';
	} else if (n > 4) {
		/* Continuation lines join the first, without their code. */
		have = strlen(s->reply);
		k = n - 4;
		if (have + 1 + k > sizeof(s->reply) - 1)
			k = have + 1 < sizeof(s->reply) - 1 ?
			    sizeof(s->reply) - 2 - have : 0;
		if (k > 0) {
			s->reply[have] = ' ';
			memcpy(s->reply + have + 1, p + 4, k);
			s->reply[have + 1 + k] = '\0';
		}
	}
	s->cont = n > 3 && p[3] == '-';
	tidy(s->reply);
	if (s->code == 354 && s->phase == PH_DATA)
		s->phase = PH_BODY;
}

static int
starts(const char *p, size_t n, const char *verb)
{
	size_t k = strlen(verb);

	return n >= k && strncasecmp(p, verb, k) == 0;
}

/* Only the verb of an outgoing line is looked at: AUTH lines carry the
 * credentials and are never copied. */
static int
smtp_debug(CURL *c, curl_infotype type, char *p, size_t n, void *arg)
{
	struct smtp *s = arg;
	const char *end;
	size_t k;

	if (type == CURLINFO_HEADER_IN) {
		/* Lines come one per call, but be safe with several. */
		while (n > 0) {
			end = memchr(p, '\n', n);
			k = end != NULL ? (size_t)(end - p) + 1 : n;

			smtp_reply_line(s, p, k);
			p += k;
			n -= k;
		}
	} else if (type == CURLINFO_HEADER_OUT) {
		/* After a failed transaction libcurl closes the connection
		 * with QUIT: keep the reply that made it fail. */
		s->quitting = starts(p, n, "QUIT\r\n");
		if (starts(p, n, "EHLO ") || starts(p, n, "HELO ") ||
		    starts(p, n, "STARTTLS"))
			s->phase = PH_HELLO;
		else if (starts(p, n, "AUTH "))
			s->phase = PH_AUTH;
		else if (starts(p, n, "MAIL FROM:"))
			s->phase = PH_MAIL;
		else if (starts(p, n, "RCPT TO:"))
			s->phase = PH_RCPT;
		else if (starts(p, n, "DATA\r\n"))
			s->phase = PH_DATA;
	}
	return 0;
}

static int
loopback_host(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strcmp(h, "127.0.0.1") == 0 ||
	    strcmp(h, "::1") == 0;
}

/* rest: [USER@]HOST[:PORT][/]. Fills s->url and s->where; *user gets the
 * URL's user (owned) when there is one. */
static int
smtp_parse(struct smtp *s, int implicit, const char *rest, char **user,
    char *host, size_t hlen, struct mp_err *e)
{
	const char *auth_end = rest + strcspn(rest, "/?#");
	const char *h = rest, *at, *hend, *port = NULL, *q;
	size_t n;

	if (*auth_end != '\0' && strcmp(auth_end, "/") != 0)
		return mp_err_set(e, MP_EX_CONFIG, "smtp transport: nothing "
		    "may follow HOST[:PORT] in the URL");
	at = memchr(rest, '@', (size_t)(auth_end - rest));
	if (at != NULL) {
		if (memchr(rest, ':', (size_t)(at - rest)) != NULL)
			return mp_err_set(e, MP_EX_CONFIG, "smtp transport: "
			    "no password in the URL (use password_file or "
			    "password_command)");
		*user = mp_xstrndup(rest, (size_t)(at - rest));
		h = at + 1;
	}
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(auth_end - h));
		if (hend == NULL)
			return mp_err_set(e, MP_EX_CONFIG,
			    "smtp transport: bad host");
		h++;
		if (hend + 1 < auth_end && hend[1] == ':')
			port = hend + 2;
		else if (hend + 1 != auth_end)
			return mp_err_set(e, MP_EX_CONFIG,
			    "smtp transport: bad host");
	} else {
		hend = memchr(h, ':', (size_t)(auth_end - h));
		if (hend == NULL)
			hend = auth_end;
		else
			port = hend + 1;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= hlen)
		return mp_err_set(e, MP_EX_CONFIG, "smtp transport: bad host");
	memcpy(host, h, n);
	host[n] = '\0';
	for (q = host; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '@' ||
		    *q == '%' || *q == '\\')
			return mp_err_set(e, MP_EX_CONFIG,
			    "smtp transport: bad host");
	if (port != NULL) {
		long v = 0;

		if (port == auth_end || auth_end - port > 5)
			return mp_err_set(e, MP_EX_CONFIG,
			    "smtp transport: bad port");
		for (q = port; q < auth_end; q++) {
			if (*q < '0' || *q > '9')
				return mp_err_set(e, MP_EX_CONFIG,
				    "smtp transport: bad port");
			v = v * 10 + (*q - '0');
		}
		if (v < 1 || v > 65535)
			return mp_err_set(e, MP_EX_CONFIG,
			    "smtp transport: bad port");
		n = (size_t)(auth_end - port);
	}
	/* Submission (587) by default, not curl's port 25. */
	snprintf(s->where, sizeof(s->where), "%s%s%s:%.*s",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    port != NULL ? (int)n : 3,
	    port != NULL ? port : implicit ? "465" : "587");
	snprintf(s->url, sizeof(s->url), "%s://%s/", implicit ? "smtps" :
	    "smtp", s->where);
	return 0;
}

static void
smtp_close(struct mp_transport *t)
{
	struct smtp *s = t->impl;

	if (s == NULL)
		return;
	/* Sends QUIT on an open connection (bounded by the timeouts). */
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->rcpt);
	free(s);
	t->impl = NULL;
	if (--curl_users == 0)
		curl_global_cleanup();
}

/* Set an option unless one failed already (rc is the caller's). */
#define SETOPT(s, opt, val) do { \
	if (rc == CURLE_OK) \
		rc = curl_easy_setopt((s)->curl, opt, val); \
} while (0)

static int
smtp_open(struct mp_transport *t, const char *rest,
    const struct mp_delivery_cfg *cfg, struct mp_err *e)
{
	int implicit = strcmp(t->ops->scheme, "smtps://") == 0;
	char host[256], *url_user = NULL, *pass = NULL;
	const char *user;
	struct smtp *s;
	CURLcode rc = CURLE_OK;
	long timeout = cfg->timeout > 0 ? cfg->timeout : 60;

	if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return mp_err_set(e, MP_EX_SOFTWARE, "cannot start libcurl");
	curl_users++;
	s = mp_xcalloc(1, sizeof(*s));
	t->impl = s;
	if (smtp_parse(s, implicit, rest, &url_user, host, sizeof(host),
	    e) != 0) {
		free(url_user);
		return -1;
	}
	if (cfg->tls == MP_TLS_NONE && (implicit || !loopback_host(host))) {
		free(url_user);
		return mp_err_set(e, MP_EX_CONFIG, implicit ? "smtps transport "
		    "with tls = none" : "tls = none is only allowed for a "
		    "loopback host (127.0.0.1, ::1 or localhost)");
	}
	user = cfg->user != NULL ? cfg->user : url_user;
	if (user != NULL && *user != '\0' &&
	    mp_secret_get(cfg->password_file, cfg->password_command, &pass,
	    e) != 0) {
		free(url_user);
		return -1;
	}
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		free(url_user);
		mp_secret_free(pass);
		return mp_err_set(e, MP_EX_SOFTWARE, "cannot start libcurl");
	}
	SETOPT(s, CURLOPT_URL, s->url);
	SETOPT(s, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(s, CURLOPT_NOSIGNAL, 1L);
	SETOPT(s, CURLOPT_ERRORBUFFER, s->errbuf);
	SETOPT(s, CURLOPT_CONNECTTIMEOUT, timeout);
	SETOPT(s, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SETOPT(s, CURLOPT_LOW_SPEED_LIMIT, 1L);
	SETOPT(s, CURLOPT_LOW_SPEED_TIME, timeout);
	SETOPT(s, CURLOPT_USE_SSL, cfg->tls == MP_TLS_NONE ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	SETOPT(s, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(s, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file != NULL)
		SETOPT(s, CURLOPT_CAINFO, cfg->ca_file);
	if (pass != NULL) {
		SETOPT(s, CURLOPT_USERNAME, user);
		/* libcurl keeps its own copy for the life of the handle. */
		SETOPT(s, CURLOPT_PASSWORD, pass);
	}
	mp_secret_free(pass);
	free(url_user);
	SETOPT(s, CURLOPT_UPLOAD, 1L);
	SETOPT(s, CURLOPT_READFUNCTION, smtp_read);
	SETOPT(s, CURLOPT_READDATA, s);
	SETOPT(s, CURLOPT_VERBOSE, 1L);
	SETOPT(s, CURLOPT_DEBUGFUNCTION, smtp_debug);
	SETOPT(s, CURLOPT_DEBUGDATA, s);
	if (rc != CURLE_OK)
		return mp_err_set(e, MP_EX_SOFTWARE, "libcurl: %s",
		    curl_easy_strerror(rc));
	return 0;
}

/* The session itself failed (s->down_err says why): nothing more can be
 * sent in this run. */
static int
smtp_down(struct smtp *s, struct mp_err *e)
{
	s->down = 1;
	if (e != NULL)
		*e = s->down_err;
	return -1;
}

static int
smtp_fail(struct smtp *s, CURLcode rc, const char *rcpt, struct mp_err *e)
{
	const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
	struct mp_err *de = &s->down_err;
	int c4 = s->code >= 400 && s->code < 500;
	int c5 = s->code >= 500 && s->code < 600;

	switch (rc) {
	case CURLE_USE_SSL_FAILED:
		mp_err_set(de, MP_EX_UNAVAILABLE, "smtp %s: the server does "
		    "not offer STARTTLS; not sending without TLS", s->where);
		return smtp_down(s, e);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		mp_err_set(de, MP_EX_UNAVAILABLE, "smtp %s: TLS: %s", s->where,
		    why);
		return smtp_down(s, e);
	case CURLE_SSL_CACERT_BADFILE:
		mp_err_set(de, MP_EX_CONFIG, "smtp %s: ca_file: %s", s->where,
		    why);
		return smtp_down(s, e);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		mp_err_set(de, MP_EX_TEMPFAIL, "smtp %s: %s", s->where, why);
		return smtp_down(s, e);
	default:
		break;
	}
	switch (s->phase) {
	case PH_CONNECT:
	case PH_HELLO:
		if (c5)
			mp_err_set(de, MP_EX_UNAVAILABLE, "smtp %s: session "
			    "refused: %s", s->where, s->reply);
		else
			mp_err_set(de, MP_EX_TEMPFAIL, "smtp %s: %s", s->where,
			    c4 ? s->reply : why);
		return smtp_down(s, e);
	case PH_AUTH:
		/* RFC 4954: 454 is temporary; 535 and other 5xx are about
		 * the credentials, which no retry will fix. */
		if (c5 || (rc == CURLE_LOGIN_DENIED && !c4))
			mp_err_set(de, MP_EX_NOPERM, "smtp %s: authentication "
			    "failed: %s", s->where, c5 ? s->reply : why);
		else
			mp_err_set(de, MP_EX_TEMPFAIL, "smtp %s: "
			    "authentication: %s", s->where,
			    c4 ? s->reply : why);
		return smtp_down(s, e);
	case PH_MAIL:
		/* Every email has the same sender: a refusal (or "530
		 * authentication required") is the end of the run. */
		if (c5) {
			mp_err_set(de, MP_EX_NOPERM, "smtp %s: sender refused: "
			    "%s", s->where, s->reply);
			return smtp_down(s, e);
		}
		break;
	case PH_RCPT:
		if (c5)
			return mp_err_set(e, MP_EX_DATAERR, "smtp %s: "
			    "recipient <%s> refused: %s", s->where, rcpt,
			    s->reply);
		break;
	case PH_DATA:
	case PH_BODY:
		if (c5)
			return mp_err_set(e, MP_EX_DATAERR, "smtp %s: message "
			    "refused: %s", s->where, s->reply);
		break;
	}
	if (c4)
		return mp_err_set(e, MP_EX_TEMPFAIL, "smtp %s: %s", s->where,
		    s->reply);
	/* Connection lost or timed out in a transaction: the next send
	 * opens a new connection. */
	return mp_err_set(e, MP_EX_TEMPFAIL, "smtp %s: %s", s->where, why);
}

static CURLcode
smtp_perform(struct smtp *s)
{
	s->off = 0;
	s->code = 0;
	s->cont = 0;
	s->nreplies = 0;
	s->quitting = 0;
	s->reply[0] = '\0';
	s->errbuf[0] = '\0';
	s->phase = PH_CONNECT;
	return curl_easy_perform(s->curl);
}

static int
smtp_send(struct mp_transport *t, const char *env_from, const char *rcpt,
    const char *data, size_t len, char *reply, size_t rlen, struct mp_err *e)
{
	struct smtp *s = t->impl;
	CURLcode rc = CURLE_OK;
	long fresh = 0;

	if (s->down)
		return smtp_down(s, e);
	curl_slist_free_all(s->rcpt);
	s->rcpt = curl_slist_append(NULL, rcpt);
	if (s->rcpt == NULL)
		return mp_err_set(e, MP_EX_OSERR, "out of memory");
	s->data = data;
	s->len = len;
	SETOPT(s, CURLOPT_MAIL_FROM, env_from);
	SETOPT(s, CURLOPT_MAIL_RCPT, s->rcpt);
	SETOPT(s, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	if (rc != CURLE_OK)
		return mp_err_set(e, MP_EX_SOFTWARE, "libcurl: %s",
		    curl_easy_strerror(rc));
	rc = smtp_perform(s);
	/* A kept connection the server closed before we used it: no reply
	 * came, so no mail was taken; once more on a new one. */
	if (rc != CURLE_OK && s->nreplies == 0 &&
	    curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &fresh) ==
	    CURLE_OK && fresh == 0) {
		curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT, 1L);
		rc = smtp_perform(s);
		curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT, 0L);
	}
	s->data = NULL;
	if (rc != CURLE_OK)
		return smtp_fail(s, rc, rcpt, e);
	if (reply != NULL && rlen > 0)
		snprintf(reply, rlen, "%s", s->reply[0] ? s->reply : "250");
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

static const struct transport_ops transports[] = {
	{ "maildir:", maildir_open, maildir_send, NULL },
	{ "sendmail:", sendmail_open, sendmail_send, NULL },
	{ "smtp://", smtp_open, smtp_send, smtp_close },
	{ "smtps://", smtp_open, smtp_send, smtp_close },
};

int
mp_deliver_down(const struct mp_transport *t, struct mp_err *e)
{
	const struct smtp *s;

	if (t == NULL || t->ops == NULL || t->ops->send != smtp_send ||
	    t->impl == NULL)
		return 0;
	s = t->impl;
	if (s->down && e != NULL)
		*e = s->down_err;
	return s->down;
}

void
mp_deliver_close(struct mp_transport *t)
{
	if (t == NULL)
		return;
	if (t->ops != NULL && t->ops->close != NULL)
		t->ops->close(t);
	free(t->path);
	free(t);
}

int
mp_deliver_open(const struct mp_delivery_cfg *cfg, struct mp_transport **out,
    struct mp_err *e)
{
	const char *tr = cfg != NULL ? cfg->transport : NULL;
	struct mp_transport *t;
	size_t i;

	*out = NULL;
	if (tr == NULL || *tr == '\0')
		return mp_err_set(e, MP_EX_CONFIG, "no delivery transport");
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		size_t n = strlen(transports[i].scheme);

		if (strncmp(tr, transports[i].scheme, n) != 0)
			continue;
		t = mp_xcalloc(1, sizeof(*t));
		t->ops = &transports[i];
		if (t->ops->open(t, tr + n, cfg, e) != 0) {
			mp_deliver_close(t);
			return -1;
		}
		*out = t;
		return 0;
	}
	/* Only the scheme: the rest may hold credentials. */
	return mp_err_set(e, MP_EX_CONFIG, "unknown transport \"%.*s\"",
	    (int)strcspn(tr, ":"), tr);
}

/* No CR/LF or other control characters, and no leading '-' that a
 * sendmail would take for an option. */
static int
envelope_ok(const char *s, int empty_ok)
{
	const char *p;

	if (s == NULL || (*s == '\0' && !empty_ok) || *s == '-')
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
mp_deliver_send(struct mp_transport *t, const char *env_from,
    const char *rcpt, const char *data, size_t len, char *reply,
    size_t rlen, struct mp_err *e)
{
	if (reply != NULL && rlen > 0)
		*reply = '\0';
	if (t == NULL || t->ops == NULL || t->ops->send == NULL)
		return mp_err_set(e, MP_EX_SOFTWARE, "transport not open");
	if (!envelope_ok(env_from, 1))
		return mp_err_set(e, MP_EX_DATAERR, "bad envelope sender");
	if (!envelope_ok(rcpt, 0))
		return mp_err_set(e, MP_EX_DATAERR, "bad recipient");
	if (data == NULL)
		return mp_err_set(e, MP_EX_SOFTWARE, "no message");
	return t->ops->send(t, env_from, rcpt, data, len, reply, rlen, e);
}
