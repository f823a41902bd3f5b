/*
 * notify.c - the only file that speaks sd_notify(3). Stateless wrappers:
 * when there is no $NOTIFY_SOCKET, sd_notify() does nothing, and so do
 * these. Status texts are de-duplicated so that refreshing them costs no
 * datagram when nothing changed.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

static char	notify_last_status[256];

/* READY=1: the upstream session is ready (or a reload is complete). */
void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

/* RELOADING=1 with the monotonic time, as systemd 253+ also expects. */
void
notify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* STOPPING=1: shutdown has begun. */
void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* STATUS=...: one readable line; sent only when it changed. */
void
notify_status(const char *fmt, ...)
{
	char	status[sizeof notify_last_status];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(status, sizeof status, fmt, ap);
	va_end(ap);
	if (strcmp(status, notify_last_status) == 0)
		return;
	memcpy(notify_last_status, status, sizeof status);
	sd_notifyf(0, "STATUS=%s", status);
}

/*
 * How often to send WATCHDOG=1: half the interval systemd asked for, or 0
 * when the watchdog is off (or meant for another process).
 */
uint64_t
notify_watchdog_interval_ms(void)
{
	uint64_t	usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return usec / 2000 > 0 ? usec / 2000 : 1;
}

/* WATCHDOG=1: the event loop is alive. */
void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}
