/* err.c - error values and config diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

int
mp_err_set(struct mp_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	e->temporary = code == MP_EX_TEMPFAIL || code == MP_EX_UNAVAILABLE;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
mp_err_clear(struct mp_err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->temporary = 0;
	e->msg[0] = '\0';
}

void
mp_diag_add(struct mp_diag *d, const char *file, int line, const char *fmt,
    ...)
{
	struct mp_buf b = MP_BUF_INIT;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		mp_buf_printf(&b, "%s:%d: %s", file, line, msg);
	else
		mp_buf_printf(&b, "%s: %s", file, msg);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->lines = mp_xrealloc(d->lines, d->cap * sizeof(*d->lines));
	}
	d->lines[d->n++] = mp_buf_detach(&b);
}

void
mp_diag_free(struct mp_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = d->cap = 0;
}
