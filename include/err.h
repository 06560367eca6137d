/*
 * err.h - error reporting shared by every module.
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill
 * the struct mp_err passed as their last argument (which may be NULL).
 * Only main() maps an mp_err to a process exit status: the code field is
 * already a sysexits.h value so the mapping is the identity.
 */
#ifndef MP_ERR_H
#define MP_ERR_H

#include <stddef.h>

/* sysexits.h values, repeated so headers need not include it. */
enum {
	MP_EX_OK = 0,
	MP_EX_USAGE = 64,
	MP_EX_DATAERR = 65,
	MP_EX_NOINPUT = 66,
	MP_EX_UNAVAILABLE = 69,
	MP_EX_SOFTWARE = 70,
	MP_EX_OSERR = 71,
	MP_EX_CANTCREAT = 73,
	MP_EX_IOERR = 74,
	MP_EX_TEMPFAIL = 75,
	MP_EX_NOPERM = 77,
	MP_EX_CONFIG = 78
};

struct mp_err {
	int code;          /* MP_EX_* */
	int temporary;     /* 1: retrying later may succeed */
	char msg[512];     /* human readable, never contains a secret */
};

/* Set code and message (printf style); temporary is set from the code
 * (MP_EX_TEMPFAIL and MP_EX_UNAVAILABLE are temporary). NULL e is a no-op.
 * Always returns -1 so callers can write: return mp_err_set(e, ...); */
int mp_err_set(struct mp_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mp_err_clear(struct mp_err *e);

/* Config diagnostics: a growing list of "FILE:LINE: message" lines. */
struct mp_diag {
	char **lines;      /* owned */
	size_t n, cap;
};

void mp_diag_add(struct mp_diag *d, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void mp_diag_free(struct mp_diag *d);

#endif
