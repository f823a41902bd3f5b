/*
 * rawio.c - small helpers around RAW_FILE wsis.
 *
 * libwebsockets 4.1.6 clears POLLOUT on a RAW_FILE wsi *after* its
 * WRITEABLE callback returns, so a callback that could not write all it
 * had cannot ask for POLLOUT again from inside itself: the request would
 * be wiped. rawio_rearm() makes the request from a zero-delay timer, that
 * is, from the next turn of the loop.
 */
#include "autoconfig.h"

#include <string.h>

#include "rawio.h"

/* Watch FD as RAW_FILE with PROTOCOL; OPAQUE becomes its user data. */
struct lws *
rawio_adopt(struct lws_vhost *vhost, int fd, const char *protocol,
    void *opaque)
{
	lws_adopt_desc_t	desc;

	memset(&desc, 0, sizeof desc);
	desc.vh = vhost;
	desc.type = LWS_ADOPT_RAW_FILE_DESC;
	desc.fd.filefd = fd;
	desc.vh_prot_name = protocol;
	desc.opaque = opaque;
	/* On failure lws has closed fd. */
	return lws_adopt_descriptor_vhost_via_info(&desc);
}

/* The timer fired: now POLLOUT can be requested for good. */
static void
rawio_rearm_cb(lws_sorted_usec_list_t *sul)
{
	struct rawio	*rio = lws_container_of(sul, struct rawio, sul_rearm);

	lws_callback_on_writable(rio->wsi);
}

/* Ask for another WRITEABLE callback, from within a WRITEABLE callback. */
void
rawio_rearm(struct rawio *rio)
{
	lws_sul_schedule(lws_get_context(rio->wsi), 0, &rio->sul_rearm,
	    rawio_rearm_cb, 1);
}

/* Forget a pending re-arm (the connection is closing). */
void
rawio_cancel(struct rawio *rio)
{
	lws_sul_cancel(&rio->sul_rearm);
}

/* Close WSI from outside its own callbacks, on the next turn of the loop. */
void
rawio_close_async(struct lws *wsi)
{
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}
