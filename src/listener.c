/*
 * listener.c - creating and accepting on Unix listening sockets.
 *
 * Never removes anything but a socket file nobody answers on; never
 * follows a path component it did not expect. Errors go back as *cause.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "listener.h"
#include "util.h"

/* Fill SUN for PATH; -1 if it does not fit. */
static int
listener_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path)
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Create PATH's parent directory (one level) if it is missing. */
static int
listener_mkdir_parent(const char *path, char **cause)
{
	char	*copy = xstrdup(path), *dir = dirname(copy);

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		free(copy);
		return -1;
	}
	free(copy);
	return 0;
}

/*
 * Is there a live listener at PATH? 1 yes, 0 no (nothing there, or a stale
 * socket file, which is removed), -1 on error (e.g. not a socket).
 */
static int
listener_check_existing(const char *path, const struct sockaddr_un *sun,
    char **cause)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket; not replacing "
		    "it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	close(fd);
	if (rc == 0) {
		xasprintf(cause, "%s is in use by a running daemon", path);
		return 1;
	}
	if (errno != ECONNREFUSED) {
		xasprintf(cause, "cannot probe %s: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		xasprintf(cause, "cannot remove stale %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Listen on PATH with permissions MODE and group GROUP (NULL: unchanged).
 * Returns a non-blocking descriptor, or -1 with *CAUSE.
 */
int
listener_open(const char *path, mode_t mode, const char *group, char **cause)
{
	struct sockaddr_un	 sun;
	struct group		*gr = NULL;
	mode_t			 old_umask;
	int			 fd;

	if (listener_addr(path, &sun) != 0) {
		xasprintf(cause, "socket path too long: %s", path);
		return -1;
	}
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		xasprintf(cause, "unknown group \"%s\"", group);
		return -1;
	}
	if (listener_mkdir_parent(path, cause) != 0)
		return -1;
	if (listener_check_existing(path, &sun, cause) != 0)
		return -1;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/* Bind with no permissions at all; open up only once chmod'ed. */
	old_umask = umask(0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old_umask);
		xasprintf(cause, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old_umask);
	if ((gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) != 0) ||
	    chmod(path, mode) != 0) {
		xasprintf(cause, "cannot set owner/mode of %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		xasprintf(cause, "cannot listen on %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Remove the socket file at PATH (on clean exit). */
void
listener_unlink(const char *path)
{
	if (path != NULL)
		unlink(path);
}

/*
 * Accept one connection on FD: non-blocking, close-on-exec, with the
 * peer's pid and uid (SO_PEERCRED). -1 with errno when there is none.
 */
int
listener_accept(int fd, pid_t *pid, uid_t *uid)
{
	struct ucred	cred;
	socklen_t	len = sizeof cred;
	int		cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd == -1)
		return -1;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		*pid = cred.pid;
		*uid = cred.uid;
	} else {
		*pid = 0;
		*uid = (uid_t)-1;
	}
	return cfd;
}

/* Is FD bound to the Unix socket path PATH? */
static int
listener_bound_to(int fd, const char *path)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof sun;

	if (path == NULL ||
	    getsockname(fd, (struct sockaddr *)&sun, &len) != 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	return strncmp(sun.sun_path, path, sizeof sun.sun_path) == 0;
}

/*
 * Take the listening sockets systemd passed (socket activation): by their
 * FileDescriptorName, "stream" into *STREAM_FD and "control" into
 * *CONTROL_FD; a socket with another name (one .socket unit names all its
 * sockets alike) by its path, STREAM_PATH or CONTROL_PATH; a single
 * unnamed socket is the stream socket. -1 where none was passed. Returns
 * the number taken, or -1 with *CAUSE for a descriptor that is not a
 * listening Unix stream socket or cannot be told apart.
 */
int
listener_from_systemd(const char *stream_path, const char *control_path,
    int *stream_fd, int *control_fd, char **cause)
{
	char	**names = NULL;
	int	  n, i, fd, *slot, rc;

	*stream_fd = *control_fd = -1;
	if ((n = sd_listen_fds_with_names(1, &names)) <= 0) {
		if (n < 0)
			xasprintf(cause, "socket activation: %s", strerror(-n));
		free(names);
		return n < 0 ? -1 : 0;
	}
	rc = n;
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (strcmp(names[i], "stream") == 0)
			slot = stream_fd;
		else if (strcmp(names[i], "control") == 0)
			slot = control_fd;
		else if (listener_bound_to(fd, stream_path) ||
		    (n == 1 && strcmp(names[i], "unknown") == 0))
			slot = stream_fd;
		else if (listener_bound_to(fd, control_path))
			slot = control_fd;
		else
			slot = NULL;
		if (rc != -1 && (slot == NULL || *slot != -1)) {
			xasprintf(cause, "socket activation: cannot tell what "
			    "the socket named \"%s\" is for (name it stream "
			    "or control)", names[i]);
			rc = -1;
		} else if (rc != -1 && sd_is_socket_unix(fd, SOCK_STREAM, 1,
		    NULL, 0) <= 0) {
			xasprintf(cause, "socket activation: \"%s\" is not a "
			    "listening Unix stream socket", names[i]);
			rc = -1;
		} else if (rc != -1) {
			/* accept() must never block the loop. */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			*slot = fd;
			continue;
		}
		close(fd);
	}
	if (rc == -1) {
		if (*stream_fd != -1)
			close(*stream_fd);
		if (*control_fd != -1)
			close(*control_fd);
		*stream_fd = *control_fd = -1;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
