/*
 * backoff.h - the reconnect delay of protocol.md section 5.
 */
#ifndef STREAMD_BACKOFF_H
#define STREAMD_BACKOFF_H

#include <stdint.h>

uint64_t backoff_delay_ms(unsigned, uint64_t, uint64_t, uint64_t);

#endif
