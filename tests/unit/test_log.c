/*
 * test_log.c - the rate limit that keeps repeated failures from flooding
 * the log.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>

#include "log.h"
#include "unit.h"

/* A burst passes, the rest of the window is counted, then summarized. */
START_TEST(test_ratelimit_burst_then_summary)
{
	struct log_ratelimit	rl = { 0 };
	unsigned		suppressed = 99, i;
	uint64_t		t = 1000;

	for (i = 0; i < LOG_RATELIMIT_BURST; i++) {
		ck_assert_int_eq(log_ratelimit_check(&rl, t + i, &suppressed), 1);
		ck_assert_uint_eq(suppressed, 0);
	}
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(log_ratelimit_check(&rl, t + 100 + i,
		    &suppressed), 0);
	/* a new window: the next one passes and reports the 7 held back */
	ck_assert_int_eq(log_ratelimit_check(&rl, t + LOG_RATELIMIT_WINDOW_MS,
	    &suppressed), 1);
	ck_assert_uint_eq(suppressed, 7);
	ck_assert_int_eq(log_ratelimit_check(&rl, t + LOG_RATELIMIT_WINDOW_MS
	    + 1, &suppressed), 1);
	ck_assert_uint_eq(suppressed, 0);
}
END_TEST

/* Records spread out more than a window apart always pass. */
START_TEST(test_ratelimit_sparse_records_pass)
{
	struct log_ratelimit	rl = { 0 };
	unsigned		suppressed, i;

	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(log_ratelimit_check(&rl,
		    (uint64_t)i * LOG_RATELIMIT_WINDOW_MS, &suppressed), 1);
		ck_assert_uint_eq(suppressed, 0);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("ratelimit");

	tcase_add_test(tc, test_ratelimit_burst_then_summary);
	tcase_add_test(tc, test_ratelimit_sparse_records_pass);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
