/*
 * upstream.h - the one WebSocket session to the Schematic datastream.
 */
#ifndef STREAMD_UPSTREAM_H
#define STREAMD_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

struct config;
struct config_sub;
struct hub;
struct subs;
struct upstream;

enum upstream_state {
	UPSTREAM_IDLE,
	UPSTREAM_CONNECTING,	/* TCP, TLS, HTTP upgrade */
	UPSTREAM_SUBSCRIBING,	/* subscriptions sent, snapshot pending */
	UPSTREAM_READY,
	UPSTREAM_BACKOFF,	/* waiting to redial */
	UPSTREAM_STOPPING,	/* closing for shutdown */
	UPSTREAM_STOPPED,
	UPSTREAM_FATAL,		/* will not retry; see exit_status */
};

/* What the owner hears about: readiness, state changes, the end. */
struct upstream_callbacks {
	void	(*ready)(void *arg);
	void	(*state_changed)(void *arg);
	/* The session is over: fatal error or shutdown complete. */
	void	(*finished)(void *arg, int exit_status);
	void	 *arg;
};

/* What upstream_subscribe and upstream_unsubscribe did. */
enum upstream_sub_outcome {
	UPSTREAM_SUB_SENT,	/* queued on the connection that is up */
	UPSTREAM_SUB_PENDING,	/* remembered; sent once connected */
	UPSTREAM_SUB_DUPLICATE,	/* already subscribed: nothing sent */
	UPSTREAM_SUB_FORGOTTEN,	/* not connected: nothing to stop */
};

struct upstream_stats {
	enum upstream_state state;
	const char	*url;			/* the WebSocket URL */
	uint64_t	 connected_since_ms;	/* realtime; 0 when not ready */
	uint64_t	 last_message_ms;	/* realtime; 0 when none yet */
	uint64_t	 reconnects;
	unsigned	 failures;		/* consecutive */
	uint64_t	 next_attempt_in_ms;	/* in BACKOFF */
	uint64_t	 messages_in;
	uint64_t	 bytes_in;
	uint64_t	 messages_dropped;
	const char	*last_error;		/* "" when none */
	const char	*last_stream_id;	/* "" when none seen */
};

struct upstream	*upstream_new(struct lws_context *, const struct config *,
		    const char *, const char *, struct hub *,
		    const struct upstream_callbacks *, char **);
int		 upstream_reconfigure(struct upstream *, const char *,
		    const char *, int, char **);
void		 upstream_free(struct upstream *);
void		 upstream_start(struct upstream *);
void		 upstream_stop(struct upstream *);
void		 upstream_stats(const struct upstream *, struct upstream_stats *);
const char	*upstream_state_name(enum upstream_state);
int		 upstream_connected(const struct upstream *);
int		 upstream_subscribe(struct upstream *,
		    const struct config_sub *, char **);
int		 upstream_unsubscribe(struct upstream *,
		    const struct config_sub *, char **);
int		 upstream_send(struct upstream *, const char *, size_t, char **);
const struct subs *upstream_subs(const struct upstream *);

#endif
