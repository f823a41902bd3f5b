/*
 * wsframe.h - a pure RFC 6455 client codec: the upgrade request and its
 * response, masked client frames, and an incremental frame decoder. No
 * sockets: the caller moves the bytes.
 */
#ifndef STREAMD_WSFRAME_H
#define STREAMD_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSFRAME_CONTINUATION	0x0
#define WSFRAME_TEXT		0x1
#define WSFRAME_BINARY		0x2
#define WSFRAME_CLOSE		0x8
#define WSFRAME_PING		0x9
#define WSFRAME_PONG		0xa

#define WSFRAME_HEADER_MAX	14	/* a client frame's header, mask included */
#define WSFRAME_CONTROL_MAX	125	/* a control frame's payload */
#define WSFRAME_KEY_LEN		24	/* Sec-WebSocket-Key, base64 of 16 bytes */
#define WSFRAME_RESPONSE_MAX	8192	/* the upgrade response head */

/* The upgrade response head, read incrementally. */
struct wsframe_response {
	char		head[WSFRAME_RESPONSE_MAX + 1];
	size_t		len;
	int		status;		/* of the status line, once complete */
};

/* What the decoder hands over; a non-zero return stops decoding. */
struct wsframe_handler {
	/* A chunk of a data message: FIRST of the message, FINAL of it. */
	int	(*data)(void *arg, const unsigned char *, size_t, int first,
		    int final, int binary);
	/* A whole control frame (close, ping, pong). */
	int	(*control)(void *arg, int opcode, const unsigned char *,
		    size_t);
	void	 *arg;
};

/* The decoder's state between reads. */
struct wsframe_decoder {
	unsigned char	header[WSFRAME_HEADER_MAX];
	size_t		header_len;
	size_t		header_need;
	int		opcode;
	int		fin;
	uint64_t	left;		/* payload bytes of this frame to come */
	int		in_message;	/* a fragmented data message is open */
	int		message_started; /* its first chunk was handed over */
	int		binary;
	unsigned char	control[WSFRAME_CONTROL_MAX];
	size_t		control_len;
};

void	wsframe_key(const unsigned char[16], char[WSFRAME_KEY_LEN + 1]);
char	*wsframe_request(const char *, const char *, const char *,
	    const char *const *);
int	wsframe_response_feed(struct wsframe_response *, const char *, size_t,
	    size_t *, const char **);
int	wsframe_response_check(const struct wsframe_response *, const char *,
	    const char **);
size_t	wsframe_build(unsigned char *, int, const unsigned char[4],
	    const void *, size_t);
void	wsframe_decoder_init(struct wsframe_decoder *);
int	wsframe_decode(struct wsframe_decoder *, const unsigned char *, size_t,
	    const struct wsframe_handler *, const char **);

#endif
