/*
 * line.c - refcounted line buffers. A line is immutable once published;
 * the last queue to drop its reference frees it.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "util.h"

/* A line with room for CAPACITY bytes and one reference; len is 0. */
struct line *
line_new(size_t capacity)
{
	struct line	*l;

	l = xmalloc(sizeof *l + capacity);
	l->refs = 1;
	l->len = 0;
	return l;
}

/* A line holding S followed by '\n'. S must not contain a newline. */
struct line *
line_from_string(const char *s)
{
	size_t		 n = strlen(s);
	struct line	*l = line_new(n + 1);

	memcpy(l->data, s, n);
	l->data[n] = '\n';
	l->len = n + 1;
	return l;
}

/* Take one more reference. */
struct line *
line_ref(struct line *l)
{
	l->refs++;
	return l;
}

/* Drop one reference; free on the last. Accepts NULL. */
void
line_unref(struct line *l)
{
	if (l != NULL && --l->refs == 0)
		free(l);
}
