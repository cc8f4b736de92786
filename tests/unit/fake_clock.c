/* fake_clock — see fake_clock.h. */
#include "fake_clock.h"

int64_t __real_clock_mono_ms(void);
int64_t __wrap_clock_mono_ms(void);

static int64_t fake_now;

void fake_clock_set(int64_t mono_ms) { fake_now = mono_ms; }
void fake_clock_advance(int64_t ms) { fake_now += ms; }
int64_t fake_clock_now(void) { return fake_now ? fake_now : __real_clock_mono_ms(); }
int64_t __wrap_clock_mono_ms(void) { return fake_clock_now(); }
