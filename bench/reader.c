/*
 * reader.c - the benchmark's stream readers: one process holding N
 * connections to the daemon's stream socket (epoll, level-triggered, one
 * read per ready connection per turn, so every connection is served).
 *
 * Per connection it counts lines and bytes, checks that sequence numbers
 * arrive in order without gaps, and records the latency of each data line
 * (receive time minus the send time the generator put in it). Only the
 * first bytes of each line are looked at (see bench.h), so a reader costs
 * a memchr per line, not a JSON parse.
 *
 * Modes: count (exit once every connection got --expect data lines, print
 * a JSON summary), --idle (connect, read the greeting, print READY, stay
 * until SIGTERM), --events (print "EVENT <ns> <name>" for every
 * {"streamd":...} line). --stuck K opens K more connections that never
 * read. "READY <ns>" is printed once every reading connection has got its
 * "connected" event (at once with --no-greeting, for the socat baseline).
 * A line "expect N" on stdin sets (or changes) the number of data lines to
 * wait for, for runs whose length the generator decides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"

#define READER_BUF	(256 * 1024)
#define READER_HEAD	128

struct reader_conn {
	int			 fd;
	int			 closed;
	struct bench_conn_stats	 st;
	char			 head[READER_HEAD];
	size_t			 head_len;
	size_t			 line_len;
};

static volatile sig_atomic_t	reader_term;

static void
reader_on_term(int sig)
{
	(void)sig;
	reader_term = 1;
}

/* Connect to the Unix socket PATH (blocking connect, then non-blocking). */
static int
reader_connect(const char *path, int rcvbuf)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		bench_die("socket path too long");
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		bench_die("socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		bench_die("connect %s: %s", path, strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Print an event line's name with its receive time. */
static void
reader_print_event(const char *head, size_t len, uint64_t now)
{
	const char	*e = memmem(head, len, "\"event\":\"", 9);
	size_t		 n = 0;

	if (e == NULL)
		return;
	e += 9;
	while (e + n < head + len && e[n] != '"')
		n++;
	printf("EVENT %llu %.*s\n", (unsigned long long)now, (int)n, e);
}

/* Account the N bytes at P that connection C received at NOW. */
static void
reader_bytes(struct reader_conn *c, struct bench_lat *lat, const char *p,
    size_t n, uint64_t now, int events)
{
	const char	*end = p + n, *nl;
	size_t		 seg, take;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = (size_t)((nl != NULL ? nl : end) - p);
		if (nl != NULL && c->head_len == 0 && !events) {
			/* The whole line is here: look at it in place. */
			bench_line(&c->st, lat, p, seg, seg, now);
			p = nl + 1;
			continue;
		}
		if (c->head_len < READER_HEAD) {
			take = READER_HEAD - c->head_len;
			take = take < seg ? take : seg;
			memcpy(c->head + c->head_len, p, take);
			c->head_len += take;
		}
		c->line_len += seg;
		if (nl == NULL)
			return;
		if (events && c->head_len > 11 &&
		    memcmp(c->head, BENCH_EVENT_PREFIX, 11) == 0)
			reader_print_event(c->head, c->head_len, now);
		bench_line(&c->st, lat, c->head, c->head_len, c->line_len, now);
		c->head_len = 0;
		c->line_len = 0;
		p = nl + 1;
	}
}

static void
reader_usage(void)
{
	fprintf(stderr, "usage: reader --socket PATH [--conns N] [--expect M] "
	    "[--stuck K] [--idle | --events] [--latency] [--warmup W] "
	    "[--timeout SEC] [--rcvbuf BYTES] [--no-greeting] [--samples FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'n' },
		{ "expect", required_argument, NULL, 'e' },
		{ "stuck", required_argument, NULL, 'k' },
		{ "idle", no_argument, NULL, 'i' },
		{ "events", no_argument, NULL, 'v' },
		{ "latency", no_argument, NULL, 'l' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "no-greeting", no_argument, NULL, 'g' },
		{ "samples", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*path = NULL;
	int			 nconns = 1, nstuck = 0, idle = 0, events = 0;
	int			 rcvbuf = 0, timedout = 0, ready = 0;
	int			 no_greeting = 0;
	const char		*samples = NULL;
	uint64_t		 expect = 0, last_progress, timeout_ns = 30e9;
	struct bench_lat	 lat = { 0 };
	struct reader_conn	*conns;
	int			*stuck;
	struct epoll_event	 evs[256];
	char			*buf, latjson[256];
	int			 ep, c, i, n, open_conns;
	char			 cmd[256];
	size_t			 cmd_len = 0;
	struct sigaction	 sa;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'n': nconns = atoi(optarg); break;
		case 'e': expect = strtoull(optarg, NULL, 10); break;
		case 'k': nstuck = atoi(optarg); break;
		case 'i': idle = 1; break;
		case 'v': events = 1; break;
		case 'l': lat.on = 1; break;
		case 'w': lat.warmup = strtoull(optarg, NULL, 10); break;
		case 't': timeout_ns = (uint64_t)(atof(optarg) * 1e9); break;
		case 'r': rcvbuf = atoi(optarg); break;
		case 'g': no_greeting = 1; break;
		case 'S': samples = optarg; break;
		default: reader_usage();
		}
	}
	if (path == NULL || nconns < 1 || nstuck < 0)
		reader_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	bench_tie_to_parent();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = reader_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	bench_raise_nofile();

	conns = calloc((size_t)nconns, sizeof *conns);
	stuck = calloc((size_t)nstuck + 1, sizeof *stuck);
	buf = malloc(READER_BUF);
	if (conns == NULL || stuck == NULL || buf == NULL)
		bench_die("out of memory");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		bench_die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < nconns; i++) {
		struct epoll_event	ev = { .events = EPOLLIN };

		conns[i].fd = reader_connect(path, rcvbuf);
		ev.data.ptr = &conns[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
			bench_die("epoll_ctl: %s", strerror(errno));
	}
	for (i = 0; i < nstuck; i++)
		stuck[i] = reader_connect(path, rcvbuf);
	{
		struct epoll_event	ev = { .events = EPOLLIN };

		ev.data.ptr = NULL;	/* stdin */
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);	/* may be a file */
	}

	open_conns = nconns;
	last_progress = bench_mono_ns();
	while (!reader_term && open_conns > 0) {
		n = epoll_wait(ep, evs, 256, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bench_die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			struct reader_conn	*rc = evs[i].data.ptr;
			ssize_t			 r;

			if (rc == NULL) {
				r = read(0, cmd + cmd_len, sizeof cmd - 1 - cmd_len);
				if (r <= 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
					continue;
				}
				cmd_len += (size_t)r;
				cmd[cmd_len] = '\0';
				if (strchr(cmd, '\n') != NULL) {
					sscanf(cmd, "expect %llu",
					    (unsigned long long *)&expect);
					cmd_len = 0;
				}
				continue;
			}
			r = read(rc->fd, buf, READER_BUF);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, rc->fd, NULL);
				rc->closed = 1;
				open_conns--;
				continue;
			}
			reader_bytes(rc, &lat, buf, (size_t)r, bench_now_ns(),
			    events);
			last_progress = bench_mono_ns();
		}
		if (!ready) {
			for (i = 0; i < nconns && (no_greeting ||
			    conns[i].st.greeted); i++)
				;
			if (i == nconns) {
				ready = 1;
				printf("READY %llu\n",
				    (unsigned long long)bench_now_ns());
			}
		}
		if (expect) {
			/* Done when no connection expects more. */
			for (i = 0; i < nconns && (conns[i].closed ||
			    conns[i].st.lines >= expect); i++)
				;
			if (i == nconns)
				break;
		}
		if (!idle && !events && timeout_ns &&
		    bench_mono_ns() - last_progress > timeout_ns) {
			timedout = 1;
			break;
		}
	}

	if (!idle && !events) {
		uint64_t	lines = 0, bytes = 0, gaps = 0, reord = 0;
		uint64_t	min_lines = UINT64_MAX, max_lines = 0;
		uint64_t	first_recv = UINT64_MAX, last_recv = 0;
		uint64_t	first_t = UINT64_MAX, other = 0;
		int		closed = 0, incomplete = 0, greeted = 0, cut = 0;

		for (i = 0; i < nconns; i++) {
			struct bench_conn_stats	*st = &conns[i].st;

			lines += st->lines;
			bytes += st->bytes;
			gaps += st->gaps;
			reord += st->reordered;
			other += st->other;
			closed += conns[i].closed;
			greeted += st->greeted;
			incomplete += expect && st->lines < expect;
			if (st->lines < min_lines)
				min_lines = st->lines;
			if (st->lines > max_lines)
				max_lines = st->lines;
			if (st->seen_data) {
				if (st->first_recv_ns < first_recv)
					first_recv = st->first_recv_ns;
				if (st->last_recv_ns > last_recv)
					last_recv = st->last_recv_ns;
				if (st->first_t_ns < first_t)
					first_t = st->first_t_ns;
			}
		}
		for (i = 0; i < nstuck; i++) {
			struct pollfd	pfd = { .fd = stuck[i],
			    .events = POLLRDHUP };

			if (poll(&pfd, 1, 0) == 1 &&
			    (pfd.revents & (POLLRDHUP | POLLHUP)))
				cut++;
		}
		if (samples != NULL) {
			/* Arrival order, before sorting: for looking at stalls. */
			FILE	*f = fopen(samples, "w");
			size_t	 k;

			for (k = 0; f != NULL && k < lat.n; k++)
				fprintf(f, "%llu\n", (unsigned long long)lat.v[k]);
			if (f != NULL)
				fclose(f);
		}
		bench_lat_json(&lat, latjson, sizeof latjson);
		printf("{\"conns\":%d,\"greeted\":%d,\"lines\":%llu,"
		    "\"min_lines\":%llu,\"max_lines\":%llu,\"bytes\":%llu,"
		    "\"gaps\":%llu,\"reordered\":%llu,\"other\":%llu,"
		    "\"closed\":%d,\"incomplete\":%d,\"timeout\":%s,"
		    "\"first_recv_ns\":%llu,\"last_recv_ns\":%llu,"
		    "\"first_t_ns\":%llu,\"stuck\":%d,\"stuck_cut\":%d,"
		    "\"latency\":%s}\n", nconns, greeted,
		    (unsigned long long)lines,
		    (unsigned long long)(min_lines == UINT64_MAX ? 0 : min_lines),
		    (unsigned long long)max_lines, (unsigned long long)bytes,
		    (unsigned long long)gaps, (unsigned long long)reord,
		    (unsigned long long)other, closed, incomplete,
		    timedout ? "true" : "false",
		    (unsigned long long)(first_recv == UINT64_MAX ? 0 :
		    first_recv), (unsigned long long)last_recv,
		    (unsigned long long)(first_t == UINT64_MAX ? 0 : first_t),
		    nstuck, cut, latjson);
	}
	return 0;
}
