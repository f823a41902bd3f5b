/*
 * tlsclient.c - TLS for the upstream connection, straight over OpenSSL.
 *
 * Owns nothing between calls: the caller keeps the SSL_CTX (one per
 * configuration) and the SSL (one per connection). The peer is always
 * verified (SSL_VERIFY_PEER, TLS 1.2 or later) against the system trust
 * store, looked up per certificate so the bundle is never parsed whole
 * (that costs about 1 MiB of RSS), or against ca_file alone; the name or
 * address in the URL must match the certificate. Never blocks: OpenSSL's
 * WANT_READ/WANT_WRITE come back for the caller to wait on; never logs.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tlsclient.h"
#include "util.h"

/* A client setup trusting CA_FILE alone, or the system store (NULL). */
SSL_CTX *
tlsclient_ctx_new(const char *ca_file, char **cause)
{
	SSL_CTX	*tls;
	int	 ok;

	if ((tls = SSL_CTX_new(TLS_client_method())) == NULL) {
		xasprintf(cause, "cannot set up TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(tls, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_dir(tls);
	if (ok != 1) {
		SSL_CTX_free(tls);
		ERR_clear_error();
		xasprintf(cause, "cannot set up TLS%s%s", ca_file ?
		    " with ca_file " : "", ca_file ? ca_file : "");
		return NULL;
	}
	return tls;
}

/* A client session on the connected socket FD for HOST (name or address). */
SSL *
tlsclient_new(SSL_CTX *tls, int fd, const char *host)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	SSL		*ssl;
	int		 ok;

	if ((ssl = SSL_new(tls)) == NULL)
		return NULL;
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else
		ok = SSL_set_tlsext_host_name(ssl, host) == 1 &&
		    SSL_set1_host(ssl, host) == 1;
	if (ok != 1 || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

/* What to wait for after SSL call returned RC: WANT_*, or -1. */
static int
tlsclient_wait(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLSCLIENT_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLSCLIENT_WANT_WRITE;
	default:
		return -1;
	}
}

/*
 * Go on with the handshake: 1 when done, TLSCLIENT_WANT_* to wait, -1
 * with the reason in WHY (LEN bytes).
 */
int
tlsclient_handshake(SSL *ssl, char *why, size_t len)
{
	long	verify;
	int	rc;

	ERR_clear_error();
	if ((rc = SSL_do_handshake(ssl)) == 1)
		return 1;
	if ((rc = tlsclient_wait(ssl, rc)) != -1)
		return rc;
	if ((verify = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(why, len, "TLS: server certificate rejected: %s",
		    X509_verify_cert_error_string(verify));
	else if (ERR_peek_error() != 0)
		snprintf(why, len, "TLS handshake failed: %s",
		    ERR_reason_error_string(ERR_peek_error()));
	else
		snprintf(why, len, "TLS handshake failed: connection closed");
	ERR_clear_error();
	return -1;
}

/* Read up to LEN bytes: the count, 0 at a clean end, WANT_*, or -1. */
ssize_t
tlsclient_read(SSL *ssl, void *buf, size_t len)
{
	int	n;

	ERR_clear_error();
	if ((n = SSL_read(ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len)) > 0)
		return n;
	if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
		return 0;
	n = tlsclient_wait(ssl, n);
	ERR_clear_error();
	return n;
}

/* Write up to LEN bytes (partial writes allowed): the count, WANT_*, -1. */
ssize_t
tlsclient_write(SSL *ssl, const void *buf, size_t len)
{
	int	n;

	ERR_clear_error();
	if ((n = SSL_write(ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len)) > 0)
		return n;
	n = tlsclient_wait(ssl, n);
	ERR_clear_error();
	return n;
}
