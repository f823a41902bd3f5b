/*
 * stream.h - the stream socket: readers connect and receive every line.
 */
#ifndef STREAMD_STREAM_H
#define STREAMD_STREAM_H

#include <libwebsockets.h>

struct hub;
struct stream;

struct stream	*stream_new(struct lws_vhost *, struct hub *, int, unsigned,
		    char **);
void		 stream_set_max_readers(struct stream *, unsigned);
unsigned	 stream_readers(const struct stream *);
int		 stream_listen_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);
int		 stream_reader_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);
void		 stream_free(struct stream *);
void		 stream_hub_want_write(void *);
void		 stream_hub_flush(void *);
void		 stream_hub_cut_off(void *, size_t);

#define STREAM_PROTOCOLS \
	{ "streamd-stream-listen", stream_listen_callback, 0, 0, 0, NULL, 0 }, \
	{ "streamd-stream", stream_reader_callback, 0, 0, 0, NULL, 0 }

#endif
