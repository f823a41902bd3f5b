/*
 * upstream_int.h - the session's insides, shared by upstream.c (the
 * connection and its state machine) and upstream_api.c (what the rest of
 * the daemon asks of it: subscriptions, send, reload, status). Nothing
 * else includes this.
 */
#ifndef STREAMD_UPSTREAM_INT_H
#define STREAMD_UPSTREAM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "log.h"
#include "upstream.h"
#include "url.h"

struct config_sub;
struct line;
struct wsconn;

#define UPSTREAM_FLAGS_TYPE	"rulesengine.Flags"
#define UPSTREAM_ERROR_MAX	256
/* Bytes of control-made frames that may wait for the connection. */
#define UPSTREAM_TXQ_LIMIT	(4 * 1024 * 1024)

/* One text frame's payload waiting to be sent upstream. */
struct upstream_tx {
	TAILQ_ENTRY(upstream_tx) entry;
	size_t			 len;
	unsigned char		 buf[];
};

struct upstream {
	struct lws_context	*ctx;
	SSL_CTX			*tls;		/* of the configuration */
	const struct config	*cfg;
	struct hub		*hub;
	struct subs		*subs;		/* sent on every connection */
	struct upstream_callbacks cb;
	char			*ws_url;
	struct url_parts	 parts;
	char			*api_key;

	enum upstream_state	 state;
	struct wsconn		*conn;		/* NULL between attempts */
	int			 attempt_open;	/* conn may still report */
	unsigned		 failures;	/* consecutive, reset on ready */
	int			 ever_ready;
	uint64_t		 retry_at_ms;

	/* Why the current connection ended: the first reason wins. */
	char			 error[UPSTREAM_ERROR_MAX];
	int			 close_code;	/* from the peer, 0 if none */
	int			 fatal_status;	/* non-zero: do not retry */
	int			 redial_now;	/* reconfigured: no backoff */
	struct log_ratelimit	 failure_log;

	/* Connection progress. */
	int			 snapshot_pending;
	unsigned		 subs_unsent;
	int			 want_ping;
	int			 write_armed;
	TAILQ_HEAD(, upstream_tx) txq;
	size_t			 txq_bytes;

	struct relay		*relay;		/* the per-message path */

	lws_sorted_usec_list_t	 sul_retry;
	lws_sorted_usec_list_t	 sul_handshake;
	lws_sorted_usec_list_t	 sul_ping;
	lws_sorted_usec_list_t	 sul_pong;
	lws_sorted_usec_list_t	 sul_ready;
	lws_sorted_usec_list_t	 sul_write;

	/* Counters for status. */
	uint64_t		 connected_since_ms;
	uint64_t		 reconnects;
	char			 last_error[UPSTREAM_ERROR_MAX];
};

void	upstream_set_state(struct upstream *, enum upstream_state);
void	upstream_fail(struct upstream *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	upstream_kill(struct upstream *);
void	upstream_timer(struct upstream *, lws_sorted_usec_list_t *, sul_cb_t,
	    uint64_t);
void	upstream_cancel_timers(struct upstream *);
void	upstream_txq_clear(struct upstream *);
void	upstream_queue(struct upstream *, const char *, size_t);
void	upstream_queue_sub(struct upstream *, const struct config_sub *,
	    const char *, const char *);
void	upstream_check_ready(struct upstream *);
void	upstream_connect(struct upstream *);
void	upstream_finish(struct upstream *, enum upstream_state, int);

#endif
