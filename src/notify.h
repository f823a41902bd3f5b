/*
 * notify.h - the service manager's view: readiness, status, watchdog.
 */
#ifndef STREAMD_NOTIFY_H
#define STREAMD_NOTIFY_H

#include <stdint.h>

void	 notify_ready(void);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_status(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
uint64_t notify_watchdog_interval_ms(void);
void	 notify_watchdog(void);

#endif
