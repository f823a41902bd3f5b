/*
 * service.c - the daemon as systemd sees it.
 *
 * READY=1 is sent once, when the upstream first becomes ready (the
 * analogue of the Go library's OnConnectionReady), and again to end each
 * reload. STATUS= is rebuilt from the session's state on every change and
 * every few seconds (notify.c drops repeats). WATCHDOG=1 comes from a loop
 * timer at half the watchdog interval, so a wedged loop stops it. Reads
 * other modules' statistics; changes nothing of theirs.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include <libwebsockets.h>

#include "hub.h"
#include "notify.h"
#include "service.h"
#include "upstream.h"
#include "util.h"

#define SERVICE_STATUS_REFRESH_MS	2000

struct service {
	struct lws_context	*ctx;
	const struct upstream	*upstream;
	const struct hub	*hub;
	unsigned		 max_attempts;
	int			 ready_sent;
	int			 stopping;
	uint64_t		 watchdog_ms;
	lws_sorted_usec_list_t	 sul_status;
	lws_sorted_usec_list_t	 sul_watchdog;
};

/* "2s", "3m", "1h" since WHEN_MS (realtime), for a status line. */
static void
service_ago(uint64_t when_ms, char *buf, size_t len)
{
	uint64_t	now_ms = util_wall_ms(), s;

	s = now_ms > when_ms ? (now_ms - when_ms) / 1000 : 0;
	if (s < 120)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 7200)
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
}

/* Rebuild STATUS= from the session's state now. */
void
service_update(struct service *svc)
{
	struct upstream_stats	st;
	struct hub_stats	hs;
	char			ago[16], attempts[32];

	upstream_stats(svc->upstream, &st);
	hub_stats(svc->hub, &hs);
	if (svc->stopping) {
		notify_status("stopping");
		return;
	}
	switch (st.state) {
	case UPSTREAM_IDLE:
	case UPSTREAM_CONNECTING:
		notify_status("connecting to %s", st.url);
		break;
	case UPSTREAM_SUBSCRIBING:
		notify_status("subscribing; waiting for the flag snapshot from "
		    "%s", st.url);
		break;
	case UPSTREAM_READY:
		if (st.last_message_ms != 0)
			service_ago(st.last_message_ms, ago, sizeof ago);
		notify_status("ready: %zu reader%s, %llu message%s%s%s%s",
		    hs.readers, hs.readers == 1 ? "" : "s",
		    (unsigned long long)st.messages_in,
		    st.messages_in == 1 ? "" : "s",
		    st.last_message_ms != 0 ? ", last " : "",
		    st.last_message_ms != 0 ? ago : "",
		    st.last_message_ms != 0 ? " ago" : "");
		break;
	case UPSTREAM_BACKOFF:
		if (svc->max_attempts > 0)
			snprintf(attempts, sizeof attempts, "%u/%u",
			    st.failures, svc->max_attempts);
		else
			snprintf(attempts, sizeof attempts, "%u", st.failures);
		notify_status("reconnecting in %.1fs (attempt %s): %s",
		    (double)st.next_attempt_in_ms / 1000.0, attempts,
		    st.last_error);
		break;
	case UPSTREAM_STOPPING:
	case UPSTREAM_STOPPED:
		notify_status("stopping");
		break;
	case UPSTREAM_FATAL:
		notify_status("failed: %s", st.last_error);
		break;
	}
}

/* Refresh STATUS= now and then (the "last 2s ago" part moves). */
static void
service_status_tick(lws_sorted_usec_list_t *sul)
{
	struct service *svc = lws_container_of(sul, struct service, sul_status);

	service_update(svc);
	lws_sul_schedule(svc->ctx, 0, &svc->sul_status, service_status_tick,
	    SERVICE_STATUS_REFRESH_MS * LWS_US_PER_MS);
}

/* The loop is alive: tell the watchdog, then come back. */
static void
service_watchdog_tick(lws_sorted_usec_list_t *sul)
{
	struct service *svc = lws_container_of(sul, struct service,
	    sul_watchdog);

	notify_watchdog();
	lws_sul_schedule(svc->ctx, 0, &svc->sul_watchdog,
	    service_watchdog_tick, (lws_usec_t)svc->watchdog_ms * LWS_US_PER_MS);
}

/*
 * Report on UPSTREAM and HUB to the service manager. MAX_ATTEMPTS is
 * max_reconnect_attempts, for the status line.
 */
struct service *
service_new(struct lws_context *ctx, const struct upstream *upstream,
    const struct hub *hub, unsigned max_attempts)
{
	struct service	*svc = xcalloc(1, sizeof *svc);

	svc->ctx = ctx;
	svc->upstream = upstream;
	svc->hub = hub;
	svc->max_attempts = max_attempts;
	service_status_tick(&svc->sul_status);
	if ((svc->watchdog_ms = notify_watchdog_interval_ms()) > 0)
		service_watchdog_tick(&svc->sul_watchdog);
	return svc;
}

/* Stop the timers and free. Accepts NULL. */
void
service_free(struct service *svc)
{
	if (svc == NULL)
		return;
	lws_sul_cancel(&svc->sul_status);
	lws_sul_cancel(&svc->sul_watchdog);
	free(svc);
}

/* The upstream is ready: READY=1 the first time only. */
void
service_upstream_ready(struct service *svc)
{
	service_update(svc);
	if (!svc->ready_sent) {
		svc->ready_sent = 1;
		notify_ready();
	}
}

/* A reload begins. */
void
service_reloading(struct service *svc)
{
	(void)svc;
	notify_reloading();
}

/* A reload is over (applied or rejected): the service is ready again. */
void
service_reloaded(struct service *svc, unsigned max_attempts)
{
	svc->max_attempts = max_attempts;
	service_update(svc);
	notify_ready();
}

/* Shutdown begins: STOPPING=1 and a last status. */
void
service_stopping(struct service *svc)
{
	svc->stopping = 1;
	notify_stopping();
	service_update(svc);
}
