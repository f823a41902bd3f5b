/*
 * jscan.h - single-pass validation, compaction and field extraction of one
 * upstream JSON message (the relay's hot path; no DOM, no allocation).
 */
#ifndef STREAMD_JSCAN_H
#define STREAMD_JSCAN_H

#include <stddef.h>

/*
 * Deepest accepted nesting, counted as jansson 2.14 counts it: every value
 * (scalar or container) has depth 1 + the number of containers around it,
 * and a value deeper than this is an error. So 2048 nested empty objects
 * are accepted, but a member inside the 2048th is not.
 */
#define JSCAN_MAX_DEPTH	2048

/*
 * A string member of the top-level object, as a span of the compact output:
 * the raw bytes between its quotes, escapes left as they are.
 */
struct jscan_span {
	size_t	off;
	size_t	len;
	int	present;	/* 1 if the member exists and is a string */
	int	is_null;	/* 1 if the member exists and is null */
};

/*
 * What the relay needs from a message. Keys are matched on their raw bytes,
 * so a key spelled with escapes ("entity\u005ftype") is not recognized. A
 * member of another type than the one expected counts as absent. When a key
 * repeats, its last occurrence wins, as in jansson.
 */
struct jscan_fields {
	struct jscan_span entity_type;
	struct jscan_span message_type;
	struct jscan_span entity_id;
	struct jscan_span stream_id;
	int	has_pagination;	/* top-level "pagination" is an object */
	int	has_more;	/* -1 absent/not bool, 0 false, 1 true */
};

int	jscan_compact(const char *, size_t, char *, size_t *,
	    struct jscan_fields *, const char **, size_t *);

#endif
