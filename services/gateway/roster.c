#include "gateway/roster.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ROSTER_MAX_CODES 8

const char *roster_access_fr(const char *codes, char *out, size_t cap)
{
    static const struct {
        const char *code, *fr;
    } words[] = {
        { "hearing", "audition" },     { "sight", "vue" },      { "vision", "vue" },
        { "mobility", "mobilité réduite" }, { "wheelchair", "fauteuil roulant" },
        { "reading", "lecture" },      { "language", "langue française" },
    };
    char copy[512], *save = NULL;
    const char *items[ROSTER_MAX_CODES];
    size_t n = 0;
    util_strlcpy(copy, codes ? codes : "", sizeof copy);
    for (char *c = strtok_r(copy, " ", &save); c && n < ROSTER_MAX_CODES; c = strtok_r(NULL, " ", &save)) {
        items[n] = c;
        for (size_t i = 0; i < TP_ARRAY_LEN(words); i++)
            if (!strcmp(c, words[i].code))
                items[n] = words[i].fr;
        n++;
    }
    /* util_join reads the strings, never writes them */
    return util_join((char *const *)items, n, ", ", out, cap);
}

int roster_line(const char *status, const char *via, const char *answered, const char *created, int64_t *booked_at,
                const char **released)
{
    static const struct {
        const char *status, *fr;
    } gone[] = {
        { "cancelled", "inscription annulée" },     { "withdrawn", "place retirée" },
        { "consent_withdrawn", "place retirée" },   { "session_cancelled", "séance annulée" },
        { "capacity_cut", "place déplacée" },
    };
    const char *a = answered ? answered : "";
    *booked_at = atoll(a[0] ? a : created ? created : "0");
    *released = NULL;
    status = status ? status : "";
    if (!strcmp(status, "booked") || !strcmp(status, "seen") || !strcmp(status, "noshow") || !strcmp(status, "excused"))
        return 1;
    /* released: a line only if it had been booked (an offer is booked once
     * accepted, when `answered` is set) */
    if (via && !strcmp(via, "waitlist") && !a[0])
        return 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(gone); i++)
        if (!strcmp(status, gone[i].status)) {
            *released = gone[i].fr;
            return 1;
        }
    return 0;
}
