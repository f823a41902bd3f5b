/*
 * listener.h - Unix listening sockets: bind with mode and group, detect a
 * live owner, replace a stale file.
 */
#ifndef STREAMD_LISTENER_H
#define STREAMD_LISTENER_H

#include <sys/types.h>

int	listener_open(const char *, mode_t, const char *, char **);
void	listener_unlink(const char *);
int	listener_accept(int, pid_t *, uid_t *);
int	listener_from_systemd(const char *, const char *, int *, int *,
	    char **);

#endif
