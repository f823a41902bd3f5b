/*
 * control.h - the control socket: newline-delimited JSON requests from
 * schematic-streamctl and local apps (schematic-streamd-control(7)).
 */
#ifndef STREAMD_CONTROL_H
#define STREAMD_CONTROL_H

#include <libwebsockets.h>

struct config;
struct control;
struct hub;
struct stream;
struct upstream;

/* What the control socket steers and reports on. */
struct control_sources {
	struct upstream		*upstream;
	struct hub		*hub;
	struct stream		*stream;
};

struct control	*control_new(struct lws_vhost *, int, const struct config *,
		    const struct control_sources *, char **);
void		 control_free(struct control *);
void		 control_set_limits(struct control *, size_t, unsigned);
unsigned	 control_clients(const struct control *);
int		 control_listen_callback(struct lws *,
		    enum lws_callback_reasons, void *, void *, size_t);
int		 control_client_callback(struct lws *,
		    enum lws_callback_reasons, void *, void *, size_t);

#define CONTROL_PROTOCOLS \
	{ "streamd-control-listen", control_listen_callback, 0, 0, 0, NULL, 0 }, \
	{ "streamd-control", control_client_callback, 0, 0, 0, NULL, 0 }

#endif
