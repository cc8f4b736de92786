#include "catalogue.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "jsondoc.h"
#include "util.h"

/* ------------------------------------------------------------------ loading */

static int cat_parse_questions(jsondoc_t *jd, json_object *q, catalogue_t *c)
{
    static const char *const keys[] = { "id", "weight", "max", "text_fr", NULL };
    json_object *qs;
    if (jsondoc_array(jd, q, "questionnaire", "questions", 1, CAT_MAX_QUESTIONS, &qs) != 0)
        return -1;
    if (json_object_array_length(qs) == 0)
        return util_fail(jd->err, jd->errlen, "questionnaire.questions: 1 to %d questions", CAT_MAX_QUESTIONS);
    for (size_t i = 0; i < json_object_array_length(qs); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, qs, i, "questionnaire.questions", keys, where, sizeof where);
        cat_question_t *qq = &c->questions[c->nquestions];
        if (!o || jsondoc_code(jd, o, where, "id", CAT_CODE - 1, qq->id, sizeof qq->id) != 0
            || jsondoc_int(jd, o, where, "weight", 1, 0, 100, &qq->weight) != 0
            || jsondoc_int(jd, o, where, "max", 1, 1, 100, &qq->max) != 0
            || jsondoc_str(jd, o, where, "text_fr", 1, qq->text_fr, sizeof qq->text_fr) != 0)
            return -1;
        for (int j = 0; j < c->nquestions; j++)
            if (!strcmp(c->questions[j].id, qq->id))
                return util_fail(jd->err, jd->errlen, "%s.id: '%s' twice", where, qq->id);
        c->nquestions++;
    }
    return 0;
}

static int cat_parse_levels(jsondoc_t *jd, json_object *q, catalogue_t *c)
{
    static const char *const keys[] = { "level", "max_score", "name_fr", NULL };
    json_object *ls;
    if (jsondoc_array(jd, q, "questionnaire", "levels", 1, CAT_MAX_LEVELS, &ls) != 0)
        return -1;
    if (json_object_array_length(ls) == 0)
        return util_fail(jd->err, jd->errlen, "questionnaire.levels: 1 to %d levels", CAT_MAX_LEVELS);
    for (size_t i = 0; i < json_object_array_length(ls); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, ls, i, "questionnaire.levels", keys, where, sizeof where);
        cat_level_t *l = &c->levels[c->nlevels];
        if (!o || jsondoc_int(jd, o, where, "level", 1, 0, CAT_MAX_LEVELS - 1, &l->level) != 0
            || jsondoc_int(jd, o, where, "max_score", 1, 0, 100000, &l->max_score) != 0
            || jsondoc_str(jd, o, where, "name_fr", 1, l->name_fr, sizeof l->name_fr) != 0)
            return -1;
        if (l->level != (int)i || (i > 0 && l->max_score <= c->levels[i - 1].max_score))
            return util_fail(jd->err, jd->errlen, "%s: levels must be 0, 1, 2 … with rising max_score", where);
        c->nlevels++;
    }
    int full = 0;
    for (int i = 0; i < c->nquestions; i++)
        full += c->questions[i].weight * c->questions[i].max;
    if (c->levels[c->nlevels - 1].max_score < full)
        return util_fail(jd->err, jd->errlen, "levels: the last max_score (%d) must reach the full score (%d)",
                         c->levels[c->nlevels - 1].max_score, full);
    return 0;
}

static int cat_parse_questionnaire(jsondoc_t *jd, json_object *root, catalogue_t *c)
{
    /* scores_fr: what each score means, for whoever fills the questionnaire */
    static const char *const keys[] = { "version", "max_missing", "scores_fr", "questions", "levels", NULL };
    json_object *q;
    if (jsondoc_child(jd, root, "", "questionnaire", 1, keys, &q) != 0
        || jsondoc_str(jd, q, "questionnaire", "version", 1, c->q_version, sizeof c->q_version) != 0
        || jsondoc_int(jd, q, "questionnaire", "max_missing", 1, 0, CAT_MAX_QUESTIONS, &c->max_missing) != 0
        || jsondoc_str(jd, q, "questionnaire", "scores_fr", 0, c->scores_fr, sizeof c->scores_fr) != 0)
        return -1;
    return cat_parse_questions(jd, q, c) != 0 || cat_parse_levels(jd, q, c) != 0 ? -1 : 0;
}

/* The levels a kind serves, as bits: each a level of the questionnaire. */
static int cat_parse_kind_levels(jsondoc_t *jd, json_object *o, const char *where, const catalogue_t *c,
                                 cat_kind_t *k)
{
    json_object *lv;
    if (jsondoc_array(jd, o, where, "levels", 1, CAT_MAX_LEVELS, &lv) != 0)
        return -1;
    if (json_object_array_length(lv) == 0)
        return util_fail(jd->err, jd->errlen, "%s.levels: a list of levels is required", where);
    for (size_t j = 0; j < json_object_array_length(lv); j++) {
        json_object *x = json_object_array_get_idx(lv, j);
        if (!json_object_is_type(x, json_type_int))
            return util_fail(jd->err, jd->errlen, "%s.levels[%zu]: an integer is required", where, j);
        int64_t l = json_object_get_int64(x);
        if (l < 0 || l >= c->nlevels)
            return util_fail(jd->err, jd->errlen, "%s.levels: %lld is not a level of the questionnaire", where,
                             (long long)l);
        k->levels |= 1u << l;
    }
    return 0;
}

static int cat_parse_kind(jsondoc_t *jd, json_object *kinds, size_t i, catalogue_t *c)
{
    static const char *const keys[] = { "code",    "title_fr", "levels", "capacity", "duration_min",
                                        "partner", "next",     "needs",  NULL };
    cat_kind_t *k = &c->kinds[c->nkinds];
    memset(k, 0, sizeof *k);
    char where[48];
    const char *needs[CAT_MAX_NEEDS];
    size_t nneeds;
    json_object *o = jsondoc_item(jd, kinds, i, "kinds", keys, where, sizeof where);
    if (!o || jsondoc_code(jd, o, where, "code", CAT_CODE - 1, k->code, sizeof k->code) != 0
        || jsondoc_str(jd, o, where, "title_fr", 1, k->title_fr, sizeof k->title_fr) != 0
        || jsondoc_int(jd, o, where, "capacity", 1, 1, 100, &k->capacity) != 0
        || jsondoc_int(jd, o, where, "duration_min", 1, 15, 600, &k->duration_min) != 0
        || jsondoc_str(jd, o, where, "partner", 1, k->partner, sizeof k->partner) != 0
        || jsondoc_str(jd, o, where, "next", 0, k->next, sizeof k->next) != 0
        || cat_parse_kind_levels(jd, o, where, c, k) != 0
        || jsondoc_strings(jd, o, where, "needs", CAT_MAX_NEEDS, needs, &nneeds) != 0)
        return -1;
    for (int j = 0; j < c->nkinds; j++)
        if (!strcmp(c->kinds[j].code, k->code))
            return util_fail(jd->err, jd->errlen, "%s.code: '%s' twice", where, k->code);
    /* a need is one of the tags a referral carries: a code, or it never matches */
    for (size_t j = 0; j < nneeds; j++) {
        if (!ids_code(needs[j], CAT_CODE - 1))
            return util_fail(jd->err, jd->errlen, "%s.needs[%zu]: \"%.64s\" is not a need tag ([a-z0-9_-], 1 to %d "
                             "characters)", where, j, needs[j], CAT_CODE - 1);
        util_strlcpy(k->needs[j], needs[j], CAT_CODE);
    }
    k->nneeds = (int)nneeds;
    c->nkinds++;
    return 0;
}

int catalogue_parse(const char *json_text, catalogue_t *c, char *err, size_t errlen)
{
    static const char *const keys[] = { "version", "questionnaire", "kinds", NULL };
    memset(c, 0, sizeof *c);
    json_object *root = jsondoc_parse(json_text, err, errlen);
    if (!root)
        return -1;
    jsondoc_t jd = { .err = err, .errlen = errlen };
    json_object *kinds;
    int rc = -1;
    if (jsondoc_object(&jd, root, "catalogue", keys) != 0
        || jsondoc_str(&jd, root, "catalogue", "version", 1, c->version, sizeof c->version) != 0
        || cat_parse_questionnaire(&jd, root, c) != 0
        || jsondoc_array(&jd, root, "", "kinds", 1, CAT_MAX_KINDS, &kinds) != 0)
        goto done;
    if (json_object_array_length(kinds) == 0) {
        util_fail(err, errlen, "kinds: 1 to %d workshop kinds", CAT_MAX_KINDS);
        goto done;
    }
    for (size_t i = 0; i < json_object_array_length(kinds); i++)
        if (cat_parse_kind(&jd, kinds, i, c) != 0)
            goto done;
    for (int i = 0; i < c->nkinds; i++)
        if (c->kinds[i].next[0] && !catalogue_kind(c, c->kinds[i].next)) {
            util_fail(err, errlen, "kinds[%d].next: no kind '%s'", i, c->kinds[i].next);
            goto done;
        }
    rc = 0;
done:
    json_object_put(root);
    return rc;
}

int catalogue_load(const char *path, catalogue_t *out, char *err, size_t errlen)
{
    char reason[400];
    char *text = jsondoc_read(path, reason, sizeof reason);
    int rc = text ? catalogue_parse(text, out, reason, sizeof reason) : -1;
    free(text);
    return rc == 0 ? 0 : util_fail(err, errlen, "%s: %s", path, reason);
}

int catalogue_codes(const catalogue_t *c, const char **out, int max)
{
    int n = 0;
    for (; n < c->nkinds && n < max; n++)
        out[n] = c->kinds[n].code;
    return n;
}

const cat_kind_t *catalogue_kind(const catalogue_t *c, const char *code)
{
    for (int i = 0; i < c->nkinds; i++)
        if (!strcmp(c->kinds[i].code, code))
            return &c->kinds[i];
    return NULL;
}

/* -------------------------------------------------------------- assessment */

const char *assess_outcome_name(assess_outcome_t o)
{
    return o == ASSESS_WORKSHOP ? "workshop" : o == ASSESS_AUTONOMOUS ? "autonomous" : "reassess";
}

static int kind_answers_need(const cat_kind_t *k, const char *need)
{
    for (int i = 0; i < k->nneeds; i++)
        if (!strcmp(k->needs[i], need))
            return 1;
    return 0;
}

void assess(const catalogue_t *c, Tremplin__Answer *const *answers, size_t nanswers, char *const *needs,
            size_t nneeds, assessment_t *out)
{
    memset(out, 0, sizeof *out);
    out->level = -1;
    int raw = 0, answered_max = 0, full = 0;
    for (int i = 0; i < c->nquestions; i++) {
        const cat_question_t *q = &c->questions[i];
        full += q->weight * q->max;
        const Tremplin__Answer *a = NULL;
        for (size_t j = 0; j < nanswers && !a; j++)
            if (!strcmp(answers[j]->question_id, q->id))
                a = answers[j];
        if (!a) {
            out->missing++;
        } else if (a->score < 0 || a->score > q->max) {
            out->out_of_range++;
        } else {
            out->answered++;
            raw += q->weight * a->score;
            answered_max += q->weight * q->max;
        }
    }
    for (size_t j = 0; j < nanswers; j++) { /* answers to questions of another version */
        int known = 0;
        for (int i = 0; i < c->nquestions && !known; i++)
            known = !strcmp(answers[j]->question_id, c->questions[i].id);
        out->unknown += !known;
    }

    char *r = out->reason_fr;
    size_t cap = sizeof out->reason_fr;
    int bad = out->missing + out->out_of_range;
    if (bad > c->max_missing || answered_max == 0) {
        out->outcome = ASSESS_REASSESS;
        snprintf(r, cap,
                 "Questionnaire %s incomplet : %d réponse(s) manquante(s) et %d hors limites (au plus %d admises). "
                 "Niveau non déterminé : refaire le questionnaire avec la personne.",
                 c->q_version, out->missing, out->out_of_range, c->max_missing);
        return;
    }
    /* missing answers are neither zero nor ignored: the score is prorated
     * to the full scale, and the reason says so */
    out->score = bad ? (int)(((long long)raw * full + answered_max / 2) / answered_max) : raw;
    for (int i = 0; i < c->nlevels; i++)
        if (out->score <= c->levels[i].max_score) {
            out->level = c->levels[i].level;
            break;
        }
    const cat_level_t *lvl = &c->levels[out->level];
    size_t w = (size_t)snprintf(r, cap, "Score %d/%d (questionnaire %s", out->score, full, c->q_version);
    if (bad)
        w += (size_t)snprintf(r + w, cap - w, ", calculé sur %d réponses puis ramené à l'échelle complète : %d manquante(s), %d hors limites",
                              out->answered, out->missing, out->out_of_range);
    w += (size_t)snprintf(r + w, cap - w, ") : niveau %d, %s.", out->level, lvl->name_fr);

    for (size_t n = 0; n < nneeds; n++)
        for (int i = 0; i < c->nkinds; i++) {
            const cat_kind_t *k = &c->kinds[i];
            if ((k->levels & (1u << out->level)) && kind_answers_need(k, needs[n])) {
                out->outcome = ASSESS_WORKSHOP;
                out->kind = k;
                snprintf(r + w, cap - w, " Besoin « %s » et niveau adapté : atelier « %s ».", needs[n], k->title_fr);
                return;
            }
        }
    for (int i = 0; i < c->nkinds; i++) {
        const cat_kind_t *k = &c->kinds[i];
        if ((k->levels & (1u << out->level)) && k->nneeds == 0) {
            out->outcome = ASSESS_WORKSHOP;
            out->kind = k;
            snprintf(r + w, cap - w, " Atelier « %s » (niveau %d).", k->title_fr, out->level);
            return;
        }
    }
    out->outcome = ASSESS_AUTONOMOUS;
    snprintf(r + w, cap - w, " Aucun atelier nécessaire à ce niveau : personne accompagnée, sans formation.");
}

int next_candidates(const catalogue_t *c, const char *completed_kind, const char *requested_topic,
                    const cat_kind_t **out, int max, int *explicit_request)
{
    int n = 0;
    *explicit_request = 0;
    if (requested_topic && *requested_topic) {
        const cat_kind_t *k = catalogue_kind(c, requested_topic);
        if (k && n < max) {
            out[n++] = k;
            *explicit_request = 1;
        }
        for (int i = 0; i < c->nkinds && n < max; i++)
            if (kind_answers_need(&c->kinds[i], requested_topic) && &c->kinds[i] != k)
                out[n++] = &c->kinds[i];
        if (n > 0)
            return n;
    }
    /* the pathway: follow `next` links, guarding against a cycle */
    const cat_kind_t *k = completed_kind ? catalogue_kind(c, completed_kind) : NULL;
    for (int steps = 0; k && k->next[0] && steps < c->nkinds && n < max; steps++) {
        k = catalogue_kind(c, k->next);
        if (k)
            out[n++] = k;
    }
    return n;
}
