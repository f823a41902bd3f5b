/*
 * event.h - the lines the daemon itself puts on the stream:
 * {"streamd":{"event":"...","time":"<RFC 3339>",...}}
 */
#ifndef STREAMD_EVENT_H
#define STREAMD_EVENT_H

#include <stddef.h>

struct line;

struct line	*event_connected(const char *);
struct line	*event_disconnected(const char *, int);
struct line	*event_dropped(const char *, size_t);

#endif
