/*
 * upstream.c - the only WebSocket client code: one session to the
 * Schematic datastream, kept alive for the life of the daemon.
 *
 * State machine (see upstream.h):
 *
 *   IDLE -> CONNECTING -> SUBSCRIBING -> READY
 *             ^    |            |          |
 *             |    v            v          v
 *             +-- BACKOFF <-----+----------+    error, close, timeout
 *   any -> FATAL (key rejected: 77; attempts exhausted: 69)
 *   any -> STOPPING -> STOPPED (shutdown)
 *
 * Invariants: at most one connection (wsconn.c: TCP, TLS, the upgrade
 * and frames) exists at a time; every end of it, however it came,
 * funnels into upstream_ended(), called once per attempt from the
 * connection's closed() callback; that is the one place which picks the
 * next state. The other callbacks only record why.
 *
 * Each message goes to relay.c (the per-message path). The payload is
 * never logged; the API key is never logged. What the rest of the daemon
 * asks of the session (subscriptions, send, reload, status) is in
 * upstream_api.c.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <libwebsockets.h>

#include "backoff.h"
#include "config.h"
#include "event.h"
#include "hub.h"
#include "line.h"
#include "log.h"
#include "relay.h"
#include "subs.h"
#include "upstream.h"
#include "upstream_int.h"
#include "url.h"
#include "util.h"
#include "wsconn.h"
#include "wsframe.h"

static void	upstream_ended(struct upstream *);

/* Enter STATE and tell the owner. */
void
upstream_set_state(struct upstream *up, enum upstream_state state)
{
	up->state = state;
	if (up->cb.state_changed != NULL)
		up->cb.state_changed(up->cb.arg);
}

/* Record why the connection is ending; the first reason is kept. */
void __attribute__((format(printf, 2, 3)))
upstream_fail(struct upstream *up, const char *fmt, ...)
{
	va_list	ap;

	if (up->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(up->error, sizeof up->error, fmt, ap);
	va_end(ap);
}

/* Tear the current connection down from outside its callbacks. */
void
upstream_kill(struct upstream *up)
{
	if (up->conn != NULL)
		wsconn_kill(up->conn);
}

/* Schedule SUL to fire CB after MS milliseconds. */
void
upstream_timer(struct upstream *up, lws_sorted_usec_list_t *sul,
    sul_cb_t cb, uint64_t ms)
{
	lws_sul_schedule(up->ctx, 0, sul, cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

/* Stop every per-connection timer. */
void
upstream_cancel_timers(struct upstream *up)
{
	lws_sul_cancel(&up->sul_handshake);
	lws_sul_cancel(&up->sul_ping);
	lws_sul_cancel(&up->sul_pong);
	lws_sul_cancel(&up->sul_ready);
	lws_sul_cancel(&up->sul_write);
	up->write_armed = 0;
}

/* Drop queued frames (their connection is gone). */
void
upstream_txq_clear(struct upstream *up)
{
	struct upstream_tx	*tx;

	while ((tx = TAILQ_FIRST(&up->txq)) != NULL) {
		TAILQ_REMOVE(&up->txq, tx, entry);
		free(tx);
	}
	up->txq_bytes = 0;
}

/* The upgrade never completed in time (covers a server that stalls). */
static void
upstream_handshake_timeout(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream,
	    sul_handshake);

	upstream_fail(up, "handshake timed out after %llums",
	    (unsigned long long)up->cfg->handshake_timeout_ms);
	upstream_kill(up);
}

/* The flag snapshot did not complete in time. */
static void
upstream_ready_timeout(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream, sul_ready);

	upstream_fail(up, "not ready within %llums (flag snapshot incomplete)",
	    (unsigned long long)up->cfg->ready_timeout_ms);
	upstream_kill(up);
}

/* No pong arrived within pong_timeout of the last one. */
static void
upstream_pong_timeout(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream, sul_pong);

	upstream_fail(up, "no pong within %llums",
	    (unsigned long long)up->cfg->pong_timeout_ms);
	upstream_kill(up);
}

/* A write has been pending longer than write_timeout. */
static void
upstream_write_timeout(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream, sul_write);

	upstream_fail(up, "write timed out after %llums",
	    (unsigned long long)up->cfg->write_timeout_ms);
	upstream_kill(up);
}

/* Ask for a WRITEABLE callback, with the write timeout running. */
static void
upstream_want_write(struct upstream *up)
{
	if (up->conn == NULL)
		return;
	if (!up->write_armed) {
		up->write_armed = 1;
		upstream_timer(up, &up->sul_write, upstream_write_timeout,
		    up->cfg->write_timeout_ms);
	}
	wsconn_want_write(up->conn);
}

/* Time to ping: send one from the next WRITEABLE, then re-arm. */
static void
upstream_ping_tick(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream, sul_ping);

	up->want_ping = 1;
	upstream_want_write(up);
	upstream_timer(up, &up->sul_ping, upstream_ping_tick,
	    up->cfg->ping_interval_ms);
}

/* Queue TEXT (LEN bytes) to be sent upstream as one text frame. */
void
upstream_queue(struct upstream *up, const char *text, size_t len)
{
	struct upstream_tx	*tx;

	tx = xmalloc(sizeof *tx + len);
	tx->len = len;
	memcpy(tx->buf, text, len);
	TAILQ_INSERT_TAIL(&up->txq, tx, entry);
	up->txq_bytes += len;
	upstream_want_write(up);
}

/* Queue the frame that asks the server to ACTION ("start"/"stop") SUB. */
void
upstream_queue_sub(struct upstream *up, const struct config_sub *sub,
    const char *action, const char *replay_from)
{
	char	*text;

	text = subs_frame(sub, action, up->cfg->flags_page_size, replay_from);
	upstream_queue(up, text, strlen(text));
	free(text);
}

/* Publish a line the daemon originates (a {"streamd":...} event). */
static void
upstream_publish_event(struct upstream *up, struct line *l)
{
	hub_publish(up->hub, l);
	line_unref(l);
}

/*
 * Publish a connection state event; readers that attach later receive it
 * first, so every reader knows whether data is flowing.
 */
static void
upstream_publish_state(struct upstream *up, struct line *l)
{
	hub_set_greeting(up->hub, l);
	upstream_publish_event(up, l);
}

/* Everything is in place: subscriptions out, snapshot complete. */
void
upstream_check_ready(struct upstream *up)
{
	const char	*fields[3];
	char		 url_field[600];

	if (up->state != UPSTREAM_SUBSCRIBING || up->subs_unsent > 0 ||
	    up->snapshot_pending)
		return;
	lws_sul_cancel(&up->sul_ready);
	up->failures = 0;
	up->ever_ready = 1;
	up->connected_since_ms = util_wall_ms();
	up->error[0] = '\0';
	upstream_set_state(up, UPSTREAM_READY);

	snprintf(url_field, sizeof url_field, "UPSTREAM_URL=%s", up->ws_url);
	fields[0] = url_field;
	fields[1] = NULL;
	log_event(LOG_INFO, MSGID_CONNECTED, fields,
	    "upstream ready: %s", up->ws_url);
	upstream_publish_state(up, event_connected(up->ws_url));
	if (up->cb.ready != NULL)
		up->cb.ready(up->cb.arg);
}

/*
 * Where the server should replay from: the last stream_id relayed, or
 * NULL when none was seen (or it is not a plain id worth quoting back).
 */
static const char *
upstream_replay_from(const struct upstream *up)
{
	struct relay_stats	rs;

	relay_stats(up->relay, &rs);
	if (rs.last_stream_id[0] == '\0' ||
	    strchr(rs.last_stream_id, '\\') != NULL)
		return NULL;
	return rs.last_stream_id;
}

/*
 * The upgrade succeeded: send every subscription of the registry, in the
 * order made, and start keepalive. Past the first connection they carry
 * replay_from, so the server can replay what was missed; the flags
 * subscription never does: a fresh snapshot replaces the whole flag set
 * and is what readiness waits for.
 */
static void
upstream_established(void *arg)
{
	struct upstream		*up = arg;
	const struct config_sub	*sub;
	const char		*replay_from = upstream_replay_from(up);
	size_t			 i;
	int			 flags;

	lws_sul_cancel(&up->sul_handshake);
	upstream_set_state(up, UPSTREAM_SUBSCRIBING);
	log_debug("upstream connected to %s, subscribing%s%s", up->ws_url,
	    replay_from != NULL ? ", replaying from " : "",
	    replay_from != NULL ? replay_from : "");

	up->snapshot_pending = 0;
	up->subs_unsent = 0;
	for (i = 0; (sub = subs_get(up->subs, i, NULL)) != NULL; i++) {
		flags = strcmp(sub->entity_type, UPSTREAM_FLAGS_TYPE) == 0;
		if (flags)
			up->snapshot_pending = 1;
		upstream_queue_sub(up, sub, "start", flags ? NULL :
		    replay_from);
		up->subs_unsent++;
	}
	upstream_timer(up, &up->sul_ping, upstream_ping_tick,
	    up->cfg->ping_interval_ms);
	upstream_timer(up, &up->sul_pong, upstream_pong_timeout,
	    up->cfg->pong_timeout_ms);
	upstream_timer(up, &up->sul_ready, upstream_ready_timeout,
	    up->cfg->ready_timeout_ms);
	upstream_check_ready(up);
}

/* A fragment of a message arrived: relay it, note a completed snapshot. */
static void
upstream_receive(void *arg, const char *in, size_t len, int first, int final,
    int binary)
{
	struct upstream	*up = arg;
	int		 result;

	result = relay_fragment(up->relay, in, len, first, final, binary);
	if ((result & RELAY_SNAPSHOT_DONE) && up->snapshot_pending) {
		up->snapshot_pending = 0;
		upstream_check_ready(up);
	}
}

/*
 * The connection can take frames: a pending close, a ping, and every
 * queued frame; the write timeout runs until the connection has written
 * them all.
 */
static void
upstream_writeable(void *arg)
{
	struct upstream		*up = arg;
	struct upstream_tx	*tx;

	if (up->state == UPSTREAM_STOPPING) {
		wsconn_close(up->conn, 1001, "daemon stopping");
		return;
	}
	if (up->want_ping) {
		up->want_ping = 0;
		wsconn_send(up->conn, WSFRAME_PING, NULL, 0);
	}
	while ((tx = TAILQ_FIRST(&up->txq)) != NULL) {
		TAILQ_REMOVE(&up->txq, tx, entry);
		up->txq_bytes -= tx->len;
		wsconn_send(up->conn, WSFRAME_TEXT, tx->buf, tx->len);
		free(tx);
		if (up->subs_unsent > 0 && --up->subs_unsent == 0)
			upstream_check_ready(up);
	}
	if (wsconn_pending(up->conn) > 0)
		wsconn_want_write(up->conn);
	else {
		lws_sul_cancel(&up->sul_write);
		up->write_armed = 0;
	}
}

/* The peer sent a close frame: note its code (4001: key rejected). */
static void
upstream_peer_close(void *arg, const unsigned char *in, size_t len)
{
	struct upstream	*up = arg;
	int		 code = len >= 2 ? (in[0] << 8) | in[1] : 1005;

	up->close_code = code;
	if (code == 4001) {
		up->fatal_status = EXIT_NOPERM;
		upstream_fail(up, "API key rejected (close code 4001%s%.*s)",
		    len > 2 ? ": " : "", len > 2 ? (int)(len - 2) : 0,
		    (const char *)in + 2);
	} else
		upstream_fail(up, "server closed the connection (code %d%s%.*s)",
		    code, len > 2 ? ": " : "", len > 2 ? (int)(len - 2) : 0,
		    (const char *)in + 2);
}

/* The upgrade was refused (HTTP_STATUS) or the connection failed (WHY). */
static void
upstream_connection_error(void *arg, const char *why, int http_status)
{
	struct upstream	*up = arg;

	if (http_status == 401 || http_status == 403) {
		up->fatal_status = EXIT_NOPERM;
		upstream_fail(up, "API key rejected (HTTP %d on upgrade)",
		    http_status);
	} else if (http_status != 0 && http_status != 101)
		upstream_fail(up, "upgrade refused: HTTP %d", http_status);
	else
		upstream_fail(up, "%s", why);
}

/* A pong arrived: the connection is alive for another pong_timeout. */
static void
upstream_pong(void *arg)
{
	struct upstream	*up = arg;

	upstream_timer(up, &up->sul_pong, upstream_pong_timeout,
	    up->cfg->pong_timeout_ms);
}

/* The connection of this attempt is gone: decide what comes next. */
static void
upstream_conn_closed(void *arg)
{
	struct upstream	*up = arg;

	up->conn = NULL;
	if (up->attempt_open) {
		up->attempt_open = 0;
		upstream_ended(up);
	}
}

/* Log the end of a connection with its structured fields. */
static void
upstream_log_disconnect(struct upstream *up, const char *what,
    unsigned suppressed)
{
	char		 url_field[600], code_field[32], held[64] = "";
	const char	*fields[3];
	int		 n = 0;

	snprintf(url_field, sizeof url_field, "UPSTREAM_URL=%s", up->ws_url);
	fields[n++] = url_field;
	if (up->close_code != 0) {
		snprintf(code_field, sizeof code_field, "CLOSE_CODE=%d",
		    up->close_code);
		fields[n++] = code_field;
	}
	fields[n] = NULL;
	if (suppressed > 0)
		snprintf(held, sizeof held, " (%u similar failures not logged)",
		    suppressed);
	log_event(LOG_WARNING, MSGID_DISCONNECTED, fields, "upstream %s: %s%s",
	    what, up->error, held);
}

/* Give up for good: tell the owner with the exit status. */
void
upstream_finish(struct upstream *up, enum upstream_state state, int status)
{
	upstream_set_state(up, state);
	if (up->cb.finished != NULL)
		up->cb.finished(up->cb.arg, status);
}

/* The retry timer fired. */
static void
upstream_retry(lws_sorted_usec_list_t *sul)
{
	struct upstream *up = lws_container_of(sul, struct upstream, sul_retry);

	up->reconnects++;
	upstream_connect(up);
}

/*
 * The connection of this attempt is gone, however it ended. Decide what
 * comes next: stop, give up, or wait and redial.
 */
static void
upstream_ended(struct upstream *up)
{
	enum upstream_state	 was = up->state;
	char			 attempt_field[40], backoff_field[40];
	const char		*fields[3] = { attempt_field, backoff_field, NULL };
	uint64_t		 delay_ms;
	unsigned		 suppressed = 0;
	int			 logged;

	upstream_cancel_timers(up);
	upstream_txq_clear(up);
	up->want_ping = 0;
	if (up->error[0] == '\0')
		snprintf(up->error, sizeof up->error, "connection ended");
	snprintf(up->last_error, sizeof up->last_error, "%s", up->error);
	up->connected_since_ms = 0;

	if (was == UPSTREAM_STOPPING) {
		upstream_finish(up, UPSTREAM_STOPPED, 0);
		return;
	}
	if (was == UPSTREAM_READY)
		upstream_publish_state(up, event_disconnected(up->error,
		    up->close_code));

	if (up->fatal_status == EXIT_NOPERM) {
		log_event(LOG_ERR, MSGID_KEY_REJECTED, NULL, "%s; not retrying "
		    "(check the API key)", up->error);
		upstream_finish(up, UPSTREAM_FATAL, EXIT_NOPERM);
		return;
	}

	if (up->redial_now) {
		/* A reload changed where or how to connect: no backoff. */
		up->redial_now = 0;
		log_info("reconnecting: %s", up->error);
		upstream_set_state(up, UPSTREAM_BACKOFF);
		upstream_timer(up, &up->sul_retry, upstream_retry, 0);
		return;
	}

	up->failures++;
	logged = log_ratelimit_check(&up->failure_log, util_now_ms(),
	    &suppressed);
	if (logged)
		upstream_log_disconnect(up, was == UPSTREAM_READY ?
		    "disconnected" : "connection attempt failed", suppressed);
	if (up->cfg->max_reconnect_attempts > 0 &&
	    up->failures >= up->cfg->max_reconnect_attempts) {
		log_event(LOG_ERR, MSGID_ATTEMPTS_EXHAUSTED, NULL,
		    "giving up after %u consecutive failed attempts; last "
		    "error: %s", up->failures, up->error);
		upstream_finish(up, UPSTREAM_FATAL, EXIT_UNAVAILABLE);
		return;
	}

	delay_ms = backoff_delay_ms(up->failures,
	    up->cfg->min_reconnect_delay_ms, up->cfg->max_reconnect_delay_ms,
	    util_random64());
	up->retry_at_ms = util_now_ms() + delay_ms;
	snprintf(attempt_field, sizeof attempt_field, "RECONNECT_ATTEMPT=%u",
	    up->failures);
	snprintf(backoff_field, sizeof backoff_field, "BACKOFF_MS=%llu",
	    (unsigned long long)delay_ms);
	if (logged)
		log_event(LOG_INFO, MSGID_RECONNECT_SCHEDULED, fields,
		    "reconnecting in %llums (attempt %u%s)",
		    (unsigned long long)delay_ms, up->failures,
		    up->cfg->max_reconnect_attempts ? "" : ", no limit");
	upstream_set_state(up, UPSTREAM_BACKOFF);
	upstream_timer(up, &up->sul_retry, upstream_retry, delay_ms);
}

/* What the connection tells the session. */
static const struct wsconn_callbacks upstream_conn_callbacks = {
	.established = upstream_established,
	.data = upstream_receive,
	.pong = upstream_pong,
	.peer_close = upstream_peer_close,
	.error = upstream_connection_error,
	.writeable = upstream_writeable,
	.closed = upstream_conn_closed,
};

/* Dial once. */
void
upstream_connect(struct upstream *up)
{
	struct wsconn_callbacks	 cb = upstream_conn_callbacks;
	struct wsconn_target	 target;
	const char		*headers[] = {
		"Origin", up->parts.host_header,
		"X-Schematic-Api-Key", up->api_key,
		"X-Schematic-Client", PACKAGE_NAME,
		"X-Schematic-Client-Version", PACKAGE_VERSION,
		"X-Schematic-Datastream-Mode", up->cfg->datastream_mode,
		NULL
	};
	char			*cause = NULL;

	memset(&target, 0, sizeof target);
	target.host = up->parts.host;
	target.port = up->parts.port;
	target.path = up->parts.path;
	target.host_header = up->parts.host_header;
	target.tls = up->parts.tls ? up->tls : NULL;
	target.headers = headers;
	cb.arg = up;

	up->error[0] = '\0';
	up->close_code = 0;
	up->fatal_status = 0;
	relay_reset(up->relay);
	upstream_set_state(up, UPSTREAM_CONNECTING);
	log_debug("connecting to %s", up->ws_url);
	upstream_timer(up, &up->sul_handshake, upstream_handshake_timeout,
	    up->cfg->handshake_timeout_ms);

	up->attempt_open = 1;
	if ((up->conn = wsconn_open(up->ctx, &target, &cb, &cause)) == NULL) {
		/* Failed before a connection could report it. */
		up->attempt_open = 0;
		upstream_fail(up, "%s", cause);
		free(cause);
		upstream_ended(up);
	}
}

/* Free the session (after the loop is gone). Accepts NULL. */
void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	upstream_cancel_timers(up);
	lws_sul_cancel(&up->sul_retry);
	upstream_txq_clear(up);
	subs_free(up->subs);
	url_parts_free(&up->parts);
	if (up->api_key != NULL) {
		explicit_bzero(up->api_key, strlen(up->api_key));
		free(up->api_key);
	}
	free(up->ws_url);
	relay_free(up->relay);
	wsconn_abandon(up->conn);
	SSL_CTX_free(up->tls);
	free(up);
}

/* Make the first connection attempt. */
void
upstream_start(struct upstream *up)
{
	upstream_connect(up);
}

/*
 * Shut down: close the connection with 1001 if there is one; the owner
 * hears finished(0) once it is gone (at once if there is none).
 */
void
upstream_stop(struct upstream *up)
{
	lws_sul_cancel(&up->sul_retry);
	if (up->state == UPSTREAM_STOPPING || up->state == UPSTREAM_STOPPED ||
	    up->state == UPSTREAM_FATAL)
		return;
	if (up->conn == NULL) {
		upstream_cancel_timers(up);
		upstream_finish(up, UPSTREAM_STOPPED, 0);
		return;
	}
	upstream_fail(up, "daemon stopping");
	if (up->state == UPSTREAM_CONNECTING) {
		up->state = UPSTREAM_STOPPING;
		upstream_kill(up);
		return;
	}
	upstream_set_state(up, UPSTREAM_STOPPING);
	wsconn_want_write(up->conn);
}

