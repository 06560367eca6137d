/*
 * deliver.c - transports behind one small table: maildir:PATH and
 * sendmail:PATH now; smtp:// and smtps:// have their slots and report that
 * they are not built yet.
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
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "deliver.h"
#include "err.h"

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

/* ---- smtp (not built yet) ---------------------------------------------- */

static int
smtp_open(struct mp_transport *t, const char *rest,
    const struct mp_delivery_cfg *cfg, struct mp_err *e)
{
	return mp_err_set(e, MP_EX_UNAVAILABLE, "smtp transport not built yet");
}

static const struct transport_ops transports[] = {
	{ "maildir:", maildir_open, maildir_send, NULL },
	{ "sendmail:", sendmail_open, sendmail_send, NULL },
	{ "smtp://", smtp_open, NULL, NULL },
	{ "smtps://", smtp_open, NULL, NULL },
};

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
			t->ops = NULL;
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
