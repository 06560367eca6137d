/*
 * secret.c - passwords from files and commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "secret.h"

/* A wipe the compiler may not drop as a dead store. */
static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

void
mp_secret_free(char *s)
{
	if (s == NULL)
		return;
	wipe(s, strlen(s));
	free(s);
}

/* Read up to MP_SECRET_MAX bytes from fd; keep the first line. */
static int
first_line(int fd, char **out)
{
	char buf[MP_SECRET_MAX + 1];
	size_t len = 0, i;
	ssize_t r;

	while (len < MP_SECRET_MAX) {
		r = read(fd, buf + len, MP_SECRET_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	for (i = 0; i < len && buf[i] != '\n' && buf[i] != '\r'; i++)
		;
	*out = mp_xstrndup(buf, i);
	wipe(buf, sizeof(buf));
	return i > 0 ? 0 : -1;
}

static int
from_file(const char *path, char **out, struct mp_err *e)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return mp_err_set(e, MP_EX_CONFIG, "password file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mp_err_set(e, MP_EX_CONFIG,
		    "password file %s is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return mp_err_set(e, MP_EX_CONFIG, "password file %s is "
		    "readable by group or others (chmod 600 it)", path);
	}
	rc = first_line(fd, out);
	close(fd);
	if (rc != 0) {
		mp_secret_free(*out);
		*out = NULL;
		return mp_err_set(e, MP_EX_CONFIG,
		    "password file %s has no password on its first line", path);
	}
	return 0;
}

static int
from_command(const char *cmd, char **out, struct mp_err *e)
{
	int p[2], status, rc;
	pid_t pid;

	if (pipe(p) != 0)
		return mp_err_set(e, MP_EX_OSERR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return mp_err_set(e, MP_EX_OSERR, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	rc = first_line(p[0], out);
	/* Drain what is left so the command is not killed by SIGPIPE
	 * halfway; bounded by the command itself. */
	{
		char sink[512];

		while (read(p[0], sink, sizeof(sink)) > 0)
			;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		mp_secret_free(*out);
		*out = NULL;
		return mp_err_set(e, MP_EX_CONFIG, "password_command failed "
		    "(exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	if (rc != 0) {
		mp_secret_free(*out);
		*out = NULL;
		return mp_err_set(e, MP_EX_CONFIG,
		    "password_command printed no password");
	}
	return 0;
}

int
mp_secret_get(const char *file, const char *command, char **out,
    struct mp_err *e)
{
	*out = NULL;
	if (file != NULL)
		return from_file(file, out, e);
	if (command != NULL)
		return from_command(command, out, e);
	return mp_err_set(e, MP_EX_CONFIG,
	    "no password_file or password_command given");
}
