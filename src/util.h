/*
 * util.h - allocation that cannot fail (it exits), time, small helpers.
 */
#ifndef STREAMD_UTIL_H
#define STREAMD_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

uint64_t util_now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t util_wall_ms(void);		/* CLOCK_REALTIME */
void	 util_rfc3339(char *, size_t);	/* wall clock, UTC, ms precision */
void	 util_rfc3339_ms(uint64_t, char *, size_t);	/* given epoch ms */
uint64_t util_random64(void);

#endif
