/*
 * config_args.c - the command line of schematic-streamd: every key of the
 * table is also a long option; -c, -t, -T, -h and -V; then --help and the
 * dump, both generated from the same table (config.c).
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "util.h"

/* The options that are not keys; their getopt value is the short letter. */
static const struct {
	const char	*name;
	int		 letter;
	const char	*arg;
	const char	*help;
} config_options[] = {
	{ "config", 'c', "FILE", "read FILE instead of the default file" },
	{ "check-config", 't', NULL, "check the configuration and exit" },
	{ "dump-config", 'T', NULL,
	  "print the effective configuration and exit" },
	{ "help", 'h', NULL, "print this help and exit" },
	{ "version", 'V', NULL, "print the version and exit" },
};
#define NOPTIONS (sizeof config_options / sizeof config_options[0])

/* A key given on the command line, applied after the file. */
struct config_override {
	const struct config_key	*key;
	const char		*value;
};

/* The --name of the option whose getopt value is VAL, for messages. */
static const char *
config_option_name(const struct option *opts, int val)
{
	for (; opts->name != NULL; opts++) {
		if (opts->val == val)
			return opts->name;
	}
	return "?";
}

/*
 * The argument that spelled the long option getopt_long just returned:
 * "--name=value", or "--name" (followed by its value, or alone).
 */
static const char *
config_option_token(char **argv)
{
	if (optarg != NULL && optarg == argv[optind - 1])
		return argv[optind - 2];
	return argv[optind - 1];
}

/*
 * Parse argv into CLI and the key overrides (in order); returns 0, or -2
 * with a usage error. Abbreviated long options are refused: getopt_long
 * would take "--api-key SECRET" for --api-key-file.
 */
static int
config_parse_args(struct config_cli *cli, int argc, char **argv,
    const struct option *opts, struct config_override *ov, size_t *nov,
    char **cause)
{
	char		 q[QUOTE_SIZE], optstring[2 + 2 * NOPTIONS + 1];
	const char	*token, *name;
	size_t		 i, n = 0;
	int		 ch, longindex;

	optstring[n++] = '+';	/* stop at the first operand, never permute */
	optstring[n++] = ':';	/* tell a missing argument from the rest */
	for (i = 0; i < NOPTIONS; i++) {
		optstring[n++] = (char)config_options[i].letter;
		if (config_options[i].arg != NULL)
			optstring[n++] = ':';
	}
	optstring[n] = '\0';

	optind = 0;	/* glibc and musl: start afresh, whatever ran before */
	for (;;) {
		longindex = -1;
		if ((ch = getopt_long(argc, argv, optstring, opts,
		    &longindex)) == -1)
			break;
		if (ch == ':') {
			*cause = config_printf("option --%s requires an "
			    "argument", config_option_name(opts, optopt));
			return -2;
		}
		if (ch == '?' && optopt > 0 && optopt != ':' &&
		    optopt < OPT_KEY_BASE &&
		    strchr(optstring, optopt) != NULL) {
			*cause = config_printf("option --%s does not take an "
			    "argument", config_option_name(opts, optopt));
			return -2;
		}
		if (ch == '?' && optopt != 0) {
			*cause = config_printf("unknown option -%c", optopt);
			return -2;
		}
		if (ch == '?') {
			token = argv[optind - 1];
			*cause = config_printf("unknown option %.*s",
			    (int)strcspn(token, "="), token);
			return -2;
		}
		if (longindex != -1) {
			token = config_option_token(argv);
			name = opts[longindex].name;
			n = strlen(name);
			if (strncmp(token + 2, name, n) != 0 ||
			    (token[2 + n] != '\0' && token[2 + n] != '=')) {
				*cause = config_printf("unknown option %.*s "
				    "(abbreviations are not accepted)",
				    (int)strcspn(token, "="), token);
				return -2;
			}
		}
		switch (ch) {
		case 'c':
			cli->config_file = optarg;
			break;
		case 't':
			cli->check_only = 1;
			break;
		case 'T':
			cli->dump = 1;
			break;
		case 'h':
			cli->help = 1;
			break;
		case 'V':
			cli->version = 1;
			break;
		default:
			ov[*nov].key = &config_keys[ch - OPT_KEY_BASE];
			ov[(*nov)++].value = optarg;
			break;
		}
	}
	if (optind < argc) {
		*cause = config_printf("unexpected argument %s",
		    config_quote(q, argv[optind]));
		return -2;
	}
	return 0;
}

/* The long option of key K: its name with dashes for underscores. */
static void
config_option_of(const struct config_key *k, char *buf)
{
	size_t	i;

	for (i = 0; k->name[i] != '\0' && i < OPT_NAME_SIZE - 1; i++)
		buf[i] = k->name[i] == '_' ? '-' : k->name[i];
	buf[i] = '\0';
}

int
config_from_args(struct config *cfg, struct config_cli *cli, int argc,
    char **argv, const char *default_path, char **cause)
{
	struct option		 opts[NOPTIONS + CONFIG_NKEYS + 1];
	char			 names[CONFIG_NKEYS][OPT_NAME_SIZE], *msg;
	char			 option[OPT_NAME_SIZE];
	struct config_override	*ov;
	size_t			 i, nov = 0;
	int			 rc, saved_opterr = opterr, replaced = 0;

	memset(cli, 0, sizeof *cli);
	memset(opts, 0, sizeof opts);
	for (i = 0; i < NOPTIONS; i++) {
		opts[i].name = config_options[i].name;
		opts[i].has_arg = config_options[i].arg != NULL ?
		    required_argument : no_argument;
		opts[i].val = config_options[i].letter;
	}
	for (i = 0; i < CONFIG_NKEYS; i++) {
		config_option_of(&config_keys[i], names[i]);
		opts[NOPTIONS + i].name = names[i];
		opts[NOPTIONS + i].has_arg = required_argument;
		opts[NOPTIONS + i].val = OPT_KEY_BASE + (int)i;
	}
	ov = xreallocarray(NULL, (size_t)argc + 1, sizeof *ov);

	opterr = 0;
	rc = config_parse_args(cli, argc, argv, opts, ov, &nov, cause);
	opterr = saved_opterr;
	if (rc != 0 || cli->help || cli->version)
		goto out;

	if (cli->config_file != NULL)
		rc = config_load_file(cfg, cli->config_file, 1, cause);
	else if (default_path != NULL)
		rc = config_load_file(cfg, default_path, 0, cause);
	for (i = 0; rc == 0 && i < nov; i++) {
		if ((msg = config_apply(cfg, ov[i].key, ov[i].value,
		    &replaced)) != NULL) {
			config_option_of(ov[i].key, option);
			*cause = config_printf("--%s: %s", option, msg);
			free(msg);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = config_check(cfg, cause);
out:
	free(ov);
	return rc;
}

/* Print a string so that the file parser reads it back the same. */
static void
config_print_string(FILE *fp, const char *s)
{
	size_t	n = strlen(s), i;
	int	quote;

	quote = n > 0 && (strchr(" \t\"#", s[0]) != NULL ||
	    strchr(" \t", s[n - 1]) != NULL);
	for (i = 1; !quote && i < n; i++)
		quote = s[i] == '#' && strchr(" \t", s[i - 1]) != NULL;
	if (!quote) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Print subscription SUB as the value of a subscribe line. */
static void
config_print_sub(FILE *fp, const struct config_sub *sub)
{
	char	*s, *next;
	size_t	 i;

	s = xstrdup(sub->entity_type);
	for (i = 0; i < sub->nkeys; i++) {
		next = config_printf("%s %s=%s", s, sub->key_names[i],
		    sub->key_values[i]);
		free(s);
		s = next;
	}
	config_print_string(fp, s);
	free(s);
}

/*
 * Print every key as a "key = value" line, in table order: the file syntax,
 * read back to the same configuration. An unset key prints as "key =";
 * subscribe prints one line per subscription, or "subscribe = none".
 */
void
config_dump(const struct config *cfg, FILE *fp)
{
	const struct config_key	*k;
	const char		*s;
	char			 buf[32];
	size_t			 i;

	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		if (k->type == CONFIG_SUBSCRIBE) {
			if (cfg->nsubs == 0)
				fprintf(fp, "%s = none\n", k->name);
			for (i = 0; i < cfg->nsubs; i++) {
				fprintf(fp, "%s = ", k->name);
				config_print_sub(fp, &cfg->subs[i]);
				fputc('\n', fp);
			}
			continue;
		}
		fprintf(fp, "%s =", k->name);
		if (k->type == CONFIG_STRING || k->type == CONFIG_PATH) {
			s = *(char *const *)((const char *)cfg + k->offset);
			if (s != NULL) {
				fputc(' ', fp);
				config_print_string(fp, s);
			}
		} else if (k->type == CONFIG_CHOICE) {
			fprintf(fp, " %s", config_choice_name(k->choices,
			    (int)config_get_number(cfg, k)));
		} else {
			config_format_number(k->type, config_get_number(cfg, k),
			    buf, sizeof buf);
			fprintf(fp, " %s", buf);
		}
		fputc('\n', fp);
	}
}

/* Print the --help text: the options, then one option per key. */
void
config_usage(FILE *fp)
{
	const struct config_key	*k;
	char			 name[OPT_NAME_SIZE], opt[64];
	size_t			 i;

	fputs("usage: schematic-streamd [-htTV] [-c FILE] "
	    "[--KEY VALUE ...]\n\n", fp);
	for (i = 0; i < NOPTIONS; i++) {
		snprintf(opt, sizeof opt, "-%c, --%s%s%s",
		    config_options[i].letter, config_options[i].name,
		    config_options[i].arg != NULL ? " " : "",
		    config_options[i].arg != NULL ? config_options[i].arg : "");
		fprintf(fp, "  %-34s %s\n", opt, config_options[i].help);
	}
	fputs("\nEach key of the configuration file is also an option, "
	    "which overrides the file\n(defaults in brackets):\n", fp);
	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		config_option_of(k, name);
		snprintf(opt, sizeof opt, "--%s %s", name, k->arg);
		fprintf(fp, "      %-30s %s", opt, k->help);
		if (k->def != NULL)
			fprintf(fp, " [%s]", k->def);
		fputc('\n', fp);
	}
}
