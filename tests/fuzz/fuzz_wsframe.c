/*
 * fuzz_wsframe.c - libFuzzer target for the RFC 6455 client codec.
 *
 * The first byte picks how the input is split into reads; the rest is fed
 * first to the upgrade response parser, and what follows its head (or the
 * whole input, if it never completes) to the frame decoder. Neither may
 * crash or read out of bounds, every data chunk must lie inside the read
 * it came from, and decoding must give the same chunks at any split.
 *
 * Build and run (from the top of the tree):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       -include autoconfig.h src/wsframe.c src/util.c \
 *       tests/fuzz/fuzz_wsframe.c -lcrypto -o fuzz_wsframe
 *   ./fuzz_wsframe -max_total_time=120 CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

#define FUZZ_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "check failed: %s\n", #c);		\
		abort();						\
	}								\
} while (0)

/* The decoded stream: payload bytes, with markers for message ends. */
struct fuzz_out {
	unsigned char	*buf;
	size_t		 len;
	const unsigned char *read;	/* the read being decoded */
	size_t		 read_len;
};

/* Data callback: the chunk lies in the read; append it. */
static int
fuzz_data(void *arg, const unsigned char *p, size_t n, int first, int final,
    int binary)
{
	struct fuzz_out	*o = arg;

	FUZZ_CHECK(n == 0 || (p >= o->read && p + n <= o->read + o->read_len));
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len++] = (unsigned char)(first | final << 1 | binary << 2);
	return 0;
}

/* Control callback: append the opcode and payload; stop at a close. */
static int
fuzz_control(void *arg, int opcode, const unsigned char *p, size_t n)
{
	struct fuzz_out	*o = arg;

	FUZZ_CHECK(n <= WSFRAME_CONTROL_MAX);
	o->buf[o->len++] = (unsigned char)(0xf0 | opcode);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return opcode == WSFRAME_CLOSE;
}

/* Decode IN in reads of at most STEP bytes into O; the result. */
static int
fuzz_decode(const uint8_t *in, size_t len, size_t step, struct fuzz_out *o)
{
	struct wsframe_decoder	 d;
	struct wsframe_handler	 h = { fuzz_data, fuzz_control, o };
	const char		*cause = NULL;
	size_t			 off, n;
	int			 rc = 0;

	wsframe_decoder_init(&d);
	o->len = 0;
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < step ? len - off : step;
		o->read = in + off;
		o->read_len = n;
		rc = wsframe_decode(&d, in + off, n, &h, &cause);
	}
	FUZZ_CHECK(rc != -1 || cause != NULL);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsframe_response	 r;
	struct fuzz_out		 a, b;
	const char		*cause = NULL;
	size_t			 step, used = 0, off = 0, n;
	int			 rc = 0, ra, rb;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;

	memset(&r, 0, sizeof r);
	while (off < size && rc == 0) {
		n = size - off < step ? size - off : step;
		rc = wsframe_response_feed(&r, (const char *)data + off, n,
		    &used, &cause);
		FUZZ_CHECK(used <= n);
		off += used;
	}
	if (rc == 1)
		(void)wsframe_response_check(&r, "dGhlIHNhbXBsZSBub25jZQ==",
		    &cause);
	else
		off = 0;

	/* Each chunk adds one marker byte, each control frame one. */
	a.buf = malloc(2 * (size - off) + 16);
	b.buf = malloc(2 * (size - off) + 16);
	ra = fuzz_decode(data + off, size - off, step, &a);
	rb = fuzz_decode(data + off, size - off, size - off, &b);
	FUZZ_CHECK(ra == rb);
	free(a.buf);
	free(b.buf);
	return 0;
}
