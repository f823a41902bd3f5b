/*
 * rawio.h - helpers for descriptors lws watches as RAW_FILE (our Unix
 * listeners and their connections): lws only polls them; we read/write.
 */
#ifndef STREAMD_RAWIO_H
#define STREAMD_RAWIO_H

#include <libwebsockets.h>

/* Embedded in each connection that writes from its WRITEABLE callback. */
struct rawio {
	struct lws		*wsi;
	int			 fd;
	lws_sorted_usec_list_t	 sul_rearm;
};

struct lws	*rawio_adopt(struct lws_vhost *, int, const char *, void *);
void		 rawio_rearm(struct rawio *);
void		 rawio_cancel(struct rawio *);
void		 rawio_close_async(struct lws *);

#endif
