/*
 * control.c - the control socket: accepting connections, reading request
 * lines, writing replies. The commands themselves are in control_cmd.c.
 *
 * Owns the listening descriptor's wsi and one struct control_client per
 * connection, both RAW_FILE wsis: lws only polls them. Each request line
 * gets exactly one reply line, in order. Everything a peer can grow is
 * bounded: the input line (control_line_max, then an error reply and the
 * connection is closed), the replies it leaves unread (reading pauses past
 * CONTROL_OUT_PAUSE bytes and resumes once they are written) and the
 * number of connections (max_control_clients). A peer's half-close ends
 * reading only: the replies still owed are written, then the connection
 * is closed. Nothing here blocks, and nothing a peer sends can stop the
 * daemon or disturb the stream.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "control_cmd.h"
#include "listener.h"
#include "log.h"
#include "rawio.h"
#include "util.h"

#define CONTROL_READ_CHUNK	16384	/* bytes read per wake-up */
#define CONTROL_OUT_PAUSE	65536	/* unread reply bytes that pause input */
#define CONTROL_ACCEPT_BATCH	16	/* accepts per wake-up */

struct control {
	struct lws_vhost	*vhost;
	struct lws		*listen_wsi;
	struct control_sources	 src;
	size_t			 line_max;
	unsigned		 max_clients;
	unsigned		 clients;
	uint64_t		 refused;
	struct log_ratelimit	 refuse_log;
};

struct control_client {
	struct control		*control;
	struct rawio		 io;
	struct control_peer	 peer;
	char			*in;		/* bytes not yet a whole line */
	size_t			 in_len;
	size_t			 in_cap;
	char			*out;		/* replies not yet written */
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_cap;
	int			 eof;		/* the peer sends no more */
	int			 closing;	/* close once out is written */
	int			 paused;	/* input off until out drains */
};

/*
 * Watch the listening descriptor FD (ours or systemd's); the limits come
 * from CFG, the things to steer and report on from SRC.
 */
struct control *
control_new(struct lws_vhost *vhost, int fd, const struct config *cfg,
    const struct control_sources *src, char **cause)
{
	struct control	*ctl = xcalloc(1, sizeof *ctl);

	ctl->vhost = vhost;
	ctl->src = *src;
	ctl->line_max = cfg->control_line_max;
	ctl->max_clients = cfg->max_control_clients;
	ctl->listen_wsi = rawio_adopt(vhost, fd, "streamd-control-listen", ctl);
	if (ctl->listen_wsi == NULL) {
		xasprintf(cause, "cannot watch the control socket");
		free(ctl);
		return NULL;
	}
	return ctl;
}

/* Apply reloaded limits; connections already open stay. */
void
control_set_limits(struct control *ctl, size_t line_max, unsigned max_clients)
{
	ctl->line_max = line_max;
	ctl->max_clients = max_clients;
}

/* Free what is left once lws has closed every wsi. Accepts NULL. */
void
control_free(struct control *ctl)
{
	free(ctl);
}

/* Control connections open now. */
unsigned
control_clients(const struct control *ctl)
{
	return ctl->clients;
}

/* Reply bytes queued and not yet written. */
static size_t
control_pending(const struct control_client *c)
{
	return c->out_len - c->out_off;
}

/* Queue one reply line (TEXT without its newline). */
static void
control_queue(struct control_client *c, const char *text, size_t len)
{
	int	was_empty = control_pending(c) == 0;

	if (was_empty)
		c->out_off = c->out_len = 0;
	if (c->out_len + len + 1 > c->out_cap) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, control_pending(c));
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (c->out_len + len + 1 > c->out_cap)
			c->out_cap = c->out_cap ? c->out_cap * 2 : 4096;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	if (was_empty)
		lws_callback_on_writable(c->io.wsi);
}

/* Serialize REPLY (consumed) and queue it. */
static void
control_queue_json(struct control_client *c, json_t *reply)
{
	char	*text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(reply);
	if (text == NULL) {
		log_err("out of memory encoding a control reply");
		exit(1);
	}
	control_queue(c, text, strlen(text));
	free(text);
}

/* Stop reading from the peer (lws polls no more for input). */
static void
control_stop_input(struct control_client *c)
{
	lws_rx_flow_control(c->io.wsi, 0 | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW);
}

/* Whether LINE (LEN bytes) holds only white space: not a request. */
static int
control_blank(const char *line, size_t len)
{
	for (; len > 0; line++, len--) {
		if (*line != ' ' && *line != '\t' && *line != '\r')
			return 0;
	}
	return 1;
}

/* Answer one request line. */
static void
control_line(struct control_client *c, const char *line, size_t len)
{
	if (control_blank(line, len))
		return;
	control_queue_json(c, control_cmd_run(&c->control->src, &c->peer,
	    c->control->clients, line, len));
}

/* The peer sent a line longer than control_line_max: answer, then close. */
static void
control_too_long(struct control_client *c)
{
	control_queue_json(c, control_cmd_error(NULL, "request line longer "
	    "than control_line_max (%zu bytes); closing the connection",
	    c->control->line_max));
	log_info("control pid %ld uid %ld: request line longer than %zu "
	    "bytes; connection closed", (long)c->peer.pid,
	    (long)c->peer.uid, c->control->line_max);
	c->closing = 1;
	c->in_len = 0;
	control_stop_input(c);
}

/*
 * Answer the whole lines buffered; at EOF the last, unterminated one too.
 * Stops early, keeping the rest, when unread replies pile up.
 */
static void
control_process(struct control_client *c)
{
	size_t	 pos = 0, len;
	char	*nl;

	while (!c->closing && !c->paused && pos < c->in_len) {
		nl = memchr(c->in + pos, '\n', c->in_len - pos);
		len = nl != NULL ? (size_t)(nl - (c->in + pos)) :
		    c->in_len - pos;
		if (len > c->control->line_max) {
			control_too_long(c);
			return;
		}
		if (nl == NULL && !c->eof)
			break;
		control_line(c, c->in + pos, len);
		pos += len + (nl != NULL);
		if (control_pending(c) > CONTROL_OUT_PAUSE) {
			c->paused = 1;
			if (!c->eof)
				control_stop_input(c);
		}
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
}

/* RX: read what is there and answer whole lines; -1 closes now. */
static int
control_read(struct control_client *c)
{
	char	buf[CONTROL_READ_CHUNK];
	ssize_t	n;

	if (c->eof || c->closing || c->paused)
		return 0;
	n = read(c->io.fd, buf, sizeof buf);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 0 : -1;
	if (n == 0) {
		/* Half-close: answer what came, stop reading, then close. */
		c->eof = 1;
		control_stop_input(c);
		control_process(c);
		return control_pending(c) == 0 ? -1 : 0;
	}
	if (c->in_len + (size_t)n > c->in_cap) {
		while (c->in_len + (size_t)n > c->in_cap)
			c->in_cap = c->in_cap ? c->in_cap * 2 : 4096;
		c->in = xrealloc(c->in, c->in_cap);
	}
	memcpy(c->in + c->in_len, buf, (size_t)n);
	c->in_len += (size_t)n;
	control_process(c);
	return 0;
}

/* Write queued replies: 0 all written, 1 the socket is full, -1 gone. */
static int
control_flush(struct control_client *c)
{
	ssize_t	n;

	while (control_pending(c) > 0) {
		n = send(c->io.fd, c->out + c->out_off, control_pending(c),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > 4 * CONTROL_OUT_PAUSE) {
		/* Do not keep a large status reply's buffer around. */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

/*
 * WRITEABLE: write the replies; once they are all out, take up the lines
 * left when input paused, and close if the peer is done or must go.
 */
static int
control_write(struct control_client *c)
{
	int	rc;

	for (;;) {
		if ((rc = control_flush(c)) < 0)
			return -1;
		if (rc == 1) {
			rawio_rearm(&c->io);
			return 0;
		}
		if (!c->paused)
			break;
		c->paused = 0;
		control_process(c);
		if (!c->paused && !c->closing && !c->eof)
			lws_rx_flow_control(c->io.wsi, 1);
	}
	/* Nothing is left to write: a peer that is done goes. */
	return c->eof || c->closing ? -1 : 0;
}

/* Refuse a connection beyond max_control_clients, with a reason. */
static void
control_refuse(struct control *ctl, int fd, pid_t pid)
{
	char		*text;
	json_t		*reply;
	unsigned	 suppressed;

	reply = control_cmd_error(NULL, "too many control connections "
	    "(max_control_clients is %u)", ctl->max_clients);
	if ((text = json_dumps(reply, JSON_COMPACT)) != NULL) {
		/* A fresh socket's buffer is empty: this fits, or is lost. */
		if (send(fd, text, strlen(text), MSG_NOSIGNAL |
		    MSG_DONTWAIT) > 0)
			(void)send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(text);
	}
	json_decref(reply);
	close(fd);
	ctl->refused++;
	if (log_ratelimit_check(&ctl->refuse_log, util_now_ms(), &suppressed))
		log_warn("control connection of pid %ld refused: "
		    "max_control_clients (%u) reached (%llu refused so far)",
		    (long)pid, ctl->max_clients,
		    (unsigned long long)ctl->refused);
}

/* Accept what is waiting on the listening socket. */
static void
control_accept(struct control *ctl, int lfd)
{
	struct control_client	*c;
	pid_t			 pid;
	uid_t			 uid;
	int			 i, fd;

	for (i = 0; i < CONTROL_ACCEPT_BATCH; i++) {
		if ((fd = listener_accept(lfd, &pid, &uid)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("control socket accept: %s",
				    strerror(errno));
			return;
		}
		if (ctl->clients >= ctl->max_clients) {
			control_refuse(ctl, fd, pid);
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->control = ctl;
		c->io.fd = fd;
		c->peer.pid = pid;
		c->peer.uid = uid;
		c->io.wsi = rawio_adopt(ctl->vhost, fd, "streamd-control", c);
		if (c->io.wsi == NULL) {
			log_warn("cannot watch control connection of pid %ld",
			    (long)pid);
			free(c);
			continue;
		}
		ctl->clients++;
		log_debug("control connection of pid %ld uid %ld (%u now)",
		    (long)pid, (long)uid, ctl->clients);
	}
}

/* lws callback of the listening socket. */
int
control_listen_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct control	*ctl = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		control_accept(ctl, lws_get_socket_fd(wsi));
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (ctl != NULL)
			ctl->listen_wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

/* lws callback of one control connection. */
int
control_client_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct control_client	*c = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (c == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return control_read(c);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return control_write(c);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		rawio_cancel(&c->io);
		c->control->clients--;
		log_debug("control connection of pid %ld closed (%u now)",
		    (long)c->peer.pid, c->control->clients);
		lws_set_opaque_user_data(wsi, NULL);
		free(c->in);
		free(c->out);
		free(c);
		break;
	default:
		break;
	}
	return 0;
}
