/*
 * hub.h - fan-out of lines to reader queues. The hub knows no file
 * descriptors: its owner gives it callbacks to arm writes and to cut a
 * reader off, so the queue policy is testable without sockets.
 */
#ifndef STREAMD_HUB_H
#define STREAMD_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct line;
struct hub;
struct hub_reader;

struct hub_callbacks {
	/* The reader's queue went from empty to non-empty. */
	void	(*want_write)(void *owner);
	/* Write what the reader's socket takes now (its backlog is high). */
	void	(*flush)(void *owner);
	/* The reader exceeded the queue limit; close it (asynchronously). */
	void	(*cut_off)(void *owner, size_t queued_bytes);
};

struct hub_stats {
	size_t		readers;
	uint64_t	lines;		/* lines published */
	uint64_t	readers_cut_off;
	size_t		queued_bytes;	/* over all readers */
};

struct hub	*hub_new(const struct hub_callbacks *, size_t);
void		 hub_free(struct hub *);
void		 hub_set_queue_limit(struct hub *, size_t);
void		 hub_set_greeting(struct hub *, struct line *);
void		 hub_publish(struct hub *, struct line *);
void		 hub_stats(const struct hub *, struct hub_stats *);

struct hub_reader *hub_reader_add(struct hub *, void *);
void		 hub_reader_remove(struct hub_reader *);
int		 hub_reader_iov(const struct hub_reader *, struct iovec *, int);
void		 hub_reader_consumed(struct hub_reader *, size_t);
size_t		 hub_reader_queued(const struct hub_reader *);
int		 hub_reader_is_cut(const struct hub_reader *);

#endif
