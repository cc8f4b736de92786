/* libFuzzer target: the workshop catalogue and questionnaire as an operator
 * edits it (deploy/catalogue.json, reloaded on SIGHUP): parsed and checked
 * whole, or refused with a reason. An accepted catalogue is then used as the
 * matcher uses it: each kind looked up, a person assessed, the next step of
 * each kind's pathway. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    static catalogue_t cat; /* large: not on the stack */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256] = "";
    if (catalogue_parse(text, &cat, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a refusal always says why */
        free(text);
        return 0;
    }
    const char *codes[CAT_MAX_KINDS];
    int n = catalogue_codes(&cat, codes, CAT_MAX_KINDS);
    Tremplin__Answer a1 = TREMPLIN__ANSWER__INIT, a2 = TREMPLIN__ANSWER__INIT;
    Tremplin__Answer *answers[] = { &a1, &a2 };
    a1.question_id = "q1";
    a1.score = 2;
    a2.question_id = "q2";
    a2.score = 99;
    char *needs[] = { "email", "budget" };
    assessment_t as;
    assess(&cat, answers, 2, needs, 2, &as);
    if (as.outcome == ASSESS_WORKSHOP && !as.kind)
        abort();
    for (int i = 0; i < n; i++) {
        if (catalogue_kind(&cat, codes[i]) == NULL)
            abort(); /* every listed code is found */
        const cat_kind_t *next[8];
        int expl = 0;
        next_candidates(&cat, codes[i], "", next, 8, &expl);
        next_candidates(&cat, codes[i], codes[(i + 1) % n], next, 8, &expl);
    }
    free(text);
    return 0;
}
