/* libFuzzer target: the JSON form of a referral (the tool, imports):
 * strict parse, conversion, then the same checks as intake. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake/referral.h"
#include "intake/referral_json.h"
#include "jsondoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];
    json_object *root = jsondoc_parse(text, err, sizeof err);
    if (root) {
        referral_json_t h;
        if (referral_from_json(root, &h, err, sizeof err) == 0) {
            referral_error_t rerr;
            referral_validate(&h.referral, 1795680000000LL, &rerr);
        }
        json_object_put(root);
    }
    free(text);
    return 0;
}
