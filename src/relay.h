/*
 * relay.h - the hot path: one upstream message in, one line out to every
 * reader. Knows no sockets.
 */
#ifndef STREAMD_RELAY_H
#define STREAMD_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct hub;
struct relay;

/* What a complete message told the session. */
#define RELAY_SNAPSHOT_DONE	0x1	/* a flag snapshot is complete */

struct relay_stats {
	uint64_t	 messages_in;
	uint64_t	 bytes_in;
	uint64_t	 messages_dropped;
	uint64_t	 last_message_ms;	/* realtime; 0 when none yet */
	const char	*last_stream_id;	/* "" when none seen */
};

struct relay	*relay_new(struct hub *, size_t);
void		 relay_free(struct relay *);
void		 relay_set_max_message_size(struct relay *, size_t);
int		 relay_fragment(struct relay *, const char *, size_t, int, int,
		    int);
void		 relay_reset(struct relay *);
void		 relay_stats(const struct relay *, struct relay_stats *);

#endif
