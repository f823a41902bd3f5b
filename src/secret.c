/*
 * secret.c - loads the API key: from api_key_file, else from the systemd
 * credential "api-key" ($CREDENTIALS_DIRECTORY/api-key), else from the
 * environment variable SCHEMATIC_API_KEY (which is then removed from the
 * environment). Error messages name the source, never the key.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

#define SECRET_MAX	4096

/* Strip trailing whitespace (a key file usually ends with a newline). */
static void
secret_trim(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* Is the key usable as one HTTP header value? */
static int
secret_valid(const char *key)
{
	const unsigned char	*p;

	if (*key == '\0')
		return 0;
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Read the key from PATH into *KEY. */
static int
secret_read_file(const char *path, char **key, char **cause)
{
	char	buf[SECRET_MAX + 1];
	ssize_t	n;
	size_t	len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot read API key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (len < SECRET_MAX &&
	    (n = read(fd, buf + len, SECRET_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "cannot read API key file %s: %s",
			    path, strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		xasprintf(cause, "API key file %s contains a NUL byte", path);
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	secret_trim(buf);
	if (!secret_valid(buf)) {
		xasprintf(cause, "API key file %s is empty or holds more than "
		    "one line", path);
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	*key = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Is there a systemd credential "api-key" to read the key from? */
int
secret_credential_present(void)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		*path;
	int		 present;

	if (dir == NULL)
		return 0;
	xasprintf(&path, "%s/api-key", dir);
	present = access(path, F_OK) == 0;
	free(path);
	return present;
}

/*
 * Find the API key (see the top of this file). Returns 0 with a malloc'd
 * *KEY, or -1 with *CAUSE.
 */
int
secret_load_api_key(const char *key_file, char **key, char **cause)
{
	const char	*env;
	char		*path;
	int		 rc;

	*key = NULL;
	if (key_file != NULL)
		return secret_read_file(key_file, key, cause);

	if (secret_credential_present()) {
		xasprintf(&path, "%s/api-key", getenv("CREDENTIALS_DIRECTORY"));
		rc = secret_read_file(path, key, cause);
		free(path);
		return rc;
	}

	if ((env = getenv("SCHEMATIC_API_KEY")) != NULL) {
		if (!secret_valid(env)) {
			xasprintf(cause, "SCHEMATIC_API_KEY is empty or holds "
			    "control characters");
			return -1;
		}
		*key = xstrdup(env);
		unsetenv("SCHEMATIC_API_KEY");
		return 0;
	}
	xasprintf(cause, "no API key: set api_key_file, provide the systemd "
	    "credential \"api-key\", or set SCHEMATIC_API_KEY");
	return -1;
}
