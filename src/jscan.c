/*
 * jscan.c - the relay's JSON hot path: one forward pass over an upstream
 * message that validates it, removes insignificant whitespace and notes
 * where the few top-level members the relay routes on are.
 *
 * Owns: the acceptance rules. A message is accepted exactly when jansson
 * 2.14's json_loadb(buf, len, 0, ...) would return an object, with one
 * deliberate exception: numbers outside the range of long long or double
 * are accepted (they are valid RFC 8259 JSON and the relay never interprets
 * them). A raw NUL byte is always an error, even one directly after a
 * number or literal, which jansson 2.14 silently skips.
 *
 * Invariants: the output is the input minus the whitespace outside strings,
 * so it is never longer than the input, holds no raw newline, and the
 * output position never passes the input position; that is what lets
 * out == in work. Only whole runs of input between whitespace are copied,
 * after they have been read.
 *
 * Never: allocates, recurses, unescapes or re-escapes a string, converts a
 * number, or puts payload bytes into an error reason (reasons are static
 * strings; payloads may hold secrets and reasons get logged).
 */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h"
#endif

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jscan.h"

#if defined(__GNUC__)
#define JSCAN_INLINE	inline __attribute__((always_inline))
#else
#define JSCAN_INLINE	inline
#endif

/*
 * Where a word has a special byte, find the first with a count of trailing
 * zeros (little-endian GCC or clang); JSCAN_PORTABLE forces the byte loop.
 */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(JSCAN_PORTABLE)
#define JSCAN_SWAR_CTZ	1
#endif

#define JSCAN_ONES	0x0101010101010101ULL
#define JSCAN_HIGHS	0x8080808080808080ULL

/* Which member the next value belongs to. */
enum jscan_field {
	JSCAN_F_NONE,
	JSCAN_F_ENTITY_TYPE,
	JSCAN_F_MESSAGE_TYPE,
	JSCAN_F_ENTITY_ID,
	JSCAN_F_STREAM_ID,
	JSCAN_F_PAGINATION,
	JSCAN_F_HAS_MORE
};

/* Where and why scanning stopped. */
struct jscan_error {
	const char		*reason;
	const unsigned char	*at;
};

/* The output side: bytes before run are copied, from run on they are not. */
struct jscan_out {
	unsigned char		*o;
	const unsigned char	*run;
};

/* Each byte's value as a hex digit plus one; 0 for a byte that is not one. */
static const unsigned char jscan_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16
};

/* Record an error at AT; always returns NULL for the caller to return. */
static const unsigned char *
jscan_fail(struct jscan_error *e, const char *reason, const unsigned char *at)
{
	e->reason = reason;
	e->at = at;
	return NULL;
}

/* Is C JSON whitespace? */
static JSCAN_INLINE int
jscan_isws(unsigned int c)
{
	/* One compare decides for every byte above the space. */
	return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

/* Is C a decimal digit? */
static JSCAN_INLINE int
jscan_isdigit(unsigned int c)
{
	return c - '0' < 10;
}

/* Must C stop the plain-byte scan of a string? */
static JSCAN_INLINE int
jscan_isspecial(unsigned int c)
{
	return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/*
 * Mask with the high bit set in exactly the bytes of W that are a quote,
 * a backslash, below 0x20 or above 0x7f. Working on the low seven bits
 * keeps every addition inside its byte.
 */
static JSCAN_INLINE uint64_t
jscan_swar(uint64_t w)
{
	uint64_t	x = w & ~JSCAN_HIGHS;
	uint64_t	ctl, quote, bslash;

	/* The high bit of each byte says: >= 0x20, != '"', != '\\'. */
	ctl = x + JSCAN_ONES * (0x80 - 0x20);
	quote = (x ^ (JSCAN_ONES * '"')) + JSCAN_ONES * 0x7f;
	bslash = (x ^ (JSCAN_ONES * '\\')) + JSCAN_ONES * 0x7f;
	return (w | ~(ctl & quote & bslash)) & JSCAN_HIGHS;
}

/*
 * First byte at or after P that is special in a string, or END; *C is set
 * to that byte (taken from the word already loaded, to save a load).
 */
static JSCAN_INLINE const unsigned char *
jscan_plain(const unsigned char *p, const unsigned char *end, unsigned int *c)
{
	uint64_t	w, m;
#if defined(__SSE2__) && defined(JSCAN_SWAR_CTZ)
	/* 16 bytes a step with SSE2, the x86-64 baseline: no run-time test. */
	const __m128i	quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i	bias = _mm_set1_epi8((char)0x80);
	const __m128i	lim = _mm_set1_epi8((char)(0x20 ^ 0x80));

	while (end - p >= 16) {
		__m128i		v = _mm_loadu_si128((const __m128i *)p);
		/* Special: '"', '\\', < 0x20 (signed compare after bias), >= 0x80. */
		__m128i		sp = _mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
			    _mm_cmplt_epi8(_mm_xor_si128(v, bias), lim));
		unsigned	mask = (unsigned)_mm_movemask_epi8(sp) |
			    (unsigned)_mm_movemask_epi8(v);

		if (mask != 0) {
			p += __builtin_ctz(mask);
			*c = *p;
			return p;
		}
		p += 16;
	}
#endif

	while (end - p >= 8) {
		memcpy(&w, p, sizeof w);
		m = jscan_swar(w);
		if (m != 0) {
#ifdef JSCAN_SWAR_CTZ
			unsigned int	bit;

			bit = (unsigned int)__builtin_ctzll(m);
			*c = (unsigned char)(w >> (bit & 56));
			return p + (bit >> 3);
#else
			while (!jscan_isspecial(*p))
				p++;
			*c = *p;
			return p;
#endif
		}
		p += 8;
	}
	while (p < end && !jscan_isspecial(*p))
		p++;
	*c = p < end ? *p : 0;
	return p;
}

/* The four hex digits at P as a number, or -1. */
static long
jscan_hex4(const unsigned char *p, const unsigned char *end)
{
	int	a, b, c, d;

	if (end - p < 4)
		return -1;
	a = jscan_hex[p[0]];
	b = jscan_hex[p[1]];
	c = jscan_hex[p[2]];
	d = jscan_hex[p[3]];
	if (a == 0 || b == 0 || c == 0 || d == 0)
		return -1;
	return ((long)(a - 1) << 12) | ((b - 1) << 8) | ((c - 1) << 4) |
	    (d - 1);
}

/*
 * Check the escape sequence whose backslash is at P; return the byte after
 * it. A high surrogate must be followed at once by a low one; \u0000 is
 * refused, as jansson refuses NUL without JSON_ALLOW_NUL.
 */
static const unsigned char *
jscan_escape(const unsigned char *p, const unsigned char *end,
    struct jscan_error *e)
{
	long	hi, lo;

	if (end - p < 2)
		return jscan_fail(e, "unterminated string", end);
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return p + 2;
	case 'u':
		break;
	default:
		return jscan_fail(e, "invalid escape", p);
	}

	if ((hi = jscan_hex4(p + 2, end)) < 0)
		return jscan_fail(e, "invalid \\u escape", p);
	if (hi == 0)
		return jscan_fail(e, "\\u0000 is not allowed", p);
	if (hi < 0xd800 || hi > 0xdfff)
		return p + 6;
	if (hi >= 0xdc00)
		return jscan_fail(e, "invalid \\u escape (surrogate)", p);

	if (end - p < 8 || p[6] != '\\' || p[7] != 'u')
		return jscan_fail(e, "invalid \\u escape (surrogate)", p);
	if ((lo = jscan_hex4(p + 8, end)) < 0)
		return jscan_fail(e, "invalid \\u escape", p + 6);
	if (lo < 0xdc00 || lo > 0xdfff)
		return jscan_fail(e, "invalid \\u escape (surrogate)", p);
	return p + 12;
}

/*
 * Check the UTF-8 sequence whose lead byte (>= 0x80) is at P; return the
 * byte after it. Overlong forms, surrogates and code points above U+10FFFF
 * are refused, as are sequences cut short.
 */
static const unsigned char *
jscan_utf8(const unsigned char *p, const unsigned char *end,
    struct jscan_error *e)
{
	unsigned int	c = p[0], lo = 0x80, hi = 0xbf;
	size_t		n;

	if (c < 0xc2)
		return jscan_fail(e, "invalid UTF-8 in string", p);
	else if (c < 0xe0)
		n = 2;
	else if (c < 0xf0) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c < 0xf5) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return jscan_fail(e, "invalid UTF-8 in string", p);

	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return jscan_fail(e, "invalid UTF-8 in string", p);
	if (n >= 3 && (p[2] & 0xc0) != 0x80)
		return jscan_fail(e, "invalid UTF-8 in string", p);
	if (n == 4 && (p[3] & 0xc0) != 0x80)
		return jscan_fail(e, "invalid UTF-8 in string", p);
	return p + n;
}

/*
 * Check the body of a string starting just after its opening quote;
 * return a pointer to the closing quote.
 */
static JSCAN_INLINE const unsigned char *
jscan_string(const unsigned char *p, const unsigned char *end,
    struct jscan_error *e)
{
	unsigned int	c;

	for (;;) {
		p = jscan_plain(p, end, &c);
		if (c == '"')
			return p;
		if (p == end)
			return jscan_fail(e, "unterminated string", end);
		if (c == '\\')
			p = jscan_escape(p, end, e);
		else if (c < 0x20)
			return jscan_fail(e, "control character in string", p);
		else
			p = jscan_utf8(p, end, e);
		if (p == NULL)
			return NULL;
	}
}

/*
 * Check the number starting at P (a '-' or a digit); return the byte after
 * it. The grammar is RFC 8259's; the magnitude is not looked at.
 */
static const unsigned char *
jscan_number(const unsigned char *p, const unsigned char *end,
    struct jscan_error *e)
{
	const unsigned char	*start = p;

	if (*p == '-')
		p++;
	if (p == end || !jscan_isdigit(*p))
		return jscan_fail(e, "invalid number", start);
	if (*p++ != '0') {
		while (p < end && jscan_isdigit(*p))
			p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || !jscan_isdigit(*p))
			return jscan_fail(e, "invalid number", start);
		while (p < end && jscan_isdigit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !jscan_isdigit(*p))
			return jscan_fail(e, "invalid number", start);
		while (p < end && jscan_isdigit(*p))
			p++;
	}
	if (p < end && jscan_isdigit(*p))	/* a leading zero, "01" */
		return jscan_fail(e, "invalid number", start);
	return p;
}

/* Copy the pending run, which ends at P, to the output. */
static JSCAN_INLINE void
jscan_flush(struct jscan_out *w, const unsigned char *p)
{
	size_t	n = (size_t)(p - w->run);

	if (n != 0 && w->o != w->run)
		memmove(w->o, w->run, n);
	w->o += n;
}

/* Skip whitespace at P, cutting it out of the output; return what follows. */
static JSCAN_INLINE const unsigned char *
jscan_ws(struct jscan_out *w, const unsigned char *p,
    const unsigned char *end)
{
	if (p == end || !jscan_isws(*p))
		return p;
	jscan_flush(w, p);
	do
		p++;
	while (p < end && jscan_isws(*p));
	w->run = p;
	return p;
}

/* The span a string field is kept in. */
static struct jscan_span *
jscan_span_of(struct jscan_fields *fields, enum jscan_field f)
{
	switch (f) {
	case JSCAN_F_ENTITY_TYPE:
		return &fields->entity_type;
	case JSCAN_F_MESSAGE_TYPE:
		return &fields->message_type;
	case JSCAN_F_ENTITY_ID:
		return &fields->entity_id;
	case JSCAN_F_STREAM_ID:
		return &fields->stream_id;
	default:
		return NULL;
	}
}

/* Mark every field absent. */
static void
jscan_clear(struct jscan_fields *fields)
{
	memset(fields, 0, sizeof *fields);
	fields->has_more = -1;
}

/*
 * Which field the raw key K (N bytes) of the top-level object names. The
 * field is reset, so that a later occurrence of the key overrides an
 * earlier one even when its value has the wrong type.
 */
static enum jscan_field
jscan_key_top(struct jscan_fields *fields, const unsigned char *k, size_t n)
{
	enum jscan_field	 f;
	struct jscan_span	*s;

	if (n == 9 && memcmp(k, "entity_id", 9) == 0)
		f = JSCAN_F_ENTITY_ID;
	else if (n == 9 && memcmp(k, "stream_id", 9) == 0)
		f = JSCAN_F_STREAM_ID;
	else if (n == 11 && memcmp(k, "entity_type", 11) == 0)
		f = JSCAN_F_ENTITY_TYPE;
	else if (n == 12 && memcmp(k, "message_type", 12) == 0)
		f = JSCAN_F_MESSAGE_TYPE;
	else if (n == 10 && memcmp(k, "pagination", 10) == 0) {
		fields->has_pagination = 0;
		fields->has_more = -1;
		return JSCAN_F_PAGINATION;
	} else
		return JSCAN_F_NONE;

	s = jscan_span_of(fields, f);
	memset(s, 0, sizeof *s);
	return f;
}

/* Which field the raw key K (N bytes) of the pagination object names. */
static enum jscan_field
jscan_key_pagination(struct jscan_fields *fields, const unsigned char *k,
    size_t n)
{
	if (n != 8 || memcmp(k, "has_more", 8) != 0)
		return JSCAN_F_NONE;
	fields->has_more = -1;
	return JSCAN_F_HAS_MORE;
}

/*
 * Validate IN (LEN bytes) as one JSON object, write its compact form to
 * OUT (at least LEN bytes; may be IN itself, but must not otherwise
 * overlap it) and set *OUT_LEN. Fill FIELDS (may be NULL), with spans into
 * OUT. Returns 0, or -1 with *ERR set to a static reason and *ERR_OFF to
 * the offset in IN where scanning stopped (ERR and ERR_OFF may be NULL).
 * On error, FIELDS is all absent, *OUT_LEN is 0 and OUT holds junk.
 */
int
jscan_compact(const char *in, size_t len, char *out, size_t *out_len,
    struct jscan_fields *fields, const char **err, size_t *err_off)
{
	struct jscan_fields	 ignored;
	struct jscan_error	 e;
	struct jscan_out	 w;
	const unsigned char	*start, *p, *end, *s, *q;
	unsigned char		 kinds[JSCAN_MAX_DEPTH];	/* 1: object */
	size_t			 depth = 0;
	int			 inobj = 0, inpagination = 0;
	enum jscan_field	 want = JSCAN_F_NONE, f;
	struct jscan_span	*span;

	if (fields == NULL)
		fields = &ignored;
	jscan_clear(fields);
	*out_len = 0;
	if (len == 0) {
		if (err != NULL)
			*err = "empty input";
		if (err_off != NULL)
			*err_off = 0;
		return -1;
	}

	start = p = (const unsigned char *)in;
	end = p + len;
	w.o = (unsigned char *)out;
	w.run = p;

	p = jscan_ws(&w, p, end);
	if (p == end) {
		jscan_fail(&e, "empty input", p);
		goto fail;
	}
	if (*p != '{') {
		if (*p == '[' || *p == '"' || *p == '-' || jscan_isdigit(*p) ||
		    *p == 't' || *p == 'f' || *p == 'n')
			jscan_fail(&e, "top-level value is not an object", p);
		else
			jscan_fail(&e, "unexpected character", p);
		goto fail;
	}

value:
	/* At the first byte of a value. */
	f = want;
	want = JSCAN_F_NONE;
	if (depth >= JSCAN_MAX_DEPTH) {
		jscan_fail(&e, "nesting too deep", p);
		goto fail;
	}
	switch (*p) {
	case '{':
		kinds[depth++] = 1;
		inobj = 1;
		if (f == JSCAN_F_PAGINATION) {
			fields->has_pagination = 1;
			inpagination = 1;
		}
		if ((p = jscan_ws(&w, p + 1, end)) == end)
			goto eof;
		if (*p == '}') {
			p++;
			goto close;
		}
		goto key;
	case '[':
		kinds[depth++] = 0;
		inobj = 0;
		if ((p = jscan_ws(&w, p + 1, end)) == end)
			goto eof;
		if (*p == ']') {
			p++;
			goto close;
		}
		goto value;
	case '"':
		s = p + 1;
		if ((q = jscan_string(s, end, &e)) == NULL)
			goto fail;
		if ((span = jscan_span_of(fields, f)) != NULL) {
			span->off = (size_t)(w.o - (unsigned char *)out) +
			    (size_t)(s - w.run);
			span->len = (size_t)(q - s);
			span->present = 1;
		}
		p = q + 1;
		goto next;
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4) != 0)
			break;
		if (f == JSCAN_F_HAS_MORE)
			fields->has_more = 1;
		p += 4;
		goto next;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5) != 0)
			break;
		if (f == JSCAN_F_HAS_MORE)
			fields->has_more = 0;
		p += 5;
		goto next;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4) != 0)
			break;
		if ((span = jscan_span_of(fields, f)) != NULL)
			span->is_null = 1;
		p += 4;
		goto next;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if ((p = jscan_number(p, end, &e)) == NULL)
			goto fail;
		goto next;
	default:
		jscan_fail(&e, "unexpected character", p);
		goto fail;
	}
	jscan_fail(&e, "invalid literal", p);
	goto fail;

close:
	/* Just past the bracket closing the innermost container. */
	if (--depth == 1)
		inpagination = 0;
	if (depth != 0)
		inobj = kinds[depth - 1];

next:
	/* Just past a complete value. */
	p = jscan_ws(&w, p, end);
	if (depth == 0) {
		if (p != end) {
			jscan_fail(&e, "trailing data after value", p);
			goto fail;
		}
		jscan_flush(&w, p);
		*out_len = (size_t)(w.o - (unsigned char *)out);
		return 0;
	}
	if (p == end)
		goto eof;
	if (*p == ',') {
		if ((p = jscan_ws(&w, p + 1, end)) == end)
			goto eof;
		if (inobj)
			goto key;
		goto value;
	}
	if (*p == (inobj ? '}' : ']')) {
		p++;
		goto close;
	}
	jscan_fail(&e, inobj ? "expected ',' or '}'" : "expected ',' or ']'",
	    p);
	goto fail;

key:
	/* At the first byte of a member of an object. */
	if (*p != '"') {
		jscan_fail(&e, "expected string key", p);
		goto fail;
	}
	s = p + 1;
	if ((q = jscan_string(s, end, &e)) == NULL)
		goto fail;
	if (depth == 1)
		want = jscan_key_top(fields, s, (size_t)(q - s));
	else if (depth == 2 && inpagination)
		want = jscan_key_pagination(fields, s, (size_t)(q - s));
	if ((p = jscan_ws(&w, q + 1, end)) == end)
		goto eof;
	if (*p != ':') {
		jscan_fail(&e, "expected ':'", p);
		goto fail;
	}
	if ((p = jscan_ws(&w, p + 1, end)) == end)
		goto eof;
	goto value;

eof:
	jscan_fail(&e, "unexpected end of input", end);
fail:
	jscan_clear(fields);
	*out_len = 0;
	if (err != NULL)
		*err = e.reason;
	if (err_off != NULL)
		*err_off = (size_t)(e.at - start);
	return -1;
}
