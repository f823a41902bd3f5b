/*
 * config.c - the daemon's configuration. One table of keys (config_keys)
 * drives everything: the defaults, the key = value file, the long options,
 * the --help text and the dump; a key is added in one place. The value
 * syntax (durations, sizes, modes) is in config_value.c, the command line
 * and the dump in config_args.c.
 *
 * Owns every string in struct config (allocated here, freed by
 * config_free). A value that fails to parse leaves its field unchanged.
 * Errors are handed back through char **cause, never printed; nothing here
 * exits except on out-of-memory (or aborts on a default the table itself
 * gets wrong).
 */
#include "autoconfig.h"

#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"
#define SPACES		" \t\r\n\f\v"
static const struct config_choice config_log_levels[] = {
	{ "err", LOG_LEVEL_ERR },
	{ "error", LOG_LEVEL_ERR },
	{ "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ NULL, 0 },
};

static const struct config_choice config_log_targets[] = {
	{ "auto", CONFIG_LOG_TARGET_AUTO },
	{ "journal", CONFIG_LOG_TARGET_JOURNAL },
	{ "stderr", CONFIG_LOG_TARGET_STDERR },
	{ NULL, 0 },
};

#define F(field)	offsetof(struct config, field)

const struct config_key config_keys[] = {
	{ "url", CONFIG_STRING, F(url), 0, 0, 0,
	  "https://api.schematichq.com", "URL",
	  "API URL (http/https) or datastream URL (ws/wss)", NULL },
	{ "api_key_file", CONFIG_PATH, F(api_key_file), CONFIG_OPTIONAL, 0, 0,
	  NULL, "FILE",
	  "file holding the API key (unset: credential, then environment)", NULL },
	{ "datastream_mode", CONFIG_STRING, F(datastream_mode), 0, 0, 0,
	  "replicator", "MODE",
	  "X-Schematic-Datastream-Mode header (replicator: a shared relay)", NULL },
	{ "stream_socket", CONFIG_PATH, F(stream_socket), CONFIG_SOCKET, 0, 0,
	  "/run/schematic-streamd/stream.sock", "PATH",
	  "Unix socket the readers connect to", NULL },
	{ "control_socket", CONFIG_PATH, F(control_socket),
	  CONFIG_SOCKET | CONFIG_OPTIONAL, 0, 0,
	  "/run/schematic-streamd/control.sock", "PATH",
	  "Unix socket of schematic-streamctl (unset: none)", NULL },
	{ "socket_mode", CONFIG_MODE, F(socket_mode), 0, 0, 0777,
	  "0660", "MODE", "permissions of both sockets (octal)", NULL },
	{ "socket_group", CONFIG_STRING, F(socket_group), CONFIG_OPTIONAL, 0, 0,
	  NULL, "GROUP", "group of both sockets (unset: the daemon's)", NULL },
	{ "ca_file", CONFIG_PATH, F(ca_file), CONFIG_OPTIONAL, 0, 0,
	  NULL, "FILE", "CA certificates, PEM (unset: the system store)", NULL },
	{ "max_reconnect_attempts", CONFIG_UINT, F(max_reconnect_attempts), 0,
	  0, UINT_MAX, "10", "COUNT",
	  "consecutive failures before giving up (0: never)", NULL },
	{ "min_reconnect_delay", CONFIG_DURATION, F(min_reconnect_delay_ms), 0,
	  1, MS_PER_HOUR, "1s", "DURATION",
	  "delay after a first failure, doubled after each next one", NULL },
	{ "max_reconnect_delay", CONFIG_DURATION, F(max_reconnect_delay_ms), 0,
	  1, 24 * MS_PER_HOUR, "30s", "DURATION", "longest reconnect delay", NULL },
	{ "ping_interval", CONFIG_DURATION, F(ping_interval_ms), 0,
	  1, MS_PER_HOUR, "54s", "DURATION",
	  "send a WebSocket ping this often", NULL },
	{ "pong_timeout", CONFIG_DURATION, F(pong_timeout_ms), 0,
	  1, MS_PER_HOUR, "1m", "DURATION",
	  "reconnect when no pong came for this long", NULL },
	{ "write_timeout", CONFIG_DURATION, F(write_timeout_ms), 0,
	  1, MS_PER_HOUR, "10s", "DURATION",
	  "reconnect when a write takes longer", NULL },
	{ "handshake_timeout", CONFIG_DURATION, F(handshake_timeout_ms), 0,
	  1, MS_PER_HOUR, "30s", "DURATION",
	  "time allowed to connect and upgrade", NULL },
	{ "ready_timeout", CONFIG_DURATION, F(ready_timeout_ms), 0,
	  1, MS_PER_HOUR, "30s", "DURATION",
	  "time allowed for the flag snapshot after connecting", NULL },
	{ "flags_page_size", CONFIG_UINT, F(flags_page_size), 0,
	  0, 10000, "100", "COUNT",
	  "page_size of the rulesengine.Flags subscription (0: unpaged)", NULL },
	{ "subscribe", CONFIG_SUBSCRIBE, 0, 0, 0, 0,
	  "rulesengine.Flags", "SUBSCRIPTION",
	  "TYPE [KEY=VALUE ...], repeatable, or none", NULL },
	{ "max_message_size", CONFIG_SIZE, F(max_message_size), 0,
	  KIB, GIB, "16MiB", "SIZE", "largest upstream message accepted", NULL },
	{ "reader_queue_limit", CONFIG_SIZE, F(reader_queue_limit), 0,
	  64 * KIB, GIB, "8MiB", "SIZE",
	  "bytes queued for one reader before it is cut off", NULL },
	{ "max_readers", CONFIG_UINT, F(max_readers), 0,
	  1, 1048576, "1024", "COUNT", "most readers connected at once", NULL },
	{ "max_subscriptions", CONFIG_UINT, F(max_subscriptions), 0,
	  0, 1048576, "10000", "COUNT",
	  "most subscriptions remembered from the control socket", NULL },
	{ "control_line_max", CONFIG_SIZE, F(control_line_max), 0,
	  KIB, 64 * MIB, "64KiB", "SIZE", "longest control request line", NULL },
	{ "max_control_clients", CONFIG_UINT, F(max_control_clients), 0,
	  1, 65536, "64", "COUNT", "most control connections at once", NULL },
	{ "log_level", CONFIG_CHOICE, F(log_level), 0, 0, 0,
	  "info", "LEVEL", "err, warning, notice, info or debug",
	  config_log_levels },
	{ "log_target", CONFIG_CHOICE, F(log_target), 0, 0, 0,
	  "auto", "TARGET", "journal, stderr, or auto (the journal when "
	  "stderr is the journal stream)", config_log_targets },
};
#define NKEYS	CONFIG_NKEYS
_Static_assert(sizeof config_keys / sizeof config_keys[0] == CONFIG_NKEYS,
    "CONFIG_NKEYS in config_int.h must count config_keys");

/* The name of VALUE among CHOICES (its first name), or "unknown". */
const char *
config_choice_name(const struct config_choice *choices, int value)
{
	for (; choices->name != NULL; choices++)
		if (choices->value == value)
			return choices->name;
	return "unknown";
}

const char *
config_log_level_name(enum log_level level)
{
	return config_choice_name(config_log_levels, (int)level);
}

/* The numeric field of key K, widened. */
uint64_t
config_get_number(const struct config *cfg, const struct config_key *k)
{
	const char	*p = (const char *)cfg + k->offset;

	switch (k->type) {
	case CONFIG_MODE:
		return *(const mode_t *)p;
	case CONFIG_UINT:
		return *(const unsigned *)p;
	case CONFIG_SIZE:
		return *(const size_t *)p;
	case CONFIG_CHOICE:
		return (uint64_t)*(const int *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/* Store V into the numeric field of key K (V is in its range). */
static void
config_set_number(struct config *cfg, const struct config_key *k, uint64_t v)
{
	char	*p = (char *)cfg + k->offset;

	switch (k->type) {
	case CONFIG_MODE:
		*(mode_t *)p = (mode_t)v;
		break;
	case CONFIG_UINT:
		*(unsigned *)p = (unsigned)v;
		break;
	case CONFIG_SIZE:
		*(size_t *)p = (size_t)v;
		break;
	case CONFIG_CHOICE:
		*(int *)p = (int)v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

/* Is C the first name of its value (not an alias such as "error")? */
static int
config_choice_is_first(const struct config_choice *choices,
    const struct config_choice *c)
{
	return strcmp(config_choice_name(choices, c->value), c->name) == 0;
}

/* Set the CONFIG_CHOICE key K to the choice named VALUE. */
static char *
config_set_choice(struct config *cfg, const struct config_key *k,
    const char *value)
{
	const struct config_choice *c, *last = NULL;
	char	 list[256] = "", q[QUOTE_SIZE], what[OPT_NAME_SIZE], *p;
	size_t	 len;

	for (c = k->choices; c->name != NULL; c++) {
		if (strcmp(value, c->name) == 0) {
			config_set_number(cfg, k, (uint64_t)c->value);
			return NULL;
		}
		if (config_choice_is_first(k->choices, c))
			last = c;
	}
	/* "err, warning, notice, info or debug": first names only. */
	for (c = k->choices; c->name != NULL; c++) {
		if (!config_choice_is_first(k->choices, c))
			continue;
		len = strlen(list);
		snprintf(list + len, sizeof list - len, "%s%s",
		    len == 0 ? "" : c == last ? " or " : ", ", c->name);
	}
	snprintf(what, sizeof what, "%s", k->name);
	for (p = what; *p != '\0'; p++)
		if (*p == '_')
			*p = ' ';
	return config_printf("invalid %s %s (use %s)", what,
	    config_quote(q, value), list);
}

/* Free the strings of SUB and zero it. */
void
config_sub_free(struct config_sub *sub)
{
	size_t	i;

	for (i = 0; i < sub->nkeys; i++) {
		free(sub->key_names[i]);
		free(sub->key_values[i]);
	}
	free(sub->key_names);
	free(sub->key_values);
	free(sub->entity_type);
	memset(sub, 0, sizeof *sub);
}

static void
config_subs_clear(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nsubs; i++)
		config_sub_free(&cfg->subs[i]);
	free(cfg->subs);
	cfg->subs = NULL;
	cfg->nsubs = 0;
}

/* Whether two subscriptions are the same (their keys are kept sorted). */
int
config_sub_equal(const struct config_sub *a, const struct config_sub *b)
{
	size_t	i;

	if (strcmp(a->entity_type, b->entity_type) != 0 || a->nkeys != b->nkeys)
		return 0;
	for (i = 0; i < a->nkeys; i++) {
		if (strcmp(a->key_names[i], b->key_names[i]) != 0 ||
		    strcmp(a->key_values[i], b->key_values[i]) != 0)
			return 0;
	}
	return 1;
}

/* Parse "TYPE [KEY=VALUE ...]" into SUB; keys are sorted by name. */
static char *
config_sub_parse(const char *value, struct config_sub *sub)
{
	char		 q[QUOTE_SIZE], *copy, *tok, *save, *eq, *msg = NULL;
	const char	*type;
	size_t		 i;
	int		 cmp;

	memset(sub, 0, sizeof *sub);
	copy = xstrdup(value);
	if ((tok = strtok_r(copy, " \t", &save)) == NULL) {
		free(copy);
		return xstrdup("must not be empty "
		    "(use TYPE [KEY=VALUE ...] or none)");
	}
	if ((type = config_entity_type(tok)) == NULL) {
		msg = config_printf("unknown entity type %s (use flags, flag, "
		    "company, companies, user, users or their rulesengine. "
		    "names)", config_quote(q, tok));
		free(copy);
		return msg;
	}
	sub->entity_type = xstrdup(type);
	while (msg == NULL && (tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((eq = strchr(tok, '=')) == NULL || eq == tok ||
		    eq[1] == '\0' || config_has_control(tok)) {
			msg = config_printf("invalid key %s (use KEY=VALUE)",
			    config_quote(q, tok));
			break;
		}
		*eq = '\0';
		for (i = sub->nkeys; i > 0; i--) {
			if ((cmp = strcmp(sub->key_names[i - 1], tok)) == 0)
				msg = config_printf("duplicate key %s",
				    config_quote(q, tok));
			if (cmp <= 0)
				break;
		}
		if (msg != NULL)
			break;
		sub->key_names = xreallocarray(sub->key_names,
		    sub->nkeys + 1, sizeof *sub->key_names);
		sub->key_values = xreallocarray(sub->key_values,
		    sub->nkeys + 1, sizeof *sub->key_values);
		memmove(sub->key_names + i + 1, sub->key_names + i,
		    (sub->nkeys - i) * sizeof *sub->key_names);
		memmove(sub->key_values + i + 1, sub->key_values + i,
		    (sub->nkeys - i) * sizeof *sub->key_values);
		sub->key_names[i] = xstrdup(tok);
		sub->key_values[i] = xstrdup(eq + 1);
		sub->nkeys++;
	}
	free(copy);
	if (msg != NULL)
		config_sub_free(sub);
	return msg;
}

/*
 * Apply a subscribe value. The first one from a source (*REPLACED still 0)
 * replaces the list, later ones append; "none" empties it; a subscription
 * already listed is ignored.
 */
static char *
config_subscribe(struct config *cfg, const char *value, int *replaced)
{
	struct config_sub	 sub;
	char			*msg;
	size_t			 i;

	if (strcmp(value, "none") == 0) {
		config_subs_clear(cfg);
		*replaced = 1;
		return NULL;
	}
	if ((msg = config_sub_parse(value, &sub)) != NULL)
		return msg;
	if (!*replaced)
		config_subs_clear(cfg);
	*replaced = 1;
	for (i = 0; i < cfg->nsubs; i++) {
		if (config_sub_equal(&cfg->subs[i], &sub)) {
			config_sub_free(&sub);
			return NULL;
		}
	}
	cfg->subs = xreallocarray(cfg->subs, cfg->nsubs + 1,
	    sizeof *cfg->subs);
	cfg->subs[cfg->nsubs++] = sub;
	return NULL;
}

/* Check and store a string value of key K. */
static char *
config_set_string(struct config *cfg, const struct config_key *k,
    const char *value)
{
	char	 q[QUOTE_SIZE], **field = (char **)((char *)cfg + k->offset);

	if (*value == '\0' && (k->flags & CONFIG_OPTIONAL)) {
		free(*field);
		*field = NULL;
		return NULL;
	}
	if (*value == '\0')
		return xstrdup("must not be empty");
	if (config_has_control(value))
		return config_printf("invalid value %s (control characters "
		    "are not allowed)", config_quote(q, value));
	if (k->type == CONFIG_PATH && *value != '/')
		return config_printf("%s is not an absolute path",
		    config_quote(q, value));
	if ((k->flags & CONFIG_SOCKET) &&
	    strlen(value) >= sizeof ((struct sockaddr_un *)0)->sun_path)
		return config_printf("path %s is too long (at most %zu bytes)",
		    config_quote(q, value),
		    sizeof ((struct sockaddr_un *)0)->sun_path - 1);
	free(*field);
	*field = xstrdup(value);
	return NULL;
}

/*
 * Set key K from VALUE. Returns NULL, or the error message without the
 * key's name (the caller says where it came from).
 */
char *
config_apply(struct config *cfg, const struct config_key *k,
    const char *value, int *subs_replaced)
{
	char		 q[QUOTE_SIZE], limit[32];
	uint64_t	 v = 0;
	size_t		 size;

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		return config_set_string(cfg, k, value);
	case CONFIG_SUBSCRIBE:
		return config_subscribe(cfg, value, subs_replaced);
	case CONFIG_MODE:
		if (config_parse_mode(value, &v) != 0)
			return config_printf("invalid mode %s (use octal 0000 "
			    "to 0777)", config_quote(q, value));
		break;
	case CONFIG_UINT:
		if (config_parse_uint(value, &v) != 0)
			return config_printf("invalid number %s",
			    config_quote(q, value));
		break;
	case CONFIG_DURATION:
		if (config_parse_duration_ms(value, &v) != 0)
			return config_printf("invalid duration %s (use ms, s "
			    "or m)", config_quote(q, value));
		break;
	case CONFIG_SIZE:
		if (config_parse_size(value, &size) != 0)
			return config_printf("invalid size %s (use bytes, K, "
			    "M, G, KiB, MiB or GiB)", config_quote(q, value));
		v = size;
		break;
	case CONFIG_CHOICE:
		return config_set_choice(cfg, k, value);
	}
	if (v < k->min || v > k->max) {
		config_format_number(k->type, v < k->min ? k->min : k->max,
		    limit, sizeof limit);
		return config_printf("%s is too %s (%s %s)",
		    config_quote(q, value), v < k->min ? "small" : "large",
		    v < k->min ? "minimum" : "maximum", limit);
	}
	config_set_number(cfg, k, v);
	return NULL;
}

static const struct config_key *
config_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

void
config_init(struct config *cfg)
{
	size_t	 i;
	int	 replaced = 0;
	char	*msg;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < NKEYS; i++) {
		if (config_keys[i].def == NULL)
			continue;
		if ((msg = config_apply(cfg, &config_keys[i],
		    config_keys[i].def, &replaced)) != NULL) {
			fprintf(stderr, "schematic-streamd: bad default for "
			    "%s: %s\n", config_keys[i].name, msg);
			abort();
		}
	}
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (config_keys[i].type == CONFIG_STRING ||
		    config_keys[i].type == CONFIG_PATH)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	}
	config_subs_clear(cfg);
	memset(cfg, 0, sizeof *cfg);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char **cause)
{
	const struct config_key	*k;
	char			 q[QUOTE_SIZE], *msg;
	int			 replaced = 0;

	if ((k = config_find(key)) == NULL) {
		*cause = config_printf("unknown key %s", config_quote(q, key));
		return -1;
	}
	if ((msg = config_apply(cfg, k, value, &replaced)) != NULL) {
		*cause = config_printf("%s: %s", k->name, msg);
		free(msg);
		return -1;
	}
	return 0;
}

/*
 * Find the value in the text after "=" (changed in place): trimmed, up to
 * a '#' at its start or after white space, or between double quotes, where
 * \" and \\ stand for " and \.
 */
static char *
config_value(char *s, char **value)
{
	char	*r, *w;

	s += strspn(s, SPACES);
	if (*s != '"') {
		for (r = s; *r != '\0'; r++) {
			if (*r == '#' && (r == s || strchr(SPACES, r[-1]))) {
				*r = '\0';
				break;
			}
		}
		for (r = s + strlen(s); r > s && strchr(SPACES, r[-1]); r--)
			r[-1] = '\0';
		*value = s;
		return NULL;
	}
	for (r = w = s + 1; *r != '"'; r++) {
		if (*r == '\0')
			return xstrdup("missing closing quote");
		if (*r == '\\' && (*++r != '"' && *r != '\\'))
			return xstrdup("invalid escape in quotes (use "
			    "\\\" or \\\\)");
		*w++ = *r;
	}
	*w = '\0';
	r++;
	w = r + strspn(r, SPACES);
	if (*w != '\0' && (*w != '#' || w == r))
		return xstrdup("unexpected text after closing quote");
	*value = s + 1;
	return NULL;
}

/* Apply one line of a file; returns NULL or the error message. */
static char *
config_line(struct config *cfg, char *line, size_t len, int *subs_replaced)
{
	const struct config_key	*k;
	char			 q[QUOTE_SIZE], *key, *eq, *end, *value = NULL;
	char			*msg;

	if (strlen(line) != len)
		return xstrdup("NUL byte in line");
	key = line + strspn(line, SPACES);
	if (*key == '\0' || *key == '#')
		return NULL;
	if ((eq = strchr(key, '=')) == NULL) {
		for (end = key + strlen(key); strchr(SPACES, end[-1]); end--)
			end[-1] = '\0';
		return config_printf("expected \"key = value\", not %s",
		    config_quote(q, key));
	}
	for (end = eq; end > key && strchr(SPACES, end[-1]); end--)
		continue;
	*end = '\0';
	if (*key == '\0')
		return xstrdup("missing key before \"=\"");
	if ((k = config_find(key)) == NULL)
		return config_printf("unknown key %s", config_quote(q, key));
	if ((msg = config_value(eq + 1, &value)) == NULL &&
	    (msg = config_apply(cfg, k, value, subs_replaced)) == NULL)
		return NULL;
	value = config_printf("%s: %s", k->name, msg);
	free(msg);
	return value;
}

int
config_load_file(struct config *cfg, const char *path, int must_exist,
    char **cause)
{
	FILE	*fp;
	char	*line = NULL, *msg = NULL;
	size_t	 size = 0;
	ssize_t	 len;
	int	 lineno = 0, subs_replaced = 0, rc = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		*cause = config_printf("cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (msg == NULL && (len = getline(&line, &size, fp)) != -1) {
		lineno++;
		msg = config_line(cfg, line, (size_t)len, &subs_replaced);
	}
	if (msg != NULL) {
		*cause = config_printf("%s:%d: %s", path, lineno, msg);
		rc = -1;
	} else if (ferror(fp)) {
		*cause = config_printf("cannot read %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(msg);
	free(line);
	fclose(fp);
	return rc;
}

int
config_check(const struct config *cfg, char **cause)
{
	char	a[32], b[32];

	if (cfg->min_reconnect_delay_ms > cfg->max_reconnect_delay_ms) {
		config_format_number(CONFIG_DURATION,
		    cfg->min_reconnect_delay_ms, a, sizeof a);
		config_format_number(CONFIG_DURATION,
		    cfg->max_reconnect_delay_ms, b, sizeof b);
		*cause = config_printf("min_reconnect_delay (%s) must not "
		    "exceed max_reconnect_delay (%s)", a, b);
		return -1;
	}
	if (cfg->pong_timeout_ms <= cfg->ping_interval_ms) {
		config_format_number(CONFIG_DURATION, cfg->pong_timeout_ms,
		    a, sizeof a);
		config_format_number(CONFIG_DURATION, cfg->ping_interval_ms,
		    b, sizeof b);
		*cause = config_printf("pong_timeout (%s) must exceed "
		    "ping_interval (%s)", a, b);
		return -1;
	}
	return 0;
}

