/*
 * wsconn.h - one WebSocket client connection, owned by the upstream
 * session: DNS, TCP, TLS (OpenSSL), the upgrade and frames; lws only polls
 * its descriptor.
 */
#ifndef STREAMD_WSCONN_H
#define STREAMD_WSCONN_H

#include <stddef.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

struct wsconn;

/* Where to connect and what to send in the upgrade request. */
struct wsconn_target {
	const char		*host;		/* name or address literal */
	int			 port;
	const char		*path;
	const char		*host_header;
	SSL_CTX			*tls;		/* NULL: plain ws:// */
	const char *const	*headers;	/* name, value, ..., NULL */
};

/* What the owner hears; closed comes exactly once, last. */
struct wsconn_callbacks {
	void	(*established)(void *arg);
	void	(*data)(void *arg, const char *, size_t, int first, int final,
		    int binary);
	void	(*pong)(void *arg);
	void	(*peer_close)(void *arg, const unsigned char *, size_t);
	/* Why it is ending; HTTP_STATUS of a refused upgrade, else 0. */
	void	(*error)(void *arg, const char *why, int http_status);
	/* Asked for with wsconn_want_write: frames may be sent now. */
	void	(*writeable)(void *arg);
	void	(*closed)(void *arg);
	void	 *arg;
};

struct wsconn	*wsconn_open(struct lws_context *, const struct wsconn_target *,
		    const struct wsconn_callbacks *, char **);
void		 wsconn_send(struct wsconn *, int, const void *, size_t);
void		 wsconn_want_write(struct wsconn *);
size_t		 wsconn_pending(const struct wsconn *);
void		 wsconn_close(struct wsconn *, int, const char *);
void		 wsconn_kill(struct wsconn *);
void		 wsconn_abandon(struct wsconn *);
int		 wsconn_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

#endif
