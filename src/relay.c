/*
 * relay.c - the per-message path, kept apart from the session logic
 * because it runs for every message and must stay cheap.
 *
 * Reassembles a message from its fragments (a single-frame message is not
 * copied), validates and compacts it once with jscan straight into a
 * refcounted line, and hands that line to the hub. On the way it notes
 * the stream position (stream_id) and whether a flag snapshot completed.
 * A message that is too large, binary or not a JSON object is dropped:
 * counted, logged (the reason and size, never the content; rate-limited)
 * and announced to readers with a "dropped" event.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "hub.h"
#include "jscan.h"
#include "line.h"
#include "log.h"
#include "relay.h"
#include "util.h"

#define RELAY_FLAGS_TYPE	"rulesengine.Flags"
#define RELAY_STREAM_ID_MAX	64
#define RELAY_RX_KEEP		(1024 * 1024)	/* larger is freed after use */

struct relay {
	struct hub		*hub;
	size_t			 max_message_size;

	/* Reassembly of one message from its fragments. */
	char			*rx;
	size_t			 rx_len;
	size_t			 rx_cap;
	int			 rx_drop;	/* too large: skip to the end */

	struct log_ratelimit	 drop_log;
	uint64_t		 messages_in;
	uint64_t		 bytes_in;
	uint64_t		 messages_dropped;
	uint64_t		 last_message_ms;
	char			 last_stream_id[RELAY_STREAM_ID_MAX];
};

/* A relay into HUB of messages up to MAX_MESSAGE_SIZE bytes. */
struct relay *
relay_new(struct hub *hub, size_t max_message_size)
{
	struct relay	*r = xcalloc(1, sizeof *r);

	r->hub = hub;
	r->max_message_size = max_message_size;
	return r;
}

/* Free the relay. Accepts NULL. */
void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	free(r->rx);
	free(r);
}

/* Change the size limit; it applies from the next message. */
void
relay_set_max_message_size(struct relay *r, size_t max_message_size)
{
	r->max_message_size = max_message_size;
}

/* A new connection: forget any partial message of the last one. */
void
relay_reset(struct relay *r)
{
	r->rx_len = 0;
	r->rx_drop = 0;
}

/* Drop a message: count it, log why (never its content), tell readers. */
static void
relay_drop(struct relay *r, size_t len, const char *reason, size_t offset)
{
	char		 bytes_field[40], where[48] = "", held[64] = "";
	const char	*fields[2] = { bytes_field, NULL };
	struct line	*l;
	unsigned	 suppressed;

	r->messages_dropped++;
	if (log_ratelimit_check(&r->drop_log, util_now_ms(), &suppressed)) {
		snprintf(bytes_field, sizeof bytes_field, "MESSAGE_BYTES=%zu",
		    len);
		if (offset != (size_t)-1)
			snprintf(where, sizeof where, " at byte %zu", offset);
		if (suppressed > 0)
			snprintf(held, sizeof held, " (%u more drops not "
			    "logged)", suppressed);
		log_event(LOG_WARNING, MSGID_MESSAGE_DROPPED, fields,
		    "upstream message dropped (%zu bytes): %s%s%s", len,
		    reason, where, held);
	}
	l = event_dropped(reason, len);
	hub_publish(r->hub, l);
	line_unref(l);
}

/* Is the string span S (LEN bytes) exactly the literal LIT? */
#define SPAN_IS(s, len, lit) \
	((len) == sizeof (lit) - 1 && memcmp((s), (lit), (len)) == 0)

/* One complete message IN (LEN bytes): validate, compact, publish. */
static int
relay_message(struct relay *r, const char *in, size_t len)
{
	struct jscan_fields	 f;
	struct line		*l;
	const char		*err;
	size_t			 out_len, err_off;
	int			 result = 0;

	r->messages_in++;
	r->bytes_in += len;
	r->last_message_ms = util_wall_ms();

	l = line_new(len + 1);
	if (jscan_compact(in, len, l->data, &out_len, &f, &err,
	    &err_off) != 0) {
		line_unref(l);
		relay_drop(r, len, err, err_off);
		return 0;
	}
	l->data[out_len] = '\n';
	l->len = out_len + 1;
	hub_publish(r->hub, l);

	if (f.stream_id.present) {
		if (f.stream_id.len < sizeof r->last_stream_id) {
			memcpy(r->last_stream_id, l->data + f.stream_id.off,
			    f.stream_id.len);
			r->last_stream_id[f.stream_id.len] = '\0';
		}
	} else if (f.message_type.present && SPAN_IS(l->data +
	    f.message_type.off, f.message_type.len, "reload"))
		/* The replay window is gone: do not ask for it again. */
		r->last_stream_id[0] = '\0';
	if (f.entity_type.present && SPAN_IS(l->data + f.entity_type.off,
	    f.entity_type.len, RELAY_FLAGS_TYPE) &&
	    (!f.has_pagination || f.has_more == 0))
		result |= RELAY_SNAPSHOT_DONE;
	line_unref(l);
	return result;
}

/*
 * A fragment IN (LEN bytes) of a message arrived; FIRST and FINAL say
 * where it lies, BINARY whether it is a binary message. Returns the
 * RELAY_* flags of the message it completed, or 0.
 */
int
relay_fragment(struct relay *r, const char *in, size_t len, int first,
    int final, int binary)
{
	int	result = 0;

	if (first) {
		r->rx_len = 0;
		r->rx_drop = 0;
	}
	if (binary) {
		if (final)
			relay_drop(r, r->rx_len + len, "binary frame",
			    (size_t)-1);
		r->rx_len = final ? 0 : r->rx_len + len;
		return 0;
	}
	if (first && final) {
		/* The common case: one frame, no copy into rx. */
		if (len > r->max_message_size) {
			relay_drop(r, len, "message larger than "
			    "max_message_size", (size_t)-1);
			return 0;
		}
		return relay_message(r, in, len);
	}
	if (!r->rx_drop && r->rx_len + len > r->max_message_size) {
		r->rx_drop = 1;
		free(r->rx);
		r->rx = NULL;
		r->rx_cap = 0;
	}
	if (!r->rx_drop) {
		if (r->rx_len + len > r->rx_cap) {
			r->rx_cap = r->rx_cap ? r->rx_cap : 4096;
			while (r->rx_cap < r->rx_len + len)
				r->rx_cap *= 2;
			r->rx = xrealloc(r->rx, r->rx_cap);
		}
		memcpy(r->rx + r->rx_len, in, len);
	}
	r->rx_len += len;
	if (!final)
		return 0;
	if (r->rx_drop)
		relay_drop(r, r->rx_len, "message larger than "
		    "max_message_size", (size_t)-1);
	else
		result = relay_message(r, r->rx, r->rx_len);
	r->rx_len = 0;
	r->rx_drop = 0;
	if (r->rx_cap > RELAY_RX_KEEP) {
		free(r->rx);
		r->rx = NULL;
		r->rx_cap = 0;
	}
	return result;
}

/* Counters for status. */
void
relay_stats(const struct relay *r, struct relay_stats *st)
{
	st->messages_in = r->messages_in;
	st->bytes_in = r->bytes_in;
	st->messages_dropped = r->messages_dropped;
	st->last_message_ms = r->last_message_ms;
	st->last_stream_id = r->last_stream_id;
}
