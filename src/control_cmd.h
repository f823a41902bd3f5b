/*
 * control_cmd.h - the commands of the control socket: one request line in,
 * one reply object out.
 */
#ifndef STREAMD_CONTROL_CMD_H
#define STREAMD_CONTROL_CMD_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct control_sources;

/* Who sent a request (SO_PEERCRED), for the log. */
struct control_peer {
	pid_t	pid;
	uid_t	uid;
};

json_t	*control_cmd_run(const struct control_sources *,
	    const struct control_peer *, unsigned, const char *, size_t);
json_t	*control_cmd_error(json_t *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
