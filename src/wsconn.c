/*
 * wsconn.c - one WebSocket client connection: the transport under the
 * upstream session.
 *
 * Owns the socket, its RAW_FILE wsi (lws only polls it), the OpenSSL
 * session of a wss:// connection, the bytes waiting to be written and
 * the read buffer. It resolves the name (getaddrinfo: it blocks the loop,
 * as lws's own client did; Debian's lws has no async DNS), connects
 * without blocking (completion is POLLOUT + SO_ERROR; a refused address
 * moves on to the next one, on a fresh wsi), does the TLS handshake and
 * the upgrade (TLS through tlsclient.c), then speaks frames through
 * wsframe.c. Each turn reads at most WSCONN_READ_MAX bytes, so that
 * readers fed from one turn can keep up (their socket buffers take about
 * 208 KiB).
 *
 * Invariants: the owner hears closed() exactly once per wsconn, when its
 * last wsi is gone (or at once from a timer if it never had one), and
 * the struct is freed right after; error() may come before it, and the
 * owner keeps the first reason. Never logs: every reason goes to
 * error(). The request (it holds the API key) is wiped once written.
 */
#include "autoconfig.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rawio.h"
#include "tlsclient.h"
#include "util.h"
#include "wsconn.h"
#include "wsframe.h"

#define WSCONN_READ_MAX		(64 * 1024)	/* per turn of the loop */
#define WSCONN_PROTOCOL		"streamd-upstream"

enum wsconn_state {
	WSCONN_TCP,		/* connect() in progress */
	WSCONN_TLS,		/* TLS handshake */
	WSCONN_UPGRADE,		/* request sent, reading the response */
	WSCONN_OPEN,		/* frames */
	WSCONN_CLOSING,		/* a close frame queued: flush, then close */
};

struct wsconn {
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	struct rawio		 io;		/* wsi NULL between addresses */
	struct wsconn_callbacks	 cb;
	enum wsconn_state	 state;
	char			*host;
	char			 port[8];
	SSL_CTX			*tls;		/* referenced; NULL: ws:// */
	SSL			*ssl;
	struct addrinfo		*addrs;
	struct addrinfo		*next_addr;	/* to try if this one fails */
	int			 redial;	/* the closing wsi is a failed try */
	int			 killed;	/* the owner ended it: no redial */
	char			 connect_error[160];
	int			 in_writeable;	/* inside our WRITEABLE callback */
	int			 want_write;	/* the owner asked for writeable */
	int			 read_wants_write; /* SSL_read: WANT_WRITE */
	int			 write_wants_read; /* SSL_write: WANT_READ */

	unsigned char		*out;		/* frames (or the request) */
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_cap;
	size_t			 secret_len;	/* bytes to wipe once written */

	char			 key[WSFRAME_KEY_LEN + 1];
	char			*request;	/* until it is queued */
	struct wsframe_response	 response;
	struct wsframe_decoder	 decoder;
	unsigned char		*rbuf;		/* WSCONN_READ_MAX */

	lws_sorted_usec_list_t	 sul_next;	/* next address, or closed() */
	lws_sorted_usec_list_t	 sul_read;	/* TLS bytes left to read */
};

static int	wsconn_dial(struct wsconn *, char **);

/* Free C and what it still holds (its wsi is gone). */
static void
wsconn_free(struct wsconn *c)
{
	lws_sul_cancel(&c->sul_next);
	lws_sul_cancel(&c->sul_read);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->tls != NULL)
		SSL_CTX_free(c->tls);
	if (c->addrs != NULL)
		freeaddrinfo(c->addrs);
	if (c->request != NULL) {
		explicit_bzero(c->request, strlen(c->request));
		free(c->request);
	}
	if (c->out != NULL) {
		explicit_bzero(c->out, c->out_cap);
		free(c->out);
	}
	free(c->rbuf);
	free(c->host);
	free(c);
}

/* The owner is told, then C is gone. */
static void
wsconn_closed(struct wsconn *c)
{
	struct wsconn_callbacks	cb = c->cb;

	wsconn_free(c);
	cb.closed(cb.arg);
}

/* A timer: deliver closed() (there is no wsi to do it). */
static void
wsconn_closed_cb(lws_sorted_usec_list_t *sul)
{
	wsconn_closed(lws_container_of(sul, struct wsconn, sul_next));
}

/* A timer: the last address failed; try the next one. */
static void
wsconn_redial_cb(lws_sorted_usec_list_t *sul)
{
	struct wsconn	*c = lws_container_of(sul, struct wsconn, sul_next);
	char		*cause = NULL;

	if (wsconn_dial(c, &cause) != 0) {
		c->cb.error(c->cb.arg, cause, 0);
		free(cause);
		wsconn_closed(c);
	}
}

/* Ask lws for POLLOUT (inside our WRITEABLE callback: next turn). */
static void
wsconn_pollout(struct wsconn *c)
{
	if (c->io.wsi == NULL)
		return;
	if (c->in_writeable)
		rawio_rearm(&c->io);
	else
		lws_callback_on_writable(c->io.wsi);
}

/* Append LEN bytes at P to the output. */
static void
wsconn_append(struct wsconn *c, const void *p, size_t len)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		c->out_cap = c->out_cap ? c->out_cap : 1024;
		while (c->out_cap < c->out_len + len)
			c->out_cap *= 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
}

/* Queue one masked frame of OPCODE with LEN bytes of PAYLOAD. */
void
wsconn_send(struct wsconn *c, int opcode, const void *payload, size_t len)
{
	unsigned char	 mask[4], *frame;
	size_t		 n;

	if (RAND_bytes(mask, sizeof mask) != 1)
		memset(mask, 0x5a, sizeof mask);
	frame = xmalloc(len + WSFRAME_HEADER_MAX);
	n = wsframe_build(frame, opcode, mask, payload, len);
	wsconn_append(c, frame, n);
	free(frame);
	wsconn_pollout(c);
}

/* The owner wants its writeable() callback once the output is flushed. */
void
wsconn_want_write(struct wsconn *c)
{
	c->want_write = 1;
	wsconn_pollout(c);
}

/* Bytes queued but not yet written. */
size_t
wsconn_pending(const struct wsconn *c)
{
	return c->out_len - c->out_off;
}

/* Send a close frame with CODE and REASON; the connection ends after it. */
void
wsconn_close(struct wsconn *c, int code, const char *reason)
{
	unsigned char	payload[WSFRAME_CONTROL_MAX];
	size_t		len = strlen(reason);

	if (c->state != WSCONN_OPEN) {
		wsconn_kill(c);
		return;
	}
	if (len > sizeof payload - 2)
		len = sizeof payload - 2;
	payload[0] = (unsigned char)(code >> 8);
	payload[1] = (unsigned char)code;
	memcpy(payload + 2, reason, len);
	c->state = WSCONN_CLOSING;
	wsconn_send(c, WSFRAME_CLOSE, payload, len + 2);
}

/* End the connection from outside its callbacks, on the next turn. */
void
wsconn_kill(struct wsconn *c)
{
	c->killed = 1;
	if (c->io.wsi != NULL)
		rawio_close_async(c->io.wsi);
	else {
		/* Between addresses: no wsi will report; a timer does. */
		lws_sul_cancel(&c->sul_next);
		lws_sul_schedule(c->ctx, 0, &c->sul_next, wsconn_closed_cb,
		    1);
	}
}

/* Free C without telling the owner (the loop is gone). Accepts NULL. */
void
wsconn_abandon(struct wsconn *c)
{
	if (c != NULL)
		wsconn_free(c);
}

/* Tell the owner why the connection ends; -1 for the caller to return. */
static int
wsconn_fail(struct wsconn *c, const char *why, int http_status)
{
	c->cb.error(c->cb.arg, why, http_status);
	return -1;
}

/*
 * Connect to the next address that takes a socket, and watch it. -1 with
 * *CAUSE (the last address's error) when none is left.
 */
static int
wsconn_dial(struct wsconn *c, char **cause)
{
	struct addrinfo	*ai;
	int		 fd, one = 1;

	while ((ai = c->next_addr) != NULL) {
		c->next_addr = ai->ai_next;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd != -1 && (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS)) {
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			c->state = WSCONN_TCP;
			c->io.fd = fd;
			c->io.wsi = rawio_adopt(c->vhost, fd, WSCONN_PROTOCOL, c);
			if (c->io.wsi == NULL) {
				xasprintf(cause, "cannot watch the upstream "
				    "socket");
				return -1;
			}
			/* POLLOUT says the connect() finished. */
			lws_callback_on_writable(c->io.wsi);
			return 0;
		}
		snprintf(c->connect_error, sizeof c->connect_error,
		    "cannot connect to %s port %s: %s", c->host, c->port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
	}
	xasprintf(cause, "%s", c->connect_error);
	return -1;
}

/*
 * Resolve and start connecting to T; the owner hears CB. NULL with
 * *CAUSE if no connection could even be started (nothing is reported).
 */
struct wsconn *
wsconn_open(struct lws_context *ctx, const struct wsconn_target *t,
    const struct wsconn_callbacks *cb, char **cause)
{
	struct wsconn	*c = xcalloc(1, sizeof *c);
	struct addrinfo	 hints;
	unsigned char	 raw[16];
	int		 rc;

	c->ctx = ctx;
	c->vhost = lws_get_vhost_by_name(ctx, "default");
	c->cb = *cb;
	c->host = xstrdup(t->host);
	snprintf(c->port, sizeof c->port, "%d", t->port);
	c->io.fd = -1;
	if (t->tls != NULL && SSL_CTX_up_ref(t->tls) == 1)
		c->tls = t->tls;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Blocking, as lws's own client was (no async DNS in its build). */
	if ((rc = getaddrinfo(c->host, c->port, &hints, &c->addrs)) != 0) {
		xasprintf(cause, "cannot resolve %s: %s", c->host,
		    gai_strerror(rc));
		c->addrs = NULL;
		wsconn_free(c);
		return NULL;
	}
	if (RAND_bytes(raw, sizeof raw) != 1 || (t->tls != NULL &&
	    c->tls == NULL)) {
		xasprintf(cause, "cannot set up the connection");
		wsconn_free(c);
		return NULL;
	}
	wsframe_key(raw, c->key);
	c->request = wsframe_request(t->path, t->host_header, c->key,
	    t->headers);
	c->rbuf = xmalloc(WSCONN_READ_MAX);
	wsframe_decoder_init(&c->decoder);
	c->next_addr = c->addrs;
	if (wsconn_dial(c, cause) != 0) {
		wsconn_free(c);
		return NULL;
	}
	return c;
}

/* TCP or TLS is up: queue the upgrade request (it holds the API key). */
static void
wsconn_upgrade(struct wsconn *c)
{
	size_t	len = strlen(c->request);

	c->state = WSCONN_UPGRADE;
	wsconn_append(c, c->request, len);
	c->secret_len = c->out_len;
	explicit_bzero(c->request, len);
	free(c->request);
	c->request = NULL;
}

/* Go on with the TLS handshake; -1 once it failed. */
static int
wsconn_handshake(struct wsconn *c)
{
	char	why[256];

	switch (tlsclient_handshake(c->ssl, why, sizeof why)) {
	case 1:
		wsconn_upgrade(c);
		return 0;
	case TLSCLIENT_WANT_WRITE:
		wsconn_pollout(c);
		return 0;
	case TLSCLIENT_WANT_READ:
		return 0;
	default:
		return wsconn_fail(c, why, 0);
	}
}

/* POLLOUT in WSCONN_TCP: did connect() work? -1 to close this wsi. */
static int
wsconn_connected(struct wsconn *c)
{
	socklen_t	len = sizeof(int);
	int		err = 0;

	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		snprintf(c->connect_error, sizeof c->connect_error,
		    "cannot connect to %s port %s: %s", c->host, c->port,
		    strerror(err));
		if (c->next_addr != NULL) {
			c->redial = 1;
			return -1;
		}
		return wsconn_fail(c, c->connect_error, 0);
	}
	if (c->tls == NULL) {
		wsconn_upgrade(c);
		return 0;
	}
	if ((c->ssl = tlsclient_new(c->tls, c->io.fd, c->host)) == NULL)
		return wsconn_fail(c, "cannot start TLS", 0);
	c->state = WSCONN_TLS;
	return 0;
}

/* Write what is queued, as far as the socket takes it; -1 on failure. */
static int
wsconn_flush(struct wsconn *c)
{
	size_t	left;
	ssize_t	n;

	c->write_wants_read = 0;
	while ((left = c->out_len - c->out_off) > 0) {
		if (c->ssl != NULL)
			n = tlsclient_write(c->ssl, c->out + c->out_off, left);
		else if ((n = send(c->io.fd, c->out + c->out_off, left,
		    MSG_NOSIGNAL | MSG_DONTWAIT)) < 0)
			n = errno == EINTR ? 0 : errno == EAGAIN ||
			    errno == EWOULDBLOCK ? TLSCLIENT_WANT_WRITE : -1;
		if (n == TLSCLIENT_WANT_WRITE)
			wsconn_pollout(c);
		else if (n == TLSCLIENT_WANT_READ)
			c->write_wants_read = 1;
		else if (n < 0)
			return wsconn_fail(c, "write failed", 0);
		if (n < 0)
			return 0;
		c->out_off += (size_t)n;
	}
	if (c->secret_len > 0) {
		explicit_bzero(c->out, c->secret_len);
		c->secret_len = 0;
	}
	return 0;
}

/* Flush, and give the owner its writeable turn; -1 to close. */
static int
wsconn_pump(struct wsconn *c)
{
	if (c->state == WSCONN_TLS && wsconn_handshake(c) != 0)
		return -1;
	if (wsconn_flush(c) != 0)
		return -1;
	if (wsconn_pending(c) == 0 && c->want_write &&
	    c->state == WSCONN_OPEN) {
		c->want_write = 0;
		c->cb.writeable(c->cb.arg);
		if (wsconn_flush(c) != 0)
			return -1;
	}
	if (wsconn_pending(c) == 0 && c->state == WSCONN_CLOSING)
		return -1;
	return 0;
}

/* Decoder callback: a chunk of a data message. */
static int
wsconn_data(void *arg, const unsigned char *p, size_t n, int first,
    int final, int binary)
{
	struct wsconn	*c = arg;

	c->cb.data(c->cb.arg, (const char *)p, n, first, final, binary);
	return 0;
}

/* Decoder callback: ping gets a pong, pong re-arms, close is echoed. */
static int
wsconn_control(void *arg, int opcode, const unsigned char *p, size_t n)
{
	struct wsconn	*c = arg;

	switch (opcode) {
	case WSFRAME_PING:
		wsconn_send(c, WSFRAME_PONG, p, n);
		return 0;
	case WSFRAME_PONG:
		c->cb.pong(c->cb.arg);
		return 0;
	default:
		c->cb.peer_close(c->cb.arg, p, n);
		c->state = WSCONN_CLOSING;
		wsconn_send(c, WSFRAME_CLOSE, p, n < 2 ? n : 2);
		return 1;
	}
}

/* LEN bytes were read into rbuf: the upgrade response, then frames. */
static int
wsconn_input(struct wsconn *c, size_t len)
{
	const struct wsframe_handler	 h = { wsconn_data, wsconn_control, c };
	const unsigned char		*p = c->rbuf;
	const char			*cause;
	char				 why[128];
	size_t				 used;
	int				 rc;

	if (c->state == WSCONN_UPGRADE) {
		rc = wsframe_response_feed(&c->response, (const char *)p, len,
		    &used, &cause);
		if (rc <= 0)
			return rc < 0 ? wsconn_fail(c, cause, 0) : 0;
		if (c->response.status != 101)
			return wsconn_fail(c, "upgrade response not 101",
			    c->response.status);
		if (wsframe_response_check(&c->response, c->key, &cause) != 0)
			return wsconn_fail(c, cause, 0);
		c->state = WSCONN_OPEN;
		c->cb.established(c->cb.arg);
		p += used;
		len -= used;
	}
	if (c->state != WSCONN_OPEN)
		return 0;
	if (wsframe_decode(&c->decoder, p, len, &h, &cause) < 0) {
		snprintf(why, sizeof why, "WebSocket protocol error: %s", cause);
		return wsconn_fail(c, why, 0);
	}
	return 0;
}

/* Read up to LEN bytes into BUF: >0 read, 0 the end, -1 error, -2 none. */
static ssize_t
wsconn_recv(struct wsconn *c, unsigned char *buf, size_t len)
{
	ssize_t	n;

	c->read_wants_write = 0;
	if (c->ssl == NULL) {
		n = read(c->io.fd, buf, len);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return -2;
		return n;
	}
	n = tlsclient_read(c->ssl, buf, len);
	if (n == TLSCLIENT_WANT_WRITE) {
		c->read_wants_write = 1;
		wsconn_pollout(c);
	}
	return n == TLSCLIENT_WANT_READ || n == TLSCLIENT_WANT_WRITE ? -2 : n;
}

static int	wsconn_readable(struct wsconn *);

/* A timer: TLS holds bytes already read from the socket; go on. */
static void
wsconn_read_cb(lws_sorted_usec_list_t *sul)
{
	struct wsconn	*c = lws_container_of(sul, struct wsconn, sul_read);

	if (c->io.wsi != NULL && wsconn_readable(c) != 0)
		rawio_close_async(c->io.wsi);
}

/* POLLIN: read at most WSCONN_READ_MAX bytes and act on them. */
static int
wsconn_readable(struct wsconn *c)
{
	size_t	got = 0;
	ssize_t	n = -2;

	if (c->state == WSCONN_TCP)
		return 0;
	if (c->state == WSCONN_TLS || c->write_wants_read)
		return wsconn_pump(c);
	lws_sul_cancel(&c->sul_read);
	while (got < WSCONN_READ_MAX) {
		if ((n = wsconn_recv(c, c->rbuf + got, WSCONN_READ_MAX -
		    got)) <= 0)
			break;
		got += (size_t)n;
		if (c->ssl == NULL)
			break;		/* one read() a turn */
	}
	if (got > 0 && wsconn_input(c, got) != 0)
		return -1;
	if (n == 0 || n == -1)
		return wsconn_fail(c, c->state == WSCONN_UPGRADE ?
		    "connection closed during the handshake" :
		    "connection lost", 0);
	if (c->ssl != NULL && got == WSCONN_READ_MAX && SSL_pending(c->ssl))
		lws_sul_schedule(c->ctx, 0, &c->sul_read, wsconn_read_cb, 1);
	return wsconn_pump(c);
}

/* POLLOUT: connect() done, TLS, queued bytes, the owner's turn. */
static int
wsconn_writeable(struct wsconn *c)
{
	int	rc = 0;

	c->in_writeable = 1;
	if (c->state == WSCONN_TCP)
		rc = wsconn_connected(c);
	if (rc == 0 && c->read_wants_write)
		rc = wsconn_readable(c);
	if (rc == 0)
		rc = wsconn_pump(c);
	c->in_writeable = 0;
	return rc;
}

/*
 * The wsi is gone: on to the next address, or tell the owner (with a
 * reason, in case lws closed it on its own, on POLLHUP).
 */
static void
wsconn_wsi_closed(struct wsconn *c, struct lws *wsi)
{
	lws_set_opaque_user_data(wsi, NULL);
	rawio_cancel(&c->io);
	lws_sul_cancel(&c->sul_read);
	c->io.wsi = NULL;
	c->io.fd = -1;
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->redial && !c->killed) {
		c->redial = 0;
		lws_sul_schedule(c->ctx, 0, &c->sul_next, wsconn_redial_cb, 1);
		return;
	}
	if (c->redial)
		(void)wsconn_fail(c, c->connect_error, 0);
	(void)wsconn_fail(c, c->state < WSCONN_OPEN ? "connection closed "
	    "during the handshake" : "connection lost", 0);
	wsconn_closed(c);
}

/* The lws callback of the upstream connection's RAW_FILE wsi. */
int
wsconn_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct wsconn	*c;

	(void)user;
	(void)in;
	(void)len;
	/* Index 0 of the protocols also hears other wsis' WSI_DESTROY. */
	if (reason != LWS_CALLBACK_RAW_RX_FILE &&
	    reason != LWS_CALLBACK_RAW_WRITEABLE_FILE &&
	    reason != LWS_CALLBACK_RAW_CLOSE_FILE)
		return 0;
	if ((c = lws_get_opaque_user_data(wsi)) == NULL || c->io.wsi != wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return wsconn_readable(c);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return wsconn_writeable(c);
	default:
		wsconn_wsi_closed(c, wsi);
		return 0;
	}
}
