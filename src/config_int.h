/*
 * config_int.h - the key table and value helpers shared by config.c (the
 * table and the file), config_value.c (the value syntax) and config_args.c
 * (the command line, --help and the dump). Nothing else includes this.
 */
#ifndef STREAMD_CONFIG_INT_H
#define STREAMD_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MS_PER_S	1000ULL
#define MS_PER_MIN	60000ULL
#define MS_PER_HOUR	(60 * MS_PER_MIN)
#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)

#define QUOTE_SIZE	96	/* a value quoted in a message, with "..." */
#define OPT_KEY_BASE	256	/* getopt value of the first key option */
#define OPT_NAME_SIZE	32	/* longest key name, dashed, with its NUL */

enum config_type {
	CONFIG_STRING,		/* non-empty, no control characters */
	CONFIG_PATH,		/* a string that is an absolute path */
	CONFIG_MODE,		/* octal permission bits, at most 0777 */
	CONFIG_UINT,		/* unsigned, decimal */
	CONFIG_DURATION,	/* ms, s or m suffix; stored in ms */
	CONFIG_SIZE,		/* bytes, K/M/G or KiB/MiB/GiB suffix */
	CONFIG_CHOICE,		/* one name of the key's choices table */
	CONFIG_SUBSCRIBE,	/* repeatable: TYPE [KEY=VALUE ...] or none */
};

#define CONFIG_OPTIONAL	0x1	/* an empty value unsets it (NULL) */
#define CONFIG_SOCKET	0x2	/* path must fit a sockaddr_un */

struct config_choice;

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;	/* of the field in struct config */
	int		 flags;
	uint64_t	 min;		/* numeric range, in stored units */
	uint64_t	 max;
	const char	*def;		/* in file syntax; NULL: unset */
	const char	*arg;		/* metavariable in --help */
	const char	*help;
	const struct config_choice *choices; /* CONFIG_CHOICE: NULL-ended */
};

/* A named value of a CONFIG_CHOICE key; the first name of a value is the
 * one the dump and config_log_level_name give. */
struct config_choice {
	const char	*name;
	int		 value;
};

/* The number of keys in config_keys (checked against the table). */
#define CONFIG_NKEYS	26

extern const struct config_key config_keys[CONFIG_NKEYS];

int		 config_has_control(const char *);
int		 config_parse_mode(const char *, uint64_t *);
int		 config_parse_uint(const char *, uint64_t *);
char		*config_printf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
const char	*config_quote(char *, const char *);
const char	*config_choice_name(const struct config_choice *, int);
void		 config_format_number(enum config_type, uint64_t, char *,
		    size_t);
uint64_t	 config_get_number(const struct config *,
		    const struct config_key *);
char		*config_apply(struct config *, const struct config_key *,
		    const char *, int *);

#endif
