/*
 * line.h - one newline-terminated output line, shared by reference between
 * every queue that holds it (serialized once, fanned out by pointer).
 */
#ifndef STREAMD_LINE_H
#define STREAMD_LINE_H

#include <stddef.h>

struct line {
	unsigned	refs;
	size_t		len;		/* bytes in data, including the '\n' */
	char		data[];
};

struct line	*line_new(size_t);
struct line	*line_from_string(const char *);
struct line	*line_ref(struct line *);
void		 line_unref(struct line *);

#endif
