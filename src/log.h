/*
 * log.h - logging to journald (structured) or stderr (with <N> prefixes).
 */
#ifndef STREAMD_LOG_H
#define STREAMD_LOG_H

#include <stdint.h>
#include <syslog.h>

/*
 * Stable journal MESSAGE_IDs, one per event kind; each is explained in
 * systemd/schematic-streamd.catalog. Never change a published value.
 */
#define MSGID_STARTED		"66bc5dc2b43e42389f3604e5a925fac2"
#define MSGID_STOPPED		"4958cf2dcb0a4718bf49e7fea0c92730"
#define MSGID_CONNECTED		"64d011c7e47946ecb3e9eb008accbd90"
#define MSGID_DISCONNECTED	"c67e23f87b474c52b18f7e6900e8d16f"
#define MSGID_RECONNECT_SCHEDULED "5a7e51adf64c464c9ac241ef5095f189"
#define MSGID_KEY_REJECTED	"5fbbbbd0d4b44cd384584bbbe6b440a4"
#define MSGID_ATTEMPTS_EXHAUSTED "385ff01a93db49ed885873b648b615ac"
#define MSGID_READER_CUT_OFF	"c993a799f1ce446ea998fef6fb2ade8f"
#define MSGID_MESSAGE_DROPPED	"2a5f651ced1e40db916a11a7f6ee7a43"
#define MSGID_CONFIG_RELOADED	"7c4bb5022cb8475f87e6414324b57413"
#define MSGID_CONFIG_REJECTED	"80dd3a87e11b485e90162058330629dd"

enum log_target {
	LOG_TARGET_AUTO,	/* journal if stderr is the journal stream */
	LOG_TARGET_JOURNAL,
	LOG_TARGET_STDERR,
};

/* A burst of LOG_RATELIMIT_BURST records per window, then a summary. */
#define LOG_RATELIMIT_BURST	5
#define LOG_RATELIMIT_WINDOW_MS	60000

struct log_ratelimit {
	uint64_t	window_start_ms;
	unsigned	logged;		/* in this window */
	unsigned	suppressed;	/* since the last record let through */
};

int	log_ratelimit_check(struct log_ratelimit *, uint64_t, unsigned *);

void	log_init(enum log_target, int);
void	log_set_level(int);
int	log_get_level(void);
void	log_msg(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_event(int, const char *, const char *const *, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
