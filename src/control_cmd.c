/*
 * control_cmd.c - the command table of the control socket.
 *
 * Turns one request line into one reply object: {"ok":true,...} or
 * {"ok":false,"error":"..."}, with the request's "id" echoed. Checks every
 * field before acting: an unknown command or field, a missing or ill-typed
 * one is an error reply and changes nothing. State-changing commands are
 * logged at info with the peer's pid and uid. Never reads or writes a
 * socket; never sees the API key.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "control.h"
#include "control_cmd.h"
#include "hub.h"
#include "log.h"
#include "stream.h"
#include "subs.h"
#include "upstream.h"
#include "util.h"

#define CONTROL_CMD_FIELDS	3	/* most fields of one command */
#define CONTROL_CMD_QUOTE	64	/* most bytes of a name in a message */

/* What a command works with. */
struct control_cmd_ctx {
	const struct control_sources	*src;
	const struct control_peer	*peer;
	unsigned			 clients;
};

struct control_cmd {
	const char	*name;
	/* Fields allowed besides "cmd" and "id"; NULL-terminated. */
	const char	*fields[CONTROL_CMD_FIELDS + 1];
	/* The reply's fields besides "ok" and "id", or NULL and *cause. */
	json_t		*(*run)(const struct control_cmd_ctx *, json_t *,
			    char **);
};

static json_t	*control_cmd_ping(const struct control_cmd_ctx *, json_t *,
		    char **);
static json_t	*control_cmd_status(const struct control_cmd_ctx *, json_t *,
		    char **);
static json_t	*control_cmd_subscribe(const struct control_cmd_ctx *,
		    json_t *, char **);
static json_t	*control_cmd_unsubscribe(const struct control_cmd_ctx *,
		    json_t *, char **);
static json_t	*control_cmd_send(const struct control_cmd_ctx *, json_t *,
		    char **);

static const struct control_cmd control_cmds[] = {
	{ "subscribe", { "entity_type", "keys", NULL }, control_cmd_subscribe },
	{ "unsubscribe", { "entity_type", "keys", NULL },
	  control_cmd_unsubscribe },
	{ "send", { "message", NULL }, control_cmd_send },
	{ "status", { NULL }, control_cmd_status },
	{ "ping", { NULL }, control_cmd_ping },
};
#define CONTROL_NCMDS	(sizeof control_cmds / sizeof control_cmds[0])

/*
 * How many bytes of S to quote in a message: at most CONTROL_CMD_QUOTE,
 * not splitting a UTF-8 sequence.
 */
static int
control_cmd_cut(const char *s)
{
	size_t	n = strlen(s);

	if (n <= CONTROL_CMD_QUOTE)
		return (int)n;
	n = CONTROL_CMD_QUOTE;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* A reply {"ok":OK} with ID (if any) echoed. */
static json_t *
control_cmd_reply(int ok, json_t *id)
{
	json_t	*reply = json_object();

	json_object_set_new(reply, "ok", json_boolean(ok));
	if (id != NULL)
		json_object_set(reply, "id", id);
	return reply;
}

/* An error reply: {"ok":false,"id":ID,"error":"..."} (ID may be NULL). */
json_t *
control_cmd_error(json_t *id, const char *fmt, ...)
{
	json_t	*reply = control_cmd_reply(0, id);
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		log_err("out of memory");
		exit(1);
	}
	va_end(ap);
	/* A message quoting invalid UTF-8 would not encode: say less. */
	if (json_object_set_new(reply, "error", json_string(msg)) != 0)
		json_object_set_new(reply, "error",
		    json_string("invalid request"));
	free(msg);
	return reply;
}

/* Refuse any member of REQ that command CMD does not know. */
static int
control_cmd_check_fields(const struct control_cmd *cmd, json_t *req,
    char **cause)
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	json_object_foreach(req, key, value) {
		if (strcmp(key, "cmd") == 0 || strcmp(key, "id") == 0)
			continue;
		for (i = 0; cmd->fields[i] != NULL; i++) {
			if (strcmp(key, cmd->fields[i]) == 0)
				break;
		}
		if (cmd->fields[i] == NULL) {
			xasprintf(cause, "unknown field \"%.*s\" for %s",
			    control_cmd_cut(key), key, cmd->name);
			return -1;
		}
	}
	return 0;
}

/*
 * Read "entity_type" (full or short name) and "keys" (optional object of
 * non-empty strings) of REQ into SUB; config_sub_free it after.
 */
static int
control_cmd_sub(json_t *req, struct config_sub *sub, char **cause)
{
	json_t		*type = json_object_get(req, "entity_type");
	json_t		*keys = json_object_get(req, "keys"), *value;
	const char	*name, *full;
	size_t		 n;

	memset(sub, 0, sizeof *sub);
	if (type == NULL) {
		xasprintf(cause, "missing \"entity_type\"");
		return -1;
	}
	if (!json_is_string(type)) {
		xasprintf(cause, "\"entity_type\" must be a string");
		return -1;
	}
	if ((full = config_entity_type(json_string_value(type))) == NULL) {
		xasprintf(cause, "unknown entity_type \"%.*s\" (use "
		    "rulesengine.Flags, rulesengine.Flag, rulesengine.Company, "
		    "rulesengine.Companies, rulesengine.User or "
		    "rulesengine.Users)",
		    control_cmd_cut(json_string_value(type)),
		    json_string_value(type));
		return -1;
	}
	if (keys != NULL && !json_is_object(keys)) {
		xasprintf(cause, "\"keys\" must be an object of strings");
		return -1;
	}
	n = keys != NULL ? json_object_size(keys) : 0;
	sub->entity_type = xstrdup(full);
	sub->key_names = xreallocarray(NULL, n, sizeof *sub->key_names);
	sub->key_values = xreallocarray(NULL, n, sizeof *sub->key_values);
	if (keys == NULL)
		return 0;
	json_object_foreach(keys, name, value) {
		if (*name == '\0' || !json_is_string(value) ||
		    json_string_length(value) == 0) {
			xasprintf(cause, "\"keys\" must map non-empty names to "
			    "non-empty strings");
			config_sub_free(sub);
			return -1;
		}
		sub->key_names[sub->nkeys] = xstrdup(name);
		sub->key_values[sub->nkeys++] = xstrdup(
		    json_string_value(value));
	}
	return 0;
}

/* Log a state-changing command: who asked, what, and how it went. */
static void
control_cmd_log(const struct control_cmd_ctx *ctx, const char *what,
    const char *outcome)
{
	log_info("control pid %ld uid %ld: %s: %s", (long)ctx->peer->pid,
	    (long)ctx->peer->uid, what, outcome);
}

/* How a subscribe (SUBSCRIBE) or unsubscribe went, for the log. */
static const char *
control_cmd_outcome(int subscribe, int rc, int pending, const char *cause)
{
	if (rc < 0)
		return cause;
	if (!subscribe)
		return rc == UPSTREAM_SUB_SENT ? "sent" :
		    "forgotten (not connected)";
	if (rc == UPSTREAM_SUB_DUPLICATE)
		return "already subscribed";
	return pending ? "pending until connected" : "sent";
}

/*
 * subscribe (SUBSCRIBE): remember the subscription and send "start" now
 * or once connected; unsubscribe: send "stop" if connected and forget it.
 */
static json_t *
control_cmd_sub_change(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause, int subscribe)
{
	struct upstream		*up = ctx->src->upstream;
	struct config_sub	 sub;
	char			*what, *desc;
	int			 rc, pending;

	if (control_cmd_sub(req, &sub, cause) != 0)
		return NULL;
	rc = subscribe ? upstream_subscribe(up, &sub, cause) :
	    upstream_unsubscribe(up, &sub, cause);
	pending = rc == UPSTREAM_SUB_PENDING ||
	    (rc == UPSTREAM_SUB_DUPLICATE && !upstream_connected(up));
	desc = subs_describe(&sub);
	xasprintf(&what, "%s %s", subscribe ? "subscribe" : "unsubscribe",
	    desc);
	control_cmd_log(ctx, what, control_cmd_outcome(subscribe, rc, pending,
	    rc < 0 ? *cause : NULL));
	free(what);
	free(desc);
	config_sub_free(&sub);
	if (rc < 0)
		return NULL;
	if (!subscribe)
		return json_pack("{s:b}", "sent", rc == UPSTREAM_SUB_SENT);
	return json_pack("{s:b,s:b}", "pending", pending, "duplicate",
	    rc == UPSTREAM_SUB_DUPLICATE);
}

/* subscribe: see control_cmd_sub_change. */
static json_t *
control_cmd_subscribe(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause)
{
	return control_cmd_sub_change(ctx, req, cause, 1);
}

/* unsubscribe: see control_cmd_sub_change. */
static json_t *
control_cmd_unsubscribe(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause)
{
	return control_cmd_sub_change(ctx, req, cause, 0);
}

/* send: one message to the server, compact, on the live connection. */
static json_t *
control_cmd_send(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause)
{
	json_t	*message = json_object_get(req, "message");
	char	*text, *what;
	size_t	 len;
	int	 rc;

	if (message == NULL) {
		xasprintf(cause, "missing \"message\"");
		return NULL;
	}
	if (!json_is_object(message)) {
		xasprintf(cause, "\"message\" must be a JSON object");
		return NULL;
	}
	if ((text = json_dumps(message, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL) {
		xasprintf(cause, "cannot encode \"message\"");
		return NULL;
	}
	len = strlen(text);
	rc = upstream_send(ctx->src->upstream, text, len, cause);
	xasprintf(&what, "send (%zu bytes)", len);
	control_cmd_log(ctx, what, rc < 0 ? *cause : "sent");
	free(what);
	free(text);
	return rc < 0 ? NULL : json_object();
}

/* ping: nothing to do but answer. */
static json_t *
control_cmd_ping(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause)
{
	(void)ctx;
	(void)req;
	(void)cause;
	return json_object();
}

/* A wall-clock time in ms as RFC 3339, or null for 0 (never). */
static json_t *
control_cmd_time(uint64_t ms)
{
	char	buf[64];

	if (ms == 0)
		return json_null();
	util_rfc3339_ms(ms, buf, sizeof buf);
	return json_string(buf);
}

/* A string, or null when empty (or not valid UTF-8). */
static json_t *
control_cmd_string_or_null(const char *s)
{
	json_t	*j;

	if (s == NULL || *s == '\0' || (j = json_string(s)) == NULL)
		return json_null();
	return j;
}

/* status: the daemon's state and counters (never the API key). */
static json_t *
control_cmd_status(const struct control_cmd_ctx *ctx, json_t *req,
    char **cause)
{
	struct upstream_stats	us;
	struct hub_stats	hs;
	json_t			*st;

	(void)req;
	(void)cause;
	upstream_stats(ctx->src->upstream, &us);
	hub_stats(ctx->src->hub, &hs);
	st = json_pack("{s:s,s:o,s:o,s:o,s:o,s:I,s:I}",
	    "state", upstream_state_name(us.state),
	    "url", control_cmd_string_or_null(us.url),
	    "connected_since", control_cmd_time(us.connected_since_ms),
	    "last_message", control_cmd_time(us.last_message_ms),
	    "last_stream_id", control_cmd_string_or_null(us.last_stream_id),
	    "reconnects", (json_int_t)us.reconnects,
	    "consecutive_failures", (json_int_t)us.failures);
	if (us.state == UPSTREAM_BACKOFF)
		json_object_set_new(st, "next_attempt_in_ms",
		    json_integer((json_int_t)us.next_attempt_in_ms));
	json_object_update_new(st, json_pack(
	    "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:I,s:s}",
	    "messages_in", (json_int_t)us.messages_in,
	    "bytes_in", (json_int_t)us.bytes_in,
	    "messages_dropped", (json_int_t)us.messages_dropped,
	    "readers", (json_int_t)stream_readers(ctx->src->stream),
	    "readers_cut_off", (json_int_t)hs.readers_cut_off,
	    "lines_out", (json_int_t)hs.lines,
	    "queued_bytes", (json_int_t)hs.queued_bytes,
	    "control_clients", (json_int_t)ctx->clients,
	    "subscriptions", subs_json(upstream_subs(ctx->src->upstream)),
	    "last_error", control_cmd_string_or_null(us.last_error),
	    "pid", (json_int_t)getpid(),
	    "version", PACKAGE_VERSION));
	return json_pack("{s:o}", "status", st);
}

/* The command named NAME, or NULL. */
static const struct control_cmd *
control_cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < CONTROL_NCMDS; i++) {
		if (strcmp(control_cmds[i].name, name) == 0)
			return &control_cmds[i];
	}
	return NULL;
}

/* Check REQ's command and fields, run it; the reply, ID echoed. */
static json_t *
control_cmd_dispatch(const struct control_cmd_ctx *ctx, json_t *req)
{
	const struct control_cmd	*cmd;
	json_t				*id = json_object_get(req, "id");
	json_t				*name = json_object_get(req, "cmd");
	json_t				*result, *reply;
	char				*cause = NULL;

	if (name == NULL)
		return control_cmd_error(id, "missing \"cmd\"");
	if (!json_is_string(name))
		return control_cmd_error(id, "\"cmd\" must be a string");
	if ((cmd = control_cmd_find(json_string_value(name))) == NULL)
		return control_cmd_error(id, "unknown command \"%.*s\" (use "
		    "subscribe, unsubscribe, send, status or ping)",
		    control_cmd_cut(json_string_value(name)),
		    json_string_value(name));
	if (control_cmd_check_fields(cmd, req, &cause) != 0 ||
	    (result = cmd->run(ctx, req, &cause)) == NULL) {
		reply = control_cmd_error(id, "%s", cause);
		free(cause);
		return reply;
	}
	reply = control_cmd_reply(1, id);
	json_object_update(reply, result);
	json_decref(result);
	return reply;
}

/*
 * Answer the request LINE (LEN bytes, no newline) from PEER, with SRC to
 * steer and report on and CLIENTS control connections open.
 */
json_t *
control_cmd_run(const struct control_sources *src,
    const struct control_peer *peer, unsigned clients, const char *line,
    size_t len)
{
	struct control_cmd_ctx	 ctx = { src, peer, clients };
	json_error_t		 err;
	json_t			*req, *reply;

	if ((req = json_loadb(line, len, JSON_DECODE_ANY, &err)) == NULL)
		return control_cmd_error(NULL, "invalid JSON at byte %d: %s",
		    err.position, err.text);
	if (!json_is_object(req))
		reply = control_cmd_error(NULL, "a request must be a JSON "
		    "object");
	else
		reply = control_cmd_dispatch(&ctx, req);
	json_decref(req);
	return reply;
}
