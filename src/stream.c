/*
 * stream.c - the stream socket: accepting readers and writing their
 * queued lines.
 *
 * Owns the listening descriptor's wsi and one struct stream_reader per
 * connected reader. Both are RAW_FILE wsis: lws only polls them, reading
 * and writing are ours. A reader's bytes are written from its WRITEABLE
 * callback in batches (sendmsg with up to STREAM_IOV iovecs of shared
 * lines); nothing is copied per reader. Bytes a reader sends are read and
 * ignored (reserved). A reader the hub cuts off is closed asynchronously,
 * never from inside the hub's loop. Never blocks.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hub.h"
#include "listener.h"
#include "rawio.h"
#include "log.h"
#include "stream.h"
#include "util.h"

#define STREAM_IOV		256	/* lines per sendmsg */
#define STREAM_ACCEPT_BATCH	64	/* accepts per wake-up */

struct stream {
	struct lws_vhost	*vhost;
	struct hub		*hub;
	struct lws		*listen_wsi;
	unsigned		 max_readers;
	unsigned		 readers;
	uint64_t		 refused;
	struct log_ratelimit	 refuse_log;
};

struct stream_reader {
	struct stream		*stream;
	struct rawio		 io;
	struct hub_reader	*hub_reader;
	pid_t			 pid;
	uid_t			 uid;
	int			 dead;		/* write failed: closing */
};

/*
 * Watch the listening descriptor FD (ours or systemd's) and attach readers
 * to HUB, at most MAX_READERS at a time.
 */
struct stream *
stream_new(struct lws_vhost *vhost, struct hub *hub, int fd,
    unsigned max_readers, char **cause)
{
	struct stream		*st = xcalloc(1, sizeof *st);

	st->vhost = vhost;
	st->hub = hub;
	st->max_readers = max_readers;
	st->listen_wsi = rawio_adopt(vhost, fd, "streamd-stream-listen", st);
	if (st->listen_wsi == NULL) {
		xasprintf(cause, "cannot watch the stream socket");
		free(st);
		return NULL;
	}
	return st;
}

/* Change the reader limit; readers already connected stay. */
void
stream_set_max_readers(struct stream *st, unsigned max_readers)
{
	st->max_readers = max_readers;
}

/* Readers connected now. */
unsigned
stream_readers(const struct stream *st)
{
	return st->readers;
}

/* Free what is left once lws has closed every wsi. Accepts NULL. */
void
stream_free(struct stream *st)
{
	free(st);
}

/* Hub callback: the reader has lines to write. */
void
stream_hub_want_write(void *owner)
{
	struct stream_reader	*r = owner;

	lws_callback_on_writable(r->io.wsi);
}

/* Hub callback: the reader fell too far behind; close it soon. */
void
stream_hub_cut_off(void *owner, size_t queued_bytes)
{
	struct stream_reader	*r = owner;
	char			 pid_field[32], queued_field[40];
	const char		*fields[] = { pid_field, queued_field, NULL };

	snprintf(pid_field, sizeof pid_field, "READER_PID=%ld", (long)r->pid);
	snprintf(queued_field, sizeof queued_field, "QUEUED_BYTES=%zu",
	    queued_bytes);
	log_event(LOG_WARNING, MSGID_READER_CUT_OFF, fields,
	    "reader pid %ld cut off: %zu bytes queued, not reading fast "
	    "enough", (long)r->pid, queued_bytes);
	rawio_close_async(r->io.wsi);
}

/* Refuse a connection beyond max_readers, logging without flooding. */
static void
stream_refuse(struct stream *st, int fd, pid_t pid)
{
	unsigned	suppressed;

	close(fd);
	st->refused++;
	if (log_ratelimit_check(&st->refuse_log, util_now_ms(), &suppressed))
		log_warn("stream reader pid %ld refused: max_readers (%u) "
		    "reached (%llu refused so far)", (long)pid,
		    st->max_readers, (unsigned long long)st->refused);
}

/* Accept what is waiting on the listening socket. */
static void
stream_accept(struct stream *st, int lfd)
{
	struct stream_reader	*r;
	pid_t			 pid;
	uid_t			 uid;
	int			 i, fd;

	for (i = 0; i < STREAM_ACCEPT_BATCH; i++) {
		if ((fd = listener_accept(lfd, &pid, &uid)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("stream socket accept: %s",
				    strerror(errno));
			return;
		}
		if (st->readers >= st->max_readers) {
			stream_refuse(st, fd, pid);
			continue;
		}
		r = xcalloc(1, sizeof *r);
		r->stream = st;
		r->io.fd = fd;
		r->pid = pid;
		r->uid = uid;
		r->io.wsi = rawio_adopt(st->vhost, fd, "streamd-stream", r);
		if (r->io.wsi == NULL) {
			log_warn("cannot watch stream reader pid %ld", (long)pid);
			free(r);
			continue;
		}
		r->hub_reader = hub_reader_add(st->hub, r);
		st->readers++;
		log_debug("stream reader pid %ld uid %ld connected (%u now)",
		    (long)pid, (long)uid, st->readers);
	}
}

/* lws callback of the listening socket. */
int
stream_listen_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct stream	*st = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		stream_accept(st, lws_get_socket_fd(wsi));
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (st != NULL)
			st->listen_wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

/* Read and discard what a reader sent; -1 once it has hung up. */
static int
stream_reader_read(struct stream_reader *r)
{
	char	buf[4096];
	ssize_t	n;

	for (;;) {
		n = read(r->io.fd, buf, sizeof buf);
		if (n > 0)
			continue;
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
}

/*
 * Write as much of the reader's queue as the socket takes now. Returns 1
 * if bytes remain queued, 0 if the queue is empty, -1 if the reader is
 * gone.
 */
static int
stream_reader_send(struct stream_reader *r)
{
	struct iovec	iov[STREAM_IOV];
	struct msghdr	msg;
	ssize_t		n;
	size_t		want;
	int		niov, i;

	if (r->dead || hub_reader_is_cut(r->hub_reader))
		return -1;
	while ((niov = hub_reader_iov(r->hub_reader, iov, STREAM_IOV)) > 0) {
		for (want = 0, i = 0; i < niov; i++)
			want += iov[i].iov_len;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		n = sendmsg(r->io.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			log_debug("stream reader pid %ld: %s", (long)r->pid,
			    strerror(errno));
			r->dead = 1;
			return -1;
		}
		hub_reader_consumed(r->hub_reader, (size_t)n);
		if ((size_t)n < want)
			return 1;	/* the socket is full: no EAGAIN round */
	}
	return 0;
}

/* WRITEABLE: send, and come back while bytes remain. */
static int
stream_reader_write(struct stream_reader *r)
{
	int	rc = stream_reader_send(r);

	if (rc == 1)
		rawio_rearm(&r->io);
	return rc < 0 ? -1 : 0;
}

/* Hub callback: the reader's backlog is high; write what fits now. */
void
stream_hub_flush(void *owner)
{
	struct stream_reader	*r = owner;

	/* POLLOUT is already requested while bytes are queued. */
	if (stream_reader_send(r) < 0)
		rawio_close_async(r->io.wsi);
}

/* lws callback of one connected reader. */
int
stream_reader_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct stream_reader	*r = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (r == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return stream_reader_read(r);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return stream_reader_write(r);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		rawio_cancel(&r->io);
		hub_reader_remove(r->hub_reader);
		r->stream->readers--;
		log_debug("stream reader pid %ld disconnected (%u now)",
		    (long)r->pid, r->stream->readers);
		lws_set_opaque_user_data(wsi, NULL);
		free(r);
		break;
	default:
		break;
	}
	return 0;
}
