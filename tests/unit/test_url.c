/*
 * test_url.c - the URL conversion table of protocol.md section 1, and
 * parsing of WebSocket URLs into what lws dials.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "unit.h"

static const struct {
	const char	*in;
	const char	*out;	/* NULL: an error */
} url_table[] = {
	{ "https://api.schematichq.com",
	  "wss://datastream.schematichq.com/datastream" },
	{ "https://api.staging.schematichq.com",
	  "wss://datastream.staging.schematichq.com/datastream" },
	{ "http://api.localhost:8080", "ws://datastream.localhost:8080/datastream" },
	{ "https://custom.schematichq.com", "wss://custom.schematichq.com/datastream" },
	{ "https://schematichq.com", "wss://schematichq.com/datastream" },
	{ "http://localhost:8080", "ws://localhost:8080/datastream" },
	{ "wss://custom.example.com/ws", "wss://custom.example.com/ws" },
	{ "ftp://api.example.com", NULL },
	{ "not-a-url", NULL },
	/* Beyond the table: what a user may write. */
	{ "https://api.schematichq.com/", "wss://datastream.schematichq.com/datastream" },
	{ "https://api.schematichq.com/v1/x?a=1&b=2",
	  "wss://datastream.schematichq.com/datastream?a=1&b=2" },
	{ "https://api.schematichq.com?x=1#frag",
	  "wss://datastream.schematichq.com/datastream?x=1" },
	{ "https://api", "wss://api/datastream" },
	{ "https://apix.example.com", "wss://apix.example.com/datastream" },
	{ "https://x.api.example.com", "wss://x.api.example.com/datastream" },
	{ "HTTPS://api.example.com", "wss://datastream.example.com/datastream" },
	{ "http://127.0.0.1:9000", "ws://127.0.0.1:9000/datastream" },
	{ "http://[::1]:9000/x", "ws://[::1]:9000/datastream" },
	{ "ws://localhost:1/", "ws://localhost:1/" },
	{ "https://", NULL },
	{ "https://user:pw@api.example.com", NULL },
	{ "", NULL },
	{ "://x", NULL },
	{ "ws://", NULL },
	{ "ws://host:99999/", NULL },
	{ "ws://host:abc/", NULL },
};

START_TEST(test_url_convert_table)
{
	char	*out = NULL, *cause = NULL;
	int	 rc;

	rc = url_convert(url_table[_i].in, &out, &cause);
	if (url_table[_i].out == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" should fail, gave %s",
		    url_table[_i].in, out);
		ck_assert_ptr_nonnull(cause);
		ck_assert_ptr_null(out);
	} else {
		ck_assert_msg(rc == 0, "\"%s\" failed: %s", url_table[_i].in,
		    cause);
		ck_assert_str_eq(out, url_table[_i].out);
	}
	free(out);
	free(cause);
}
END_TEST

START_TEST(test_url_unsupported_scheme_message)
{
	char	*out = NULL, *cause = NULL;

	ck_assert_int_eq(url_convert("ftp://api.example.com", &out, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "unsupported scheme"));
	ck_assert_ptr_nonnull(strstr(cause, "must be http or https"));
	free(cause);
}
END_TEST

START_TEST(test_url_parse)
{
	struct url_parts	 p;
	char			*cause = NULL;

	ck_assert_int_eq(url_parse("wss://datastream.schematichq.com/datastream",
	    &p, &cause), 0);
	ck_assert_int_eq(p.tls, 1);
	ck_assert_str_eq(p.host, "datastream.schematichq.com");
	ck_assert_int_eq(p.port, 443);
	ck_assert_str_eq(p.path, "/datastream");
	ck_assert_str_eq(p.host_header, "datastream.schematichq.com");
	url_parts_free(&p);

	ck_assert_int_eq(url_parse("ws://127.0.0.1:8080/datastream?a=b", &p,
	    &cause), 0);
	ck_assert_int_eq(p.tls, 0);
	ck_assert_str_eq(p.host, "127.0.0.1");
	ck_assert_int_eq(p.port, 8080);
	ck_assert_str_eq(p.path, "/datastream?a=b");
	ck_assert_str_eq(p.host_header, "127.0.0.1:8080");
	url_parts_free(&p);

	ck_assert_int_eq(url_parse("ws://[::1]:81", &p, &cause), 0);
	ck_assert_str_eq(p.host, "::1");
	ck_assert_int_eq(p.port, 81);
	ck_assert_str_eq(p.path, "/");
	url_parts_free(&p);

	ck_assert_int_eq(url_parse("https://x", &p, &cause), -1);
	free(cause);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("url");
	TCase	*tc = tcase_create("url");

	tcase_add_loop_test(tc, test_url_convert_table, 0,
	    (int)(sizeof url_table / sizeof url_table[0]));
	tcase_add_test(tc, test_url_unsupported_scheme_message);
	tcase_add_test(tc, test_url_parse);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
