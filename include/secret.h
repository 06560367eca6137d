/*
 * secret.h - passwords for IMAP and SMTP, from a file or a command,
 * never from the command line or the config itself.
 *
 * A password file must be a regular file that neither group nor others
 * can read or write (mode 0600 or stricter, as ssh wants for keys); its
 * first line is the password. A password command is run with /bin/sh -c
 * (as msmtp's passwordeval) and the first line of its output is the
 * password. The returned string is owned by the caller and must be given
 * back to mp_secret_free(), which wipes it. No message names the secret.
 */
#ifndef MP_SECRET_H
#define MP_SECRET_H

struct mp_err;

#define MP_SECRET_MAX 4096      /* bytes read at most */

/* Exactly one of file/command is used (file first). Returns 0 and *out,
 * or -1 with e set: MP_EX_CONFIG for a missing, unreadable or too open
 * file, a failing command, or an empty password. */
int mp_secret_get(const char *file, const char *command, char **out,
    struct mp_err *e);

/* Wipe and free; NULL is fine. */
void mp_secret_free(char *s);

#endif
