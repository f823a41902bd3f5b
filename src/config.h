/*
 * config.h - the daemon's configuration: defaults, the key = value file,
 * and the long options that override it.
 */
#ifndef STREAMD_CONFIG_H
#define STREAMD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit statuses (sysexits.h values, as systemd and the man page document). */
#define EXIT_UNAVAILABLE	69	/* upstream unreachable: attempts exhausted */
#define EXIT_NOPERM		77	/* API key rejected */
#define EXIT_CONFIG		78	/* configuration error */

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/*
 * One subscription: an entity type and optional string keys. Those of
 * struct config keep their keys sorted by name, as config_sub_equal needs.
 */
/* Where log records go: the values of log_target (see log.h). */
enum config_log_target {
	CONFIG_LOG_TARGET_AUTO,
	CONFIG_LOG_TARGET_JOURNAL,
	CONFIG_LOG_TARGET_STDERR,
};

struct config_sub {
	char	 *entity_type;		/* full name, e.g. "rulesengine.Flags" */
	size_t	  nkeys;
	char	**key_names;
	char	**key_values;
};

struct config {
	char		*url;			/* as configured (http/https/ws/wss) */
	char		*api_key_file;		/* NULL: credentials dir, then env */
	char		*datastream_mode;
	char		*stream_socket;
	char		*control_socket;	/* NULL: no control socket */
	mode_t		 socket_mode;
	char		*socket_group;		/* NULL: the daemon's own group */
	char		*ca_file;		/* NULL: the system trust store */
	unsigned	 max_reconnect_attempts; /* 0 = never give up */
	uint64_t	 min_reconnect_delay_ms;
	uint64_t	 max_reconnect_delay_ms;
	uint64_t	 ping_interval_ms;
	uint64_t	 pong_timeout_ms;
	uint64_t	 write_timeout_ms;
	uint64_t	 handshake_timeout_ms;
	uint64_t	 ready_timeout_ms;
	unsigned	 flags_page_size;
	struct config_sub *subs;
	size_t		 nsubs;
	size_t		 max_message_size;
	size_t		 reader_queue_limit;
	unsigned	 max_readers;
	unsigned	 max_subscriptions;	/* made at run time */
	size_t		 control_line_max;
	unsigned	 max_control_clients;
	enum log_level	 log_level;
	enum config_log_target log_target;
};

/* What the command line asked for besides configuration keys. */
struct config_cli {
	const char	*config_file;		/* NULL: the default path */
	int		 check_only;		/* -t */
	int		 dump;			/* -T: print effective config */
	int		 help;
	int		 version;
};

/*
 * config_init sets the defaults; config_free takes a zeroed or initialised
 * struct (and leaves it zeroed). Fallible calls return -1 (-2: a usage
 * error in argv) with a malloc'd message in *cause; after an error the
 * struct holds a mix of values and is only fit for config_free.
 * config_from_args applies argv and the file on top of CFG (initialise it
 * first): it parses argv into CLI, stops there for --help and --version,
 * loads -c FILE (which must exist) or the default path (which may be
 * missing; NULL: none), applies the key options in order, then
 * config_check. config_set on "subscribe" replaces the list (one call is
 * one source); in a file or on the command line the first subscribe of
 * that source replaces the list and the others append.
 */
void	 config_init(struct config *);
void	 config_free(struct config *);
int	 config_set(struct config *, const char *, const char *, char **);
int	 config_load_file(struct config *, const char *, int, char **);
int	 config_from_args(struct config *, struct config_cli *, int, char **,
	    const char *, char **);
int	 config_check(const struct config *, char **);	/* cross-key */
void	 config_dump(const struct config *, FILE *);
void	 config_usage(FILE *);
void	 config_sub_free(struct config_sub *);
int	 config_sub_equal(const struct config_sub *,
	    const struct config_sub *);
const char *config_entity_type(const char *);
const char *config_log_level_name(enum log_level);
int	 config_parse_duration_ms(const char *, uint64_t *);
int	 config_parse_size(const char *, size_t *);

#endif
