/*
 * streamctl.c - schematic-streamctl, the command-line client of
 * schematic-streamd: one request on the control socket per run (status,
 * subscribe, unsubscribe, send, ping), or the stream socket printed
 * (tail). See schematic-streamctl(1); the protocol is
 * schematic-streamd-control(7).
 *
 * Exit status: 0 ok, 1 the daemon answered with an error, 2 usage,
 * 69 a socket cannot be reached (or the daemon did not answer). Plain C
 * and jansson; never links libwebsockets.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

#define STREAMCTL_CONTROL_SOCKET "/run/schematic-streamd/control.sock"
#define STREAMCTL_STREAM_SOCKET	"/run/schematic-streamd/stream.sock"
#define STREAMCTL_REPLY_TIMEOUT_S 10
#define STREAMCTL_READ_CHUNK	65536

#define EXIT_ERROR_REPLY	1
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	69

static const char *streamctl_usage_text =
    "usage: schematic-streamctl [-s CONTROL_SOCKET] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  status [--json]                  the daemon's state and counters\n"
    "  subscribe TYPE [KEY=VALUE ...]   subscribe, now and on every "
    "connection\n"
    "  unsubscribe TYPE [KEY=VALUE ...] drop a subscription made here\n"
    "  send JSON                        send one message to the server\n"
    "  ping                             check that the daemon answers\n"
    "  tail [-S STREAM_SOCKET] [--pretty]  print the stream\n"
    "\n"
    "TYPE: flags, flag, company, companies, user, users, or the full\n"
    "rulesengine. names. Sockets default to $STREAMD_CONTROL_SOCKET and\n"
    "$STREAMD_STREAM_SOCKET, else " STREAMCTL_CONTROL_SOCKET " and\n"
    STREAMCTL_STREAM_SOCKET ".\n"
    "Exit status: 0 ok, 1 error reply, 2 usage, 69 socket unreachable.\n";

/* Print a message on stderr and exit with STATUS. */
static void __attribute__((noreturn, format(printf, 2, 3)))
streamctl_die(int status, const char *fmt, ...)
{
	va_list	ap;

	fputs("schematic-streamctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE)
		fputs("Try 'schematic-streamctl --help'.\n", stderr);
	exit(status);
}

/* A socket path: the option, else the environment, else the default. */
static const char *
streamctl_path(const char *option, const char *env, const char *def)
{
	const char	*p;

	if (option != NULL)
		return option;
	if ((p = getenv(env)) != NULL && *p != '\0')
		return p;
	return def;
}

/* Connect to the Unix socket PATH, or exit 69. */
static int
streamctl_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		streamctl_die(EXIT_USAGE, "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		streamctl_die(EXIT_UNREACHABLE, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		streamctl_die(EXIT_UNREACHABLE, "cannot connect to %s: %s",
		    path, strerror(errno));
	return fd;
}

/* Write all of BUF (LEN bytes) to FD; -1 on error. */
static int
streamctl_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read once from FD (the socket PATH) into *BUF after its *LEN bytes,
 * growing it (*CAP); returns the bytes read, 0 at EOF. Exits 69 on error
 * or when a receive timeout expires.
 */
static ssize_t
streamctl_read(int fd, char **buf, size_t *len, size_t *cap,
    const char *path)
{
	ssize_t	n;

	if (*len + STREAMCTL_READ_CHUNK > *cap) {
		*cap = *cap ? *cap * 2 : STREAMCTL_READ_CHUNK * 2;
		if ((*buf = realloc(*buf, *cap)) == NULL)
			streamctl_die(EXIT_ERROR_REPLY, "out of memory");
	}
	while ((n = read(fd, *buf + *len, STREAMCTL_READ_CHUNK)) < 0 &&
	    errno == EINTR)
		continue;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		streamctl_die(EXIT_UNREACHABLE, "no reply from %s within %ds",
		    path, STREAMCTL_REPLY_TIMEOUT_S);
	if (n < 0)
		streamctl_die(EXIT_UNREACHABLE, "cannot read from %s: %s", path,
		    strerror(errno));
	*len += (size_t)n;
	return n;
}

/*
 * Send REQ (consumed) on the control socket PATH and return the reply
 * object; *LINE gets the reply's text. Exits 69 if the daemon cannot be
 * reached or does not answer.
 */
static json_t *
streamctl_request(const char *path, json_t *req, char **line)
{
	struct timeval	 tv = { STREAMCTL_REPLY_TIMEOUT_S, 0 };
	json_error_t	 err;
	json_t		*reply;
	char		*text, *buf = NULL, *nl = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fd;

	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		streamctl_die(EXIT_USAGE, "cannot encode the request");
	fd = streamctl_connect(path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (streamctl_write_all(fd, text, strlen(text)) != 0 ||
	    streamctl_write_all(fd, "\n", 1) != 0)
		streamctl_die(EXIT_UNREACHABLE, "cannot send to %s: %s", path,
		    strerror(errno));
	free(text);
	do {
		if ((n = streamctl_read(fd, &buf, &len, &cap, path)) == 0)
			streamctl_die(EXIT_UNREACHABLE, "%s closed the "
			    "connection without a reply", path);
	} while ((nl = memchr(buf + len - (size_t)n, '\n', (size_t)n)) ==
	    NULL);
	close(fd);
	*nl = '\0';
	if ((reply = json_loads(buf, 0, &err)) == NULL ||
	    !json_is_object(reply)) {
		json_decref(reply);
		streamctl_die(EXIT_UNREACHABLE, "unreadable reply from %s",
		    path);
	}
	*line = buf;
	return reply;
}

/*
 * Send REQ and return the reply when it is ok; an error reply exits 1
 * with its message. *LINE (if not NULL) gets the reply's text.
 */
static json_t *
streamctl_call(const char *path, json_t *req, char **line)
{
	json_t	*reply, *error;
	char	*text;

	reply = streamctl_request(path, req, &text);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		error = json_object_get(reply, "error");
		fprintf(stderr, "schematic-streamctl: %s\n",
		    json_is_string(error) ? json_string_value(error) :
		    "the daemon refused the request");
		exit(EXIT_ERROR_REPLY);
	}
	if (line != NULL)
		*line = text;
	else
		free(text);
	return reply;
}

/* {"cmd":CMD,"entity_type":TYPE,"keys":{...}} from TYPE [KEY=VALUE ...]. */
static json_t *
streamctl_sub_request(const char *cmd, int argc, char **argv)
{
	const char	*type;
	json_t		*req, *keys;
	char		*eq;
	int		 i;

	if (argc < 1)
		streamctl_die(EXIT_USAGE, "%s: missing TYPE", cmd);
	if ((type = config_entity_type(argv[0])) == NULL)
		streamctl_die(EXIT_USAGE, "%s: unknown TYPE \"%s\" (use flags, "
		    "flag, company, companies, user or users)", cmd, argv[0]);
	req = json_pack("{s:s,s:s}", "cmd", cmd, "entity_type", type);
	keys = json_object();
	for (i = 1; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i] ||
		    eq[1] == '\0')
			streamctl_die(EXIT_USAGE, "%s: invalid key \"%s\" (use "
			    "KEY=VALUE)", cmd, argv[i]);
		*eq = '\0';
		if (json_object_get(keys, argv[i]) != NULL)
			streamctl_die(EXIT_USAGE, "%s: duplicate key \"%s\"",
			    cmd, argv[i]);
		if (json_object_set_new(keys, argv[i], json_string(eq + 1)) !=
		    0)
			streamctl_die(EXIT_USAGE, "%s: key \"%s\" is not valid "
			    "UTF-8", cmd, argv[i]);
	}
	if (json_object_size(keys) > 0)
		json_object_set_new(req, "keys", keys);
	else
		json_decref(keys);
	return req;
}

/*
 * TYPE [KEY=VALUE ...] for messages, once streamctl_sub_request has split
 * each KEY=VALUE at its '=' (KEY and VALUE are adjacent strings now).
 */
static void
streamctl_print_sub(const char *verb, int argc, char **argv)
{
	int	i;

	printf("%s %s", verb, config_entity_type(argv[0]));
	for (i = 1; i < argc; i++)
		printf(" %s=%s", argv[i], argv[i] + strlen(argv[i]) + 1);
}

/* subscribe / unsubscribe TYPE [KEY=VALUE ...]. */
static int
streamctl_sub(const char *path, const char *cmd, int argc, char **argv)
{
	json_t	*reply;

	reply = streamctl_call(path, streamctl_sub_request(cmd, argc, argv),
	    NULL);
	if (strcmp(cmd, "subscribe") == 0) {
		streamctl_print_sub("subscribed to", argc, argv);
		if (json_is_true(json_object_get(reply, "duplicate")))
			fputs(" (already subscribed)", stdout);
		if (json_is_true(json_object_get(reply, "pending")))
			fputs(" (pending: sent once connected)", stdout);
	} else {
		streamctl_print_sub("unsubscribed from", argc, argv);
		if (!json_is_true(json_object_get(reply, "sent")))
			fputs(" (not connected: nothing to stop)", stdout);
	}
	putchar('\n');
	json_decref(reply);
	return 0;
}

/* send JSON. */
static int
streamctl_send(const char *path, int argc, char **argv)
{
	json_error_t	 err;
	json_t		*message;

	if (argc != 1)
		streamctl_die(EXIT_USAGE, "send: expected one JSON argument");
	if ((message = json_loads(argv[0], JSON_DECODE_ANY, &err)) == NULL)
		streamctl_die(EXIT_USAGE, "send: invalid JSON: %s", err.text);
	if (!json_is_object(message)) {
		json_decref(message);
		streamctl_die(EXIT_USAGE, "send: the message must be a JSON "
		    "object");
	}
	json_decref(streamctl_call(path, json_pack("{s:s,s:o}", "cmd", "send",
	    "message", message), NULL));
	puts("sent");
	return 0;
}

/* Print one status field: LABEL, then VALUE, or "-" when null/missing. */
static void
streamctl_field(const char *label, json_t *value, const char *suffix)
{
	printf("%-20s", label);
	if (json_is_string(value))
		fputs(json_string_value(value), stdout);
	else if (json_is_integer(value))
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
	else
		fputs("-", stdout);
	printf("%s\n", suffix);
}

/* The subscriptions of a status, one per line. */
static void
streamctl_print_subs(json_t *subs)
{
	const char	*name;
	json_t		*sub, *value;
	size_t		 i;

	printf("%-20s%zu\n", "subscriptions:", json_array_size(subs));
	json_array_foreach(subs, i, sub) {
		printf("  %s", json_string_value(json_object_get(sub,
		    "entity_type")));
		json_object_foreach(json_object_get(sub, "keys"), name, value)
			printf(" %s=%s", name, json_string_value(value));
		if (json_is_true(json_object_get(sub, "configured")))
			fputs(" (configured)", stdout);
		putchar('\n');
	}
}

/* status [--json]. */
static int
streamctl_status(const char *path, int argc, char **argv)
{
	json_t	*reply, *st;
	char	*line;
	int	 raw = 0, i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			raw = 1;
		else
			streamctl_die(EXIT_USAGE, "status: unexpected argument "
			    "\"%s\"", argv[i]);
	}
	reply = streamctl_call(path, json_pack("{s:s}", "cmd", "status"),
	    &line);
	if (raw) {
		puts(line);
		free(line);
		json_decref(reply);
		return 0;
	}
	free(line);
	st = json_object_get(reply, "status");
	streamctl_field("state:", json_object_get(st, "state"), "");
	streamctl_field("upstream:", json_object_get(st, "url"), "");
	streamctl_field("connected since:", json_object_get(st,
	    "connected_since"), "");
	streamctl_field("last message:", json_object_get(st, "last_message"),
	    "");
	streamctl_field("last stream id:", json_object_get(st,
	    "last_stream_id"), "");
	streamctl_field("reconnects:", json_object_get(st, "reconnects"), "");
	streamctl_field("failures in a row:", json_object_get(st,
	    "consecutive_failures"), "");
	if (json_object_get(st, "next_attempt_in_ms") != NULL)
		streamctl_field("next attempt in:", json_object_get(st,
		    "next_attempt_in_ms"), " ms");
	streamctl_field("messages in:", json_object_get(st, "messages_in"), "");
	streamctl_field("bytes in:", json_object_get(st, "bytes_in"), "");
	streamctl_field("messages dropped:", json_object_get(st,
	    "messages_dropped"), "");
	streamctl_field("readers:", json_object_get(st, "readers"), "");
	streamctl_field("readers cut off:", json_object_get(st,
	    "readers_cut_off"), "");
	streamctl_field("lines out:", json_object_get(st, "lines_out"), "");
	streamctl_field("queued bytes:", json_object_get(st, "queued_bytes"),
	    "");
	streamctl_field("control clients:", json_object_get(st,
	    "control_clients"), "");
	streamctl_print_subs(json_object_get(st, "subscriptions"));
	streamctl_field("last error:", json_object_get(st, "last_error"), "");
	streamctl_field("version:", json_object_get(st, "version"), "");
	streamctl_field("pid:", json_object_get(st, "pid"), "");
	json_decref(reply);
	return 0;
}

/* ping. */
static int
streamctl_ping(const char *path, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		streamctl_die(EXIT_USAGE, "ping takes no arguments");
	json_decref(streamctl_call(path, json_pack("{s:s}", "cmd", "ping"),
	    NULL));
	puts("pong");
	return 0;
}

/* Print one stream line (LEN bytes, no newline), pretty if it parses. */
static void
streamctl_pretty_line(const char *line, size_t len)
{
	json_t	*j;

	if ((j = json_loadb(line, len, JSON_DECODE_ANY, NULL)) != NULL) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_ENCODE_ANY);
		json_decref(j);
	} else
		fwrite(line, 1, len, stdout);
	putchar('\n');
	fflush(stdout);
}

/* Copy the stream PATH (on FD) to stdout until EOF; PRETTY indents lines. */
static int
streamctl_copy_stream(int fd, const char *path, int pretty)
{
	char	*buf = NULL, *nl;
	size_t	 len = 0, cap = 0, start, scan;
	ssize_t	 n;
	int	 rc = 0;

	while ((n = streamctl_read(fd, &buf, &len, &cap, path)) > 0) {
		if (!pretty) {
			len = 0;
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
			    fflush(stdout) != 0) {
				rc = 1;
				break;
			}
			continue;
		}
		/* Only the bytes just read can hold a new line's end. */
		start = 0;
		scan = len - (size_t)n;
		while ((nl = memchr(buf + scan, '\n', len - scan)) != NULL) {
			streamctl_pretty_line(buf + start,
			    (size_t)(nl - (buf + start)));
			start = scan = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
	}
	if (pretty && len > 0)
		streamctl_pretty_line(buf, len);
	free(buf);
	return rc;
}

/* tail [-S STREAM_SOCKET] [--pretty]. */
static int
streamctl_tail(int argc, char **argv)
{
	const char	*socket_path = NULL;
	int		 pretty = 0, i, fd, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--pretty") == 0 ||
		    strcmp(argv[i], "-p") == 0)
			pretty = 1;
		else if ((strcmp(argv[i], "-S") == 0 ||
		    strcmp(argv[i], "--stream-socket") == 0) && i + 1 < argc)
			socket_path = argv[++i];
		else if (strncmp(argv[i], "--stream-socket=", 16) == 0)
			socket_path = argv[i] + 16;
		else
			streamctl_die(EXIT_USAGE, "tail: unexpected argument "
			    "\"%s\"", argv[i]);
	}
	socket_path = streamctl_path(socket_path, "STREAMD_STREAM_SOCKET",
	    STREAMCTL_STREAM_SOCKET);
	fd = streamctl_connect(socket_path);
	rc = streamctl_copy_stream(fd, socket_path, pretty);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*socket_opt = NULL, *path, *cmd;
	int		 ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket_opt = optarg;
			break;
		case 'h':
			fputs(streamctl_usage_text, stdout);
			return 0;
		case 'V':
			printf("schematic-streamctl %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			streamctl_die(EXIT_USAGE, "option %s requires an "
			    "argument", argv[optind - 1]);
		default:
			streamctl_die(EXIT_USAGE, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		streamctl_die(EXIT_USAGE, "missing COMMAND");
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	path = streamctl_path(socket_opt, "STREAMD_CONTROL_SOCKET",
	    STREAMCTL_CONTROL_SOCKET);
	if (strcmp(cmd, "status") == 0)
		return streamctl_status(path, argc, argv);
	if (strcmp(cmd, "subscribe") == 0 || strcmp(cmd, "unsubscribe") == 0)
		return streamctl_sub(path, cmd, argc, argv);
	if (strcmp(cmd, "send") == 0)
		return streamctl_send(path, argc, argv);
	if (strcmp(cmd, "ping") == 0)
		return streamctl_ping(path, argc, argv);
	if (strcmp(cmd, "tail") == 0)
		return streamctl_tail(argc, argv);
	streamctl_die(EXIT_USAGE, "unknown command \"%s\"", cmd);
}
