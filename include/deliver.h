/*
 * deliver.h - hand composed emails to a transport (the delivery.transport
 * key):
 *
 *   maildir:PATH      store in a Maildir (the embedded default)
 *   sendmail:PATH     pipe to PATH -i -f SENDER -- RCPT
 *   smtp://HOST[:PORT]   submission (default port 587), STARTTLS required
 *                        unless tls = none (loopback hosts only)
 *   smtps://HOST[:PORT]  TLS from the start (default port 465)
 *
 * SMTP: the server's certificate and host name are verified (against
 * ca_file when given, else the system store); AUTH with user and the
 * password from password_file/password_command when user is set (or
 * given as smtp://USER@HOST). One mp_transport serves a whole run: its
 * connection is opened on the first send, kept for the next ones and
 * reopened when the server closed it. Each send is one envelope with one
 * recipient.
 */
#ifndef MP_DELIVER_H
#define MP_DELIVER_H

#include <stddef.h>

struct mp_err;
struct mp_delivery_cfg;
struct mp_transport;

/* Check the transport string and prepare (SMTP: read the password; no
 * connection yet). MP_EX_CONFIG for a bad transport or password source. */
int mp_deliver_open(const struct mp_delivery_cfg *cfg,
    struct mp_transport **out, struct mp_err *e);

/* Submit one email for one recipient. On success returns 0 and a short
 * server reply ("250 ...", or "maildir: NAME") in reply. On failure
 * returns -1 with e->temporary telling whether a later run may succeed:
 *   MP_EX_TEMPFAIL   4xx, connection lost or timed out: retry later
 *   MP_EX_DATAERR    5xx for this recipient or this message: final for it
 * and, when the session itself failed (mp_deliver_down() then says 1):
 *   MP_EX_TEMPFAIL   cannot connect, 4xx greeting/EHLO/AUTH
 *   MP_EX_UNAVAILABLE  no STARTTLS offered, TLS or certificate failure
 *   MP_EX_NOPERM     authentication refused, sender refused
 *   MP_EX_CONFIG     unreadable ca_file
 * No message contains the password. */
int mp_deliver_send(struct mp_transport *t, const char *env_from,
    const char *rcpt, const char *data, size_t len, char *reply,
    size_t rlen, struct mp_err *e);

/* 1 when a failure of the session itself (above) means nothing more can
 * be sent through t in this run, with that failure in e (may be NULL);
 * every later send fails the same way without contacting the server.
 * 0 otherwise, and always for maildir and sendmail. */
int mp_deliver_down(const struct mp_transport *t, struct mp_err *e);

/* Ends the session (SMTP QUIT) and frees; NULL is fine. */
void mp_deliver_close(struct mp_transport *t);

#endif
