/*
 * test_jscan.c - unit tests for jscan: accepted inputs and their exact
 * compact form, every class of rejection with its reason and offset, the
 * depth limit, field extraction, in-place compaction, and agreement with
 * jansson (json_loadb with flags 0) on every case.
 *
 * Set CK_TAP_LOG_FILE_NAME=- for TAP on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "jscan.h"
#include "unit.h"

/* A literal and its length, NUL bytes included. */
#define S(x)		x, sizeof(x) - 1
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* How jansson's verdict relates to jscan's. */
enum agree {
	AGREE,		/* same verdict, same value */
	RANGE,		/* jansson refuses a number out of its range */
	NULDROP		/* jansson skips a NUL after a number/literal */
};

struct valid_case {
	const char	*in;
	size_t		 len;
	const char	*out;
	enum agree	 agree;
};

struct reject_case {
	const char	*in;
	size_t		 len;
	const char	*reason;
	size_t		 off;
	enum agree	 agree;
};

static const struct valid_case valid_cases[] = {
	/* Objects and whitespace. */
	{ S("{}"), "{}", AGREE },
	{ S(" \t\r\n{ \t\r\n} \t\r\n"), "{}", AGREE },
	{ S("{\"a\":1}"), "{\"a\":1}", AGREE },
	{ S("{ \"a\" : 1 , \"b\" : 2 }"), "{\"a\":1,\"b\":2}", AGREE },
	{ S("{\n  \"a\": [1, 2, {\"b\" : null}],\n  \"c\": \"x y\",\n"
	    "  \"d\": {\n    \"e\": [\n      true,\n      false\n    ]\n"
	    "  }\n}\n"),
	  "{\"a\":[1,2,{\"b\":null}],\"c\":\"x y\",\"d\":{\"e\":[true,false]}}",
	  AGREE },
	{ S("{\r\n\t\"k e y\" :\t\" v a l \"\r\n}"),
	  "{\"k e y\":\" v a l \"}", AGREE },
	{ S("{\"a\":{},\"b\":[],\"c\":[[]],\"d\":[{}],\"e\":[ ],\"f\":{ }}"),
	  "{\"a\":{},\"b\":[],\"c\":[[]],\"d\":[{}],\"e\":[],\"f\":{}}",
	  AGREE },
	{ S("{\"a\":[ 1 , [ 2 , [ 3 ] ] , { \"b\" : [ ] } ]}"),
	  "{\"a\":[1,[2,[3]],{\"b\":[]}]}", AGREE },
	{ S("{\"a\":1,\"a\":2}"), "{\"a\":1,\"a\":2}", AGREE },
	{ S("{\"\":\"\"}"), "{\"\":\"\"}", AGREE },
	{ S("{\"a\":[true,false,null]}"), "{\"a\":[true,false,null]}", AGREE },

	/* Escapes, copied verbatim. */
	{ S("{\"a\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}"),
	  "{\"a\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}", AGREE },
	{ S("{\"\\u00e9\\u4E2D\\u0001\\uFFFF\":\"\\u0041\"}"),
	  "{\"\\u00e9\\u4E2D\\u0001\\uFFFF\":\"\\u0041\"}", AGREE },
	{ S("{\"a\":\"\\ud83d\\ude00 \\uD800\\uDC00 \\uDBFF\\uDFFF\"}"),
	  "{\"a\":\"\\ud83d\\ude00 \\uD800\\uDC00 \\uDBFF\\uDFFF\"}", AGREE },
	{ S("{\"a\":\"\\uD7FF\\uE000\"}"), "{\"a\":\"\\uD7FF\\uE000\"}",
	  AGREE },
	{ S("{\"a\":\"\\\\u0000\"}"), "{\"a\":\"\\\\u0000\"}", AGREE },

	/* UTF-8 of every length, at the edges of each range. */
	{ S("{\"a\":\"\xc2\x80 \xc3\xa9 \xdf\xbf\"}"),
	  "{\"a\":\"\xc2\x80 \xc3\xa9 \xdf\xbf\"}", AGREE },
	{ S("{\"a\":\"\xe0\xa0\x80 \xe4\xb8\xad \xed\x9f\xbf \xee\x80\x80"
	    " \xef\xbf\xbf\"}"),
	  "{\"a\":\"\xe0\xa0\x80 \xe4\xb8\xad \xed\x9f\xbf \xee\x80\x80"
	  " \xef\xbf\xbf\"}", AGREE },
	{ S("{\"a\":\"\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}"),
	  "{\"a\":\"\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}",
	  AGREE },
	{ S("{\"\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\":"
	    "\"\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87"
	    "\xe4\xb8\xad\"}"),
	  "{\"\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\":"
	  "\"\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\"}",
	  AGREE },
	{ S("{\"a\":\"\x7f\"}"), "{\"a\":\"\x7f\"}", AGREE },

	/* Every branch of the number grammar. */
	{ S("{\"a\":[0,-0,1,-1,9,10,123456789,-987654321]}"),
	  "{\"a\":[0,-0,1,-1,9,10,123456789,-987654321]}", AGREE },
	{ S("{\"a\":[0.0,1.5,-1.5,0.25,10.125,-0.0]}"),
	  "{\"a\":[0.0,1.5,-1.5,0.25,10.125,-0.0]}", AGREE },
	{ S("{\"a\":[1e5,1E5,1e+5,1e-5,1E+05,0e0,-0E-0,1.5e10,-2.5E-3]}"),
	  "{\"a\":[1e5,1E5,1e+5,1e-5,1E+05,0e0,-0E-0,1.5e10,-2.5E-3]}",
	  AGREE },
	{ S("{\"a\":9223372036854775807,\"b\":-9223372036854775808}"),
	  "{\"a\":9223372036854775807,\"b\":-9223372036854775808}", AGREE },
	{ S("{\"a\":1e-999}"), "{\"a\":1e-999}", AGREE },
	{ S("{\"a\" : 3 }"), "{\"a\":3}", AGREE },

	/* Valid JSON that jansson refuses for range alone. */
	{ S("{\"a\":9223372036854775808}"), "{\"a\":9223372036854775808}",
	  RANGE },
	{ S("{\"a\": -99999999999999999999999}"),
	  "{\"a\":-99999999999999999999999}", RANGE },
	{ S("{\"a\":1e999}"), "{\"a\":1e999}", RANGE },
	{ S("{\"a\":[-1.5E+400]}"), "{\"a\":[-1.5E+400]}", RANGE },
};

static const struct reject_case reject_cases[] = {
	/* Nothing, or not an object. */
	{ S(""), "empty input", 0, AGREE },
	{ S("   \r\n\t"), "empty input", 6, AGREE },
	{ S("[]"), "top-level value is not an object", 0, AGREE },
	{ S(" [{}]"), "top-level value is not an object", 1, AGREE },
	{ S("\"s\""), "top-level value is not an object", 0, AGREE },
	{ S("1"), "top-level value is not an object", 0, AGREE },
	{ S("-1"), "top-level value is not an object", 0, AGREE },
	{ S("true"), "top-level value is not an object", 0, AGREE },
	{ S("false"), "top-level value is not an object", 0, AGREE },
	{ S("null"), "top-level value is not an object", 0, AGREE },
	{ S("x"), "unexpected character", 0, AGREE },
	{ S("}"), "unexpected character", 0, AGREE },
	{ S("\0{}"), "unexpected character", 0, AGREE },
	{ S("\xef\xbb\xbf{}"), "unexpected character", 0, AGREE },
	{ S("\xc2\xa0{}"), "unexpected character", 0, AGREE },
	{ S("\v{}"), "unexpected character", 0, AGREE },
	{ S("\f{}"), "unexpected character", 0, AGREE },

	/* Cut short. */
	{ S("{"), "unexpected end of input", 1, AGREE },
	{ S("{ "), "unexpected end of input", 2, AGREE },
	{ S("{\"a\""), "unexpected end of input", 4, AGREE },
	{ S("{\"a\":"), "unexpected end of input", 5, AGREE },
	{ S("{\"a\":1"), "unexpected end of input", 6, AGREE },
	{ S("{\"a\":1,"), "unexpected end of input", 7, AGREE },
	{ S("{\"a\":["), "unexpected end of input", 6, AGREE },
	{ S("{\"a\":[1,"), "unexpected end of input", 8, AGREE },
	{ S("{\"a\":{}"), "unexpected end of input", 7, AGREE },
	{ S("{\"a"), "unterminated string", 3, AGREE },
	{ S("{\"a\":\"b"), "unterminated string", 7, AGREE },
	{ S("{\"a\":\"0123456789abcdef"), "unterminated string", 22, AGREE },
	{ S("{\"a\":\"\\"), "unterminated string", 7, AGREE },
	{ S("{\"a\":tru"), "invalid literal", 5, AGREE },
	{ S("{\"a\":-"), "invalid number", 5, AGREE },
	{ S("{\"a\":1."), "invalid number", 5, AGREE },
	{ S("{\"a\":1e"), "invalid number", 5, AGREE },

	/* After the value. */
	{ S("{} x"), "trailing data after value", 3, AGREE },
	{ S("{}{}"), "trailing data after value", 2, AGREE },
	{ S("{}}"), "trailing data after value", 2, AGREE },
	{ S("{\"a\":1}}"), "trailing data after value", 7, AGREE },
	{ S("{}\0"), "trailing data after value", 2, AGREE },
	{ S("{}\f"), "trailing data after value", 2, AGREE },
	{ S("{}\xc2\xa0"), "trailing data after value", 2, AGREE },
	{ S("{} []"), "trailing data after value", 3, AGREE },

	/* Raw NUL bytes, including those jansson drops. */
	{ S("{\0}"), "expected string key", 1, AGREE },
	{ S("{\"a\":\0}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":1\0}"), "expected ',' or '}'", 6, NULDROP },
	{ S("{\"a\":0\0}"), "expected ',' or '}'", 6, NULDROP },
	{ S("{\"a\":1.5e3\0}"), "expected ',' or '}'", 10, NULDROP },
	{ S("{\"a\":true\0}"), "expected ',' or '}'", 9, NULDROP },
	{ S("{\"a\":[null\0]}"), "expected ',' or ']'", 10, NULDROP },
	{ S("{\"a\":1\0\0}"), "expected ',' or '}'", 6, AGREE },
	{ S("{\"a\":\"b\"\0}"), "expected ',' or '}'", 8, AGREE },

	/* Strings: control characters, raw or as \u0000. */
	{ S("{\"a\0\":1}"), "control character in string", 3, AGREE },
	{ S("{\"a\":\"\0\"}"), "control character in string", 6, AGREE },
	{ S("{\"a\":\"x\ny\"}"), "control character in string", 7, AGREE },
	{ S("{\"a\":\"\t\"}"), "control character in string", 6, AGREE },
	{ S("{\"a\":\"0123456789\x1f\"}"), "control character in string", 16,
	  AGREE },
	{ S("{\"a\":\"\\u0000\"}"), "\\u0000 is not allowed", 6, AGREE },
	{ S("{\"\\u0000\":1}"), "\\u0000 is not allowed", 2, AGREE },

	/* Strings: escapes. */
	{ S("{\"a\":\"\\x\"}"), "invalid escape", 6, AGREE },
	{ S("{\"a\":\"\\a\"}"), "invalid escape", 6, AGREE },
	{ S("{\"a\":\"\\'\"}"), "invalid escape", 6, AGREE },
	{ S("{\"a\":\"\\U0041\"}"), "invalid escape", 6, AGREE },
	{ S("{\"a\":\"\\\0\"}"), "invalid escape", 6, AGREE },
	{ S("{\"a\":\"\\u12\"}"), "invalid \\u escape", 6, AGREE },
	{ S("{\"a\":\"\\u12G4\"}"), "invalid \\u escape", 6, AGREE },
	{ S("{\"a\":\"\\u 123\"}"), "invalid \\u escape", 6, AGREE },
	{ S("{\"a\":\"\\u12"), "invalid \\u escape", 6, AGREE },
	{ S("{\"a\":\"\\ud800\"}"), "invalid \\u escape (surrogate)", 6,
	  AGREE },
	{ S("{\"a\":\"\\ud800x\"}"), "invalid \\u escape (surrogate)", 6,
	  AGREE },
	{ S("{\"a\":\"\\ud800\\n\"}"), "invalid \\u escape (surrogate)", 6,
	  AGREE },
	{ S("{\"a\":\"\\ud800\\u0041\"}"), "invalid \\u escape (surrogate)",
	  6, AGREE },
	{ S("{\"a\":\"\\uDBFF\\uD800\"}"), "invalid \\u escape (surrogate)",
	  6, AGREE },
	{ S("{\"a\":\"\\ud800\\uE000\"}"), "invalid \\u escape (surrogate)",
	  6, AGREE },
	{ S("{\"a\":\"\\udc00\"}"), "invalid \\u escape (surrogate)", 6,
	  AGREE },
	{ S("{\"a\":\"\\uDFFF\\uD800\"}"), "invalid \\u escape (surrogate)",
	  6, AGREE },
	{ S("{\"a\":\"\\ud800\\u12\"}"), "invalid \\u escape", 12, AGREE },
	{ S("{\"a\":\"\\ud800"), "invalid \\u escape (surrogate)", 6, AGREE },

	/* Strings: UTF-8. */
	{ S("{\"a\":\"\x80\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xbf\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xc0\x80\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xc1\xbf\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xe0\x80\x80\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xe0\x9f\xbf\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xed\xa0\x80\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xed\xbf\xbf\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xf0\x80\x80\x80\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xf0\x8f\xbf\xbf\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xf4\x90\x80\x80\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xf5\x80\x80\x80\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xf8\x88\x80\x80\x80\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xfe\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xff\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xc3\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xc3\x41\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xe4\xb8\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xe4\x41\xad\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xe4\xb8\x41\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xf0\x9f\x98\"}"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xf0\x9f\x41\x80\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xf0\x9f\x98\x41\"}"), "invalid UTF-8 in string", 6,
	  AGREE },
	{ S("{\"a\":\"\xc3"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"a\":\"\xf0\x9f\x98"), "invalid UTF-8 in string", 6, AGREE },
	{ S("{\"\xff\":1}"), "invalid UTF-8 in string", 2, AGREE },
	{ S("{\"a\":\xc3\xa9}"), "unexpected character", 5, AGREE },

	/* Numbers. */
	{ S("{\"a\":01}"), "invalid number", 5, AGREE },
	{ S("{\"a\":00}"), "invalid number", 5, AGREE },
	{ S("{\"a\":-01}"), "invalid number", 5, AGREE },
	{ S("{\"a\":+1}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":.5}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":1.}"), "invalid number", 5, AGREE },
	{ S("{\"a\":1.e5}"), "invalid number", 5, AGREE },
	{ S("{\"a\":-.5}"), "invalid number", 5, AGREE },
	{ S("{\"a\":1e}"), "invalid number", 5, AGREE },
	{ S("{\"a\":1e+}"), "invalid number", 5, AGREE },
	{ S("{\"a\":1E-x}"), "invalid number", 5, AGREE },
	{ S("{\"a\":-}"), "invalid number", 5, AGREE },
	{ S("{\"a\":- 1}"), "invalid number", 5, AGREE },
	{ S("{\"a\":--1}"), "invalid number", 5, AGREE },
	{ S("{\"a\":0x10}"), "expected ',' or '}'", 6, AGREE },
	{ S("{\"a\":1.5.2}"), "expected ',' or '}'", 8, AGREE },
	{ S("{\"a\":1e5e5}"), "expected ',' or '}'", 8, AGREE },
	{ S("{\"a\":NaN}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":Infinity}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":-Infinity}"), "invalid number", 5, AGREE },
	{ S("{\"a\":[1 2]}"), "expected ',' or ']'", 8, AGREE },

	/* Literals. */
	{ S("{\"a\":True}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":nul}"), "invalid literal", 5, AGREE },
	{ S("{\"a\":fals}"), "invalid literal", 5, AGREE },
	{ S("{\"a\":nulll}"), "expected ',' or '}'", 9, AGREE },
	{ S("{\"a\":falsey}"), "expected ',' or '}'", 10, AGREE },
	{ S("{\"a\":truefalse}"), "expected ',' or '}'", 9, AGREE },

	/* Structure. */
	{ S("{,}"), "expected string key", 1, AGREE },
	{ S("{\"a\":1,}"), "expected string key", 7, AGREE },
	{ S("{\"a\" 1}"), "expected ':'", 5, AGREE },
	{ S("{\"a\"::1}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":}"), "unexpected character", 5, AGREE },
	{ S("{1:2}"), "expected string key", 1, AGREE },
	{ S("{a:2}"), "expected string key", 1, AGREE },
	{ S("{'a':2}"), "expected string key", 1, AGREE },
	{ S("{\"a\":'b'}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":1 \"b\":2}"), "expected ',' or '}'", 7, AGREE },
	{ S("{\"a\":1,,\"b\":2}"), "expected string key", 7, AGREE },
	{ S("{\"a\":[1,]}"), "unexpected character", 8, AGREE },
	{ S("{\"a\":[,1]}"), "unexpected character", 6, AGREE },
	{ S("{\"a\":]}"), "unexpected character", 5, AGREE },
	{ S("{\"a\":[}"), "unexpected character", 6, AGREE },
	{ S("{\"a\":{]}"), "expected string key", 6, AGREE },
	{ S("{]"), "expected string key", 1, AGREE },
	{ S("{\"a\":1]"), "expected ',' or '}'", 6, AGREE },
	{ S("{\"a\":[1}"), "expected ',' or ']'", 7, AGREE },
	{ S("{\"a\":\"b\":\"c\"}"), "expected ',' or '}'", 8, AGREE },
	{ S("{\"a\",\"b\"}"), "expected ':'", 4, AGREE },
	{ S("{/**/}"), "expected string key", 1, AGREE },
	{ S("{\"a\":1,//x\n\"b\":2}"), "expected string key", 7, AGREE },
	{ S("{\"a\":1}\n#"), "trailing data after value", 8, AGREE },
	{ S("{\"a\":\v1}"), "unexpected character", 5, AGREE },
};

/*
 * Is the jansson error in JE one of the number range errors jscan
 * deliberately does not have?
 */
static int
jansson_range_error(const json_error_t *je)
{
	return strstr(je->text, "too big") != NULL ||
	    strstr(je->text, "overflow") != NULL;
}

/* Run jscan on IN out of place; the output is a fresh NUL-terminated copy. */
static int
run(const char *in, size_t len, char **out, size_t *out_len,
    struct jscan_fields *f, const char **err, size_t *err_off)
{
	int	rc;

	*out = malloc(len + 1);
	ck_assert_ptr_nonnull(*out);
	*err = NULL;
	*err_off = (size_t)-1;
	rc = jscan_compact(in, len, *out, out_len, f, err, err_off);
	if (rc == 0)
		(*out)[*out_len] = '\0';
	return rc;
}

/* Valid input: exact compact output, in and out of place. */
START_TEST(test_valid)
{
	const struct valid_case	*c = &valid_cases[_i];
	struct jscan_fields	 f;
	const char		*err;
	char			*out, *buf;
	size_t			 out_len, out_len2, err_off;

	ck_assert_msg(run(c->in, c->len, &out, &out_len, &f, &err,
	    &err_off) == 0, "case %d rejected: %s at %zu", _i, err, err_off);
	ck_assert_uint_eq(out_len, strlen(c->out));
	ck_assert_mem_eq(out, c->out, out_len);
	ck_assert_uint_le(out_len, c->len);
	ck_assert_ptr_null(memchr(out, '\n', out_len));

	buf = malloc(c->len);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->in, c->len);
	ck_assert_int_eq(jscan_compact(buf, c->len, buf, &out_len2, NULL, NULL,
	    NULL), 0);
	ck_assert_uint_eq(out_len2, out_len);
	ck_assert_mem_eq(buf, c->out, out_len);

	/* Compact output is a fixed point. */
	ck_assert_int_eq(jscan_compact(buf, out_len2, buf, &out_len2, NULL,
	    NULL, NULL), 0);
	ck_assert_uint_eq(out_len2, out_len);
	ck_assert_mem_eq(buf, c->out, out_len);

	free(buf);
	free(out);
}
END_TEST

/* Valid input: jansson agrees, and reads the output as the same value. */
START_TEST(test_valid_jansson)
{
	const struct valid_case	*c = &valid_cases[_i];
	json_error_t		 je;
	json_t			*a, *b;
	const char		*err;
	char			*out;
	size_t			 out_len, err_off;
	struct jscan_fields	 f;

	ck_assert_int_eq(run(c->in, c->len, &out, &out_len, &f, &err,
	    &err_off), 0);
	a = json_loadb(c->in, c->len, 0, &je);
	if (c->agree == RANGE) {
		ck_assert_ptr_null(a);
		ck_assert_msg(jansson_range_error(&je), "case %d: %s", _i,
		    je.text);
	} else {
		ck_assert_msg(a != NULL, "case %d: jansson: %s", _i, je.text);
		ck_assert(json_is_object(a));
		b = json_loadb(out, out_len, 0, &je);
		ck_assert_ptr_nonnull(b);
		ck_assert(json_equal(a, b));
		json_decref(b);
	}
	json_decref(a);
	free(out);
}
END_TEST

/* Invalid input: the reason and offset, in and out of place. */
START_TEST(test_reject)
{
	const struct reject_case *c = &reject_cases[_i];
	struct jscan_fields	 f;
	const char		*err, *err2;
	char			*out, *buf;
	size_t			 out_len, err_off, err_off2;

	ck_assert_msg(run(c->in, c->len, &out, &out_len, &f, &err,
	    &err_off) == -1, "case %d accepted", _i);
	ck_assert_msg(strcmp(err, c->reason) == 0,
	    "case %d: reason \"%s\", expected \"%s\"", _i, err, c->reason);
	ck_assert_msg(err_off == c->off, "case %d: offset %zu, expected %zu",
	    _i, err_off, c->off);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_int_eq(f.entity_type.present, 0);
	ck_assert_int_eq(f.has_more, -1);

	buf = malloc(c->len + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->in, c->len);
	ck_assert_int_eq(jscan_compact(buf, c->len, buf, &out_len, NULL,
	    &err2, &err_off2), -1);
	ck_assert_str_eq(err2, err);
	ck_assert_uint_eq(err_off2, err_off);
	free(buf);
	free(out);
}
END_TEST

/* Invalid input: jansson does not return an object either. */
START_TEST(test_reject_jansson)
{
	const struct reject_case *c = &reject_cases[_i];
	json_error_t		 je;
	json_t			*a;

	/* json_loadb wants a non-NULL buffer even when it is empty. */
	a = json_loadb(c->len == 0 ? "" : c->in, c->len, 0, &je);
	switch (c->agree) {
	case AGREE:
		ck_assert_msg(a == NULL || !json_is_object(a),
		    "case %d: jansson accepts", _i);
		break;
	case RANGE:
		ck_assert_ptr_null(a);
		ck_assert(jansson_range_error(&je));
		break;
	case NULDROP:
		/* jansson 2.14 accepts these; a later one may not. */
		break;
	}
	json_decref(a);
}
END_TEST

/* Strings of every length with one special byte at every position. */
START_TEST(test_string_positions)
{
	static const struct {
		const char	*ins;		/* put into the string */
		const char	*reason;	/* NULL if valid */
	} specials[] = {
		{ "", NULL },
		{ "\\n", NULL },
		{ "\\\"", NULL },
		{ "\\u00e9", NULL },
		{ "\\ud83d\\ude00", NULL },
		{ "\xc3\xa9", NULL },
		{ "\xe4\xb8\xad", NULL },
		{ "\xf0\x9f\x98\x80", NULL },
		{ "\x7f", NULL },
		{ "\x01", "control character in string" },
		{ "\x1f", "control character in string" },
		{ "\x80", "invalid UTF-8 in string" },
		{ "\xed\xa0\x80", "invalid UTF-8 in string" },
		{ "\\q", "invalid escape" },
		{ "\\udc00", "invalid \\u escape (surrogate)" },
	};
	const size_t	 total = _i;	/* plain bytes around it */
	char		 in[128], expect[128], *out;
	const char	*err;
	size_t		 si, k, n, ilen, out_len, err_off;
	json_t		*j;
	json_error_t	 je;

	for (si = 0; si < NITEMS(specials); si++) {
		for (k = 0; k <= total; k++) {
			ilen = strlen(specials[si].ins);
			n = 0;
			memcpy(in + n, "{ \"s\" : \"", 9);
			n += 9;
			memset(in + n, 'a', k);
			n += k;
			memcpy(in + n, specials[si].ins, ilen);
			n += ilen;
			memset(in + n, 'z', total - k);
			n += total - k;
			memcpy(in + n, "\" }", 3);
			n += 3;

			j = json_loadb(in, n, 0, &je);
			if (specials[si].reason == NULL) {
				ck_assert_int_eq(run(in, n, &out, &out_len,
				    NULL, &err, &err_off), 0);
				ck_assert_uint_eq(out_len, n - 4);
				memcpy(expect, "{\"s\":\"", 6);
				memcpy(expect + 6, in + 9, n - 12);
				memcpy(expect + n - 6, "\"}", 2);
				ck_assert_mem_eq(out, expect, out_len);
				ck_assert_ptr_nonnull(j);
			} else {
				ck_assert_int_eq(run(in, n, &out, &out_len,
				    NULL, &err, &err_off), -1);
				ck_assert_str_eq(err, specials[si].reason);
				ck_assert_uint_eq(err_off, 9 + k);
				ck_assert_ptr_null(j);
			}
			json_decref(j);
			free(out);
		}
	}
}
END_TEST

/*
 * LEVELS nested containers (an object, then objects or arrays), with
 * INNER inside the innermost; N is set to the length.
 */
static char *
nest(int levels, int arrays, const char *inner, size_t *n)
{
	size_t	 cap = (size_t)levels * 6 + strlen(inner) + 1, k = 0;
	char	*b = malloc(cap);
	int	 i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < levels; i++) {
		if (i == 0 || !arrays) {
			b[k++] = '{';
			if (i != levels - 1) {
				memcpy(b + k, "\"a\":", 4);
				k += 4;
			}
		} else
			b[k++] = '[';
	}
	memcpy(b + k, inner, strlen(inner));
	k += strlen(inner);
	for (i = levels - 1; i >= 0; i--)
		b[k++] = (i == 0 || !arrays) ? '}' : ']';
	*n = k;
	return b;
}

/* The depth limit, exactly where jansson has it. */
START_TEST(test_depth)
{
	static const struct {
		int		 levels;
		int		 arrays;
		const char	*inner;
		int		 ok;
	} cases[] = {
		{ 1, 0, "", 1 },
		{ 2047, 0, "\"a\":1", 1 },
		{ 2048, 0, "", 1 },
		{ 2048, 0, "\"a\":1", 0 },
		{ 2048, 0, "\"a\":{}", 0 },
		{ 2048, 0, "\"a\":[]", 0 },
		{ 2049, 0, "", 0 },
		{ 2047, 1, "1", 1 },
		{ 2047, 1, "[]", 1 },
		{ 2047, 1, "{}", 1 },
		{ 2048, 1, "", 1 },
		{ 2048, 1, "1", 0 },
		{ 2048, 1, "\"x\"", 0 },
		{ 2048, 1, "[]", 0 },
		{ 2049, 1, "", 0 },
		{ 5000, 1, "", 0 },
	};
	size_t		 i, n, out_len, err_off;
	char		*in, *out;
	const char	*err;
	json_t		*j;
	json_error_t	 je;

	for (i = 0; i < NITEMS(cases); i++) {
		in = nest(cases[i].levels, cases[i].arrays, cases[i].inner,
		    &n);
		j = json_loadb(in, n, 0, &je);
		ck_assert_msg((j != NULL) == cases[i].ok,
		    "jansson differs on depth case %zu", i);
		json_decref(j);
		if (cases[i].ok) {
			ck_assert_msg(run(in, n, &out, &out_len, NULL, &err,
			    &err_off) == 0, "depth case %zu: %s", i, err);
			ck_assert_mem_eq(out, in, n);
		} else {
			ck_assert_int_eq(run(in, n, &out, &out_len, NULL, &err,
			    &err_off), -1);
			ck_assert_str_eq(err, "nesting too deep");
			/* At the first byte past the 2048th opening. */
			ck_assert_uint_eq(err_off, cases[i].arrays ?
			    5 + 2047 : 2048 * 5);
		}
		free(out);
		free(in);
	}
}
END_TEST

struct field_case {
	const char	*in;
	const char	*entity_type;	/* NULL if absent */
	const char	*message_type;
	const char	*entity_id;
	int		 entity_id_null;
	const char	*stream_id;
	int		 has_pagination;
	int		 has_more;
};

static const struct field_case field_cases[] = {
	{ "{\"entity_type\":\"deal\",\"message_type\":\"upsert\","
	  "\"entity_id\":\"42\",\"stream_id\":\"s-1\","
	  "\"pagination\":{\"has_more\":true}}",
	  "deal", "upsert", "42", 0, "s-1", 1, 1 },
	{ "{\n  \"stream_id\" : \"s 1\",\n  \"entity_id\" : null,\n"
	  "  \"pagination\" : { \"cursor\" : \"c\", \"has_more\" : false }"
	  " ,\n  \"entity_type\" :\t\"a b\"\n}\n",
	  "a b", NULL, NULL, 1, "s 1", 1, 0 },
	{ "{\"entity_type\":5,\"message_type\":[\"x\"],\"entity_id\":{},"
	  "\"stream_id\":true,\"pagination\":[{\"has_more\":true}]}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity_type\":false,\"message_type\":null,\"entity_id\":1.5,"
	  "\"stream_id\":-1,\"pagination\":\"{}\"}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity_type\":\"a\",\"entity_type\":\"b\"}",
	  "b", NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity_type\":\"a\",\"entity_type\":1}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity_id\":null,\"entity_id\":\"x\"}",
	  NULL, NULL, "x", 0, NULL, 0, -1 },
	{ "{\"entity_id\":\"x\",\"entity_id\":null}",
	  NULL, NULL, NULL, 1, NULL, 0, -1 },
	{ "{\"entity_id\":\"x\",\"entity_id\":[null]}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"data\":{\"entity_type\":\"x\",\"pagination\":{\"has_more\":"
	  "true}},\"items\":[{\"entity_type\":\"y\"},\"entity_type\"],"
	  "\"s\":\"entity_type\"}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"pagination\":{}}", NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"has_more\":\"true\"}}",
	  NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"has_more\":null}}",
	  NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"x\":{\"has_more\":true},\"y\":[true]}}",
	  NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"has_more\":true,\"has_more\":false}}",
	  NULL, NULL, NULL, 0, NULL, 1, 0 },
	{ "{\"pagination\":{\"has_more\":false,\"has_more\":1}}",
	  NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"has_more\":true},\"pagination\":{}}",
	  NULL, NULL, NULL, 0, NULL, 1, -1 },
	{ "{\"pagination\":{\"has_more\":true},\"pagination\":null}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"pagination\":null,\"pagination\":{\"has_more\":false}}",
	  NULL, NULL, NULL, 0, NULL, 1, 0 },
	{ "{\"pagination\":{\"has_more\":true},\"other\":{\"has_more\":"
	  "false}}",
	  NULL, NULL, NULL, 0, NULL, 1, 1 },
	{ "{\"has_more\":true,\"x\":{\"pagination\":{\"has_more\":true}}}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity\\u005ftype\":\"x\",\"entity_type \":\"y\","
	  "\"entity_types\":\"z\",\"entity_typ\":\"w\",\"Entity_type\":\"v\"}",
	  NULL, NULL, NULL, 0, NULL, 0, -1 },
	{ "{\"entity_type\":\"a\\\"b\\u00e9\\\\\",\"message_type\":\"\"}",
	  "a\\\"b\\u00e9\\\\", "", NULL, 0, NULL, 0, -1 },
	{ "{\"message_type\":\"\xe4\xb8\xad\xe6\x96\x87\"}",
	  NULL, "\xe4\xb8\xad\xe6\x96\x87", NULL, 0, NULL, 0, -1 },
	{ "{}", NULL, NULL, NULL, 0, NULL, 0, -1 },
};

/* Is the span S of OUT the bytes WANT (NULL: absent)? */
static void
check_span(const char *out, const struct jscan_span *s, const char *want,
    const char *what)
{
	if (want == NULL) {
		ck_assert_msg(!s->present, "%s present", what);
		return;
	}
	ck_assert_msg(s->present, "%s absent", what);
	ck_assert_uint_eq(s->len, strlen(want));
	ck_assert(s->off > 0);
	ck_assert_int_eq(out[s->off - 1], '"');
	ck_assert_int_eq(out[s->off + s->len], '"');
	ck_assert_mem_eq(out + s->off, want, s->len);
}

/* Compare F, whose spans point into OUT, with case C. */
static void
check_fields(const struct field_case *c, const char *out,
    const struct jscan_fields *f)
{
	check_span(out, &f->entity_type, c->entity_type, "entity_type");
	check_span(out, &f->message_type, c->message_type, "message_type");
	check_span(out, &f->entity_id, c->entity_id, "entity_id");
	check_span(out, &f->stream_id, c->stream_id, "stream_id");
	ck_assert_int_eq(f->entity_id.is_null, c->entity_id_null);
	ck_assert_int_eq(f->entity_type.is_null, 0);
	ck_assert_int_eq(f->has_pagination, c->has_pagination);
	ck_assert_int_eq(f->has_more, c->has_more);
}

/* Field extraction, in and out of place. */
START_TEST(test_fields)
{
	const struct field_case	*c = &field_cases[_i];
	struct jscan_fields	 f;
	const char		*err;
	char			*out, *buf;
	size_t			 len = strlen(c->in), out_len, err_off;

	ck_assert_msg(run(c->in, len, &out, &out_len, &f, &err, &err_off) ==
	    0, "field case %d: %s", _i, err);
	check_fields(c, out, &f);

	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->in, len + 1);
	memset(&f, 0xa5, sizeof f);
	ck_assert_int_eq(jscan_compact(buf, len, buf, &out_len, &f, NULL,
	    NULL), 0);
	check_fields(c, buf, &f);
	free(buf);
	free(out);
}
END_TEST

/* Field extraction agrees with jansson when keys are spelled plainly. */
START_TEST(test_fields_jansson)
{
	static const char *const names[] = {
		"entity_type", "message_type", "entity_id", "stream_id"
	};
	const struct field_case	*c = &field_cases[_i];
	const struct jscan_span	*spans[4];
	struct jscan_fields	 f;
	json_error_t		 je;
	json_t			*root, *v, *pg, *hm, *s;
	const char		*err;
	char			*out, *quoted;
	size_t			 i, out_len, err_off;

	if (strstr(c->in, "\\u005f") != NULL)
		return;		/* an escaped key: jscan does not match it */
	ck_assert_int_eq(run(c->in, strlen(c->in), &out, &out_len, &f, &err,
	    &err_off), 0);
	root = json_loadb(c->in, strlen(c->in), 0, &je);
	ck_assert_ptr_nonnull(root);
	spans[0] = &f.entity_type;
	spans[1] = &f.message_type;
	spans[2] = &f.entity_id;
	spans[3] = &f.stream_id;
	for (i = 0; i < NITEMS(names); i++) {
		v = json_object_get(root, names[i]);
		ck_assert_int_eq(spans[i]->present, json_is_string(v));
		ck_assert_int_eq(spans[i]->is_null, json_is_null(v));
		if (!spans[i]->present)
			continue;
		quoted = malloc(spans[i]->len + 2);
		ck_assert_ptr_nonnull(quoted);
		memcpy(quoted, out + spans[i]->off - 1, spans[i]->len + 2);
		s = json_loadb(quoted, spans[i]->len + 2, JSON_DECODE_ANY,
		    &je);
		ck_assert_ptr_nonnull(s);
		ck_assert(json_equal(s, v));
		json_decref(s);
		free(quoted);
	}
	pg = json_object_get(root, "pagination");
	ck_assert_int_eq(f.has_pagination, json_is_object(pg));
	hm = json_is_object(pg) ? json_object_get(pg, "has_more") : NULL;
	ck_assert_int_eq(f.has_more, json_is_true(hm) ? 1 :
	    json_is_false(hm) ? 0 : -1);
	json_decref(root);
	free(out);
}
END_TEST

/* A failure after fields were seen leaves them all absent. */
START_TEST(test_fields_on_error)
{
	static const char	 in[] = "{\"entity_type\":\"x\","
	    "\"pagination\":{\"has_more\":true},\"z\":01}";
	struct jscan_fields	 f;
	const char		*err;
	char			*out;
	size_t			 out_len, err_off;

	ck_assert_int_eq(run(in, sizeof in - 1, &out, &out_len, &f, &err,
	    &err_off), -1);
	ck_assert_str_eq(err, "invalid number");
	ck_assert_int_eq(f.entity_type.present, 0);
	ck_assert_int_eq(f.has_pagination, 0);
	ck_assert_int_eq(f.has_more, -1);
	free(out);
}
END_TEST

/* The output buffer needs only LEN bytes, and nothing past it is touched. */
START_TEST(test_exact_buffer)
{
	static const char	 in[] = "{\"entity_type\":\"0123456789abcdef"
	    "0123456789abcdef\",\"a\":[1,2,3]}";
	size_t			 len = sizeof in - 1, out_len;
	char			*out;

	out = malloc(len);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(jscan_compact(in, len, out, &out_len, NULL, NULL,
	    NULL), 0);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, in, len);
	free(out);
}
END_TEST

/* Long pretty-printed input compacts in place to what out of place gives. */
START_TEST(test_in_place_large)
{
	size_t		 cap = 1 << 20, n = 0, out_len, out_len2, err_off;
	char		*in, *out;
	const char	*err;
	int		 i;
	json_t		*a, *b;
	json_error_t	 je;

	in = malloc(cap);
	ck_assert_ptr_nonnull(in);
	n += (size_t)snprintf(in + n, cap - n, "{\n  \"items\" : [\n");
	for (i = 0; i < 2000; i++)
		n += (size_t)snprintf(in + n, cap - n,
		    "    {\t\"id\" : %d , \"name\" : \"item %d \\u00e9 "
		    "\xe4\xb8\xad\" , \"tags\" : [ \"a\" , \"b\" ] }%s\n",
		    i, i, i == 1999 ? "" : " ,");
	n += (size_t)snprintf(in + n, cap - n, "  ],\n  \"entity_type\" : "
	    "\"list\"\n}\n");
	ck_assert_uint_lt(n, cap);

	ck_assert_int_eq(run(in, n, &out, &out_len, NULL, &err, &err_off), 0);
	ck_assert_int_eq(jscan_compact(in, n, in, &out_len2, NULL, NULL,
	    NULL), 0);
	ck_assert_uint_eq(out_len2, out_len);
	ck_assert_mem_eq(in, out, out_len);
	a = json_loadb(in, out_len, 0, &je);
	b = json_loadb(out, out_len, 0, &je);
	ck_assert_ptr_nonnull(a);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	free(out);
	free(in);
}
END_TEST

/* The NULL-tolerant arguments. */
START_TEST(test_null_args)
{
	char	out[8];
	size_t	out_len;

	ck_assert_int_eq(jscan_compact(NULL, 0, out, &out_len, NULL, NULL,
	    NULL), -1);
	ck_assert_int_eq(jscan_compact("[]", 2, out, &out_len, NULL, NULL,
	    NULL), -1);
	ck_assert_int_eq(jscan_compact(" { } ", 5, out, &out_len, NULL, NULL,
	    NULL), 0);
	ck_assert_uint_eq(out_len, 2);
	ck_assert_mem_eq(out, "{}", 2);
}
END_TEST

/* Every test of the module. */
static Suite *
jscan_suite(void)
{
	Suite	*s = suite_create("jscan");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_valid, 0, (int)NITEMS(valid_cases));
	tcase_add_loop_test(tc, test_valid_jansson, 0,
	    (int)NITEMS(valid_cases));
	tcase_add_loop_test(tc, test_string_positions, 0, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_reject, 0, (int)NITEMS(reject_cases));
	tcase_add_loop_test(tc, test_reject_jansson, 0,
	    (int)NITEMS(reject_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("depth");
	tcase_add_test(tc, test_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, test_fields, 0, (int)NITEMS(field_cases));
	tcase_add_loop_test(tc, test_fields_jansson, 0,
	    (int)NITEMS(field_cases));
	tcase_add_test(tc, test_fields_on_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("buffers");
	tcase_add_test(tc, test_exact_buffer);
	tcase_add_test(tc, test_in_place_large);
	tcase_add_test(tc, test_null_args);
	suite_add_tcase(s, tc);

	return s;
}

/* Run the suite; with TAP on stdout, print nothing else there. */
int
main(void)
{
	return unit_run(jscan_suite());
}
