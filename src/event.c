/*
 * event.c - builds the daemon's own stream lines. These are rare (state
 * changes, drops), so they go through jansson, which guarantees valid,
 * compact, newline-free JSON whatever the reason text holds.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "line.h"
#include "util.h"

/* {"streamd":{"event":NAME,"time":...}} plus what the caller adds to *BODY. */
static json_t *
event_new(const char *name, json_t **body)
{
	char	now[40];

	util_rfc3339(now, sizeof now);
	*body = json_pack("{s:s,s:s}", "event", name, "time", now);
	return json_pack("{s:O}", "streamd", *body);
}

/* Serialize EV (compact: no newline inside) into a line; consumes EV. */
static struct line *
event_line(json_t *ev, json_t *body)
{
	struct line	*l;
	char		*text;

	json_decref(body);
	text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (text == NULL) {
		fputs("schematic-streamd: cannot encode an event\n", stderr);
		exit(1);
	}
	l = line_from_string(text);
	free(text);
	return l;
}

/* The upstream is ready: data flows from URL. */
struct line *
event_connected(const char *url)
{
	json_t	*body, *ev = event_new("connected", &body);

	json_object_set_new(body, "url", json_string(url));
	return event_line(ev, body);
}

/* The upstream was lost; data may be stale until the next "connected". */
struct line *
event_disconnected(const char *reason, int close_code)
{
	json_t	*body, *ev = event_new("disconnected", &body);

	json_object_set_new(body, "reason", json_string(reason));
	if (close_code != 0)
		json_object_set_new(body, "close_code",
		    json_integer(close_code));
	return event_line(ev, body);
}

/* An upstream message was dropped (REASON), so readers know of the gap. */
struct line *
event_dropped(const char *reason, size_t bytes)
{
	json_t	*body, *ev = event_new("dropped", &body);

	json_object_set_new(body, "reason", json_string(reason));
	json_object_set_new(body, "bytes", json_integer((json_int_t)bytes));
	return event_line(ev, body);
}
