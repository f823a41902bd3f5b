/*
 * gen.c - the benchmark's load generator: a minimal RFC 6455 server that
 * plays Schematic's datastream for one client at a time.
 *
 * It answers the client's rulesengine.Flags subscription with a flag
 * snapshot (paged as the client asks), then, on "go COUNT RATE" read from
 * stdin, sends COUNT prebuilt messages of --size bytes, at full speed
 * (RATE 0) or RATE messages per second. Messages are prebuilt once into a
 * contiguous buffer of frames; before each send() only the send time and
 * sequence number digits are patched in (see bench.h), so a send costs a
 * few stores per message and one syscall per batch of up to 256 KiB.
 *
 * Why not libwebsockets: an lws server writes one message per WRITEABLE
 * callback (one lws_write, one syscall and one poll turn per message), and
 * it would share the daemon's library costs. The generator must out-run
 * the daemon by a wide margin; batching whole frames into one send() does.
 * Server frames are unmasked, client frames must be masked (RFC 6455 5.1).
 *
 * With --raw-connect PORT it is instead a TCP client of PORT that writes
 * the same messages as newline-terminated lines, without framing (the
 * socat baseline).
 *
 * stdout (line-buffered): "PORT n <listening since, ns>", "CLIENT",
 * "SNAPSHOT pages=n", "SIZE n", "DONE count=n first_ns=n last_ns=n",
 * "CLOSED". stdin: "go COUNT RATE [SECONDS]" (stop after COUNT messages or
 * SECONDS, whichever comes first), "size BYTES" (between runs), "quit"; end
 * of stdin also quits. SIGTERM sends close 1012 and quits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define GEN_BATCH_BYTES	(256 * 1024)
#define GEN_IN_MAX	(1024 * 1024)
#define GEN_MIN_SLEEP_NS 50000	/* pacing granularity above 20k msgs/s */

struct gen_buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 off;
	size_t		 cap;
};

struct gen {
	/* Settings. */
	int		 port;
	size_t		 size;
	unsigned	 flags_total;
	int		 raw_port;
	int		 filler_objects;

	int		 lfd;
	int		 fd;
	int		 upgraded;	/* handshake done (always, when raw) */
	unsigned char	*in;
	size_t		 in_len;
	struct gen_buf	 ctl;		/* handshake reply, snapshot, pongs */

	/* The prebuilt units (frame header + message, or message + '\n'). */
	unsigned char	*units;
	size_t		 unit_len;
	size_t		 nunits;
	size_t		 t_off, seq_off, sid_off;	/* within a unit */

	/* The run in progress. */
	int		 streaming;
	uint64_t	 count;
	uint64_t	 sent;
	double		 rate;
	uint64_t	 start_mono;
	uint64_t	 stop_mono;	/* 0, or stop streaming at this time */
	size_t		 batch_len;	/* bytes of units in flight */
	size_t		 batch_off;
	uint64_t	 batch_units;
	uint64_t	 first_ns;
	uint64_t	 last_ns;
	int		 pending_go;
	uint64_t	 pending_count;
	double		 pending_rate;
	double		 pending_seconds;
};

static volatile sig_atomic_t	gen_term;

static void
gen_on_term(int sig)
{
	(void)sig;
	gen_term = 1;
}

/* Append N bytes to B. */
static void
gen_buf_add(struct gen_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap ? b->cap * 2 : 65536;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			bench_die("out of memory");
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Append a printf-formatted string to B. */
static void __attribute__((format(printf, 2, 3)))
gen_buf_printf(struct gen_buf *b, const char *fmt, ...)
{
	char	tmp[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		bench_die("gen_buf_printf: too long");
	gen_buf_add(b, tmp, (size_t)n);
}

/* Write a server frame header for a payload of LEN bytes; its length. */
static size_t
gen_frame_header(unsigned char *h, int opcode, size_t len)
{
	h[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		h[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

/* Queue one control or snapshot frame. */
static void
gen_queue_frame(struct gen *g, int opcode, const void *p, size_t len)
{
	unsigned char	h[10];

	gen_buf_add(&g->ctl, h, gen_frame_header(h, opcode, len));
	gen_buf_add(&g->ctl, p, len);
}

/*
 * Build the message template of exactly g->size bytes and NUNITS copies of
 * its unit. Filler: trait objects (strings, numbers, literals, nesting,
 * like a company message) and then a padding string to the exact size.
 */
static void
gen_build_units(struct gen *g)
{
	static const char	head_fmt[] = "{\"data\":{\"t\":%0*d,\"seq\":\"%0*d\","
	    "\"key\":\"bench-load\",\"traits\":[";
	static const char	mid[] = "],\"padding\":\"";
	static const char	tail1[] = "\"},\"entity_id\":\"flag_bench\","
	    "\"entity_type\":\"rulesengine.Flag\",\"message_type\":\"full\","
	    "\"stream_id\":\"1733330000000-";
	static const char	tail2[] = "\"}";
	struct gen_buf		 m = { 0 };
	char			 obj[256];
	size_t			 base, used, hdr, i, sid_at;
	unsigned		 k = 0;
	int			 n;

	gen_buf_printf(&m, head_fmt, BENCH_T_DIGITS, 0, BENCH_SEQ_DIGITS, 0);
	base = m.len + strlen(mid) + strlen(tail1) + BENCH_SEQ_DIGITS +
	    strlen(tail2);
	if (g->size < base)
		bench_die("--size must be at least %zu", base);
	used = base;
	while (g->filler_objects) {
		n = snprintf(obj, sizeof obj, "%s{\"trait_definition\":{\"id\":"
		    "\"trait_%04u\",\"comparable_type\":\"int\",\"entity_type\":"
		    "\"company\"},\"value\":%u,\"enabled\":%s}", k ? "," : "",
		    k, k * 37 % 1000, k % 2 ? "true" : "false");
		if (used + (size_t)n > g->size)
			break;
		gen_buf_add(&m, obj, (size_t)n);
		used += (size_t)n;
		k++;
	}
	gen_buf_add(&m, mid, strlen(mid));
	for (i = used; i < g->size; i++)
		gen_buf_add(&m, "x", 1);
	gen_buf_add(&m, tail1, strlen(tail1));
	sid_at = m.len;
	gen_buf_printf(&m, "%0*d", BENCH_SEQ_DIGITS, 0);
	gen_buf_add(&m, tail2, strlen(tail2));
	if (m.len != g->size)
		bench_die("template is %zu bytes, wanted %zu", m.len, g->size);

	{
		unsigned char	h[10];

		hdr = g->raw_port ? 0 : gen_frame_header(h, 1, g->size);
		g->unit_len = hdr + g->size + (g->raw_port ? 1 : 0);
		g->nunits = GEN_BATCH_BYTES / g->unit_len;
		if (g->nunits == 0)
			g->nunits = 1;
		free(g->units);
		if ((g->units = malloc(g->nunits * g->unit_len)) == NULL)
			bench_die("out of memory");
		for (i = 0; i < g->nunits; i++) {
			unsigned char	*u = g->units + i * g->unit_len;

			memcpy(u, h, hdr);
			memcpy(u + hdr, m.p, g->size);
			if (g->raw_port)
				u[hdr + g->size] = '\n';
		}
		g->t_off = hdr + BENCH_T_OFF;
		g->seq_off = hdr + BENCH_SEQ_OFF;
		g->sid_off = hdr + sid_at;
	}
	free(m.p);
}

/* Queue the flag snapshot, in pages of PAGE_SIZE flags (0: one message). */
static void
gen_queue_snapshot(struct gen *g, unsigned page_size)
{
	struct gen_buf	 m = { 0 };
	unsigned	 pages, page, i, first, last;

	if (page_size == 0 || page_size > g->flags_total)
		page_size = g->flags_total ? g->flags_total : 1;
	pages = g->flags_total ? (g->flags_total + page_size - 1) / page_size : 1;
	for (page = 1; page <= pages; page++) {
		m.len = 0;
		gen_buf_printf(&m, "{\"data\":[");
		first = (page - 1) * page_size;
		last = first + page_size;
		if (last > g->flags_total)
			last = g->flags_total;
		for (i = first; i < last; i++)
			gen_buf_printf(&m, "%s{\"id\":\"flag_%06u\",\"account_id\":"
			    "\"acct_bench\",\"environment_id\":\"env_bench\","
			    "\"key\":\"bench-flag-%u\",\"flag_type\":\"boolean\","
			    "\"default_value\":%s,\"rules\":[{\"id\":\"rule_%06u\","
			    "\"name\":\"On for pro plan\",\"rule_type\":\"standard\","
			    "\"priority\":1,\"value\":true,\"conditions\":[{"
			    "\"condition_type\":\"plan\",\"operator\":\"eq\","
			    "\"resource_ids\":[\"plan_pro\"]}],"
			    "\"condition_groups\":[]}]}", i > first ? "," : "",
			    i, i, i % 3 ? "false" : "true", i);
		gen_buf_printf(&m, "],\"entity_id\":null,\"entity_type\":"
		    "\"rulesengine.Flags\",\"message_type\":\"full\"");
		if (pages > 1)
			gen_buf_printf(&m, ",\"pagination\":{\"has_more\":%s,"
			    "\"page\":%u,\"total\":%u}", page < pages ? "true" :
			    "false", page, g->flags_total);
		gen_buf_printf(&m, "}");
		gen_queue_frame(g, 1, m.p, m.len);
	}
	free(m.p);
	printf("SNAPSHOT pages=%u\n", pages);
}

/* A text frame from the client: a subscription answered with a snapshot. */
static void
gen_client_text(struct gen *g, const char *p, size_t len)
{
	const char	*ps;
	unsigned	 page_size = 0;

	if (memmem(p, len, "rulesengine.Flags", 17) == NULL ||
	    memmem(p, len, "\"stop\"", 6) != NULL)
		return;
	if ((ps = memmem(p, len, "\"page_size\":", 12)) != NULL)
		page_size = (unsigned)strtoul(ps + 12, NULL, 10);
	gen_queue_snapshot(g, page_size);
}

/* Drop the client connection. */
static void
gen_close_client(struct gen *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->upgraded = 0;
	g->in_len = 0;
	g->ctl.len = g->ctl.off = 0;
	g->streaming = 0;
	g->batch_len = g->batch_off = 0;
	printf("CLOSED\n");
}

/* Parse the upgrade request in g->in; 1 done, 0 need more, -1 bad. */
static int
gen_handshake(struct gen *g)
{
	char	*end, *k, *e, accept[29];
	size_t	 hlen;

	if ((end = memmem(g->in, g->in_len, "\r\n\r\n", 4)) == NULL)
		return g->in_len < 16384 ? 0 : -1;
	hlen = (size_t)(end + 4 - (char *)g->in);
	*end = '\0';
	k = strcasestr((char *)g->in, "\r\nSec-WebSocket-Key:");
	if (k == NULL)
		return -1;
	k += 20;
	while (*k == ' ')
		k++;
	for (e = k; *e != '\0' && *e != '\r' && *e != ' '; e++)
		;
	bench_ws_accept(k, (size_t)(e - k), accept);
	gen_buf_printf(&g->ctl, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	memmove(g->in, g->in + hlen, g->in_len - hlen);
	g->in_len -= hlen;
	g->upgraded = 1;
	return 1;
}

/* Parse complete client frames in g->in; -1 to drop the client. */
static int
gen_client_frames(struct gen *g)
{
	size_t		 pos = 0, hl, plen, i;
	unsigned char	*f, *pl, op;

	while (g->in_len - pos >= 2) {
		f = g->in + pos;
		op = f[0] & 0x0f;
		if (!(f[1] & 0x80))
			return -1;		/* client frames are masked */
		plen = f[1] & 0x7f;
		hl = 2;
		if (plen == 126) {
			if (g->in_len - pos < 4)
				break;
			plen = (size_t)f[2] << 8 | f[3];
			hl = 4;
		} else if (plen == 127) {
			if (g->in_len - pos < 10)
				break;
			plen = 0;
			for (i = 0; i < 8; i++)
				plen = plen << 8 | f[2 + i];
			hl = 10;
		}
		if (plen > GEN_IN_MAX - 14)
			return -1;
		if (g->in_len - pos < hl + 4 + plen)
			break;
		pl = f + hl + 4;
		for (i = 0; i < plen; i++)
			pl[i] ^= f[hl + (i & 3)];
		switch (op) {
		case 1:
			gen_client_text(g, (char *)pl, plen);
			break;
		case 8:
			/* Echo the close at once: the connection ends here. */
			gen_queue_frame(g, 8, pl, plen < 2 ? plen : 2);
			if (g->batch_len == 0)
				(void)!send(g->fd, g->ctl.p + g->ctl.off,
				    g->ctl.len - g->ctl.off,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
			return -1;
		case 9:
			gen_queue_frame(g, 10, pl, plen);
			break;
		default:
			break;
		}
		pos += hl + 4 + plen;
	}
	memmove(g->in, g->in + pos, g->in_len - pos);
	g->in_len -= pos;
	return 0;
}

/* Read what the client sent; -1 if it is gone. */
static int
gen_read_client(struct gen *g)
{
	ssize_t	n;

	for (;;) {
		if (g->in_len == GEN_IN_MAX)
			return -1;
		n = recv(g->fd, g->in + g->in_len, GEN_IN_MAX - g->in_len,
		    MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		g->in_len += (size_t)n;
		if (g->raw_port) {
			g->in_len = 0;
			continue;
		}
		if (!g->upgraded) {
			int	rc = gen_handshake(g);

			if (rc < 0)
				return -1;
			if (rc == 0)
				continue;
		}
		if (gen_client_frames(g) < 0)
			return -1;
	}
}

/* Messages due now: all that fit a batch, or as many as the rate allows. */
static uint64_t
gen_due(struct gen *g, uint64_t now_mono)
{
	uint64_t	left = g->count - g->sent, due;

	if (g->rate > 0) {
		double	elapsed = (double)(now_mono - g->start_mono) / 1e9;
		uint64_t should = (uint64_t)(elapsed * g->rate) + 1;

		due = should > g->sent ? should - g->sent : 0;
		if (due > left)
			due = left;
	} else
		due = left;
	return due < g->nunits ? due : g->nunits;
}

/* Stamp the next N units with the time and their sequence numbers. */
static void
gen_stamp(struct gen *g, uint64_t n)
{
	uint64_t	now = bench_now_ns(), i;

	for (i = 0; i < n; i++) {
		unsigned char	*u = g->units + i * g->unit_len;

		bench_put_digits(u + g->t_off, BENCH_T_DIGITS, now);
		bench_put_digits(u + g->seq_off, BENCH_SEQ_DIGITS, g->sent + i);
		bench_put_digits(u + g->sid_off, BENCH_SEQ_DIGITS, g->sent + i);
	}
	if (g->sent == 0)
		g->first_ns = now;
}

/* The run is complete. */
static void
gen_done(struct gen *g)
{
	g->streaming = 0;
	g->last_ns = bench_now_ns();
	if (g->raw_port)
		shutdown(g->fd, SHUT_WR);
	printf("DONE count=%llu first_ns=%llu last_ns=%llu\n",
	    (unsigned long long)g->sent, (unsigned long long)g->first_ns,
	    (unsigned long long)g->last_ns);
}

/*
 * Write what is pending: the control queue first, then due messages.
 * Returns -1 if the client is gone, else 1 if it waits for POLLOUT.
 */
static int
gen_write(struct gen *g)
{
	ssize_t	n;
	uint64_t due;

	for (;;) {
		if (g->batch_len == 0 && g->ctl.off < g->ctl.len) {
			n = send(g->fd, g->ctl.p + g->ctl.off,
			    g->ctl.len - g->ctl.off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 1 : -1;
			g->ctl.off += (size_t)n;
			if (g->ctl.off == g->ctl.len)
				g->ctl.off = g->ctl.len = 0;
			continue;
		}
		if (g->batch_len == 0) {
			if (!g->streaming || !g->upgraded)
				return 0;
			if (g->sent == g->count || (g->stop_mono != 0 &&
			    bench_mono_ns() >= g->stop_mono)) {
				gen_done(g);
				return 0;
			}
			if ((due = gen_due(g, bench_mono_ns())) == 0)
				return 0;
			gen_stamp(g, due);
			g->batch_units = due;
			g->batch_len = due * g->unit_len;
			g->batch_off = 0;
		}
		n = send(g->fd, g->units + g->batch_off,
		    g->batch_len - g->batch_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 1 : -1;
		g->batch_off += (size_t)n;
		if (g->batch_off == g->batch_len) {
			g->sent += g->batch_units;
			g->batch_len = g->batch_off = 0;
		}
	}
}

/* Start a run if one was asked for and the client is ready for it. */
static void
gen_maybe_start(struct gen *g)
{
	if (!g->pending_go || g->fd < 0 || !g->upgraded)
		return;
	g->pending_go = 0;
	g->streaming = 1;
	g->count = g->pending_count;
	g->rate = g->pending_rate;
	g->sent = 0;
	g->first_ns = g->last_ns = 0;
	g->start_mono = bench_mono_ns();
	g->stop_mono = g->pending_seconds > 0 ? g->start_mono +
	    (uint64_t)(g->pending_seconds * 1e9) : 0;
}

/* One command line from stdin; -1 to quit. */
static int
gen_command(struct gen *g, char *line)
{
	unsigned long long	count;
	double			rate, seconds = 0;

	if (sscanf(line, "go %llu %lf %lf", &count, &rate, &seconds) >= 2) {
		g->pending_go = 1;
		g->pending_count = count;
		g->pending_rate = rate;
		g->pending_seconds = seconds;
		return 0;
	}
	if (sscanf(line, "size %llu", &count) == 1) {
		if (g->streaming || g->batch_len != 0) {
			fprintf(stderr, "gen: size while streaming\n");
			return 0;
		}
		g->size = (size_t)count;
		gen_build_units(g);
		printf("SIZE %zu\n", g->size);
		return 0;
	}
	if (strncmp(line, "quit", 4) == 0)
		return -1;
	fprintf(stderr, "gen: unknown command: %s\n", line);
	return 0;
}

/* Read stdin commands; -1 to quit. */
static int
gen_read_stdin(struct gen *g, char *buf, size_t *len, size_t cap)
{
	ssize_t	n = read(0, buf + *len, cap - *len - 1);
	char	*nl;

	if (n <= 0)
		return -1;
	*len += (size_t)n;
	buf[*len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (gen_command(g, buf) < 0)
			return -1;
		memmove(buf, nl + 1, *len - (size_t)(nl + 1 - buf) + 1);
		*len -= (size_t)(nl + 1 - buf);
	}
	if (*len >= cap - 1)
		*len = 0;
	return 0;
}

/* Listen on 127.0.0.1:port (0: any free port). */
static void
gen_listen(struct gen *g)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof sin;
	int			one = 1;

	if ((g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		bench_die("socket: %s", strerror(errno));
	setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)g->port);
	if (bind(g->lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(g->lfd, 16) != 0)
		bench_die("bind/listen 127.0.0.1:%d: %s", g->port,
		    strerror(errno));
	getsockname(g->lfd, (struct sockaddr *)&sin, &slen);
	printf("PORT %d %llu\n", ntohs(sin.sin_port),
	    (unsigned long long)bench_now_ns());
}

/* Tune a connected socket. */
static void
gen_tune(int fd)
{
	int	one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Raw mode: connect to the relay's TCP port, retrying for a while. */
static void
gen_connect_raw(struct gen *g)
{
	struct sockaddr_in	sin;
	int			i;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)g->raw_port);
	for (i = 0; i < 500; i++) {
		g->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(g->fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
			gen_tune(g->fd);
			g->upgraded = 1;
			printf("CLIENT\n");
			return;
		}
		close(g->fd);
		usleep(10000);
	}
	bench_die("cannot connect to 127.0.0.1:%d", g->raw_port);
}

static void
gen_usage(void)
{
	fprintf(stderr, "usage: gen [--port N] [--size BYTES] [--flags N] "
	    "[--filler objects|string] [--raw-connect PORT]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "flags", required_argument, NULL, 'f' },
		{ "filler", required_argument, NULL, 'F' },
		{ "raw-connect", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct gen	 g;
	struct pollfd	 pfd[3];
	char		 cmd[4096];
	size_t		 cmd_len = 0;
	int		 c, stdin_open = 1, want_out;

	memset(&g, 0, sizeof g);
	g.size = 256;
	g.flags_total = 100;
	g.filler_objects = 1;
	g.lfd = g.fd = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': g.port = atoi(optarg); break;
		case 's': g.size = strtoul(optarg, NULL, 10); break;
		case 'f': g.flags_total = (unsigned)atoi(optarg); break;
		case 'F': g.filler_objects = strcmp(optarg, "string") != 0;
			break;
		case 'r': g.raw_port = atoi(optarg); break;
		default: gen_usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	bench_tie_to_parent();
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = gen_on_term;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	prctl(PR_SET_TIMERSLACK, 1UL);	/* precise pacing at 10k/s */
	if ((g.in = malloc(GEN_IN_MAX)) == NULL)
		bench_die("out of memory");
	gen_build_units(&g);
	if (g.raw_port)
		gen_connect_raw(&g);
	else
		gen_listen(&g);

	while (!gen_term) {
		struct timespec	 ts, *tsp = NULL;
		int		 nfd = 0, ifd = -1, iin = -1, il = -1;

		gen_maybe_start(&g);
		want_out = 0;
		if (g.fd >= 0) {
			int rc = gen_write(&g);

			if (rc < 0) {
				gen_close_client(&g);
				continue;
			}
			want_out = rc == 1;
		}
		if (g.fd >= 0 && g.streaming && g.rate > 0 && !want_out &&
		    g.batch_len == 0) {
			/* Paced: sleep until the next message is due. */
			uint64_t next = g.start_mono +
			    (uint64_t)((double)g.sent * 1e9 / g.rate);
			uint64_t now = bench_mono_ns();
			uint64_t wait = next > now ? next - now : 0;

			/* Fast rates: wake at most every 50 us, send what is due. */
			if (wait < GEN_MIN_SLEEP_NS && 1e9 / g.rate < GEN_MIN_SLEEP_NS)
				wait = GEN_MIN_SLEEP_NS;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (stdin_open) {
			pfd[nfd].fd = 0;
			pfd[nfd].events = POLLIN;
			iin = nfd++;
		}
		if (g.fd >= 0) {
			pfd[nfd].fd = g.fd;
			pfd[nfd].events = POLLIN | (want_out ? POLLOUT : 0);
			ifd = nfd++;
		} else if (g.lfd >= 0) {
			pfd[nfd].fd = g.lfd;
			pfd[nfd].events = POLLIN;
			il = nfd++;
		}
		if (ppoll(pfd, (nfds_t)nfd, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			bench_die("ppoll: %s", strerror(errno));
		}
		if (iin >= 0 && pfd[iin].revents &&
		    gen_read_stdin(&g, cmd, &cmd_len, sizeof cmd) < 0)
			break;
		if (il >= 0 && (pfd[il].revents & POLLIN)) {
			g.fd = accept4(g.lfd, NULL, NULL, SOCK_CLOEXEC);
			if (g.fd >= 0) {
				gen_tune(g.fd);
				printf("CLIENT\n");
			}
		}
		if (ifd >= 0 && (pfd[ifd].revents & (POLLIN | POLLHUP |
		    POLLERR)) && gen_read_client(&g) < 0)
			gen_close_client(&g);
	}
	if (g.fd >= 0 && g.upgraded && !g.raw_port) {
		/* Going away for a restart (1012), best effort. */
		unsigned char	close_frame[4] = { 0x88, 2, 1012 >> 8,
		    1012 & 0xff };

		(void)!send(g.fd, close_frame, sizeof close_frame,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	return 0;
}
