/*
 * log.h - a tiny logging module. Everything goes to stderr (cron mails
 * stderr): warnings always, progress only under -v, nothing under -q
 * except warnings and errors.
 */
#ifndef MP_LOG_H
#define MP_LOG_H

enum mp_verbosity { MP_LOG_QUIET = -1, MP_LOG_NORMAL = 0, MP_LOG_VERBOSE = 1 };

void mp_log_set(enum mp_verbosity v);
enum mp_verbosity mp_log_get(void);

/* "magpie: message" on stderr, always. */
void mp_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As mp_warnx, with ": strerror(errno)" appended. */
void mp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void mp_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Normal output that -q silences (summaries). */
void mp_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
