/*
 * log.c - the daemon's only writer of log records.
 *
 * Two sinks: the journal (sd_journal_sendv, with PRIORITY, MESSAGE_ID,
 * SYSLOG_IDENTIFIER and the caller's structured fields) and stderr (one
 * line per record, with an sd-daemon(3) "<N>" priority prefix unless
 * stderr is a terminal). "auto" picks the journal when stderr is the
 * journal stream named by $JOURNAL_STREAM. Records above the level are
 * dropped before any formatting.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_MAX_FIELDS	16
#define LOG_IDENTIFIER_FIELD "SYSLOG_IDENTIFIER=schematic-streamd"

static int	log_level = LOG_INFO;
static int	log_to_journal;
static int	log_prefix = 1;		/* "<N>" before each stderr line */

/* Is stderr the journal stream systemd connected us to? */
static int
log_stderr_is_journal(void)
{
	const char	*env = getenv("JOURNAL_STREAM");
	unsigned long	 dev, ino;
	struct stat	 st;

	if (env == NULL || sscanf(env, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* Choose the sink and level; may be called again (on reload). */
void
log_init(enum log_target target, int level)
{
	log_level = level;
	switch (target) {
	case LOG_TARGET_JOURNAL:
		log_to_journal = 1;
		break;
	case LOG_TARGET_STDERR:
		log_to_journal = 0;
		break;
	default:
		log_to_journal = log_stderr_is_journal();
		break;
	}
	log_prefix = !isatty(STDERR_FILENO);
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

/* Send one record to the chosen sink. */
static void
log_write(int prio, const char *message_id, const char *const *fields,
    const char *fmt, va_list ap)
{
	struct iovec	 iov[LOG_MAX_FIELDS + 5];
	char		 message[2048], msg_field[2060], prio_field[16];
	char		 id_field[48];
	int		 n = 0, i;

	vsnprintf(message, sizeof message, fmt, ap);
	if (!log_to_journal) {
		if (log_prefix)
			fprintf(stderr, "<%d>%s\n", prio, message);
		else
			fprintf(stderr, "schematic-streamd: %s\n", message);
		return;
	}

	snprintf(msg_field, sizeof msg_field, "MESSAGE=%s", message);
	snprintf(prio_field, sizeof prio_field, "PRIORITY=%d", prio);
	iov[n].iov_base = msg_field;
	iov[n++].iov_len = strlen(msg_field);
	iov[n].iov_base = prio_field;
	iov[n++].iov_len = strlen(prio_field);
	iov[n].iov_base = (char *)LOG_IDENTIFIER_FIELD;
	iov[n++].iov_len = sizeof LOG_IDENTIFIER_FIELD - 1;
	if (message_id != NULL) {
		snprintf(id_field, sizeof id_field, "MESSAGE_ID=%s", message_id);
		iov[n].iov_base = id_field;
		iov[n++].iov_len = strlen(id_field);
	}
	for (i = 0; fields != NULL && fields[i] != NULL &&
	    i < LOG_MAX_FIELDS; i++) {
		iov[n].iov_base = (char *)fields[i];
		iov[n++].iov_len = strlen(fields[i]);
	}
	sd_journal_sendv(iov, n);
}

/*
 * May a record of a repeating kind be logged at NOW_MS? The first
 * LOG_RATELIMIT_BURST of a window pass; the rest are counted. Returns 1
 * with *SUPPRESSED set to how many were held back before this one (to be
 * mentioned in it), or 0 to hold this one back.
 */
int
log_ratelimit_check(struct log_ratelimit *rl, uint64_t now_ms,
    unsigned *suppressed)
{
	if (rl->logged == 0 || now_ms - rl->window_start_ms >=
	    LOG_RATELIMIT_WINDOW_MS) {
		rl->window_start_ms = now_ms;
		rl->logged = 0;
	}
	if (rl->logged >= LOG_RATELIMIT_BURST) {
		rl->suppressed++;
		return 0;
	}
	rl->logged++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

/* Log a plain record at PRIO. */
void
log_msg(int prio, const char *fmt, ...)
{
	va_list	ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	log_write(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}

/*
 * Log an event with a stable MESSAGE_ID and structured FIELDS (a NULL-
 * terminated array of "NAME=value" strings; NULL for none).
 */
void
log_event(int prio, const char *message_id, const char *const *fields,
    const char *fmt, ...)
{
	va_list	ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	log_write(prio, message_id, fields, fmt, ap);
	va_end(ap);
}
