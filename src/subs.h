/*
 * subs.h - the registry of subscriptions the daemon keeps on every
 * connection: the configured ones and those made through the control
 * socket. Pure: no sockets, no lws.
 */
#ifndef STREAMD_SUBS_H
#define STREAMD_SUBS_H

#include <stddef.h>

#include <jansson.h>

struct config_sub;
struct subs;

/* What subs_add and subs_remove did. */
enum subs_result {
	SUBS_ADDED,		/* new: send "start" */
	SUBS_DUPLICATE,		/* already there: nothing to send */
	SUBS_REMOVED,		/* forgotten: send "stop" */
	SUBS_UNKNOWN,		/* not there */
	SUBS_CONFIGURED,	/* from the configuration: not removable */
	SUBS_FULL,		/* max_subscriptions reached */
};

struct subs	*subs_new(size_t);
void		 subs_free(struct subs *);
void		 subs_set_max_runtime(struct subs *, size_t);
enum subs_result subs_add(struct subs *, const struct config_sub *, int);
enum subs_result subs_remove(struct subs *, const struct config_sub *);
void		 subs_replace_configured(struct subs *,
		    const struct config_sub *, size_t,
		    void (*)(void *, const struct config_sub *, const char *),
		    void *);
size_t		 subs_count(const struct subs *);
size_t		 subs_runtime_count(const struct subs *);
const struct config_sub *subs_get(const struct subs *, size_t, int *);
int		 subs_has_type(const struct subs *, const char *);
char		*subs_frame(const struct config_sub *, const char *, unsigned,
		    const char *);
json_t		*subs_json(const struct subs *);
char		*subs_describe(const struct config_sub *);

#endif
