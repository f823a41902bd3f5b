/*
 * util.c - allocation wrappers that exit on exhaustion (nothing else in the
 * daemon handles out-of-memory), clocks and randomness.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

/* Out of memory: nothing sensible is left to do. */
static void __attribute__((noreturn))
util_oom(void)
{
	fputs("schematic-streamd: out of memory\n", stderr);
	exit(1);
}

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size ? size : 1)) == NULL)
		util_oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		util_oom();
	return p;
}

void *
xrealloc(void *old, size_t size)
{
	void	*p;

	if ((p = realloc(old, size ? size : 1)) == NULL)
		util_oom();
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		util_oom();
	return xrealloc(old, n * size);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		util_oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		util_oom();
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		util_oom();
	return n;
}

/* Milliseconds on the monotonic clock. */
uint64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch, for times shown to people. */
uint64_t
util_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The current time as RFC 3339 UTC with milliseconds. */
void
util_rfc3339(char *buf, size_t len)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	util_rfc3339_ms((uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000, buf, len);
}

/* MS milliseconds since the epoch as RFC 3339 UTC with milliseconds. */
void
util_rfc3339_ms(uint64_t ms, char *buf, size_t len)
{
	time_t		secs = (time_t)(ms / 1000);
	struct tm	tm;
	char		tmp[32];

	gmtime_r(&secs, &tm);
	strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, (unsigned)(ms % 1000));
}

/* 64 random bits for jitter; the quality of getrandom is more than enough. */
uint64_t
util_random64(void)
{
	uint64_t	v;

	while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
		if (errno != EINTR)
			return (uint64_t)time(NULL) * 6364136223846793005ULL;
	}
	return v;
}
