/*
 * upstream_api.c - what the rest of the daemon asks of the session:
 * creating it, subscriptions and frames from the control socket, a reload
 * of the configuration, and its statistics. The connection itself and
 * its state machine are in upstream.c.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "config.h"
#include "relay.h"
#include "subs.h"
#include "tlsclient.h"
#include "upstream.h"
#include "upstream_int.h"
#include "url.h"
#include "util.h"
#include "wsconn.h"

/*
 * A session for CFG, relaying into HUB. URL is the converted WebSocket URL;
 * API_KEY is copied. Returns NULL with *CAUSE on a bad URL or TLS setup.
 */
struct upstream *
upstream_new(struct lws_context *ctx, const struct config *cfg,
    const char *ws_url, const char *api_key, struct hub *hub,
    const struct upstream_callbacks *cb, char **cause)
{
	struct upstream	*up = xcalloc(1, sizeof *up);
	size_t		 i;

	if (url_parse(ws_url, &up->parts, cause) != 0) {
		free(up);
		return NULL;
	}
	up->ctx = ctx;
	up->cfg = cfg;
	if ((up->tls = tlsclient_ctx_new(cfg->ca_file, cause)) == NULL) {
		url_parts_free(&up->parts);
		free(up);
		return NULL;
	}
	up->relay = relay_new(hub, cfg->max_message_size);
	up->subs = subs_new(cfg->max_subscriptions);
	for (i = 0; i < cfg->nsubs; i++)
		subs_add(up->subs, &cfg->subs[i], 1);
	up->hub = hub;
	up->cb = *cb;
	up->ws_url = xstrdup(ws_url);
	up->api_key = xstrdup(api_key);
	up->state = UPSTREAM_IDLE;
	TAILQ_INIT(&up->txq);
	return up;
}

/* subs_replace_configured callback: tell a connection that is up. */
static void
upstream_config_sub_changed(void *arg, const struct config_sub *sub,
    const char *action)
{
	struct upstream	*up = arg;

	if (upstream_connected(up))
		upstream_queue_sub(up, sub, action, NULL);
}

/* Replace the key; the old one is wiped. */
static void
upstream_set_key(struct upstream *up, const char *api_key)
{
	explicit_bzero(up->api_key, strlen(up->api_key));
	free(up->api_key);
	up->api_key = xstrdup(api_key);
}

/*
 * The configuration was reloaded (the struct config the session reads
 * now holds the new one). WS_URL is the converted url; API_KEY the key to
 * use (NULL: keep the current one); TLS_CHANGED says ca_file changed. Limits and
 * subscriptions apply in place; a new url, key or TLS setup reconnects at
 * once, without counting as a failure. Returns -1 with *CAUSE (nothing
 * changed) if the new url or TLS setup is unusable.
 */
int
upstream_reconfigure(struct upstream *up, const char *ws_url,
    const char *api_key, int tls_changed, char **cause)
{
	struct url_parts	 parts;
	SSL_CTX			*tls = NULL;
	int			 redial;

	if (url_parse(ws_url, &parts, cause) != 0)
		return -1;
	if (tls_changed && (tls = tlsclient_ctx_new(up->cfg->ca_file, cause)) ==
	    NULL) {
		url_parts_free(&parts);
		return -1;
	}
	redial = tls_changed || strcmp(ws_url, up->ws_url) != 0 ||
	    (api_key != NULL && strcmp(api_key, up->api_key) != 0);
	url_parts_free(&up->parts);
	up->parts = parts;
	free(up->ws_url);
	up->ws_url = xstrdup(ws_url);
	if (api_key != NULL)
		upstream_set_key(up, api_key);
	if (tls != NULL) {
		/* A connection still using the old one holds a reference. */
		SSL_CTX_free(up->tls);
		up->tls = tls;
	}
	relay_set_max_message_size(up->relay, up->cfg->max_message_size);
	subs_set_max_runtime(up->subs, up->cfg->max_subscriptions);
	subs_replace_configured(up->subs, up->cfg->subs, up->cfg->nsubs,
	    upstream_config_sub_changed, up);
	if (up->snapshot_pending && !subs_has_type(up->subs,
	    UPSTREAM_FLAGS_TYPE)) {
		up->snapshot_pending = 0;
		upstream_check_ready(up);
	}
	if (!redial)
		return 0;

	switch (up->state) {
	case UPSTREAM_CONNECTING:
	case UPSTREAM_SUBSCRIBING:
	case UPSTREAM_READY:
		up->redial_now = 1;
		upstream_fail(up, "configuration reloaded (url, API key or "
		    "ca_file changed)");
		upstream_kill(up);
		break;
	case UPSTREAM_BACKOFF:
		lws_sul_cancel(&up->sul_retry);
		upstream_connect(up);
		break;
	default:
		break;
	}
	return 0;
}

/* Whether a connection is up that frames can be queued on now. */
int
upstream_connected(const struct upstream *up)
{
	return up->conn != NULL && (up->state == UPSTREAM_SUBSCRIBING ||
	    up->state == UPSTREAM_READY);
}

/* Refuse a frame of LEN bytes when too much already waits to be sent. */
static int
upstream_txq_room(const struct upstream *up, size_t len, char **cause)
{
	size_t	waiting = up->txq_bytes;

	if (up->conn != NULL)
		waiting += wsconn_pending(up->conn);
	if (waiting > 0 && waiting + len > UPSTREAM_TXQ_LIMIT) {
		xasprintf(cause, "upstream send queue full (%zu bytes waiting)",
		    waiting);
		return -1;
	}
	return 0;
}

/*
 * Subscribe to SUB from now on, on this connection (if one is up) and on
 * every later one. Returns what was done, or -1 with *CAUSE.
 */
int
upstream_subscribe(struct upstream *up, const struct config_sub *sub,
    char **cause)
{
	int	connected = upstream_connected(up);

	if (connected && upstream_txq_room(up, 0, cause) != 0)
		return -1;
	switch (subs_add(up->subs, sub, 0)) {
	case SUBS_ADDED:
		break;
	case SUBS_DUPLICATE:
		return UPSTREAM_SUB_DUPLICATE;
	case SUBS_FULL:
		xasprintf(cause, "too many subscriptions (max_subscriptions "
		    "is %u)", up->cfg->max_subscriptions);
		return -1;
	default:
		xasprintf(cause, "cannot subscribe");
		return -1;
	}
	if (!connected)
		return UPSTREAM_SUB_PENDING;
	upstream_queue_sub(up, sub, "start", NULL);
	return UPSTREAM_SUB_SENT;
}

/*
 * Stop subscribing to SUB (one made at run time): tell the server if a
 * connection is up, and forget it. Returns what was done, or -1 with
 * *CAUSE.
 */
int
upstream_unsubscribe(struct upstream *up, const struct config_sub *sub,
    char **cause)
{
	int	connected = upstream_connected(up);

	if (connected && upstream_txq_room(up, 0, cause) != 0)
		return -1;
	switch (subs_remove(up->subs, sub)) {
	case SUBS_REMOVED:
		break;
	case SUBS_UNKNOWN:
		xasprintf(cause, "no such subscription");
		return -1;
	case SUBS_CONFIGURED:
		xasprintf(cause, "subscription comes from the configuration "
		    "file; it cannot be removed at run time");
		return -1;
	default:
		xasprintf(cause, "cannot unsubscribe");
		return -1;
	}
	if (up->snapshot_pending &&
	    !subs_has_type(up->subs, UPSTREAM_FLAGS_TYPE)) {
		/* No flags subscription is left to complete readiness. */
		up->snapshot_pending = 0;
		upstream_check_ready(up);
	}
	if (!connected)
		return UPSTREAM_SUB_FORGOTTEN;
	upstream_queue_sub(up, sub, "stop", NULL);
	return UPSTREAM_SUB_SENT;
}

/*
 * Send TEXT (LEN bytes, one JSON text) to the server as it is, on the
 * connection that is up. -1 with *CAUSE when there is none.
 */
int
upstream_send(struct upstream *up, const char *text, size_t len,
    char **cause)
{
	if (!upstream_connected(up)) {
		xasprintf(cause, "not connected");
		return -1;
	}
	if (upstream_txq_room(up, len, cause) != 0)
		return -1;
	upstream_queue(up, text, len);
	return 0;
}

/* The subscriptions sent on every connection. */
const struct subs *
upstream_subs(const struct upstream *up)
{
	return up->subs;
}

/* A snapshot of the session's counters. */
void
upstream_stats(const struct upstream *up, struct upstream_stats *st)
{
	struct relay_stats	rs;
	uint64_t		now = util_now_ms();

	memset(st, 0, sizeof *st);
	st->state = up->state;
	st->url = up->ws_url;
	st->connected_since_ms = up->connected_since_ms;
	relay_stats(up->relay, &rs);
	st->last_message_ms = rs.last_message_ms;
	st->reconnects = up->reconnects;
	st->failures = up->failures;
	if (up->state == UPSTREAM_BACKOFF && up->retry_at_ms > now)
		st->next_attempt_in_ms = up->retry_at_ms - now;
	st->messages_in = rs.messages_in;
	st->bytes_in = rs.bytes_in;
	st->messages_dropped = rs.messages_dropped;
	st->last_error = up->last_error;
	st->last_stream_id = rs.last_stream_id;
}

/* The state's name as status and STATUS= show it. */
const char *
upstream_state_name(enum upstream_state state)
{
	switch (state) {
	case UPSTREAM_IDLE:		return "idle";
	case UPSTREAM_CONNECTING:	return "connecting";
	case UPSTREAM_SUBSCRIBING:	return "subscribing";
	case UPSTREAM_READY:		return "ready";
	case UPSTREAM_BACKOFF:		return "backoff";
	case UPSTREAM_STOPPING:		return "stopping";
	case UPSTREAM_STOPPED:		return "stopped";
	case UPSTREAM_FATAL:		return "failed";
	}
	return "unknown";
}
