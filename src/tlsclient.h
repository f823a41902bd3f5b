/*
 * tlsclient.h - client TLS over a non-blocking socket (OpenSSL): the
 * setup of a configuration, the handshake with verification (it cannot
 * be turned off), reads and writes.
 */
#ifndef STREAMD_TLSCLIENT_H
#define STREAMD_TLSCLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* Returned instead of a byte count: try again once the socket is ready. */
#define TLSCLIENT_WANT_READ	(-2)
#define TLSCLIENT_WANT_WRITE	(-3)

SSL_CTX	*tlsclient_ctx_new(const char *, char **);
SSL	*tlsclient_new(SSL_CTX *, int, const char *);
int	 tlsclient_handshake(SSL *, char *, size_t);
ssize_t	 tlsclient_read(SSL *, void *, size_t);
ssize_t	 tlsclient_write(SSL *, const void *, size_t);

#endif
