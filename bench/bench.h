/*
 * bench.h - what the benchmark's C tools share: the message layout, clocks,
 * per-connection accounting of received lines, latency samples, and the
 * SHA-1/base64 of the WebSocket handshake.
 *
 * Every data message the generator sends starts with the same fixed-width
 * prefix, so a reader finds the send time and sequence number at fixed
 * offsets without parsing JSON:
 *
 *   {"data":{"t":<19 digits>,"seq":"<12 digits>",...
 *
 * t is CLOCK_REALTIME in nanoseconds (19 digits until 2286), taken just
 * before the send() that carries the message; seq counts from 0 per run.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_PREFIX		"{\"data\":{\"t\":"
#define BENCH_PREFIX_LEN	13
#define BENCH_T_OFF		BENCH_PREFIX_LEN
#define BENCH_T_DIGITS		19
#define BENCH_SEQ_OFF		(BENCH_T_OFF + BENCH_T_DIGITS + 8)  /* ,"seq":" */
#define BENCH_SEQ_DIGITS	12
#define BENCH_HEAD		(BENCH_SEQ_OFF + BENCH_SEQ_DIGITS)
#define BENCH_EVENT_PREFIX	"{\"streamd\":"

/* What one connection has received. */
struct bench_conn_stats {
	uint64_t	lines;		/* data lines */
	uint64_t	events;		/* {"streamd":...} lines */
	uint64_t	other;		/* anything else */
	uint64_t	bytes;
	uint64_t	gaps;		/* messages missing between two seqs */
	uint64_t	reordered;	/* a seq not above the previous one */
	uint64_t	next_seq;
	uint64_t	first_recv_ns;
	uint64_t	last_recv_ns;
	uint64_t	first_t_ns;
	int		seen_data;
	int		greeted;	/* got a "connected" event */
};

/* Latency samples in nanoseconds, appended as lines arrive. */
struct bench_lat {
	uint64_t	*v;
	size_t		 n;
	size_t		 cap;
	uint64_t	 warmup;	/* ignore seq below this */
	int		 on;
};

uint64_t	bench_now_ns(void);
uint64_t	bench_mono_ns(void);
void		bench_put_digits(unsigned char *, int, uint64_t);
int		bench_get_digits(const char *, int, uint64_t *);
void		bench_line(struct bench_conn_stats *, struct bench_lat *,
		    const char *, size_t, size_t, uint64_t);
void		bench_lat_add(struct bench_lat *, uint64_t);
void		bench_lat_json(struct bench_lat *, char *, size_t);
void		bench_ws_accept(const char *, size_t, char out[29]);
void		bench_raise_nofile(void);
void		bench_tie_to_parent(void);
void		bench_die(const char *, ...)
		    __attribute__((noreturn, format(printf, 1, 2)));

#endif
