/* libFuzzer target: the timetable as an operator edits it
 * (deploy/timetable.json, reloaded on SIGHUP): parsed and checked whole, or
 * refused with a reason. An accepted timetable is then used as the scheduler
 * uses it: the sessions of a few weeks, each found again by its id, its
 * half-day. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/timetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static timetable_t tt;
    static tt_session_t sessions[256];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256] = "";
    if (timetable_parse(text, &tt, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a refusal always says why */
        free(text);
        return 0;
    }
    const int64_t from = 1795680000000LL; /* fixed: the same input, the same sessions */
    int n = timetable_sessions(&tt, from, from + 21LL * 86400000, sessions, 256);
    for (int i = 0; i < n; i++) {
        tt_session_t again;
        char half[TT_HALF_DAY];
        if (sessions[i].start_ms >= sessions[i].end_ms || timetable_half_day(&tt, sessions[i].start_ms, half) != 0)
            abort();
        if (timetable_find(&tt, sessions[i].id, &again) != 0 || again.start_ms != sessions[i].start_ms)
            abort(); /* a session listed is found by its id, at the same time */
    }
    timetable_free(&tt);
    free(text);
    return 0;
}
