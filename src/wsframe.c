/*
 * wsframe.c - the RFC 6455 client side, as a codec over byte buffers.
 *
 * Owns nothing but the state structs its caller embeds. The decoder takes
 * any split of the byte stream (a frame header may arrive a byte at a
 * time), hands each data chunk over in place (never copied: a chunk is a
 * span of the caller's buffer), and keeps only control payloads (at most
 * 125 bytes). It rejects what a client must not accept: masked frames,
 * reserved bits, unknown opcodes, fragmented or long control frames, and
 * continuations without a message. Never touches a socket, never logs.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "util.h"
#include "wsframe.h"

#define WSFRAME_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The Sec-WebSocket-Key for 16 random bytes RAW. */
void
wsframe_key(const unsigned char raw[16], char key[WSFRAME_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)key, raw, 16);
}

/*
 * The upgrade request for PATH on HOST (the Host header value) with KEY;
 * HEADERS are extra name, value pairs ending with NULL. Malloc'd; the
 * caller wipes it if a header is secret.
 */
char *
wsframe_request(const char *path, const char *host, const char *key,
    const char *const *headers)
{
	char	*req, *next;
	size_t	 i;

	xasprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n", path, host, key);
	for (i = 0; headers != NULL && headers[i] != NULL &&
	    headers[i + 1] != NULL; i += 2) {
		xasprintf(&next, "%s%s: %s\r\n", req, headers[i],
		    headers[i + 1]);
		explicit_bzero(req, strlen(req));
		free(req);
		req = next;
	}
	xasprintf(&next, "%s\r\n", req);
	explicit_bzero(req, strlen(req));
	free(req);
	return next;
}

/*
 * Feed LEN bytes of IN to the response head. Returns 0 when more is
 * needed (all of IN taken), 1 when the head is complete (*USED: the bytes
 * of IN it took; the rest are frames), -1 with *CAUSE if it is malformed
 * or too long. The status is in R->status once complete.
 */
int
wsframe_response_feed(struct wsframe_response *r, const char *in, size_t len,
    size_t *used, const char **cause)
{
	size_t	 start = r->len > 3 ? r->len - 3 : 0, take;
	char	*end;
	int	 status;

	take = WSFRAME_RESPONSE_MAX - r->len;
	if (take > len)
		take = len;
	memcpy(r->head + r->len, in, take);
	r->len += take;
	r->head[r->len] = '\0';
	*used = take;
	if (memchr(r->head + r->len - take, '\0', take) != NULL) {
		*cause = "malformed upgrade response";
		return -1;
	}
	if ((end = strstr(r->head + start, "\r\n\r\n")) == NULL) {
		if (r->len == WSFRAME_RESPONSE_MAX) {
			*cause = "upgrade response too long";
			return -1;
		}
		return 0;
	}
	*used = take - (r->len - (size_t)(end + 4 - r->head));
	r->len = (size_t)(end + 2 - r->head);	/* keep the last CRLF */
	r->head[r->len] = '\0';
	if (strncmp(r->head, "HTTP/1.", 7) != 0 || r->head[8] != ' ' ||
	    sscanf(r->head + 9, "%3d", &status) != 1 || status < 100) {
		*cause = "malformed upgrade response";
		return -1;
	}
	r->status = status;
	return 1;
}

/* The value of header NAME in the complete head R (its length in *LEN). */
static const char *
wsframe_header(const struct wsframe_response *r, const char *name,
    size_t *len)
{
	const char	*line = strstr(r->head, "\r\n"), *colon, *eol;
	size_t		 nlen = strlen(name);

	while (line != NULL && line[2] != '\0') {
		line += 2;
		eol = strstr(line, "\r\n");
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon != NULL && (size_t)(colon - line) == nlen &&
		    strncasecmp(line, name, nlen) == 0) {
			colon++;
			while (colon < eol && (*colon == ' ' || *colon == '\t'))
				colon++;
			while (eol > colon && (eol[-1] == ' ' ||
			    eol[-1] == '\t'))
				eol--;
			*len = (size_t)(eol - colon);
			return colon;
		}
		line = eol;
	}
	return NULL;
}

/* Whether the comma-separated VALUE (LEN bytes) holds TOKEN. */
static int
wsframe_has_token(const char *value, size_t len, const char *token)
{
	size_t	tlen = strlen(token), i = 0, s, e;

	while (i < len) {
		while (i < len && (value[i] == ' ' || value[i] == ','))
			i++;
		s = i;
		while (i < len && value[i] != ',')
			i++;
		e = i;
		while (e > s && value[e - 1] == ' ')
			e--;
		if (e - s == tlen && strncasecmp(value + s, token, tlen) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether the complete head R accepts the upgrade asked for with KEY:
 * 101, Upgrade: websocket, Connection: upgrade and the right
 * Sec-WebSocket-Accept. -1 with *CAUSE if not.
 */
int
wsframe_response_check(const struct wsframe_response *r, const char *key,
    const char **cause)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 cat[WSFRAME_KEY_LEN + sizeof WSFRAME_GUID];
	char		 accept[32];
	const char	*v;
	unsigned	 mdlen;
	size_t		 len;

	if (r->status != 101) {
		*cause = "upgrade response not 101";
		return -1;
	}
	if ((v = wsframe_header(r, "Upgrade", &len)) == NULL ||
	    !wsframe_has_token(v, len, "websocket")) {
		*cause = "upgrade response without Upgrade: websocket";
		return -1;
	}
	if ((v = wsframe_header(r, "Connection", &len)) == NULL ||
	    !wsframe_has_token(v, len, "upgrade")) {
		*cause = "upgrade response without Connection: upgrade";
		return -1;
	}
	snprintf(cat, sizeof cat, "%s%s", key, WSFRAME_GUID);
	if (EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL) != 1) {
		*cause = "cannot compute SHA-1";
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
	if ((v = wsframe_header(r, "Sec-WebSocket-Accept", &len)) == NULL ||
	    len != strlen(accept) || memcmp(v, accept, len) != 0) {
		*cause = "bad Sec-WebSocket-Accept";
		return -1;
	}
	return 0;
}

/*
 * A final client frame of OPCODE with LEN bytes of PAYLOAD, masked with
 * MASK, into OUT (room for LEN + WSFRAME_HEADER_MAX). Returns its size.
 */
size_t
wsframe_build(unsigned char *out, int opcode, const unsigned char mask[4],
    const void *payload, size_t len)
{
	const unsigned char	*p = payload;
	size_t			 h = 2, i;

	out[0] = (unsigned char)(0x80 | opcode);
	if (len < 126)
		out[1] = (unsigned char)(0x80 | len);
	else if (len <= 0xffff) {
		out[1] = 0x80 | 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		h = 4;
	} else {
		out[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, mask, 4);
	for (i = 0; i < len; i++)
		out[h + 4 + i] = p[i] ^ mask[i & 3];
	return h + 4 + len;
}

/* A decoder at the start of a connection's frames. */
void
wsframe_decoder_init(struct wsframe_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->header_need = 2;
}

/* The header is complete: check it and start its frame. -1: bad. */
static int
wsframe_header_done(struct wsframe_decoder *d, const char **cause)
{
	size_t	i;

	d->opcode = d->header[0] & 0x0f;
	d->fin = d->header[0] >> 7;
	d->left = d->header[1] & 0x7f;
	if (d->left == 126)
		d->left = (uint64_t)d->header[2] << 8 | d->header[3];
	else if (d->left == 127) {
		for (d->left = 0, i = 0; i < 8; i++)
			d->left = d->left << 8 | d->header[2 + i];
		if (d->left >> 63) {
			*cause = "frame length out of range";
			return -1;
		}
	}
	if (d->header[0] & 0x70) {
		*cause = "reserved frame bits set";
		return -1;
	}
	switch (d->opcode) {
	case WSFRAME_CLOSE:
	case WSFRAME_PING:
	case WSFRAME_PONG:
		if (!d->fin || d->left > WSFRAME_CONTROL_MAX) {
			*cause = "bad control frame";
			return -1;
		}
		d->control_len = 0;
		return 0;
	case WSFRAME_CONTINUATION:
		if (!d->in_message) {
			*cause = "continuation frame without a message";
			return -1;
		}
		return 0;
	case WSFRAME_TEXT:
	case WSFRAME_BINARY:
		if (d->in_message) {
			*cause = "new message inside a fragmented one";
			return -1;
		}
		d->in_message = 1;
		d->message_started = 0;
		d->binary = d->opcode == WSFRAME_BINARY;
		return 0;
	default:
		*cause = "unknown frame opcode";
		return -1;
	}
}

/* Hand over N payload bytes at P of the current data frame. */
static int
wsframe_data(struct wsframe_decoder *d, const unsigned char *p, size_t n,
    const struct wsframe_handler *h)
{
	int	first = !d->message_started, final = d->left == 0 && d->fin;

	d->message_started = 1;
	if (final)
		d->in_message = d->message_started = 0;
	return h->data(h->arg, p, n, first, final, d->binary);
}

/*
 * Decode LEN bytes at IN, handing data and control frames to H. Returns 0
 * when all is consumed, 1 when a handler stopped it, -1 with *CAUSE on a
 * protocol error (the connection must end).
 */
int
wsframe_decode(struct wsframe_decoder *d, const unsigned char *in, size_t len,
    const struct wsframe_handler *h, const char **cause)
{
	const unsigned char	*p = in, *end = in + len;
	size_t			 n;
	int			 control;

	while (p < end || (d->header_len == d->header_need && d->left == 0)) {
		if (d->header_len < d->header_need) {
			d->header[d->header_len++] = *p++;
			if (d->header_len == 2) {
				if (d->header[1] & 0x80) {
					*cause = "masked frame from the server";
					return -1;
				}
				n = d->header[1] & 0x7f;
				d->header_need = 2 + (n == 126 ? 2 : n == 127 ?
				    8 : 0);
			}
			if (d->header_len < d->header_need)
				continue;
			if (wsframe_header_done(d, cause) != 0)
				return -1;
			if (d->left > 0)
				continue;
		}
		n = (size_t)(end - p) < d->left ? (size_t)(end - p) :
		    (size_t)d->left;
		d->left -= n;
		control = d->opcode >= WSFRAME_CLOSE;
		if (control) {
			memcpy(d->control + d->control_len, p, n);
			d->control_len += n;
		}
		p += n;
		if (d->left == 0) {
			d->header_len = 0;
			d->header_need = 2;
		}
		if (control) {
			if (d->left == 0 && h->control(h->arg, d->opcode,
			    d->control, d->control_len) != 0)
				return 1;
		} else if (wsframe_data(d, p - n, n, h) != 0)
			return 1;
	}
	return 0;
}
