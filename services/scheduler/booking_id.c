/* Booking ids: unguessable, since people answer offers by SMS with them,
 * and short enough to type from one. scheduler.lua makes them from a secret
 * nonce the C side draws for each step (so that nobody can derive one from
 * another), in Crockford's base 32: 10 characters, 50 bits, no I, L, O or U. */
#include <sodium.h>
#include <string.h>

#include "scheduler.h"

void scheduler_nonce(char out[SCHEDULER_NONCE_LEN + 1])
{
    unsigned char raw[SCHEDULER_NONCE_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, SCHEDULER_NONCE_LEN + 1, raw, sizeof raw);
}

/* What a person may type for a character: lower case, and the letters
 * Crockford's alphabet leaves out for the digits they look like. */
int scheduler_booking_id(const char *in, char out[SCHEDULER_BOOKING_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    size_t n = strlen(in);
    if (n != SCHEDULER_BOOKING_LEN)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 'a' + 'A') : in[i];
        c = c == 'O' ? '0' : (c == 'I' || c == 'L') ? '1' : c;
        if (!c || !strchr(alphabet, c))
            return -1;
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}
