/* log.c - warnings to stderr; progress under -v only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum mp_verbosity verbosity = MP_LOG_NORMAL;

void
mp_log_set(enum mp_verbosity v)
{
	verbosity = v;
}

enum mp_verbosity
mp_log_get(void)
{
	return verbosity;
}

static void
vlog(const char *fmt, va_list ap, const char *suffix)
{
	fputs("magpie: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (suffix != NULL)
		fprintf(stderr, ": %s", suffix);
	fputc('\n', stderr);
}

void
mp_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
mp_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap, strerror(saved));
	va_end(ap);
}

void
mp_info(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < MP_LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
mp_note(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < MP_LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}
