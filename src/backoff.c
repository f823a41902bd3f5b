/*
 * backoff.c - the one function that decides how long to wait before the
 * next connection attempt. Pure: the caller supplies the randomness.
 */
#include "autoconfig.h"

#include "backoff.h"

/*
 * Delay before the attempt that follows the FAILURES-th consecutive failure
 * (1-based): 2^(failures-1) * min + jitter, or max + jitter once that
 * exceeds max; jitter is RANDOM reduced to [0, min).
 */
uint64_t
backoff_delay_ms(unsigned failures, uint64_t min_ms, uint64_t max_ms,
    uint64_t random)
{
	uint64_t	jitter, base;
	unsigned	shift;

	if (min_ms == 0)
		return max_ms;
	jitter = random % min_ms;
	shift = failures > 0 ? failures - 1 : 0;
	if (shift >= 63 || min_ms > (UINT64_MAX >> shift))
		return max_ms + jitter;
	base = min_ms << shift;
	if (base + jitter > max_ms)
		return max_ms + jitter;
	return base + jitter;
}
