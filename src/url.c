/*
 * url.c - datastream URL conversion (protocol.md section 1) and parsing.
 *
 * Pure string work: no sockets, no logging. Errors are handed back as a
 * malloc'd message through `cause`; the caller decides what to do.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"
#include "util.h"

/* Length of the scheme at the start of S ("https" for "https://..."), or 0. */
static size_t
url_scheme_len(const char *s)
{
	const char	*p;

	if (!isalpha((unsigned char)*s))
		return 0;
	for (p = s; isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.'; p++)
		;
	if (strncmp(p, "://", 3) != 0)
		return 0;
	return (size_t)(p - s);
}

/* Is the scheme at S, LEN bytes long, equal to NAME (case-insensitive)? */
static int
url_scheme_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

/* Length of the authority (host[:port]) starting at S. */
static size_t
url_authority_len(const char *s)
{
	return strcspn(s, "/?#");
}

/*
 * Convert the configured URL IN to the datastream WebSocket URL: http(s)
 * becomes ws(s), a leading "api." host label becomes "datastream.", and
 * the path is replaced by /datastream (query kept). ws(s) URLs are used as
 * given.
 */
int
url_convert(const char *in, char **out, char **cause)
{
	const char	*auth, *rest, *q, *host_start, *dot;
	char		*query = NULL;
	size_t		 slen, alen;
	int		 tls;

	*out = NULL;
	if ((slen = url_scheme_len(in)) == 0) {
		xasprintf(cause, "invalid URL \"%s\": no scheme (use https://...)",
		    in);
		return -1;
	}
	if (url_scheme_is(in, slen, "ws") || url_scheme_is(in, slen, "wss")) {
		struct url_parts parts;

		if (url_parse(in, &parts, cause) != 0)
			return -1;
		url_parts_free(&parts);
		*out = xstrdup(in);
		return 0;
	}
	if (url_scheme_is(in, slen, "https"))
		tls = 1;
	else if (url_scheme_is(in, slen, "http"))
		tls = 0;
	else {
		xasprintf(cause, "unsupported scheme \"%.*s\" in URL (must be "
		    "http or https)", (int)slen, in);
		return -1;
	}

	auth = in + slen + 3;
	alen = url_authority_len(auth);
	if (alen == 0) {
		xasprintf(cause, "invalid URL \"%s\": no host", in);
		return -1;
	}
	if (memchr(auth, '@', alen) != NULL) {
		xasprintf(cause, "invalid URL: user information is not supported");
		return -1;
	}
	rest = auth + alen;
	if ((q = strchr(rest, '?')) != NULL)
		query = xstrndup(q, strcspn(q, "#"));

	/* "api.example.com" -> "datastream.example.com"; "api" alone stays. */
	host_start = auth;
	dot = memchr(auth, '.', strcspn(auth, ":/?#"));
	if (auth[0] != '[' && dot != NULL && dot - auth == 3 &&
	    strncmp(auth, "api", 3) == 0)
		host_start = dot;	/* keep ".example.com[:port]" */

	xasprintf(out, "%s://%s%.*s/datastream%s", tls ? "wss" : "ws",
	    host_start == auth ? "" : "datastream",
	    (int)(alen - (size_t)(host_start - auth)), host_start,
	    query != NULL ? query : "");
	free(query);
	return 0;
}

/* Split a ws:// or wss:// URL into the parts lws dials with. */
int
url_parse(const char *in, struct url_parts *parts, char **cause)
{
	const char	*auth, *host, *port_str, *rest;
	size_t		 slen, alen, hlen;
	char		*end;
	long		 port;

	memset(parts, 0, sizeof *parts);
	slen = url_scheme_len(in);
	if (slen == 0 || !(url_scheme_is(in, slen, "ws") ||
	    url_scheme_is(in, slen, "wss"))) {
		xasprintf(cause, "invalid WebSocket URL \"%s\" (must be ws:// "
		    "or wss://)", in);
		return -1;
	}
	parts->tls = slen == 3;
	auth = in + slen + 3;
	alen = url_authority_len(auth);
	if (memchr(auth, '@', alen) != NULL) {
		xasprintf(cause, "invalid URL: user information is not supported");
		return -1;
	}

	host = auth;
	if (*auth == '[') {
		const char *close = memchr(auth, ']', alen);

		if (close == NULL) {
			xasprintf(cause, "invalid URL \"%s\": unterminated "
			    "IPv6 address", in);
			return -1;
		}
		host = auth + 1;
		hlen = (size_t)(close - host);
		port_str = close + 1;
	} else {
		hlen = strcspn(auth, ":/?#");
		port_str = auth + hlen;
	}
	if (hlen == 0) {
		xasprintf(cause, "invalid URL \"%s\": no host", in);
		return -1;
	}

	port = parts->tls ? 443 : 80;
	if (*port_str == ':') {
		port = strtol(port_str + 1, &end, 10);
		if (end == port_str + 1 || end != auth + alen || port < 1 ||
		    port > 65535) {
			xasprintf(cause, "invalid URL \"%s\": bad port", in);
			return -1;
		}
	} else if (port_str != auth + alen) {
		xasprintf(cause, "invalid URL \"%s\": bad host", in);
		return -1;
	}

	rest = auth + alen;
	parts->host = xstrndup(host, hlen);
	parts->port = (int)port;
	parts->host_header = xstrndup(auth, alen);
	if (*rest == '/')
		parts->path = xstrndup(rest, strcspn(rest, "#"));
	else
		xasprintf(&parts->path, "/%.*s", (int)strcspn(rest, "#"), rest);
	return 0;
}

/* Free what url_parse() allocated; safe on a zeroed struct. */
void
url_parts_free(struct url_parts *parts)
{
	free(parts->host);
	free(parts->path);
	free(parts->host_header);
	memset(parts, 0, sizeof *parts);
}
