/*
 * tls.c - TLS client sessions with a verified server (GnuTLS).
 *
 * The handshake runs with no verification of its own; the chain the
 * server presented is then checked here, before the caller sends
 * anything, so every refusal can say exactly why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "err.h"
#include "tls.h"

#define MAX_CHAIN 16

struct mp_tls_conn {
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	int fd;
	int ms;                 /* read timeout, from SO_RCVTIMEO; -1: none */
};

static int
is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

static int
load_trust(gnutls_x509_trust_list_t tl, const char *host, const char *ca_file,
    struct mp_err *e)
{
	int r;

	if (ca_file != NULL) {
		r = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
		if (r <= 0)
			return mp_err_set(e, MP_EX_CONFIG, "%s: cannot use "
			    "ca_file %s: %s", host, ca_file, r == 0 ?
			    "no certificate in it" : gnutls_strerror(r));
		return 0;
	}
	r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (r <= 0)
		return mp_err_set(e, MP_EX_CONFIG, "%s: the system trust store "
		    "has no certificate (install ca-certificates or set "
		    "ca_file)", host);
	return 0;
}

static void
expiry(gnutls_x509_crt_t c, int after, char *buf, size_t n)
{
	time_t t = after ? gnutls_x509_crt_get_expiration_time(c) :
	    gnutls_x509_crt_get_activation_time(c);
	struct tm tm;

	buf[0] = '\0';
	if (t != (time_t)-1 && gmtime_r(&t, &tm) != NULL)
		strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The most useful single reason for a refused chain. */
static int
refuse(unsigned status, gnutls_x509_crt_t leaf, const char *host,
    const char *ca_file, struct mp_err *e)
{
	char when[64];
	gnutls_datum_t out;

	if (status & GNUTLS_CERT_EXPIRED) {
		expiry(leaf, 1, when, sizeof(when));
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate "
		    "has expired (%s); not logging in", host, when);
	}
	if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		expiry(leaf, 0, when, sizeof(when));
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate "
		    "is not valid before %s; not logging in", host, when);
	}
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate "
		    "is not trusted: its issuer is not a known authority "
		    "(%s%s); not logging in", host, ca_file != NULL ?
		    "ca_file " : "the system trust store",
		    ca_file != NULL ? ca_file : "");
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) == 0) {
		mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate "
		    "refused: %s; not logging in", host, (char *)out.data);
		gnutls_free(out.data);
		return -1;
	}
	return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate "
	    "refused (status %#x); not logging in", host, status);
}

int
mp_tls_verify(const struct mp_tls_cert *chain, size_t n, const char *host,
    const char *ca_file, struct mp_err *e)
{
	gnutls_x509_crt_t crt[MAX_CHAIN];
	gnutls_x509_trust_list_t tl = NULL;
	unsigned status = 0;
	size_t i, have = 0;
	int r, rc = -1;

	if (n == 0)
		return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: the server sent "
		    "no certificate; not logging in", host);
	if (n > MAX_CHAIN)
		n = MAX_CHAIN;
	for (i = 0; i < n; i++) {
		gnutls_datum_t d = { (unsigned char *)chain[i].der,
			(unsigned)chain[i].len };

		if (gnutls_x509_crt_init(&crt[i]) < 0)
			goto out;
		have++;
		if ((r = gnutls_x509_crt_import(crt[i], &d,
		    GNUTLS_X509_FMT_DER)) < 0) {
			mp_err_set(e, MP_EX_UNAVAILABLE, "%s: cannot read the "
			    "server certificate: %s", host, gnutls_strerror(r));
			goto out;
		}
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		mp_err_set(e, MP_EX_SOFTWARE, "out of memory");
		goto out;
	}
	if (load_trust(tl, host, ca_file, e) != 0)
		goto out;
	r = gnutls_x509_trust_list_verify_crt2(tl, crt, (unsigned)n, NULL, 0,
	    0, &status, NULL);
	if (r < 0) {
		mp_err_set(e, MP_EX_UNAVAILABLE, "%s: cannot verify the server "
		    "certificate: %s", host, gnutls_strerror(r));
		goto out;
	}
	if (status != 0) {
		refuse(status, crt[0], host, ca_file, e);
		goto out;
	}
	/* check_hostname2 matches IP literals against iPAddress names. */
	if (!gnutls_x509_crt_check_hostname2(crt[0], host, 0)) {
		mp_err_set(e, MP_EX_UNAVAILABLE, "%s: server certificate is "
		    "for another host name; not logging in", host);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < have; i++)
		gnutls_x509_crt_deinit(crt[i]);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	return rc;
}

static int
io_error(int r, const char *host, const char *what, struct mp_err *e)
{
	if (r == GNUTLS_E_AGAIN)
		return mp_err_set(e, MP_EX_TEMPFAIL, "%s: timed out during %s",
		    host, what);
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
	    r == GNUTLS_E_PULL_ERROR)
		return mp_err_set(e, MP_EX_TEMPFAIL, "%s: connection lost "
		    "during %s", host, what);
	return mp_err_set(e, MP_EX_UNAVAILABLE, "%s: %s failed: %s", host,
	    what, gnutls_strerror(r));
}

int
mp_tls_open(int fd, const char *host, const char *ca_file,
    struct mp_tls_conn **out, struct mp_err *e)
{
	struct mp_tls_conn *t = mp_xcalloc(1, sizeof(*t));
	struct mp_tls_cert chain[MAX_CHAIN];
	const gnutls_datum_t *peers;
	struct timeval tv;
	socklen_t tvlen = sizeof(tv);
	unsigned i, np = 0;
	int r;

	*out = NULL;
	if (gnutls_certificate_allocate_credentials(&t->cred) < 0 ||
	    gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0) {
		mp_tls_close(t);
		return mp_err_set(e, MP_EX_SOFTWARE, "out of memory");
	}
	if ((r = gnutls_set_default_priority(t->s)) < 0 ||
	    (r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    t->cred)) < 0 ||
	    (!is_ip(host) && (r = gnutls_server_name_set(t->s,
	    GNUTLS_NAME_DNS, host, strlen(host))) < 0)) {
		mp_tls_close(t);
		return mp_err_set(e, MP_EX_SOFTWARE, "%s: TLS setup failed: %s",
		    host, gnutls_strerror(r));
	}
	gnutls_transport_set_int(t->s, fd);
	t->fd = fd;
	t->ms = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tvlen) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0))
		t->ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
	do {
		r = gnutls_handshake(t->s);
	} while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r));
	if (r < 0) {
		gnutls_deinit(t->s);
		t->s = NULL;
		mp_tls_close(t);
		return io_error(r, host, "the TLS handshake", e);
	}
	peers = gnutls_certificate_get_peers(t->s, &np);
	if (peers == NULL || gnutls_certificate_type_get(t->s) !=
	    GNUTLS_CRT_X509)
		np = 0;
	if (np > MAX_CHAIN)
		np = MAX_CHAIN;
	for (i = 0; i < np; i++) {
		chain[i].der = peers[i].data;
		chain[i].len = peers[i].size;
	}
	if (mp_tls_verify(chain, np, host, ca_file, e) != 0) {
		/* Leave without a word: nothing more reaches that server. */
		gnutls_deinit(t->s);
		t->s = NULL;
		mp_tls_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

/* GNUTLS_E_AGAIN is not only a timeout: TLS 1.3 post-handshake messages
 * (session tickets) end a gnutls_record_recv() with it too. So wait with
 * poll() and go round again; only poll tells a timeout. */
ssize_t
mp_tls_read(struct mp_tls_conn *t, void *buf, size_t n)
{
	struct pollfd p;
	ssize_t r;
	int pr;

	for (;;) {
		if (gnutls_record_check_pending(t->s) == 0) {
			p.fd = t->fd;
			p.events = POLLIN;
			p.revents = 0;
			do {
				pr = poll(&p, 1, t->ms);
			} while (pr < 0 && errno == EINTR);
			if (pr == 0)
				errno = ETIMEDOUT;
			if (pr <= 0)
				return -1;
		}
		r = gnutls_record_recv(t->s, buf, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r >= 0)
			return r;
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		errno = EIO;
		return -1;
	}
}

ssize_t
mp_tls_write(struct mp_tls_conn *t, const void *buf, size_t n)
{
	ssize_t r;

	do {
		r = gnutls_record_send(t->s, buf, n);
	} while (r == GNUTLS_E_INTERRUPTED);
	if (r >= 0)
		return r;
	errno = r == GNUTLS_E_AGAIN ? ETIMEDOUT : EIO;
	return -1;
}

void
mp_tls_close(struct mp_tls_conn *t)
{
	if (t == NULL)
		return;
	if (t->s != NULL) {
		gnutls_bye(t->s, GNUTLS_SHUT_WR);
		gnutls_deinit(t->s);
	}
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}
