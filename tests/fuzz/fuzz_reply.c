/* libFuzzer target: an SMS reply as it reaches the gateway (any bytes a
 * phone or a provider may send): what it means, and its length as an SMS. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/reply.h"
#include "gateway/sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    reply_t r;
    reply_parse(text, &r);
    if (r.kind == REPLY_SURVEY && (r.score < 1 || r.score > 4))
        abort();
    sms_size_t sz;
    char folded[256];
    sms_measure(text, &sz);
    sms_fold(text, folded, sizeof folded);
    free(text);
    return 0;
}
