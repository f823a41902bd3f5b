/*
 * test_config.c - unit tests of config.c: each key's good and bad values,
 * the duration and size parsers, golden files, the command line, the dump
 * round trip and the shipped etc/schematic-streamd.conf.
 *
 * Golden files: config/good-NAME.conf is loaded with -c and its dump must
 * equal config/good-NAME.ok; config/bad-NAME.conf must fail with the
 * message in config/bad-NAME.err (its first line). A new pair is picked up
 * without touching this file.
 *
 * main() first changes into $srcdir (automake sets it; default "."), or
 * into $srcdir/tests/unit when srcdir is the top of the tree (a
 * non-recursive Makefile), so every path the code sees is relative
 * ("config/bad-x.conf") and the messages in the .err files hold in-tree,
 * in a VPATH build and under distcheck alike.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"

#define SHIPPED_CONF	"../../etc/schematic-streamd.conf"
#define MISSING_CONF	"config/does-not-exist.conf"
#define MAX_GOLDEN	256

static char	*golden[MAX_GOLDEN];	/* "bad-x"..., then "good-x"... */
static int	 ngolden;
static int	 nbad;			/* golden[nbad] is the first good */

/* The dump of CFG as a string. */
static char *
dump(const struct config *cfg)
{
	char	*s = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&s, &len));
	config_dump(cfg, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return s;
}

/* The dump of a fresh default configuration. */
static char *
dump_defaults(void)
{
	struct config	 cfg;
	char		*s;

	config_init(&cfg);
	s = dump(&cfg);
	config_free(&cfg);
	return s;
}

/* The whole of file PATH, or NULL if it cannot be read. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*s = NULL;
	size_t	 len = 0;
	FILE	*out;
	int	 c;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	ck_assert_ptr_nonnull(out = open_memstream(&s, &len));
	while ((c = fgetc(fp)) != EOF)
		fputc(c, out);
	fclose(fp);
	fclose(out);
	return s;
}

/* The values of KEY's lines in DUMP, joined by newlines ("" for "key ="). */
static char *
values_of(const char *dumped, const char *key)
{
	const char	*p, *eol;
	size_t		 klen = strlen(key), len = 0;
	char		*s = NULL;
	FILE		*out;
	int		 first = 1;

	ck_assert_ptr_nonnull(out = open_memstream(&s, &len));
	for (p = dumped; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		if (strncmp(p, key, klen) != 0 ||
		    strncmp(p + klen, " =", 2) != 0)
			continue;
		if (!first)
			fputc('\n', out);
		first = 0;
		if (p[klen + 2] == ' ')
			fwrite(p + klen + 3, 1, (size_t)(eol - p - klen - 3),
			    out);
	}
	fclose(out);
	return s;
}

/*
 * Run config_from_args on a fresh default config with the arguments after
 * DEFAULT_PATH (NULL-terminated); leaves the config in *CFG.
 */
static int
run_args(struct config *cfg, struct config_cli *cli, char **cause,
    const char *default_path, ...)
{
	char	*argv[64];
	int	 argc = 0;
	va_list	 ap;

	argv[argc++] = (char *)"schematic-streamd";
	va_start(ap, default_path);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		ck_assert_int_lt(++argc, 63);
	va_end(ap);
	config_init(cfg);
	*cause = NULL;
	return config_from_args(cfg, cli, argc, argv, default_path, cause);
}

/* Write TEXT to a new temporary file; returns its malloc'd path. */
static char *
write_temp(const char *text)
{
	const char	*dir = getenv("TMPDIR");
	char		*path;
	int		 fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	ck_assert_int_ge(asprintf(&path, "%s/test_config.XXXXXX", dir), 0);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
	return path;
}

/* A socket path of 107 bytes, the most a sockaddr_un takes, and one more. */
#define LONG_PATH_107 "/run/" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.s"
#define LONG_PATH_108 LONG_PATH_107 "x"
_Static_assert(sizeof LONG_PATH_107 == 108, "LONG_PATH_107 is 107 bytes");

/* One value given to config_set: the dumped value(s) or the message. */
static const struct {
	const char	*key;
	const char	*value;
	const char	*want;		/* values_of() after success */
	const char	*err;		/* or the cause */
} key_cases[] = {
	{ "url", "wss://custom.example.com/ws", "wss://custom.example.com/ws",
	  NULL },
	{ "url", "not-a-url", "not-a-url", NULL },
	{ "url", "", NULL, "url: must not be empty" },
	{ "url", "https://a\tb", NULL, "url: invalid value \"https://a\\x09b\" "
	  "(control characters are not allowed)" },
	{ "api_key_file", "/etc/schematic/key", "/etc/schematic/key", NULL },
	{ "api_key_file", "", "", NULL },
	{ "api_key_file", "key.txt", NULL,
	  "api_key_file: \"key.txt\" is not an absolute path" },
	{ "datastream_mode", "direct", "direct", NULL },
	{ "datastream_mode", "replicator v2", "replicator v2", NULL },
	{ "datastream_mode", "", NULL, "datastream_mode: must not be empty" },
	{ "datastream_mode", "x\r\nX-Evil: 1", NULL, "datastream_mode: invalid "
	  "value \"x\\x0d\\x0aX-Evil: 1\" (control characters are not "
	  "allowed)" },
	{ "datastream_mode", "\x7f", NULL, "datastream_mode: invalid value "
	  "\"\\x7f\" (control characters are not allowed)" },
	{ "stream_socket", "/tmp/s.sock", "/tmp/s.sock", NULL },
	{ "stream_socket", LONG_PATH_107, LONG_PATH_107, NULL },
	{ "stream_socket", LONG_PATH_108, NULL, "stream_socket: path \"/run/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxx...\" is too long (at most 107 bytes)" },
	{ "stream_socket", "s.sock", NULL,
	  "stream_socket: \"s.sock\" is not an absolute path" },
	{ "stream_socket", "", NULL, "stream_socket: must not be empty" },
	{ "socket_mode", "0600", "0600", NULL },
	{ "socket_mode", "660", "0660", NULL },
	{ "socket_mode", "0", "0000", NULL },
	{ "socket_mode", "0777", "0777", NULL },
	{ "socket_mode", "00000777", "0777", NULL },
	{ "socket_mode", "01000", NULL,
	  "socket_mode: invalid mode \"01000\" (use octal 0000 to 0777)" },
	{ "socket_mode", "0680", NULL,
	  "socket_mode: invalid mode \"0680\" (use octal 0000 to 0777)" },
	{ "socket_mode", "u+rw", NULL,
	  "socket_mode: invalid mode \"u+rw\" (use octal 0000 to 0777)" },
	{ "socket_mode", "", NULL,
	  "socket_mode: invalid mode \"\" (use octal 0000 to 0777)" },
	{ "socket_group", "schematic", "schematic", NULL },
	{ "socket_group", "1001", "1001", NULL },
	{ "socket_group", "", "", NULL },
	{ "ca_file", "/etc/ssl/ca.pem", "/etc/ssl/ca.pem", NULL },
	{ "ca_file", "", "", NULL },
	{ "ca_file", "./ca.pem", NULL,
	  "ca_file: \"./ca.pem\" is not an absolute path" },
	{ "max_reconnect_attempts", "0", "0", NULL },
	{ "max_reconnect_attempts", "3", "3", NULL },
	{ "max_reconnect_attempts", "4294967295", "4294967295", NULL },
	{ "max_reconnect_attempts", "4294967296", NULL,
	  "max_reconnect_attempts: \"4294967296\" is too large "
	  "(maximum 4294967295)" },
	{ "max_reconnect_attempts", "99999999999999999999999", NULL,
	  "max_reconnect_attempts: invalid number "
	  "\"99999999999999999999999\"" },
	{ "max_reconnect_attempts", "-1", NULL,
	  "max_reconnect_attempts: invalid number \"-1\"" },
	{ "max_reconnect_attempts", "+1", NULL,
	  "max_reconnect_attempts: invalid number \"+1\"" },
	{ "max_reconnect_attempts", " 1", NULL,
	  "max_reconnect_attempts: invalid number \" 1\"" },
	{ "max_reconnect_attempts", "3x", NULL,
	  "max_reconnect_attempts: invalid number \"3x\"" },
	{ "max_reconnect_attempts", "", NULL,
	  "max_reconnect_attempts: invalid number \"\"" },
	{ "min_reconnect_delay", "1ms", "1ms", NULL },
	{ "min_reconnect_delay", "500ms", "500ms", NULL },
	{ "min_reconnect_delay", "2s", "2s", NULL },
	{ "min_reconnect_delay", "1.5s", "1500ms", NULL },
	{ "min_reconnect_delay", "60m", "60m", NULL },
	{ "min_reconnect_delay", "0ms", NULL,
	  "min_reconnect_delay: \"0ms\" is too small (minimum 1ms)" },
	{ "min_reconnect_delay", "61m", NULL,
	  "min_reconnect_delay: \"61m\" is too large (maximum 60m)" },
	{ "max_reconnect_delay", "1440m", "1440m", NULL },
	{ "max_reconnect_delay", "86400001ms", NULL, "max_reconnect_delay: "
	  "\"86400001ms\" is too large (maximum 1440m)" },
	{ "ping_interval", "54s", "54s", NULL },
	{ "ping_interval", "120s", "2m", NULL },
	{ "ping_interval", "0.5m", "30s", NULL },
	{ "ping_interval", "5", NULL,
	  "ping_interval: invalid duration \"5\" (use ms, s or m)" },
	{ "ping_interval", "5 parsecs", NULL,
	  "ping_interval: invalid duration \"5 parsecs\" (use ms, s or m)" },
	{ "ping_interval", "1h", NULL,
	  "ping_interval: invalid duration \"1h\" (use ms, s or m)" },
	{ "ping_interval", "-5s", NULL,
	  "ping_interval: invalid duration \"-5s\" (use ms, s or m)" },
	{ "pong_timeout", "0s", NULL,
	  "pong_timeout: \"0s\" is too small (minimum 1ms)" },
	{ "pong_timeout", "1.0001s", NULL,
	  "pong_timeout: invalid duration \"1.0001s\" (use ms, s or m)" },
	{ "write_timeout", "250ms", "250ms", NULL },
	{ "write_timeout", "", NULL,
	  "write_timeout: invalid duration \"\" (use ms, s or m)" },
	{ "handshake_timeout", "45s", "45s", NULL },
	{ "handshake_timeout", "3600001ms", NULL, "handshake_timeout: "
	  "\"3600001ms\" is too large (maximum 60m)" },
	{ "ready_timeout", "2m", "2m", NULL },
	{ "ready_timeout", "0m", NULL,
	  "ready_timeout: \"0m\" is too small (minimum 1ms)" },
	{ "flags_page_size", "0", "0", NULL },
	{ "flags_page_size", "10000", "10000", NULL },
	{ "flags_page_size", "10001", NULL,
	  "flags_page_size: \"10001\" is too large (maximum 10000)" },
	{ "flags_page_size", "ten", NULL,
	  "flags_page_size: invalid number \"ten\"" },
	{ "subscribe", "flags", "rulesengine.Flags", NULL },
	{ "subscribe", "rulesengine.Companies", "rulesengine.Companies", NULL },
	{ "subscribe", "company company_id=acme",
	  "rulesengine.Company company_id=acme", NULL },
	{ "subscribe", "  user\tuser_id=u-42  ",
	  "rulesengine.User user_id=u-42", NULL },
	{ "subscribe", "user b=2 a=1 c=x=y", "rulesengine.User a=1 b=2 c=x=y",
	  NULL },
	{ "subscribe", "none", "none", NULL },
	{ "subscribe", "", NULL, "subscribe: must not be empty "
	  "(use TYPE [KEY=VALUE ...] or none)" },
	{ "subscribe", "Flags", NULL, "subscribe: unknown entity type "
	  "\"Flags\" (use flags, flag, company, companies, user, users or "
	  "their rulesengine. names)" },
	{ "subscribe", "none company", NULL, "subscribe: unknown entity type "
	  "\"none\" (use flags, flag, company, companies, user, users or "
	  "their rulesengine. names)" },
	{ "subscribe", "company company_id", NULL,
	  "subscribe: invalid key \"company_id\" (use KEY=VALUE)" },
	{ "subscribe", "company =acme", NULL,
	  "subscribe: invalid key \"=acme\" (use KEY=VALUE)" },
	{ "subscribe", "company company_id=", NULL,
	  "subscribe: invalid key \"company_id=\" (use KEY=VALUE)" },
	{ "subscribe", "company k=a\x01", NULL,
	  "subscribe: invalid key \"k=a\\x01\" (use KEY=VALUE)" },
	{ "subscribe", "user a=1 b=2 a=3", NULL,
	  "subscribe: duplicate key \"a\"" },
	{ "max_message_size", "1024", "1KiB", NULL },
	{ "max_message_size", "1025", "1025", NULL },
	{ "max_message_size", "1K", "1KiB", NULL },
	{ "max_message_size", "2M", "2MiB", NULL },
	{ "max_message_size", "1G", "1GiB", NULL },
	{ "max_message_size", "3KiB", "3KiB", NULL },
	{ "max_message_size", "16MiB", "16MiB", NULL },
	{ "max_message_size", "1GiB", "1GiB", NULL },
	{ "max_message_size", "1536K", "1536KiB", NULL },
	{ "max_message_size", "1023", NULL,
	  "max_message_size: \"1023\" is too small (minimum 1KiB)" },
	{ "max_message_size", "2G", NULL,
	  "max_message_size: \"2G\" is too large (maximum 1GiB)" },
	{ "max_message_size", "1.5M", NULL, "max_message_size: invalid size "
	  "\"1.5M\" (use bytes, K, M, G, KiB, MiB or GiB)" },
	{ "max_message_size", "16MB", NULL, "max_message_size: invalid size "
	  "\"16MB\" (use bytes, K, M, G, KiB, MiB or GiB)" },
	{ "max_message_size", "16 MiB", NULL, "max_message_size: invalid size "
	  "\"16 MiB\" (use bytes, K, M, G, KiB, MiB or GiB)" },
	{ "reader_queue_limit", "64KiB", "64KiB", NULL },
	{ "reader_queue_limit", "65535", NULL,
	  "reader_queue_limit: \"65535\" is too small (minimum 64KiB)" },
	{ "max_readers", "1", "1", NULL },
	{ "max_readers", "1048576", "1048576", NULL },
	{ "max_readers", "0", NULL,
	  "max_readers: \"0\" is too small (minimum 1)" },
	{ "max_readers", "1048577", NULL,
	  "max_readers: \"1048577\" is too large (maximum 1048576)" },
	{ "max_readers", "x", NULL, "max_readers: invalid number \"x\"" },
	{ "log_level", "err", "err", NULL },
	{ "log_level", "error", "err", NULL },
	{ "log_level", "warning", "warning", NULL },
	{ "log_level", "notice", "notice", NULL },
	{ "log_level", "info", "info", NULL },
	{ "log_level", "debug", "debug", NULL },
	{ "log_level", "warn", NULL, "log_level: invalid log level \"warn\" "
	  "(use err, warning, notice, info or debug)" },
	{ "log_level", "DEBUG", NULL, "log_level: invalid log level "
	  "\"DEBUG\" (use err, warning, notice, info or debug)" },
	{ "foo", "bar", NULL, "unknown key \"foo\"" },
	{ "api_key", "sk_123", NULL, "unknown key \"api_key\"" },
	{ "ping-interval", "5s", NULL, "unknown key \"ping-interval\"" },
};

START_TEST(test_key_value)
{
	struct config	 cfg;
	char		*cause = NULL, *before, *after, *got;
	int		 rc;

	config_init(&cfg);
	before = dump(&cfg);
	rc = config_set(&cfg, key_cases[_i].key, key_cases[_i].value, &cause);
	after = dump(&cfg);
	if (key_cases[_i].err == NULL) {
		ck_assert_msg(rc == 0, "%s = \"%s\": %s", key_cases[_i].key,
		    key_cases[_i].value, cause);
		got = values_of(after, key_cases[_i].key);
		ck_assert_str_eq(got, key_cases[_i].want);
		free(got);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(cause);
		ck_assert_str_eq(cause, key_cases[_i].err);
		ck_assert_str_eq(after, before);	/* left unchanged */
	}
	free(before);
	free(after);
	free(cause);
	config_free(&cfg);
}
END_TEST

static const struct {
	const char	*text;
	int		 rc;
	uint64_t	 ms;
} duration_cases[] = {
	{ "0ms", 0, 0 }, { "1ms", 0, 1 }, { "500ms", 0, 500 },
	{ "1s", 0, 1000 }, { "54s", 0, 54000 }, { "2m", 0, 120000 },
	{ "1.5s", 0, 1500 }, { "0.001s", 0, 1 }, { "1.25m", 0, 75000 },
	{ "0.0001m", 0, 6 }, { "0.00005m", 0, 3 },
	{ "1.500000000000s", 0, 1500 }, { "007s", 0, 7000 },
	{ "18446744073709551615ms", 0, UINT64_MAX },
	{ "18446744073709551616ms", -1, 0 }, { "18446744073709552s", -1, 0 },
	{ "307445734561825861m", -1, 0 },
	{ "1.5ms", -1, 0 }, { "1.0001s", -1, 0 }, { "0.000001m", -1, 0 },
	{ "1.0000000001s", -1, 0 }, { "5", -1, 0 }, { "", -1, 0 },
	{ "s", -1, 0 }, { ".5s", -1, 0 }, { "1.s", -1, 0 }, { "-1s", -1, 0 },
	{ "+1s", -1, 0 }, { " 1s", -1, 0 }, { "1s ", -1, 0 },
	{ "1 s", -1, 0 }, { "1h", -1, 0 }, { "1S", -1, 0 }, { "1sec", -1, 0 },
	{ "1mss", -1, 0 }, { "1e3ms", -1, 0 }, { "0x10s", -1, 0 },
};

START_TEST(test_parse_duration)
{
	uint64_t	ms = 12345;
	int		rc;

	rc = config_parse_duration_ms(duration_cases[_i].text, &ms);
	ck_assert_msg(rc == duration_cases[_i].rc, "\"%s\": rc %d",
	    duration_cases[_i].text, rc);
	if (rc == 0)
		ck_assert_uint_eq(ms, duration_cases[_i].ms);
	else
		ck_assert_uint_eq(ms, 12345);	/* untouched on error */
}
END_TEST

static const struct {
	const char	*text;
	int		 rc;
	size_t		 size;
} size_cases[] = {
	{ "0", 0, 0 }, { "1", 0, 1 }, { "1000", 0, 1000 },
	{ "1K", 0, 1024 }, { "1KiB", 0, 1024 }, { "64KiB", 0, 65536 },
	{ "1M", 0, 1048576 }, { "16MiB", 0, 16777216 },
	{ "1G", 0, 1073741824 }, { "2GiB", 0, 2147483648U },
	{ "18446744073709551615", 0, SIZE_MAX },
	{ "18446744073709551616", -1, 0 }, { "17179869184G", -1, 0 },
	{ "", -1, 0 }, { "K", -1, 0 }, { "1k", -1, 0 }, { "1KB", -1, 0 },
	{ "1Ki", -1, 0 }, { "1B", -1, 0 }, { "1.5M", -1, 0 }, { "-1", -1, 0 },
	{ " 1", -1, 0 }, { "1 ", -1, 0 }, { "1 MiB", -1, 0 }, { "1T", -1, 0 },
	{ "1MiBB", -1, 0 },
};

START_TEST(test_parse_size)
{
	size_t	size = 12345;
	int	rc;

	if (SIZE_MAX < UINT64_MAX && size_cases[_i].size == SIZE_MAX)
		return;		/* the 64-bit limit case */
	rc = config_parse_size(size_cases[_i].text, &size);
	ck_assert_msg(rc == size_cases[_i].rc, "\"%s\": rc %d",
	    size_cases[_i].text, rc);
	if (rc == 0)
		ck_assert_uint_eq(size, size_cases[_i].size);
	else
		ck_assert_uint_eq(size, 12345);
}
END_TEST

/* A golden file: good-X.conf dumps as good-X.ok; bad-X.conf says bad-X.err. */
START_TEST(test_golden)
{
	struct config	 cfg;
	struct config_cli cli;
	char		 conf[512], expect[512], *cause, *want, *got;
	int		 good = strncmp(golden[_i], "good-", 5) == 0, rc;

	snprintf(conf, sizeof conf, "config/%s.conf", golden[_i]);
	snprintf(expect, sizeof expect, "config/%s.%s", golden[_i],
	    good ? "ok" : "err");
	rc = run_args(&cfg, &cli, &cause, MISSING_CONF, "-c", conf, NULL);
	if (good) {
		ck_assert_msg(rc == 0, "%s: %s", conf, cause);
		ck_assert_msg((want = slurp(expect)) != NULL, "no %s", expect);
		got = dump(&cfg);
		ck_assert_msg(strcmp(got, want) == 0, "%s dumps as:\n%s",
		    conf, got);
		free(got);
	} else {
		ck_assert_msg(rc == -1, "%s: rc %d", conf, rc);
		ck_assert_ptr_nonnull(want = slurp(expect));
		want[strcspn(want, "\n")] = '\0';
		ck_assert_str_eq(cause, want);
	}
	free(want);
	free(cause);
	config_free(&cfg);
}
END_TEST

/* Dump, load the dump into a default config: the same dump again. */
static void
check_round_trip(const struct config *cfg)
{
	struct config	 again;
	char		*first, *second, *path, *cause = NULL;

	first = dump(cfg);
	path = write_temp(first);
	config_init(&again);
	ck_assert_msg(config_load_file(&again, path, 1, &cause) == 0, "%s",
	    cause);
	ck_assert_msg(config_check(&again, &cause) == 0, "%s", cause);
	second = dump(&again);
	ck_assert_str_eq(second, first);
	unlink(path);
	free(path);
	free(first);
	free(second);
	config_free(&again);
}

START_TEST(test_round_trip_golden)
{
	struct config	 cfg;
	struct config_cli cli;
	char		 conf[512], *cause;

	ck_assert_int_eq(strncmp(golden[_i], "good-", 5), 0);
	snprintf(conf, sizeof conf, "config/%s.conf", golden[_i]);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, NULL, "-c", conf,
	    NULL), 0);
	check_round_trip(&cfg);
	config_free(&cfg);
}
END_TEST

/* Values that need quoting, escaping or nothing at all survive a dump. */
START_TEST(test_round_trip_awkward)
{
	static const char *const values[] = {
		" leading", "trailing ", "#hash", "a #b", "a#b", "\"quoted\"",
		"back\\slash", "say \"hi\" # \\", "x=\"", "\"", "\\",
		"utf-8 \xc3\xa9t\xc3\xa9", "none",
	};
	struct config	 cfg;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		config_init(&cfg);
		ck_assert_int_eq(config_set(&cfg, "datastream_mode", values[i],
		    &cause), 0);
		ck_assert_int_eq(config_set(&cfg, "socket_group", values[i],
		    &cause), 0);
		ck_assert_int_eq(config_set(&cfg, "api_key_file", "/a #b",
		    &cause), 0);
		ck_assert_int_eq(config_set(&cfg, "subscribe",
		    "company company_id=#1", &cause), 0);
		check_round_trip(&cfg);
		ck_assert_int_eq(config_set(&cfg, "subscribe", "none", &cause),
		    0);
		check_round_trip(&cfg);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_round_trip_defaults)
{
	struct config	cfg;

	config_init(&cfg);
	check_round_trip(&cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct config	 cfg;
	char		*cause = NULL;

	config_init(&cfg);
	ck_assert_str_eq(cfg.url, "https://api.schematichq.com");
	ck_assert_ptr_null(cfg.api_key_file);
	ck_assert_str_eq(cfg.datastream_mode, "replicator");
	ck_assert_str_eq(cfg.stream_socket,
	    "/run/schematic-streamd/stream.sock");
	ck_assert_uint_eq(cfg.socket_mode, 0660);
	ck_assert_ptr_null(cfg.socket_group);
	ck_assert_ptr_null(cfg.ca_file);
	ck_assert_uint_eq(cfg.max_reconnect_attempts, 10);
	ck_assert_uint_eq(cfg.min_reconnect_delay_ms, 1000);
	ck_assert_uint_eq(cfg.max_reconnect_delay_ms, 30000);
	ck_assert_uint_eq(cfg.ping_interval_ms, 54000);
	ck_assert_uint_eq(cfg.pong_timeout_ms, 60000);
	ck_assert_uint_eq(cfg.write_timeout_ms, 10000);
	ck_assert_uint_eq(cfg.handshake_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.ready_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.flags_page_size, 100);
	ck_assert_uint_eq(cfg.nsubs, 1);
	ck_assert_str_eq(cfg.subs[0].entity_type, "rulesengine.Flags");
	ck_assert_uint_eq(cfg.subs[0].nkeys, 0);
	ck_assert_uint_eq(cfg.max_message_size, 16 * 1024 * 1024);
	ck_assert_uint_eq(cfg.reader_queue_limit, 8 * 1024 * 1024);
	ck_assert_uint_eq(cfg.max_readers, 1024);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(config_check(&cfg, &cause), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_free)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof cfg);
	config_free(&cfg);		/* zeroed */
	config_init(&cfg);
	config_free(&cfg);
	config_free(&cfg);		/* freed leaves it zeroed */
	config_free(NULL);
	ck_assert_ptr_null(cfg.url);
	ck_assert_ptr_null(cfg.subs);
}
END_TEST

START_TEST(test_subscription_fields)
{
	struct config	 cfg;
	char		*cause = NULL;

	config_init(&cfg);
	ck_assert_int_eq(config_set(&cfg, "subscribe",
	    "company name=Acme company_id=acme-123", &cause), 0);
	ck_assert_uint_eq(cfg.nsubs, 1);
	ck_assert_str_eq(cfg.subs[0].entity_type, "rulesengine.Company");
	ck_assert_uint_eq(cfg.subs[0].nkeys, 2);
	ck_assert_str_eq(cfg.subs[0].key_names[0], "company_id");
	ck_assert_str_eq(cfg.subs[0].key_values[0], "acme-123");
	ck_assert_str_eq(cfg.subs[0].key_names[1], "name");
	ck_assert_str_eq(cfg.subs[0].key_values[1], "Acme");
	/* config_set is a source of its own: it replaces the list. */
	ck_assert_int_eq(config_set(&cfg, "subscribe", "users", &cause), 0);
	ck_assert_uint_eq(cfg.nsubs, 1);
	ck_assert_str_eq(cfg.subs[0].entity_type, "rulesengine.Users");
	ck_assert_int_eq(config_set(&cfg, "subscribe", "none", &cause), 0);
	ck_assert_uint_eq(cfg.nsubs, 0);
	ck_assert_ptr_null(cfg.subs);
	config_free(&cfg);
}
END_TEST

START_TEST(test_entity_type)
{
	static const char *const pairs[][2] = {
		{ "flags", "rulesengine.Flags" },
		{ "flag", "rulesengine.Flag" },
		{ "company", "rulesengine.Company" },
		{ "companies", "rulesengine.Companies" },
		{ "user", "rulesengine.User" },
		{ "users", "rulesengine.Users" },
	};
	size_t	i;

	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		ck_assert_str_eq(config_entity_type(pairs[i][0]), pairs[i][1]);
		ck_assert_str_eq(config_entity_type(pairs[i][1]), pairs[i][1]);
		ck_assert_ptr_eq(config_entity_type(pairs[i][0]),
		    config_entity_type(pairs[i][1]));
	}
	ck_assert_ptr_null(config_entity_type("Company"));
	ck_assert_ptr_null(config_entity_type("rulesengine.company"));
	ck_assert_ptr_null(config_entity_type("rulesengine."));
	ck_assert_ptr_null(config_entity_type(""));
	ck_assert_ptr_null(config_entity_type("none"));
}
END_TEST

START_TEST(test_log_level_name)
{
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_ERR), "err");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_WARNING), "warning");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_NOTICE), "notice");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_INFO), "info");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_DEBUG), "debug");
	ck_assert_str_eq(config_log_level_name((enum log_level)42), "unknown");
}
END_TEST

START_TEST(test_missing_files)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause, *got, *want = dump_defaults();

	/* A missing default file is fine; a missing -c file is not. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, NULL), 0);
	ck_assert_str_eq(got = dump(&cfg), want);
	free(got);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, NULL, NULL), 0);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, NULL, "-c",
	    MISSING_CONF, NULL), -1);
	ck_assert_str_eq(cause, "cannot open " MISSING_CONF
	    ": No such file or directory");
	free(cause);
	config_free(&cfg);

	config_init(&cfg);
	cause = NULL;
	ck_assert_int_eq(config_load_file(&cfg, MISSING_CONF, 0, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(config_load_file(&cfg, MISSING_CONF, 1, &cause), -1);
	ck_assert_str_eq(cause, "cannot open " MISSING_CONF
	    ": No such file or directory");
	free(cause);
	cause = NULL;
	/* Only ENOENT is excused, and a directory cannot be read. */
	ck_assert_int_eq(config_load_file(&cfg, "config/good-empty.conf/x",
	    0, &cause), -1);
	ck_assert_str_eq(cause, "cannot open config/good-empty.conf/x: "
	    "Not a directory");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(config_load_file(&cfg, "config", 0, &cause), -1);
	ck_assert_str_eq(cause, "cannot read config: Is a directory");
	free(cause);
	ck_assert_str_eq(got = dump(&cfg), want);
	free(got);
	config_free(&cfg);
	free(want);
}
END_TEST

START_TEST(test_default_path_used)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;

	ck_assert_int_eq(run_args(&cfg, &cli, &cause,
	    "config/good-all-keys.conf", NULL), 0);
	ck_assert_ptr_null(cli.config_file);
	ck_assert_uint_eq(cfg.max_readers, 16);
	config_free(&cfg);
	/* -c wins over the default path. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause,
	    "config/good-all-keys.conf", "-c", "config/good-empty.conf",
	    NULL), 0);
	ck_assert_str_eq(cli.config_file, "config/good-empty.conf");
	ck_assert_uint_eq(cfg.max_readers, 1024);
	config_free(&cfg);
	/* An error in the default file is an error all the same. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause,
	    "config/bad-unknown-key.conf", NULL), -1);
	ck_assert_str_eq(cause,
	    "config/bad-unknown-key.conf:3: unknown key \"foo\"");
	free(cause);
	config_free(&cfg);
}
END_TEST

START_TEST(test_long_line)
{
	static const char prefix[] = "# before\nurl = https://example.com/";
	struct config	 cfg;
	char		*text, *path, *cause = NULL;
	size_t		 n = 200000;

	/* Lines have no length limit. */
	ck_assert_ptr_nonnull(text = malloc(sizeof prefix + n + 32));
	memcpy(text, prefix, sizeof prefix - 1);
	memset(text + sizeof prefix - 1, 'a', n);
	strcpy(text + sizeof prefix - 1 + n, "\nmax_readers = 3\n");
	path = write_temp(text);
	config_init(&cfg);
	ck_assert_msg(config_load_file(&cfg, path, 1, &cause) == 0, "%s",
	    cause);
	ck_assert_uint_eq(strlen(cfg.url), strlen("https://example.com/") + n);
	ck_assert_uint_eq(cfg.max_readers, 3);
	unlink(path);
	free(path);
	free(text);
	config_free(&cfg);
}
END_TEST

START_TEST(test_overrides)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;

	/* Options beat the file wherever they stand; the last one wins. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--ping-interval", "5s", "--max-readers=7", "-c",
	    "config/good-all-keys.conf", "--ping-interval", "7s",
	    "--api-key-file", "", "--stream-socket", "/tmp/x.sock", NULL), 0);
	ck_assert_uint_eq(cfg.ping_interval_ms, 7000);
	ck_assert_uint_eq(cfg.pong_timeout_ms, 40000);	/* from the file */
	ck_assert_uint_eq(cfg.max_readers, 7);
	ck_assert_ptr_null(cfg.api_key_file);
	ck_assert_str_eq(cfg.stream_socket, "/tmp/x.sock");
	config_free(&cfg);

	/* Every key has its option. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--url", "http://localhost:8080", "--api-key-file", "/k",
	    "--datastream-mode", "direct", "--stream-socket", "/s",
	    "--socket-mode", "0600", "--socket-group", "g", "--ca-file", "/ca",
	    "--max-reconnect-attempts", "3", "--min-reconnect-delay", "2s",
	    "--max-reconnect-delay", "3s", "--ping-interval", "1s",
	    "--pong-timeout", "2s", "--write-timeout", "3s",
	    "--handshake-timeout", "4s", "--ready-timeout", "5s",
	    "--flags-page-size", "6", "--subscribe", "users",
	    "--max-message-size", "2K", "--reader-queue-limit", "1M",
	    "--max-readers", "9", "--log-level", "debug", NULL), 0);
	ck_assert_str_eq(cfg.url, "http://localhost:8080");
	ck_assert_str_eq(cfg.api_key_file, "/k");
	ck_assert_str_eq(cfg.datastream_mode, "direct");
	ck_assert_str_eq(cfg.stream_socket, "/s");
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	ck_assert_str_eq(cfg.socket_group, "g");
	ck_assert_str_eq(cfg.ca_file, "/ca");
	ck_assert_uint_eq(cfg.max_reconnect_attempts, 3);
	ck_assert_uint_eq(cfg.min_reconnect_delay_ms, 2000);
	ck_assert_uint_eq(cfg.max_reconnect_delay_ms, 3000);
	ck_assert_uint_eq(cfg.ping_interval_ms, 1000);
	ck_assert_uint_eq(cfg.pong_timeout_ms, 2000);
	ck_assert_uint_eq(cfg.write_timeout_ms, 3000);
	ck_assert_uint_eq(cfg.handshake_timeout_ms, 4000);
	ck_assert_uint_eq(cfg.ready_timeout_ms, 5000);
	ck_assert_uint_eq(cfg.flags_page_size, 6);
	ck_assert_uint_eq(cfg.nsubs, 1);
	ck_assert_str_eq(cfg.subs[0].entity_type, "rulesengine.Users");
	ck_assert_uint_eq(cfg.max_message_size, 2048);
	ck_assert_uint_eq(cfg.reader_queue_limit, 1048576);
	ck_assert_uint_eq(cfg.max_readers, 9);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	config_free(&cfg);

	/* A bad option value names the option. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--ping-interval", "x", NULL), -1);
	ck_assert_str_eq(cause,
	    "--ping-interval: invalid duration \"x\" (use ms, s or m)");
	free(cause);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--max-reconnect-attempts", "-3", NULL), -1);
	ck_assert_str_eq(cause,
	    "--max-reconnect-attempts: invalid number \"-3\"");
	free(cause);
	config_free(&cfg);

	/* The file's error comes first: it is loaded before the options. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--ping-interval", "x", "-c", "config/bad-number.conf", NULL), -1);
	ck_assert_str_eq(cause, "config/bad-number.conf:1: max_readers: "
	    "invalid number \"many\"");
	free(cause);
	config_free(&cfg);

	/* An option can mend what the file alone gets wrong across keys. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "-c", "config/bad-pong.conf", "--pong-timeout", "31s", NULL), 0);
	config_free(&cfg);
}
END_TEST

/* The subscriptions of CFG as "TYPE k=v|TYPE|..." for easy comparison. */
static char *
subs_of(const struct config *cfg)
{
	char	*d = dump(cfg), *v = values_of(d, "subscribe"), *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == '\n')
			*p = '|';
	}
	free(d);
	return v;
}

START_TEST(test_subscribe_sources)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause, *got;

	/* The command line is one source: its first --subscribe replaces
	 * the file's list, the next ones append. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "-c", "config/good-all-keys.conf", "--subscribe",
	    "company company_id=acme", "--subscribe", "flags", "--subscribe",
	    "company company_id=acme", NULL), 0);
	ck_assert_str_eq(got = subs_of(&cfg),
	    "rulesengine.Company company_id=acme|rulesengine.Flags");
	free(got);
	config_free(&cfg);

	/* No --subscribe: the file's list stays. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "-c", "config/good-all-keys.conf", NULL), 0);
	ck_assert_str_eq(got = subs_of(&cfg), "rulesengine.Flags|"
	    "rulesengine.Company company_id=acme-123|"
	    "rulesengine.User user_id=u-42");
	free(got);
	config_free(&cfg);

	/* none empties it; later ones append again. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "-c", "config/good-all-keys.conf", "--subscribe", "none", NULL), 0);
	ck_assert_uint_eq(cfg.nsubs, 0);
	ck_assert_str_eq(got = subs_of(&cfg), "none");
	free(got);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--subscribe", "flags", "--subscribe", "none", "--subscribe",
	    "user user_id=1", NULL), 0);
	ck_assert_str_eq(got = subs_of(&cfg), "rulesengine.User user_id=1");
	free(got);
	config_free(&cfg);

	/* The default list is replaced, not appended to. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--subscribe", "companies", NULL), 0);
	ck_assert_str_eq(got = subs_of(&cfg), "rulesengine.Companies");
	free(got);
	config_free(&cfg);

	/* A file whose lines are all "flags" keeps exactly one. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, "-c",
	    "config/good-subscribe-none.conf", "--subscribe", "flags",
	    "--subscribe", "rulesengine.Flags", NULL), 0);
	ck_assert_str_eq(got = subs_of(&cfg), "rulesengine.Flags");
	free(got);
	config_free(&cfg);
}
END_TEST

START_TEST(test_cli_flags)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;

	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, "-tT",
	    NULL), 0);
	ck_assert_int_eq(cli.check_only, 1);
	ck_assert_int_eq(cli.dump, 1);
	ck_assert_int_eq(cli.help, 0);
	ck_assert_int_eq(cli.version, 0);
	ck_assert_ptr_null(cli.config_file);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--check-config", "--dump-config",
	    "--config=config/good-empty.conf", NULL), 0);
	ck_assert_int_eq(cli.check_only, 1);
	ck_assert_int_eq(cli.dump, 1);
	ck_assert_str_eq(cli.config_file, "config/good-empty.conf");
	config_free(&cfg);

	/* --help and --version stop before any file is read. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, "-h",
	    "-c", MISSING_CONF, "--ping-interval", "bad", NULL), 0);
	ck_assert_int_eq(cli.help, 1);
	ck_assert_int_eq(cli.check_only, 0);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--version", "-c", "config/bad-unknown-key.conf", NULL), 0);
	ck_assert_int_eq(cli.version, 1);
	ck_assert_int_eq(cli.help, 0);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, "-V",
	    "--help", NULL), 0);
	ck_assert_int_eq(cli.version, 1);
	ck_assert_int_eq(cli.help, 1);
	config_free(&cfg);
}
END_TEST

/* Usage errors: -2 and a message saying what was wrong. */
static const struct {
	const char	*args[4];
	const char	*err;
} usage_cases[] = {
	{ { "--foo" }, "unknown option --foo" },
	{ { "--foo=secret" }, "unknown option --foo" },
	{ { "-x" }, "unknown option -x" },
	{ { "-tx" }, "unknown option -x" },
	{ { "-:" }, "unknown option -:" },
	{ { "-c" }, "option --config requires an argument" },
	{ { "--config" }, "option --config requires an argument" },
	{ { "--ping-interval" },
	  "option --ping-interval requires an argument" },
	{ { "-t", "--subscribe" }, "option --subscribe requires an argument" },
	{ { "--help=yes" }, "option --help does not take an argument" },
	{ { "--api-key", "sk_live_secret" },
	  "unknown option --api-key (abbreviations are not accepted)" },
	{ { "--api-key=sk_live_secret" },
	  "unknown option --api-key (abbreviations are not accepted)" },
	{ { "--ping", "5s" },
	  "unknown option --ping (abbreviations are not accepted)" },
	{ { "--conf", "x" },
	  "unknown option --conf (abbreviations are not accepted)" },
	{ { "--max", "5" }, "unknown option --max" },	/* ambiguous */
	{ { "--ping_interval", "5s" }, "unknown option --ping_interval" },
	{ { "operand" }, "unexpected argument \"operand\"" },
	{ { "-t", "operand", "-T" }, "unexpected argument \"operand\"" },
	{ { "--", "-t" }, "unexpected argument \"-t\"" },
};

START_TEST(test_usage_error)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;
	const char	*const *a = usage_cases[_i].args;

	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF, a[0], a[1],
	    a[2], a[3], NULL), -2);
	ck_assert_str_eq(cause, usage_cases[_i].err);
	free(cause);
	config_free(&cfg);
}
END_TEST

START_TEST(test_twice)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;
	int		 round;

	/* getopt state is reset: each call sees its whole argv. */
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
		    "-t", "--max-readers", "5", NULL), 0);
		ck_assert_int_eq(cli.check_only, 1);
		ck_assert_uint_eq(cfg.max_readers, 5);
		config_free(&cfg);
		ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
		    "-tx", NULL), -2);	/* stops mid-cluster */
		free(cause);
		config_free(&cfg);
		ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
		    "--max-readers", "6", "-T", NULL), 0);
		ck_assert_int_eq(cli.check_only, 0);
		ck_assert_int_eq(cli.dump, 1);
		ck_assert_uint_eq(cfg.max_readers, 6);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_cross_key)
{
	struct config	 cfg;
	struct config_cli cli;
	char		*cause;

	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--min-reconnect-delay", "31s", NULL), -1);
	ck_assert_str_eq(cause, "min_reconnect_delay (31s) must not exceed "
	    "max_reconnect_delay (30s)");
	free(cause);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--min-reconnect-delay", "30s", NULL), 0);	/* equal is fine */
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--pong-timeout", "54s", NULL), -1);
	ck_assert_str_eq(cause, "pong_timeout (54s) must exceed "
	    "ping_interval (54s)");
	free(cause);
	config_free(&cfg);
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--ping-interval", "1500ms", "--pong-timeout", "1501ms", NULL), 0);
	config_free(&cfg);
	/* The check runs after everything: order of options is free. */
	ck_assert_int_eq(run_args(&cfg, &cli, &cause, MISSING_CONF,
	    "--min-reconnect-delay", "1m", "--max-reconnect-delay", "2m",
	    NULL), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_shipped_conf)
{
	struct config	 cfg;
	char		*cause = NULL, *got, *want, *text, *line, *p, *eol;

	config_init(&cfg);
	ck_assert_msg(config_load_file(&cfg, SHIPPED_CONF, 1, &cause) == 0,
	    "%s", cause);
	got = dump(&cfg);
	want = dump_defaults();
	ck_assert_str_eq(got, want);

	/* It documents every key with its default: "#key = default". */
	ck_assert_ptr_nonnull(text = slurp(SHIPPED_CONF));
	for (p = want; *p != '\0'; p = eol + 1) {
		eol = strchr(p, '\n');
		ck_assert_int_ge(asprintf(&line, "\n#%.*s\n", (int)(eol - p),
		    p), 0);
		ck_assert_msg(strstr(text, line) != NULL,
		    "not in the shipped file: %s", line + 1);
		free(line);
	}
	free(text);
	free(got);
	free(want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_usage)
{
	char	*text = NULL, *want, *line, *p, *eol, *eq;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&text, &len));
	config_usage(fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "usage: schematic-streamd"));
	ck_assert_ptr_nonnull(strstr(text, "-c, --config FILE"));
	ck_assert_ptr_nonnull(strstr(text, "-t, --check-config"));
	ck_assert_ptr_nonnull(strstr(text, "-T, --dump-config"));
	ck_assert_ptr_nonnull(strstr(text, "-h, --help"));
	ck_assert_ptr_nonnull(strstr(text, "-V, --version"));
	ck_assert_ptr_null(strstr(text, "--api-key "));

	/* Every key: its option, and its default as the dump writes it. */
	want = dump_defaults();
	for (p = want; *p != '\0'; p = eol + 1) {
		eol = strchr(p, '\n');
		*eol = '\0';
		eq = strchr(p, ' ');
		*eq = '\0';
		for (line = p; *line != '\0'; line++) {
			if (*line == '_')
				*line = '-';
		}
		ck_assert_int_ge(asprintf(&line, "\n      --%s ", p), 0);
		ck_assert_msg(strstr(text, line) != NULL, "no %s", line + 1);
		free(line);
		if (eq[2] == '\0')
			continue;	/* unset by default */
		ck_assert_int_ge(asprintf(&line, " [%s]\n", eq + 3), 0);
		ck_assert_msg(strstr(text, line) != NULL, "no %s", line);
		free(line);
	}
	free(want);
	free(text);
}
END_TEST

/* Collect config/bad-*.conf, then config/good-*.conf, each sorted. */
static void
find_golden(void)
{
	struct dirent	**list;
	char		 *dot;
	int		  n, i;

	if ((n = scandir("config", &list, NULL, alphasort)) < 0) {
		fprintf(stderr, "test_config: cannot read config: %s\n",
		    strerror(errno));
		exit(1);
	}
	for (i = 0; i < n; i++) {
		dot = strrchr(list[i]->d_name, '.');
		if (dot != NULL && strcmp(dot, ".conf") == 0 &&
		    (strncmp(list[i]->d_name, "good-", 5) == 0 ||
		    strncmp(list[i]->d_name, "bad-", 4) == 0) &&
		    ngolden < MAX_GOLDEN) {
			golden[ngolden++] = strndup(list[i]->d_name,
			    (size_t)(dot - list[i]->d_name));
			if (list[i]->d_name[0] == 'b')
				nbad++;		/* alphasort: "bad-" first */
		}
		free(list[i]);
	}
	free(list);
}

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_key_value, 0,
	    sizeof key_cases / sizeof key_cases[0]);
	tcase_add_loop_test(tc, test_parse_duration, 0,
	    sizeof duration_cases / sizeof duration_cases[0]);
	tcase_add_loop_test(tc, test_parse_size, 0,
	    sizeof size_cases / sizeof size_cases[0]);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_free);
	tcase_add_test(tc, test_subscription_fields);
	tcase_add_test(tc, test_entity_type);
	tcase_add_test(tc, test_log_level_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_loop_test(tc, test_golden, 0, ngolden);
	tcase_add_loop_test(tc, test_round_trip_golden, nbad, ngolden);
	tcase_add_test(tc, test_round_trip_awkward);
	tcase_add_test(tc, test_round_trip_defaults);
	tcase_add_test(tc, test_missing_files);
	tcase_add_test(tc, test_default_path_used);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_shipped_conf);
	suite_add_tcase(s, tc);

	tc = tcase_create("args");
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_subscribe_sources);
	tcase_add_test(tc, test_cli_flags);
	tcase_add_loop_test(tc, test_usage_error, 0,
	    sizeof usage_cases / sizeof usage_cases[0]);
	tcase_add_test(tc, test_twice);
	tcase_add_test(tc, test_cross_key);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char	*srcdir = getenv("srcdir"), *tap;
	SRunner		*sr;
	int		 failed, i;

	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	if (chdir(srcdir) != 0 || (access("config", F_OK) != 0 &&
	    chdir("tests/unit") != 0)) {
		fprintf(stderr, "test_config: cannot enter %s: %s\n", srcdir,
		    strerror(errno));
		return 1;
	}
	find_golden();
	if (ngolden == 0) {
		fprintf(stderr, "test_config: no golden files in %s/config\n",
		    srcdir);
		return 1;
	}
	sr = srunner_create(config_suite());
	tap = getenv("CK_TAP_LOG_FILE_NAME");
	/* TAP on stdout: keep the summary off it, unless asked for. */
	srunner_run_all(sr, tap != NULL && strcmp(tap, "-") == 0 &&
	    getenv("CK_VERBOSITY") == NULL ? CK_SILENT : CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < ngolden; i++)
		free(golden[i]);
	return failed == 0 ? 0 : 1;
}
