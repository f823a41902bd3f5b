/*
 * url.h - the datastream endpoint: API URL -> WebSocket URL, and the
 * pieces libwebsockets needs to dial it.
 */
#ifndef STREAMD_URL_H
#define STREAMD_URL_H

/* A WebSocket URL split for lws_client_connect_via_info(). */
struct url_parts {
	int	 tls;		/* wss */
	char	*host;		/* without brackets for IPv6 literals */
	int	 port;
	char	*path;		/* path and query, never empty */
	char	*host_header;	/* host[:port] as written in the URL */
};

int	url_convert(const char *, char **, char **);
int	url_parse(const char *, struct url_parts *, char **);
void	url_parts_free(struct url_parts *);

#endif
