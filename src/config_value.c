/*
 * config_value.c - the syntax of configuration values: durations (500ms,
 * 1.5s, 2m), sizes (64KiB, 16M), octal modes, entity type names; how the
 * dump spells numbers back; how messages quote a value. Pure string work.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

static const struct {
	const char	*alias;
	const char	*name;
} config_entity_types[] = {
	{ "flags", "rulesengine.Flags" },
	{ "flag", "rulesengine.Flag" },
	{ "company", "rulesengine.Company" },
	{ "companies", "rulesengine.Companies" },
	{ "user", "rulesengine.User" },
	{ "users", "rulesengine.Users" },
};

/* A malloc'd message (exits on out-of-memory, as xasprintf does). */
char *
config_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("schematic-streamd: out of memory\n", stderr);
		exit(1);
	}
	va_end(ap);
	return s;
}

/* Quote S for a message: escaped, and cut short when long. */
const char *
config_quote(char *buf, const char *s)
{
	size_t	 n = 0;
	unsigned char c;

	buf[n++] = '"';
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (n + 4 + sizeof "...\"" > QUOTE_SIZE) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, 5, "\\x%02x", c);
		else {
			if (c == '"' || c == '\\')
				buf[n++] = '\\';
			buf[n++] = (char)c;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/* Whether S has a control character (a string value may not). */
int
config_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* Read the decimal digits at *PP (at least one) without overflow. */
static int
config_digits(const char **pp, uint64_t *out)
{
	const char	*p = *pp;
	uint64_t	 v = 0;
	unsigned	 d;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*pp = p;
	*out = v;
	return 0;
}

/* Parse a plain decimal number (no sign, no suffix). */
int
config_parse_uint(const char *s, uint64_t *v)
{
	return config_digits(&s, v) != 0 || *s != '\0' ? -1 : 0;
}

/*
 * Parse a duration: a number with an ms, s or m suffix ("500ms", "1.5s",
 * "2m"); a fraction must come to whole milliseconds.
 */
int
config_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*suffix;
		uint64_t	 ms;
	} units[] = { { "ms", 1 }, { "s", MS_PER_S }, { "m", MS_PER_MIN } };
	uint64_t	 whole, frac = 0, scale = 1, v;
	size_t		 i;

	if (config_digits(&s, &whole) != 0)
		return -1;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return -1;
		/* Past 9 decimals only zeros can still give whole ms. */
		for (; *s >= '0' && *s <= '9'; s++) {
			if (scale == 1000000000) {
				if (*s != '0')
					return -1;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].suffix) != 0)
			continue;
		if (whole > UINT64_MAX / units[i].ms ||
		    frac * units[i].ms % scale != 0)
			return -1;
		v = whole * units[i].ms;
		if (v > UINT64_MAX - frac * units[i].ms / scale)
			return -1;
		*ms = v + frac * units[i].ms / scale;
		return 0;
	}
	return -1;
}

/* Parse a size: bytes, or a whole number of K/M/G (= KiB/MiB/GiB). */
int
config_parse_size(const char *s, size_t *size)
{
	static const struct {
		const char	*suffix;
		uint64_t	 bytes;
	} units[] = {
		{ "", 1 }, { "K", KIB }, { "KiB", KIB }, { "M", MIB },
		{ "MiB", MIB }, { "G", GIB }, { "GiB", GIB },
	};
	uint64_t	 n;
	size_t		 i;

	if (config_digits(&s, &n) != 0)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(s, units[i].suffix) != 0)
			continue;
		if (n > SIZE_MAX / units[i].bytes)
			return -1;
		*size = (size_t)(n * units[i].bytes);
		return 0;
	}
	return -1;
}

/* Parse octal permission bits, at most 0777. */
int
config_parse_mode(const char *s, uint64_t *mode)
{
	uint64_t	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7' || (v = v * 8 + (uint64_t)(*s - '0')) >
		    0777)
			return -1;
	}
	*mode = v;
	return 0;
}

const char *
config_entity_type(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof config_entity_types /
	    sizeof config_entity_types[0]; i++) {
		if (strcmp(name, config_entity_types[i].alias) == 0 ||
		    strcmp(name, config_entity_types[i].name) == 0)
			return config_entity_types[i].name;
	}
	return NULL;
}

/* Write a number of type TYPE the way the file syntax spells it best. */
void
config_format_number(enum config_type type, uint64_t v, char *buf,
    size_t size)
{
	static const char *const sizes[] = { "", "KiB", "MiB", "GiB" };
	size_t	i = 0;

	switch (type) {
	case CONFIG_MODE:
		snprintf(buf, size, "%04llo", (unsigned long long)v);
		break;
	case CONFIG_DURATION:
		if (v != 0 && v % MS_PER_MIN == 0)
			snprintf(buf, size, "%llum", (unsigned long long)
			    (v / MS_PER_MIN));
		else if (v % MS_PER_S == 0)
			snprintf(buf, size, "%llus", (unsigned long long)
			    (v / MS_PER_S));
		else
			snprintf(buf, size, "%llums", (unsigned long long)v);
		break;
	case CONFIG_SIZE:
		while (v != 0 && v % KIB == 0 && i < 3) {
			v /= KIB;
			i++;
		}
		snprintf(buf, size, "%llu%s", (unsigned long long)v, sizes[i]);
		break;
	default:
		snprintf(buf, size, "%llu", (unsigned long long)v);
		break;
	}
}
