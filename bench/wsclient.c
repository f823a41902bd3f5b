/*
 * wsclient.c - the direct consumer baseline: a minimal WebSocket client
 * that reads the generator's stream with no relay in between, accounting
 * its messages exactly as the stream readers account lines (bench.h), so
 * its latency is the floor the daemon's is compared with.
 *
 * It upgrades, subscribes to rulesengine.Flags like the daemon, prints
 * "READY <ns>", then counts data messages until it has --expect of them
 * and prints a JSON summary. Like the reader, it takes "expect N" on stdin.
 * Client frames are masked (RFC 6455 5.3).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench.h"

#define WS_BUF		(256 * 1024)
#define WS_HEAD		128

struct ws_rx {
	unsigned char	hdr[14];	/* the frame header being read */
	size_t		hdr_len;
	size_t		hdr_need;
	int		opcode;
	int		fin;
	uint64_t	left;		/* payload bytes still to come */
	uint64_t	msg_len;
	int		msg_opcode;
	char		head[WS_HEAD];
	size_t		head_len;
};

/* Send all of P (N bytes). */
static void
ws_send_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = send(fd, c, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			bench_die("send: %s", strerror(errno));
		}
		c += w;
		n -= (size_t)w;
	}
}

/* Send TEXT as one masked text frame. */
static void
ws_send_text(int fd, const char *text)
{
	unsigned char	f[14 + 512], mask[4];
	size_t		len = strlen(text), hl = 2, i;

	if (len > 512)
		bench_die("frame too long");
	RAND_bytes(mask, 4);
	f[0] = 0x81;
	if (len < 126)
		f[1] = (unsigned char)(0x80 | len);
	else {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(len >> 8);
		f[3] = (unsigned char)len;
		hl = 4;
	}
	memcpy(f + hl, mask, 4);
	for (i = 0; i < len; i++)
		f[hl + 4 + i] = (unsigned char)text[i] ^ mask[i & 3];
	ws_send_all(fd, f, hl + 4 + len);
}

/* Connect to 127.0.0.1:PORT and upgrade to a WebSocket; returns the fd. */
static int
ws_open(int port, char *buf, size_t *pre_len)
{
	struct sockaddr_in	 sin;
	unsigned char		 raw[16];
	char			 key[32], accept[29], req[512], *end;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		bench_die("connect 127.0.0.1:%d: %s", port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	RAND_bytes(raw, sizeof raw);
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
	snprintf(req, sizeof req, "GET /datastream HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\nX-Schematic-Api-Key: bench\r\n\r\n",
	    port, key);
	ws_send_all(fd, req, strlen(req));
	while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
		if (len == WS_BUF ||
		    (n = recv(fd, buf + len, WS_BUF - len, 0)) <= 0)
			bench_die("no upgrade response");
		len += (size_t)n;
	}
	bench_ws_accept(key, strlen(key), accept);
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0 ||
	    memmem(buf, (size_t)(end - buf), accept, 28) == NULL)
		bench_die("upgrade refused or bad Sec-WebSocket-Accept");
	*pre_len = len - (size_t)(end + 4 - buf);
	memmove(buf, end + 4, *pre_len);
	return fd;
}

/* Feed N received bytes at P; returns -1 on a close frame. */
static int
ws_bytes(struct ws_rx *rx, struct bench_conn_stats *st,
    struct bench_lat *lat, const unsigned char *p, size_t n, uint64_t now)
{
	const unsigned char	*end = p + n;
	size_t			 take;

	while (p < end) {
		if (rx->hdr_need > rx->hdr_len) {
			rx->hdr[rx->hdr_len++] = *p++;
			if (rx->hdr_len == 2) {
				size_t	l7 = rx->hdr[1] & 0x7f;

				rx->hdr_need = 2 + (l7 == 126 ? 2 : l7 == 127 ?
				    8 : 0) + (rx->hdr[1] & 0x80 ? 4 : 0);
			}
			if (rx->hdr_len < rx->hdr_need)
				continue;
			rx->opcode = rx->hdr[0] & 0x0f;
			rx->fin = rx->hdr[0] >> 7;
			rx->left = rx->hdr[1] & 0x7f;
			if (rx->left == 126)
				rx->left = (uint64_t)rx->hdr[2] << 8 | rx->hdr[3];
			else if (rx->left == 127) {
				rx->left = 0;
				for (int i = 0; i < 8; i++)
					rx->left = rx->left << 8 | rx->hdr[2 + i];
			}
			if (rx->opcode == 8)
				return -1;
			if (rx->opcode != 0) {
				rx->msg_opcode = rx->opcode;
				rx->msg_len = 0;
				rx->head_len = 0;
			}
		} else {
			take = (size_t)(end - p) < rx->left ? (size_t)(end - p) :
			    (size_t)rx->left;
			if (rx->head_len < WS_HEAD) {
				size_t h = WS_HEAD - rx->head_len;

				h = h < take ? h : take;
				memcpy(rx->head + rx->head_len, p, h);
				rx->head_len += h;
			}
			rx->msg_len += take;
			rx->left -= take;
			p += take;
		}
		if (rx->hdr_len == rx->hdr_need && rx->left == 0) {
			/* End of a frame. */
			if (rx->fin && rx->opcode < 8 && rx->msg_opcode == 1)
				bench_line(st, lat, rx->head, rx->head_len,
				    rx->msg_len, now);
			rx->hdr_len = 0;
			rx->hdr_need = 2;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "expect", required_argument, NULL, 'e' },
		{ "latency", no_argument, NULL, 'l' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench_conn_stats	 st;
	struct bench_lat	 lat = { 0 };
	struct ws_rx		 rx;
	struct pollfd		 pfd[2];
	uint64_t		 last_progress;
	char			 cmd[256];
	size_t			 cmd_len = 0;
	char			*buf, latjson[256];
	size_t			 pre = 0;
	uint64_t		 expect = 0;
	double			 timeout = 30;
	int			 port = 0, fd, c, timedout = 0, closed = 0;
	ssize_t			 n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'e': expect = strtoull(optarg, NULL, 10); break;
		case 'l': lat.on = 1; break;
		case 'w': lat.warmup = strtoull(optarg, NULL, 10); break;
		case 't': timeout = atof(optarg); break;
		default:
			fprintf(stderr, "usage: wsclient --port N --expect M "
			    "[--latency] [--warmup W] [--timeout SEC]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	bench_tie_to_parent();
	if ((buf = malloc(WS_BUF)) == NULL)
		bench_die("out of memory");
	memset(&st, 0, sizeof st);
	memset(&rx, 0, sizeof rx);
	rx.hdr_need = 2;
	fd = ws_open(port, buf, &pre);
	ws_send_text(fd, "{\"data\":{\"action\":\"start\",\"entity_type\":"
	    "\"rulesengine.Flags\",\"page_size\":100}}");
	printf("READY %llu\n", (unsigned long long)bench_now_ns());
	if (pre > 0 && ws_bytes(&rx, &st, &lat, (unsigned char *)buf, pre,
	    bench_now_ns()) < 0)
		closed = 1;
	last_progress = bench_mono_ns();
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = 0;
	pfd[1].events = POLLIN;
	while (!closed && (expect == 0 || st.lines < expect)) {
		if (poll(pfd, pfd[1].fd < 0 ? 1 : 2, 100) < 0 && errno != EINTR)
			bench_die("poll: %s", strerror(errno));
		if (pfd[1].fd >= 0 && pfd[1].revents) {
			n = read(0, cmd + cmd_len, sizeof cmd - 1 - cmd_len);
			if (n <= 0)
				pfd[1].fd = -1;
			else {
				cmd_len += (size_t)n;
				cmd[cmd_len] = '\0';
				if (strchr(cmd, '\n') != NULL) {
					sscanf(cmd, "expect %llu",
					    (unsigned long long *)&expect);
					cmd_len = 0;
				}
			}
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (bench_mono_ns() - last_progress >
			    (uint64_t)(timeout * 1e9)) {
				timedout = 1;
				break;
			}
			continue;
		}
		n = recv(fd, buf, WS_BUF, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		last_progress = bench_mono_ns();
		if (n <= 0) {
			closed = 1;
			break;
		}
		if (ws_bytes(&rx, &st, &lat, (unsigned char *)buf, (size_t)n,
		    bench_now_ns()) < 0)
			closed = 1;
	}
	bench_lat_json(&lat, latjson, sizeof latjson);
	printf("{\"conns\":1,\"lines\":%llu,\"min_lines\":%llu,\"bytes\":%llu,"
	    "\"gaps\":%llu,\"reordered\":%llu,\"closed\":%d,\"incomplete\":%d,"
	    "\"timeout\":%s,\"first_recv_ns\":%llu,\"last_recv_ns\":%llu,"
	    "\"first_t_ns\":%llu,\"latency\":%s}\n",
	    (unsigned long long)st.lines, (unsigned long long)st.lines,
	    (unsigned long long)st.bytes, (unsigned long long)st.gaps,
	    (unsigned long long)st.reordered, closed,
	    expect && st.lines < expect, timedout ? "true" : "false",
	    (unsigned long long)st.first_recv_ns,
	    (unsigned long long)st.last_recv_ns,
	    (unsigned long long)st.first_t_ns, latjson);
	close(fd);
	return 0;
}
