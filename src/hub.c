/*
 * hub.c - the fan-out of published lines to every reader's queue.
 *
 * Owns the readers' queues: each is a ring of line references plus an
 * offset into the first, partly written line. A line is referenced once
 * per queue, never copied. Invariant: a reader's queued_bytes is the sum of
 * its queued lines' lengths minus the offset, and the hub's total is the
 * sum over readers. A reader that has fallen behind by more than the queue
 * limit is cut off: its queue is released at once (memory stays bounded)
 * and its owner is asked to close it. The hub never touches a descriptor.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hub.h"
#include "line.h"
#include "util.h"

/* A drained ring larger than this is freed rather than kept for reuse. */
#define HUB_RING_KEEP	256

struct hub_reader {
	struct hub		*hub;
	void			*owner;
	struct line		**ring;		/* capacity is a power of two */
	size_t			 ring_cap;
	size_t			 head;		/* index of the oldest line */
	size_t			 count;
	size_t			 head_off;	/* bytes of ring[head] written */
	size_t			 queued_bytes;
	int			 cut;
	TAILQ_ENTRY(hub_reader)	 entry;
};

struct hub {
	struct hub_callbacks	 cb;
	size_t			 queue_limit;
	struct line		*greeting;	/* first line of a new reader */
	struct hub_stats	 stats;
	TAILQ_HEAD(, hub_reader) readers;
};

/* A hub calling CB, cutting readers off beyond QUEUE_LIMIT bytes. */
struct hub *
hub_new(const struct hub_callbacks *cb, size_t queue_limit)
{
	struct hub	*hub = xcalloc(1, sizeof *hub);

	hub->cb = *cb;
	hub->queue_limit = queue_limit;
	TAILQ_INIT(&hub->readers);
	return hub;
}

/* Free the hub and any readers still attached. Accepts NULL. */
void
hub_free(struct hub *hub)
{
	struct hub_reader	*r;

	if (hub == NULL)
		return;
	while ((r = TAILQ_FIRST(&hub->readers)) != NULL)
		hub_reader_remove(r);
	line_unref(hub->greeting);
	free(hub);
}

/* Change the queue limit; it applies from the next published line. */
void
hub_set_queue_limit(struct hub *hub, size_t queue_limit)
{
	hub->queue_limit = queue_limit;
}

/*
 * Set the line every reader attached from now on receives first (the
 * latest connected/disconnected event), or none. Takes a reference.
 */
void
hub_set_greeting(struct hub *hub, struct line *l)
{
	line_unref(hub->greeting);
	hub->greeting = l != NULL ? line_ref(l) : NULL;
}

/* Drop every line the reader still holds. */
static void
hub_reader_release(struct hub_reader *r)
{
	while (r->count > 0) {
		line_unref(r->ring[r->head]);
		r->head = (r->head + 1) & (r->ring_cap - 1);
		r->count--;
	}
	r->hub->stats.queued_bytes -= r->queued_bytes;
	r->queued_bytes = 0;
	r->head = 0;
	r->head_off = 0;
	free(r->ring);
	r->ring = NULL;
	r->ring_cap = 0;
}

/* Append L to R's ring, growing it when full. */
static void
hub_reader_push(struct hub_reader *r, struct line *l)
{
	size_t	i, newcap;

	if (r->count == r->ring_cap) {
		newcap = r->ring_cap ? r->ring_cap * 2 : 16;
		struct line **ring = xreallocarray(NULL, newcap, sizeof *ring);
		for (i = 0; i < r->count; i++)
			ring[i] = r->ring[(r->head + i) & (r->ring_cap - 1)];
		free(r->ring);
		r->ring = ring;
		r->ring_cap = newcap;
		r->head = 0;
	}
	r->ring[(r->head + r->count) & (r->ring_cap - 1)] = line_ref(l);
	r->count++;
	r->queued_bytes += l->len;
	r->hub->stats.queued_bytes += l->len;
}

/* Cut R off: release its queue and ask its owner to close it. */
static void
hub_reader_cut(struct hub_reader *r)
{
	size_t	queued = r->queued_bytes;

	r->cut = 1;
	hub_reader_release(r);
	r->hub->stats.readers_cut_off++;
	r->hub->cb.cut_off(r->owner, queued);
}

/*
 * Would queueing L push R's backlog past the limit? A reader with nothing
 * queued always takes the line, so one message larger than the limit still
 * reaches a reader that keeps up.
 */
static int
hub_reader_over_limit(const struct hub_reader *r, const struct line *l)
{
	return r->queued_bytes > 0 &&
	    r->queued_bytes + l->len > r->hub->queue_limit;
}

/*
 * Queue L for every reader. Writes are normally batched by the owner; a
 * reader whose backlog would pass the limit is first asked to flush now
 * (a burst from upstream can outrun one turn of the loop), and is cut off
 * only if that does not make room. The caller keeps its own reference.
 */
void
hub_publish(struct hub *hub, struct line *l)
{
	struct hub_reader	*r;

	hub->stats.lines++;
	TAILQ_FOREACH(r, &hub->readers, entry) {
		if (r->cut)
			continue;
		if (hub_reader_over_limit(r, l) &&
		    (hub->cb.flush(r->owner), hub_reader_over_limit(r, l))) {
			hub_reader_cut(r);
			continue;
		}
		hub_reader_push(r, l);
		if (r->count == 1)
			hub->cb.want_write(r->owner);
	}
}

/* Counters and gauges for status and logs. */
void
hub_stats(const struct hub *hub, struct hub_stats *stats)
{
	*stats = hub->stats;
}

/*
 * Attach a reader owned by OWNER; it receives the greeting, if any, then
 * every line published from now on.
 */
struct hub_reader *
hub_reader_add(struct hub *hub, void *owner)
{
	struct hub_reader	*r = xcalloc(1, sizeof *r);

	r->hub = hub;
	r->owner = owner;
	TAILQ_INSERT_TAIL(&hub->readers, r, entry);
	hub->stats.readers++;
	if (hub->greeting != NULL) {
		hub_reader_push(r, hub->greeting);
		hub->cb.want_write(owner);
	}
	return r;
}

/* Detach and free a reader, dropping what it had queued. Accepts NULL. */
void
hub_reader_remove(struct hub_reader *r)
{
	if (r == NULL)
		return;
	hub_reader_release(r);
	TAILQ_REMOVE(&r->hub->readers, r, entry);
	r->hub->stats.readers--;
	free(r);
}

/* Fill up to MAX iovecs with R's queued bytes, oldest first; returns count. */
int
hub_reader_iov(const struct hub_reader *r, struct iovec *iov, int max)
{
	size_t		 i;
	int		 n = 0;
	struct line	*l;

	for (i = 0; i < r->count && n < max; i++, n++) {
		l = r->ring[(r->head + i) & (r->ring_cap - 1)];
		iov[n].iov_base = l->data;
		iov[n].iov_len = l->len;
		if (i == 0) {
			iov[n].iov_base = l->data + r->head_off;
			iov[n].iov_len -= r->head_off;
		}
	}
	return n;
}

/* N bytes of R's queue were written: drop the lines fully written. */
void
hub_reader_consumed(struct hub_reader *r, size_t n)
{
	struct line	*l;
	size_t		 left;

	r->queued_bytes -= n;
	r->hub->stats.queued_bytes -= n;
	while (n > 0 && r->count > 0) {
		l = r->ring[r->head];
		left = l->len - r->head_off;
		if (n < left) {
			r->head_off += n;
			return;
		}
		n -= left;
		line_unref(l);
		r->head_off = 0;
		r->head = (r->head + 1) & (r->ring_cap - 1);
		r->count--;
	}
	if (r->count == 0 && r->ring_cap > HUB_RING_KEEP) {
		/* A burst is over: give its ring back. */
		free(r->ring);
		r->ring = NULL;
		r->ring_cap = 0;
		r->head = 0;
	}
}

/* Bytes still queued for R. */
size_t
hub_reader_queued(const struct hub_reader *r)
{
	return r->queued_bytes;
}

/* Has R been cut off (and is waiting for its owner to close it)? */
int
hub_reader_is_cut(const struct hub_reader *r)
{
	return r->cut;
}
