/*
 * deliver.h - hand composed emails to a transport: maildir:PATH (the
 * embedded default), and later smtp://, smtps://, sendmail:.
 * One mp_transport serves a whole run (one SMTP connection reused).
 */
#ifndef MP_DELIVER_H
#define MP_DELIVER_H

#include <stddef.h>

struct mp_err;
struct mp_delivery_cfg;
struct mp_transport;

int mp_deliver_open(const struct mp_delivery_cfg *cfg,
    struct mp_transport **out, struct mp_err *e);

/* Submit one email for one recipient. On success returns 0 and a short
 * server reply (or "maildir: NAME") in reply. On failure returns -1 with
 * e->temporary telling whether a later run may succeed. */
int mp_deliver_send(struct mp_transport *t, const char *env_from,
    const char *rcpt, const char *data, size_t len, char *reply,
    size_t rlen, struct mp_err *e);

void mp_deliver_close(struct mp_transport *t);

#endif
