/*
 * tls.h - TLS client sessions whose server certificate is verified
 * (GnuTLS): the chain against the system trust store or a CA file, and
 * the host name. libetpan does not verify certificates by itself, so
 * every TLS connection magpie opens goes through here before a password
 * is sent. No GnuTLS type appears here.
 */
#ifndef MP_TLS_H
#define MP_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct mp_err;
struct mp_tls_conn;

/* One certificate in DER form; borrowed. */
struct mp_tls_cert {
	const unsigned char *der;
	size_t len;
};

/* Verify a server's chain (leaf first, as the server sent it) for host
 * (a DNS name or an IP address literal, without brackets) against
 * ca_file (PEM, one or more CAs) or, when ca_file is NULL, the system
 * trust store. Returns 0 when trusted; else -1 with e naming the host
 * and the reason (unknown issuer, expired, not yet valid, wrong host
 * name, ...): MP_EX_UNAVAILABLE, or MP_EX_CONFIG when ca_file cannot be
 * read or holds no certificate. */
int mp_tls_verify(const struct mp_tls_cert *chain, size_t n,
    const char *host, const char *ca_file, struct mp_err *e);

/* Run a TLS handshake over the connected socket fd (SNI = host when it
 * is a name) and verify the server as mp_tls_verify does. Nothing is
 * sent over the session before this returns. Read and write timeouts
 * are the socket's own (SO_RCVTIMEO/SO_SNDTIMEO): the caller sets them.
 * On success *out owns the session but not fd. Errors: MP_EX_TEMPFAIL
 * for a timeout or a dropped connection, MP_EX_UNAVAILABLE for a failed
 * handshake or an untrusted server, MP_EX_CONFIG for a bad ca_file. */
int mp_tls_open(int fd, const char *host, const char *ca_file,
    struct mp_tls_conn **out, struct mp_err *e);

/* As read(2)/write(2) on the session: bytes moved, 0 at the end of the
 * stream (read), -1 on error or timeout (errno ETIMEDOUT or EIO). */
ssize_t mp_tls_read(struct mp_tls_conn *t, void *buf, size_t n);
ssize_t mp_tls_write(struct mp_tls_conn *t, const void *buf, size_t n);

/* Send close_notify (best effort) and free; fd stays open. NULL is fine. */
void mp_tls_close(struct mp_tls_conn *t);

#endif
