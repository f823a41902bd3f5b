/*
 * test_wsframe.c - the RFC 6455 client codec: request, response check,
 * client frames, and the decoder over every split of its input.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wsframe.h"

/* What the decoder handed over, flattened for comparison. */
struct got {
	char		text[80000];	/* data chunks, "|" after a final one */
	size_t		len;
	int		firsts;
	int		finals;
	int		binary;
	int		controls[8];
	unsigned char	control[8][126];
	size_t		control_len[8];
	int		ncontrols;
	int		stop_on_close;
	const unsigned char *in;	/* non-NULL: chunks must lie in it */
	size_t		in_len;
};

/* Decoder callback: append a data chunk. */
static int
got_data(void *arg, const unsigned char *p, size_t n, int first, int final,
    int binary)
{
	struct got	*g = arg;

	ck_assert_uint_lt(g->len + n + 1, sizeof g->text);
	if (g->in != NULL)
		ck_assert(p >= g->in && p + n <= g->in + g->in_len);
	memcpy(g->text + g->len, p, n);
	g->len += n;
	g->firsts += first;
	g->finals += final;
	g->binary |= binary;
	if (final)
		g->text[g->len++] = '|';
	return 0;
}

/* Decoder callback: note a control frame. */
static int
got_control(void *arg, int opcode, const unsigned char *p, size_t n)
{
	struct got	*g = arg;

	ck_assert_int_lt(g->ncontrols, 8);
	g->controls[g->ncontrols] = opcode;
	memcpy(g->control[g->ncontrols], p, n);
	g->control_len[g->ncontrols++] = n;
	return g->stop_on_close && opcode == WSFRAME_CLOSE;
}

/* Decode IN (LEN bytes) in pieces of at most STEP; the decode result. */
static int
decode_split(const unsigned char *in, size_t len, size_t step, struct got *g,
    const char **cause)
{
	struct wsframe_decoder	d;
	struct wsframe_handler	h = { got_data, got_control, g };
	size_t			off, n;
	int			rc = 0;

	wsframe_decoder_init(&d);
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < step ? len - off : step;
		rc = wsframe_decode(&d, in + off, n, &h, cause);
	}
	return rc;
}

/* An unmasked server frame of OPCODE (FIN as given) into OUT; its size. */
static size_t
server_frame(unsigned char *out, int fin, int opcode, const char *payload,
    size_t len)
{
	size_t	h = 2, i;

	out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126)
		out[1] = (unsigned char)len;
	else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		h = 4;
	} else {
		out[1] = 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, payload, len);
	return h + len;
}

/* The RFC's own example: key dGhlIHNhbXBsZSBub25jZQ== gives s3pPLM... */
START_TEST(test_wsframe_accept)
{
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n"
	    "\x81\x02hi";
	struct wsframe_response	 r;
	const char		*cause = NULL;
	size_t			 used, off = 0;
	int			 rc = 0;

	memset(&r, 0, sizeof r);
	/* Byte by byte: the end of the head is found across feeds. */
	while (rc == 0) {
		rc = wsframe_response_feed(&r, resp + off, 1, &used, &cause);
		off += used;
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(off, sizeof resp - 1 - 4);
	ck_assert_int_eq(r.status, 101);
	ck_assert_int_eq(wsframe_response_check(&r, "dGhlIHNhbXBsZSBub25jZQ==",
	    &cause), 0);
	ck_assert_int_eq(wsframe_response_check(&r, "AAAAAAAAAAAAAAAAAAAAAA==",
	    &cause), -1);
	ck_assert_str_eq(cause, "bad Sec-WebSocket-Accept");

	/* All at once: the frame bytes after the head are left over. */
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(wsframe_response_feed(&r, resp, sizeof resp - 1,
	    &used, &cause), 1);
	ck_assert_uint_eq(used, sizeof resp - 1 - 4);
}
END_TEST

/* Non-101, missing headers, garbage and an endless head. */
START_TEST(test_wsframe_response_errors)
{
	struct wsframe_response	 r;
	const char		*cause = NULL;
	char			 big[WSFRAME_RESPONSE_MAX + 10];
	size_t			 used;

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(wsframe_response_feed(&r, "HTTP/1.1 401 No\r\n\r\n",
	    19, &used, &cause), 1);
	ck_assert_int_eq(r.status, 401);
	ck_assert_int_eq(wsframe_response_check(&r, "x", &cause), -1);
	ck_assert_str_eq(cause, "upgrade response not 101");

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(wsframe_response_feed(&r, "HTTP/1.1 101 OK\r\n"
	    "Connection: upgrade\r\n\r\n", 40, &used, &cause), 1);
	ck_assert_int_eq(wsframe_response_check(&r, "x", &cause), -1);
	ck_assert_str_eq(cause, "upgrade response without Upgrade: websocket");

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(wsframe_response_feed(&r, "SSH-2.0-x\r\n\r\n", 13,
	    &used, &cause), -1);
	ck_assert_str_eq(cause, "malformed upgrade response");

	memset(&r, 0, sizeof r);
	memset(big, 'a', sizeof big);
	ck_assert_int_eq(wsframe_response_feed(&r, big, sizeof big, &used,
	    &cause), -1);
	ck_assert_str_eq(cause, "upgrade response too long");
}
END_TEST

/* The request carries the fixed headers, then the caller's. */
START_TEST(test_wsframe_request)
{
	static const unsigned char raw[16] = "the sample nonce";
	static const char *const extra[] = { "X-Schematic-Api-Key", "k1",
	    "X-Other", "v", NULL };
	char	key[WSFRAME_KEY_LEN + 1], *req;

	wsframe_key(raw, key);
	ck_assert_str_eq(key, "dGhlIHNhbXBsZSBub25jZQ==");
	req = wsframe_request("/datastream", "h:8443", key, extra);
	ck_assert_str_eq(req, "GET /datastream HTTP/1.1\r\nHost: h:8443\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nX-Schematic-Api-Key: k1\r\n"
	    "X-Other: v\r\n\r\n");
	free(req);
}
END_TEST

/* Client frames are masked, with 7-, 16- and 64-bit lengths. */
START_TEST(test_wsframe_build)
{
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	unsigned char	*out = malloc(70000 + WSFRAME_HEADER_MAX);
	char		*payload = malloc(70000);
	size_t		 n, i;

	memset(payload, 'x', 70000);
	n = wsframe_build(out, WSFRAME_TEXT, mask, "Hi", 2);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(out[0], 0x81);
	ck_assert_uint_eq(out[1], 0x82);
	ck_assert_uint_eq(out[6], 'H' ^ 1);
	ck_assert_uint_eq(out[7], 'i' ^ 2);
	n = wsframe_build(out, WSFRAME_PING, mask, NULL, 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(out[0], 0x89);
	n = wsframe_build(out, WSFRAME_TEXT, mask, payload, 300);
	ck_assert_uint_eq(n, 4 + 4 + 300);
	ck_assert_uint_eq(out[1], 0x80 | 126);
	ck_assert_uint_eq(out[2] << 8 | out[3], 300);
	n = wsframe_build(out, WSFRAME_TEXT, mask, payload, 70000);
	ck_assert_uint_eq(n, 10 + 4 + 70000);
	ck_assert_uint_eq(out[1], 0x80 | 127);
	for (i = 0; i < 70000; i++)
		ck_assert_uint_eq(out[14 + i] ^ mask[i & 3], 'x');
	free(out);
	free(payload);
}
END_TEST

/* A stream of frames decodes the same at every split size. */
START_TEST(test_wsframe_decode_splits)
{
	static unsigned char	 in[200000];
	static char		 big[70000];
	struct got		 g;
	const char		*cause = NULL;
	size_t			 len = 0, step;
	static const size_t	 steps[] = { 1, 2, 3, 5, 13, 14, 127, 4096,
	    sizeof in };
	size_t			 k;

	memset(big, 'b', sizeof big);
	len += server_frame(in + len, 1, WSFRAME_TEXT, "one", 3);
	len += server_frame(in + len, 0, WSFRAME_TEXT, "tw", 2);
	len += server_frame(in + len, 1, WSFRAME_PING, "p", 1);
	len += server_frame(in + len, 0, WSFRAME_CONTINUATION, "", 0);
	len += server_frame(in + len, 1, WSFRAME_CONTINUATION, "o", 1);
	len += server_frame(in + len, 1, WSFRAME_BINARY, "", 0);
	len += server_frame(in + len, 1, WSFRAME_TEXT, big, 300);
	len += server_frame(in + len, 1, WSFRAME_TEXT, big, sizeof big);
	len += server_frame(in + len, 1, WSFRAME_PONG, "", 0);
	len += server_frame(in + len, 1, WSFRAME_CLOSE, "\x03\xe9" "bye", 5);
	for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		step = steps[k];
		memset(&g, 0, sizeof g);
		ck_assert_int_eq(decode_split(in, len, step, &g, &cause), 0);
		ck_assert_uint_eq(g.len, 3 + 1 + 3 + 1 + 1 + 300 + 1 +
		    sizeof big + 1);
		ck_assert(memcmp(g.text, "one|two||", 9) == 0);
		ck_assert_int_eq(g.firsts, 5);
		ck_assert_int_eq(g.finals, 5);
		ck_assert_int_eq(g.binary, 1);
		ck_assert_int_eq(g.ncontrols, 3);
		ck_assert_int_eq(g.controls[0], WSFRAME_PING);
		ck_assert_int_eq(g.controls[1], WSFRAME_PONG);
		ck_assert_int_eq(g.controls[2], WSFRAME_CLOSE);
		ck_assert_uint_eq(g.control_len[2], 5);
		ck_assert(memcmp(g.control[2], "\x03\xe9" "bye", 5) == 0);
	}
}
END_TEST

/* A frame whole in one buffer is handed over in place, in one chunk. */
START_TEST(test_wsframe_decode_in_place)
{
	unsigned char			 in[64];
	struct wsframe_decoder		 d;
	const char			*cause;
	size_t				 len;

	struct got			 g;
	struct wsframe_handler		 h = { got_data, got_control, &g };

	len = server_frame(in, 1, WSFRAME_TEXT, "{\"a\":1}", 7);
	memset(&g, 0, sizeof g);
	g.in = in;
	g.in_len = len;
	wsframe_decoder_init(&d);
	ck_assert_int_eq(wsframe_decode(&d, in, len, &h, &cause), 0);
	ck_assert_int_eq(g.firsts, 1);
	ck_assert_int_eq(g.finals, 1);
	ck_assert_str_eq(g.text, "{\"a\":1}|");
}
END_TEST

/* A handler's non-zero return stops decoding there. */
START_TEST(test_wsframe_decode_stop)
{
	unsigned char	 in[64];
	struct got	 g;
	const char	*cause;
	size_t		 len = 0;

	len += server_frame(in + len, 1, WSFRAME_CLOSE, "\x03\xe8", 2);
	len += server_frame(in + len, 1, WSFRAME_TEXT, "after", 5);
	memset(&g, 0, sizeof g);
	g.stop_on_close = 1;
	ck_assert_int_eq(decode_split(in, len, len, &g, &cause), 1);
	ck_assert_uint_eq(g.len, 0);
}
END_TEST

/* What a client must refuse. */
START_TEST(test_wsframe_decode_errors)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*cause;
	} bad[] = {
		{ "\x81\x81" "abcd" "x", 7, "masked frame from the server" },
		{ "\xc1\x00", 2, "reserved frame bits set" },
		{ "\x91\x00", 2, "reserved frame bits set" },
		{ "\x83\x00", 2, "unknown frame opcode" },
		{ "\x8b\x00", 2, "unknown frame opcode" },
		{ "\x09\x00", 2, "bad control frame" },
		{ "\x89\x7e\x00\x7e", 4, "bad control frame" },
		{ "\x80\x00", 2, "continuation frame without a message" },
		{ "\x01\x00\x81\x00", 4, "new message inside a fragmented one" },
		{ "\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10,
		    "frame length out of range" },
	};
	struct got	 g;
	const char	*cause;
	size_t		 i, step;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		for (step = 1; step <= bad[i].len; step++) {
			memset(&g, 0, sizeof g);
			cause = NULL;
			ck_assert_int_eq(decode_split((const unsigned char *)
			    bad[i].in, bad[i].len, step, &g, &cause), -1);
			ck_assert_str_eq(cause, bad[i].cause);
		}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("wsframe");
	TCase	*tc = tcase_create("wsframe");

	tcase_add_test(tc, test_wsframe_accept);
	tcase_add_test(tc, test_wsframe_response_errors);
	tcase_add_test(tc, test_wsframe_request);
	tcase_add_test(tc, test_wsframe_build);
	tcase_add_test(tc, test_wsframe_decode_splits);
	tcase_add_test(tc, test_wsframe_decode_in_place);
	tcase_add_test(tc, test_wsframe_decode_stop);
	tcase_add_test(tc, test_wsframe_decode_errors);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
