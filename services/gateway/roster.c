#include "gateway/roster.h"

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
