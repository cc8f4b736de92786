/* fake_clock — a monotonic clock the test moves, for the transport timeouts
 * of the bus core (acks, backoff, leases, the drain deadline): the tests
 * in FAKE_TESTS are linked with -Wl,--wrap=clock_mono_ms, which sends every
 * call of clock_mono_ms() from another object here. Until a test sets it,
 * it reads the real clock. */
#ifndef TP_FAKE_CLOCK_H
#define TP_FAKE_CLOCK_H

#include <stdint.h>

void fake_clock_set(int64_t mono_ms); /* 0: the real clock again */
void fake_clock_advance(int64_t ms);
int64_t fake_clock_now(void);

#endif
