/*
 * bench.c - helpers shared by the benchmark's generator and readers.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bench.h"

/* Print an error and exit. */
void
bench_die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* CLOCK_REALTIME in nanoseconds: comparable between processes. */
uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in nanoseconds: for pacing. */
uint64_t
bench_mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write V as exactly N decimal digits (zero-padded) at P. */
void
bench_put_digits(unsigned char *p, int n, uint64_t v)
{
	while (n-- > 0) {
		p[n] = (unsigned char)('0' + v % 10);
		v /= 10;
	}
}

/* Read exactly N decimal digits at P into *V; -1 if one is not a digit. */
int
bench_get_digits(const char *p, int n, uint64_t *v)
{
	uint64_t	x = 0;
	int		i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

/* Append one latency sample. */
void
bench_lat_add(struct bench_lat *lat, uint64_t ns)
{
	if (lat->n == lat->cap) {
		lat->cap = lat->cap ? lat->cap * 2 : 65536;
		lat->v = realloc(lat->v, lat->cap * sizeof *lat->v);
		if (lat->v == NULL)
			bench_die("out of memory");
	}
	lat->v[lat->n++] = ns;
}

/*
 * Account one complete line of LINE_LEN bytes (newline excluded) received
 * at NOW_NS, whose first HEAD_LEN bytes are HEAD.
 */
void
bench_line(struct bench_conn_stats *st, struct bench_lat *lat,
    const char *head, size_t head_len, size_t line_len, uint64_t now_ns)
{
	uint64_t	t, seq;

	st->bytes += line_len + 1;
	if (head_len >= BENCH_HEAD &&
	    memcmp(head, BENCH_PREFIX, BENCH_PREFIX_LEN) == 0 &&
	    bench_get_digits(head + BENCH_SEQ_OFF, BENCH_SEQ_DIGITS, &seq) == 0) {
		/* The send time only when it is used: readers must be cheap. */
		t = 0;
		if ((!st->seen_data || (lat != NULL && lat->on)) &&
		    bench_get_digits(head + BENCH_T_OFF, BENCH_T_DIGITS, &t) != 0)
			t = 0;
		if (!st->seen_data) {
			st->seen_data = 1;
			st->first_recv_ns = now_ns;
			st->first_t_ns = t;
			st->next_seq = 0;
		}
		if (seq > st->next_seq)
			st->gaps += seq - st->next_seq;
		else if (seq < st->next_seq)
			st->reordered++;
		if (seq >= st->next_seq)
			st->next_seq = seq + 1;
		st->lines++;
		st->last_recv_ns = now_ns;
		if (lat != NULL && lat->on && seq >= lat->warmup)
			bench_lat_add(lat, now_ns > t ? now_ns - t : 0);
		return;
	}
	if (head_len >= sizeof BENCH_EVENT_PREFIX - 1 &&
	    memcmp(head, BENCH_EVENT_PREFIX, sizeof BENCH_EVENT_PREFIX - 1) == 0) {
		st->events++;
		if (memmem(head, head_len, "\"connected\"", 11) != NULL)
			st->greeted = 1;
		return;
	}
	st->other++;
}

static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The sample at quantile Q of the sorted samples. */
static uint64_t
bench_quantile(const struct bench_lat *lat, double q)
{
	size_t	i;

	if (lat->n == 0)
		return 0;
	i = (size_t)(q * (double)(lat->n - 1) + 0.5);
	return lat->v[i < lat->n ? i : lat->n - 1];
}

/* Sort the samples and format their percentiles (in ns) as JSON. */
void
bench_lat_json(struct bench_lat *lat, char *out, size_t size)
{
	qsort(lat->v, lat->n, sizeof *lat->v, bench_cmp_u64);
	snprintf(out, size, "{\"n\":%zu,\"p50_ns\":%llu,\"p99_ns\":%llu,"
	    "\"p999_ns\":%llu,\"max_ns\":%llu}", lat->n,
	    (unsigned long long)bench_quantile(lat, 0.5),
	    (unsigned long long)bench_quantile(lat, 0.99),
	    (unsigned long long)bench_quantile(lat, 0.999),
	    (unsigned long long)(lat->n ? lat->v[lat->n - 1] : 0));
}

/* Sec-WebSocket-Accept for the key KEY (LEN bytes): 28 chars and a NUL. */
void
bench_ws_accept(const char *key, size_t len, char out[29])
{
	static const char	 guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char		 md[SHA_DIGEST_LENGTH];
	char			 buf[128];

	if (len > sizeof buf - sizeof guid)
		len = sizeof buf - sizeof guid;
	memcpy(buf, key, len);
	memcpy(buf + len, guid, sizeof guid - 1);
	SHA1((unsigned char *)buf, len + sizeof guid - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof md);
}

/* Allow as many descriptors as the hard limit does. */
void
bench_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Die with the parent (the driver), so nothing outlives a killed run. */
void
bench_tie_to_parent(void)
{
	pid_t	parent = getppid();

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		exit(1);
}
