/*
 * service.h - what the service manager sees: READY=1, a current STATUS=,
 * the watchdog, reload and stop notifications.
 */
#ifndef STREAMD_SERVICE_H
#define STREAMD_SERVICE_H

struct hub;
struct lws_context;
struct service;
struct upstream;

struct service	*service_new(struct lws_context *, const struct upstream *,
		    const struct hub *, unsigned);
void		 service_free(struct service *);
void		 service_update(struct service *);
void		 service_upstream_ready(struct service *);
void		 service_reloading(struct service *);
void		 service_reloaded(struct service *, unsigned);
void		 service_stopping(struct service *);

#endif
