/* libFuzzer target: what the survey does with bytes from a kiosk or a peer —
 * decode the envelope, then check the answer (survey_answer_check) against
 * the shipped catalogue, as it came from the bus and as it came from a
 * kiosk. Every input ends in an accepted answer or a stable code with a
 * French message, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/survey.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static catalogue_t cat;
    static int loaded;
    if (!loaded) {
        char err[256];
        if (catalogue_load("deploy/catalogue.json", &cat, err, sizeof err) != 0)
            abort(); /* run from the source tree, as fuzz.mk does */
        loaded = 1;
    }
    Tremplin__Envelope *env = NULL;
    if (wire_unpack(data, size, WIRE_MAX_DEFAULT, NULL, &env) == WIRE_OK
        && env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY) {
        for (int kiosk = 0; kiosk <= 1; kiosk++) {
            survey_error_t err = { 0 };
            if (survey_answer_check(env->submit_survey, &cat, kiosk, &err) != 0
                && (!err.code || !err.code[0] || !err.message_fr[0]))
                abort(); /* a refusal always says what and why */
        }
    }
    wire_free(env, NULL);
    return 0;
}
