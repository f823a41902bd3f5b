/*
 * fuzz_jscan.c - differential libFuzzer target: jscan against jansson.
 *
 * For every input, jscan must accept exactly when json_loadb(data, len, 0)
 * returns an object, except where the two differ on purpose:
 *  - jansson refuses numbers beyond long long or double ("too big ...",
 *    "real number overflow"); jscan accepts them, so either verdict goes;
 *  - jansson 2.14 drops a NUL byte that directly follows a number or a
 *    literal; jscan refuses any NUL, and must accept the input once its
 *    NULs are taken out.
 * When both accept, jansson must read the compact output as a value equal
 * to the input's, and the extracted fields must be what jansson sees under
 * those keys. In-place compaction must give the same result as out of
 * place, and compacting the output again must change nothing.
 *
 * Build and run (from the top of the tree):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       src/jscan.c tests/fuzz/fuzz_jscan.c -ljansson -o fuzz_jscan
 *   ./fuzz_jscan -max_total_time=300 CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

#define FUZZ_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #c);					\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every reason jscan may give; anything else would be a leak or a bug. */
static const char *const fuzz_reasons[] = {
	"empty input",
	"top-level value is not an object",
	"unexpected character",
	"unexpected end of input",
	"trailing data after value",
	"nesting too deep",
	"unterminated string",
	"invalid escape",
	"invalid \\u escape",
	"invalid \\u escape (surrogate)",
	"\\u0000 is not allowed",
	"control character in string",
	"invalid UTF-8 in string",
	"invalid number",
	"invalid literal",
	"expected string key",
	"expected ':'",
	"expected ',' or '}'",
	"expected ',' or ']'",
};

/* Is R one of the known reasons? */
static int
fuzz_known_reason(const char *r)
{
	size_t	i;

	for (i = 0; i < sizeof fuzz_reasons / sizeof fuzz_reasons[0]; i++)
		if (r != NULL && strcmp(r, fuzz_reasons[i]) == 0)
			return 1;
	return 0;
}

/* Is this jansson error one of the number range errors jscan lacks? */
static int
fuzz_range_error(const json_error_t *je)
{
	return strstr(je->text, "too big") != NULL ||
	    strstr(je->text, "overflow") != NULL;
}

/* Are two field sets identical? */
static int
fuzz_fields_eq(const struct jscan_fields *a, const struct jscan_fields *b)
{
	const struct jscan_span	*sa[] = { &a->entity_type,
	    &a->message_type, &a->entity_id, &a->stream_id };
	const struct jscan_span	*sb[] = { &b->entity_type,
	    &b->message_type, &b->entity_id, &b->stream_id };
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if (sa[i]->present != sb[i]->present ||
		    sa[i]->is_null != sb[i]->is_null)
			return 0;
		if (sa[i]->present && (sa[i]->off != sb[i]->off ||
		    sa[i]->len != sb[i]->len))
			return 0;
	}
	return a->has_pagination == b->has_pagination &&
	    a->has_more == b->has_more;
}

/* The fields jscan found in OUT must be what jansson sees in ROOT. */
static void
fuzz_check_fields(json_t *root, const char *out, size_t out_len,
    const struct jscan_fields *f)
{
	static const char *const names[] = {
		"entity_type", "message_type", "entity_id", "stream_id"
	};
	const struct jscan_span	*spans[] = { &f->entity_type,
	    &f->message_type, &f->entity_id, &f->stream_id };
	json_t			*v, *s, *pg, *hm;
	json_error_t		 je;
	size_t			 i;

	for (i = 0; i < 4; i++) {
		v = json_object_get(root, names[i]);
		FUZZ_CHECK(spans[i]->present == json_is_string(v));
		FUZZ_CHECK(spans[i]->is_null == json_is_null(v));
		if (!spans[i]->present)
			continue;
		FUZZ_CHECK(spans[i]->off >= 1);
		FUZZ_CHECK(spans[i]->off + spans[i]->len < out_len);
		FUZZ_CHECK(out[spans[i]->off - 1] == '"');
		FUZZ_CHECK(out[spans[i]->off + spans[i]->len] == '"');
		s = json_loadb(out + spans[i]->off - 1, spans[i]->len + 2,
		    JSON_DECODE_ANY, &je);
		FUZZ_CHECK(s != NULL);
		FUZZ_CHECK(json_equal(s, v));
		json_decref(s);
	}
	pg = json_object_get(root, "pagination");
	FUZZ_CHECK(f->has_pagination == json_is_object(pg));
	hm = json_is_object(pg) ? json_object_get(pg, "has_more") : NULL;
	FUZZ_CHECK(f->has_more ==
	    (json_is_true(hm) ? 1 : json_is_false(hm) ? 0 : -1));
}

/* Does the input hold "\u00", the only way to spell a key's ASCII? */
static int
fuzz_has_ascii_escape(const uint8_t *data, size_t size)
{
	size_t	i;

	for (i = 0; i + 4 <= size; i++)
		if (memcmp(data + i, "\\u00", 4) == 0)
			return 1;
	return 0;
}

/* One input: jscan's own invariants, then its verdict against jansson's. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jscan_fields	 f, f2;
	json_error_t		 je;
	json_t			*j, *j2;
	const char		*in = (const char *)data, *err, *err2;
	char			*out, *buf, *stripped;
	size_t			 out_len, out_len2, err_off, err_off2;
	size_t			 i, n;
	int			 rc, rc2, jobj, nul;

	out = malloc(size + 1);
	buf = malloc(size + 1);
	FUZZ_CHECK(out != NULL && buf != NULL);

	err = NULL;
	rc = jscan_compact(in, size, out, &out_len, &f, &err, &err_off);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(fuzz_known_reason(err));
		FUZZ_CHECK(err_off <= size);
		FUZZ_CHECK(out_len == 0);
	} else {
		FUZZ_CHECK(out_len >= 2 && out_len <= size);
		FUZZ_CHECK(out[0] == '{' && out[out_len - 1] == '}');
		FUZZ_CHECK(memchr(out, '\n', out_len) == NULL);
	}

	/* In place: the same verdict, bytes and fields. */
	memcpy(buf, in, size);
	err2 = NULL;
	rc2 = jscan_compact(buf, size, buf, &out_len2, &f2, &err2, &err_off2);
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0) {
		FUZZ_CHECK(out_len2 == out_len);
		FUZZ_CHECK(memcmp(buf, out, out_len) == 0);
		FUZZ_CHECK(fuzz_fields_eq(&f, &f2));

		/* The compact form is a fixed point. */
		rc2 = jscan_compact(buf, out_len, buf, &out_len2, &f2, NULL,
		    NULL);
		FUZZ_CHECK(rc2 == 0 && out_len2 == out_len);
		FUZZ_CHECK(memcmp(buf, out, out_len) == 0);
		FUZZ_CHECK(fuzz_fields_eq(&f, &f2));
	} else {
		FUZZ_CHECK(err2 == err && err_off2 == err_off);
	}

	nul = memchr(in, '\0', size) != NULL;
	if (nul)
		FUZZ_CHECK(rc == -1);

	j = json_loadb(size == 0 ? "" : in, size, 0, &je);
	jobj = json_is_object(j);
	if (j == NULL && fuzz_range_error(&je)) {
		/* Valid JSON jansson cannot represent: either verdict. */
	} else if (nul && jobj) {
		/* jansson dropped NULs after tokens; without them, agree. */
		stripped = malloc(size);
		FUZZ_CHECK(stripped != NULL);
		for (i = n = 0; i < size; i++)
			if (in[i] != '\0')
				stripped[n++] = in[i];
		rc2 = jscan_compact(stripped, n, buf, &out_len2, NULL, NULL,
		    NULL);
		FUZZ_CHECK(rc2 == 0);
		j2 = json_loadb(buf, out_len2, 0, &je);
		FUZZ_CHECK(j2 != NULL && json_equal(j, j2));
		json_decref(j2);
		free(stripped);
	} else {
		FUZZ_CHECK((rc == 0) == jobj);
		if (rc == 0) {
			j2 = json_loadb(out, out_len, 0, &je);
			FUZZ_CHECK(j2 != NULL && json_equal(j, j2));
			json_decref(j2);
			if (!fuzz_has_ascii_escape(data, size))
				fuzz_check_fields(j, out, out_len, &f);
		}
	}

	json_decref(j);
	free(buf);
	free(out);
	return 0;
}
