/*
 * test_hub.c - line framing and the reader queue policy, without sockets.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "hub.h"
#include "line.h"
#include "unit.h"

/* What the hub asked of one fake reader's owner. */
struct owner {
	int			 want_write;
	int			 cut;
	size_t			 cut_queued;
	int			 flushes;
	struct hub_reader	*reader;	/* set: flush drains it */
};

static void
owner_want_write(void *arg)
{
	((struct owner *)arg)->want_write++;
}

static void
owner_flush(void *arg)
{
	struct owner	*o = arg;

	o->flushes++;
	if (o->reader != NULL)
		hub_reader_consumed(o->reader, hub_reader_queued(o->reader));
}

static void
owner_cut_off(void *arg, size_t queued)
{
	struct owner	*o = arg;

	o->cut++;
	o->cut_queued = queued;
}

static const struct hub_callbacks callbacks = {
	.want_write = owner_want_write,
	.flush = owner_flush,
	.cut_off = owner_cut_off,
};

/* Everything R has queued, concatenated, as a NUL-terminated string. */
static char *
drain_string(struct hub_reader *r)
{
	struct iovec	 iov[64];
	size_t		 total = 0;
	char		*s = malloc(hub_reader_queued(r) + 1);
	int		 i, n;

	n = hub_reader_iov(r, iov, 64);
	for (i = 0; i < n; i++) {
		memcpy(s + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	s[total] = '\0';
	return s;
}

START_TEST(test_line_framing)
{
	struct line	*l = line_from_string("{\"a\":1}");

	ck_assert_uint_eq(l->len, 8);
	ck_assert_int_eq(memcmp(l->data, "{\"a\":1}\n", 8), 0);
	ck_assert_uint_eq(l->refs, 1);
	line_ref(l);
	ck_assert_uint_eq(l->refs, 2);
	line_unref(l);
	line_unref(l);
	line_unref(NULL);
}
END_TEST

#define EVENT_PREFIX "{\"streamd\":{\"event\":\"disconnected\",\"time\":\""

/* Event lines are one compact JSON object with no raw newline. */
START_TEST(test_event_lines)
{
	struct line	*l = event_disconnected("line1\nline2 \"quoted\"", 1001);

	ck_assert_ptr_null(memchr(l->data, '\n', l->len - 1));
	ck_assert_int_eq(l->data[l->len - 1], '\n');
	ck_assert_int_eq(strncmp(l->data, EVENT_PREFIX, strlen(EVENT_PREFIX)), 0);
	ck_assert_ptr_nonnull(strstr(l->data, "\"close_code\":1001}}"));
	ck_assert_ptr_nonnull(strstr(l->data, "line1\\nline2 \\\"quoted\\\""));
	line_unref(l);
}
END_TEST

/* Every reader gets every line, in order, sharing one buffer. */
START_TEST(test_hub_fanout_order)
{
	struct owner		 o1 = { 0 }, o2 = { 0 };
	struct hub		*hub = hub_new(&callbacks, 1 << 20);
	struct hub_reader	*r1 = hub_reader_add(hub, &o1);
	struct hub_reader	*r2 = hub_reader_add(hub, &o2);
	struct line		*a = line_from_string("a"), *b = line_from_string("bb");
	char			*s;

	hub_publish(hub, a);
	hub_publish(hub, b);
	ck_assert_uint_eq(a->refs, 3);
	ck_assert_int_eq(o1.want_write, 1);	/* only empty -> non-empty */
	ck_assert_int_eq(o2.want_write, 1);
	s = drain_string(r1);
	ck_assert_str_eq(s, "a\nbb\n");
	free(s);
	ck_assert_uint_eq(hub_reader_queued(r2), 5);

	hub_reader_consumed(r1, 5);
	ck_assert_uint_eq(hub_reader_queued(r1), 0);
	ck_assert_uint_eq(a->refs, 2);
	hub_reader_remove(r2);
	ck_assert_uint_eq(a->refs, 1);
	ck_assert_uint_eq(b->refs, 1);
	line_unref(a);
	line_unref(b);
	hub_free(hub);
}
END_TEST

/* A partial write leaves an offset into the first line. */
START_TEST(test_hub_partial_write)
{
	struct owner		 o = { 0 };
	struct hub		*hub = hub_new(&callbacks, 1 << 20);
	struct hub_reader	*r = hub_reader_add(hub, &o);
	struct line		*a = line_from_string("hello"), *b = line_from_string("world");
	struct iovec		 iov[4];
	char			*s;

	hub_publish(hub, a);
	hub_publish(hub, b);
	hub_reader_consumed(r, 3);
	s = drain_string(r);
	ck_assert_str_eq(s, "lo\nworld\n");
	free(s);
	hub_reader_consumed(r, 4);		/* "lo\n" + "w" */
	ck_assert_int_eq(hub_reader_iov(r, iov, 4), 1);
	ck_assert_uint_eq(iov[0].iov_len, 5);
	ck_assert_int_eq(memcmp(iov[0].iov_base, "orld\n", 5), 0);
	ck_assert_uint_eq(a->refs, 1);		/* fully written: released */
	ck_assert_int_eq(hub_reader_iov(r, iov, 0), 0);
	line_unref(a);
	line_unref(b);
	hub_free(hub);
}
END_TEST

/* A slow reader is cut off at the limit; a fast one loses nothing. */
START_TEST(test_hub_cut_off_slow_reader)
{
	struct owner		 slow = { 0 }, fast = { 0 };
	struct hub		*hub = hub_new(&callbacks, 100);
	struct hub_reader	*rs = hub_reader_add(hub, &slow);
	struct hub_reader	*rf = hub_reader_add(hub, &fast);
	struct hub_stats	 st;
	struct line		*l;
	char			 text[40];
	int			 i;

	memset(text, 'x', 29);
	text[29] = '\0';			/* 30-byte lines */
	for (i = 0; i < 10; i++) {
		l = line_from_string(text);
		hub_publish(hub, l);
		line_unref(l);
		hub_reader_consumed(rf, hub_reader_queued(rf));
	}
	/* 3 lines (90 bytes) fit; the 4th would make 120 > 100. */
	ck_assert_int_eq(slow.cut, 1);
	ck_assert_int_eq(slow.flushes, 1);	/* asked to write first */
	ck_assert_uint_eq(slow.cut_queued, 90);
	ck_assert(hub_reader_is_cut(rs));
	ck_assert_uint_eq(hub_reader_queued(rs), 0);	/* memory released */
	ck_assert_int_eq(fast.cut, 0);
	ck_assert_int_eq(fast.want_write, 10);
	hub_stats(hub, &st);
	ck_assert_uint_eq(st.readers_cut_off, 1);
	ck_assert_uint_eq(st.lines, 10);
	ck_assert_uint_eq(st.queued_bytes, 0);
	ck_assert_uint_eq(st.readers, 2);
	hub_reader_remove(rs);
	hub_stats(hub, &st);
	ck_assert_uint_eq(st.readers, 1);
	hub_free(hub);
}
END_TEST

/* A reader whose flush makes room is not cut off (a burst, not a stall). */
START_TEST(test_hub_flush_before_cut)
{
	struct owner		 o = { 0 };
	struct hub		*hub = hub_new(&callbacks, 100);
	struct line		*l = line_from_string("0123456789012345678901234567890123456789");
	int			 i;

	o.reader = hub_reader_add(hub, &o);
	for (i = 0; i < 50; i++)
		hub_publish(hub, l);
	ck_assert_int_eq(o.cut, 0);
	ck_assert_int_gt(o.flushes, 10);
	ck_assert_uint_le(hub_reader_queued(o.reader), 100);
	line_unref(l);
	hub_free(hub);
}
END_TEST

/* A line larger than the limit still reaches a reader that kept up. */
START_TEST(test_hub_big_line_to_idle_reader)
{
	struct owner		 o = { 0 };
	struct hub		*hub = hub_new(&callbacks, 10);
	struct hub_reader	*r = hub_reader_add(hub, &o);
	struct line		*l = line_from_string("0123456789abcdef");

	hub_publish(hub, l);
	ck_assert_int_eq(o.cut, 0);
	ck_assert_uint_eq(hub_reader_queued(r), 17);
	hub_publish(hub, l);			/* backlog: now it is cut */
	ck_assert_int_eq(o.cut, 1);
	line_unref(l);
	hub_free(hub);
}
END_TEST

/* The ring grows past its first size and keeps order. */
START_TEST(test_hub_ring_growth)
{
	struct owner		 o = { 0 };
	struct hub		*hub = hub_new(&callbacks, 1 << 20);
	struct hub_reader	*r = hub_reader_add(hub, &o);
	struct iovec		 iov[1];
	struct line		*l;
	char			 text[16];
	int			 i;

	for (i = 0; i < 1000; i++) {
		snprintf(text, sizeof text, "%d", i);
		l = line_from_string(text);
		hub_publish(hub, l);
		line_unref(l);
		if (i % 3 == 0) {		/* interleave consumption */
			hub_reader_iov(r, iov, 1);
			hub_reader_consumed(r, iov[0].iov_len);
		}
	}
	for (i = 0; hub_reader_queued(r) > 0; i++) {
		hub_reader_iov(r, iov, 1);
		hub_reader_consumed(r, iov[0].iov_len);
	}
	ck_assert_int_eq(i, 1000 - 334);
	ck_assert_int_eq(o.cut, 0);
	hub_free(hub);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("hub");
	TCase	*tc = tcase_create("hub");

	tcase_add_test(tc, test_line_framing);
	tcase_add_test(tc, test_event_lines);
	tcase_add_test(tc, test_hub_fanout_order);
	tcase_add_test(tc, test_hub_partial_write);
	tcase_add_test(tc, test_hub_cut_off_slow_reader);
	tcase_add_test(tc, test_hub_flush_before_cut);
	tcase_add_test(tc, test_hub_big_line_to_idle_reader);
	tcase_add_test(tc, test_hub_ring_growth);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
