/*
 * test_backoff.c - the reconnect delay formula of protocol.md section 5.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"
#include "unit.h"

/* With no jitter the delays double from min and stop at max. */
START_TEST(test_backoff_sequence)
{
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000,
	    30000, 30000, 30000 };
	unsigned	n;

	for (n = 1; n <= 8; n++)
		ck_assert_uint_eq(backoff_delay_ms(n, 1000, 30000, 0),
		    want[n - 1]);
}
END_TEST

/* Every delay lies within [base, base + min) for any randomness. */
START_TEST(test_backoff_bounds)
{
	static const uint64_t rnd[] = { 0, 1, 999, 1000, 123456789,
	    UINT64_MAX, UINT64_MAX - 1 };
	uint64_t	d, base;
	unsigned	n, i;

	for (n = 1; n <= 70; n++)
		for (i = 0; i < sizeof rnd / sizeof rnd[0]; i++) {
			d = backoff_delay_ms(n, 1000, 30000, rnd[i]);
			base = n <= 5 ? 1000ULL << (n - 1) : 30000;
			ck_assert_uint_ge(d, base);
			ck_assert_uint_lt(d, base + 1000);
		}
}
END_TEST

/* Jitter is the randomness reduced modulo min. */
START_TEST(test_backoff_jitter)
{
	ck_assert_uint_eq(backoff_delay_ms(1, 1000, 30000, 1999), 1999);
	ck_assert_uint_eq(backoff_delay_ms(3, 1000, 30000, 250), 4250);
	/* 16000 + 999 stays under max; 32000 does not. */
	ck_assert_uint_eq(backoff_delay_ms(5, 1000, 30000, 999), 16999);
	ck_assert_uint_eq(backoff_delay_ms(6, 1000, 30000, 999), 30999);
	/* base + jitter over max gives max + jitter. */
	ck_assert_uint_eq(backoff_delay_ms(2, 1000, 2500, 700), 3200);
}
END_TEST

/* Huge attempt counts and huge minimums do not overflow. */
START_TEST(test_backoff_overflow)
{
	ck_assert_uint_eq(backoff_delay_ms(UINT32_MAX, 1000, 30000, 5), 30005);
	ck_assert_uint_eq(backoff_delay_ms(64, 1000, 30000, 5), 30005);
	ck_assert_uint_eq(backoff_delay_ms(40, UINT64_MAX / 4, UINT64_MAX / 2,
	    0), UINT64_MAX / 2);
	ck_assert_uint_eq(backoff_delay_ms(0, 1000, 30000, 0), 1000);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("backoff");
	TCase	*tc = tcase_create("backoff");

	tcase_add_test(tc, test_backoff_sequence);
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_backoff_jitter);
	tcase_add_test(tc, test_backoff_overflow);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
