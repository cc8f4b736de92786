#include "catalogue.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "jsondoc.h"
#include "util.h"
#include "wire.h"

/* ------------------------------------------------------------------ loading */

static json_object *cat_get(json_object *o, const char *key, json_type type)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
        return NULL;
    return v;
}

static int cat_str(json_object *o, const char *key, char *out, size_t cap, int required, const char *where, char *err,
                   size_t errlen)
{
    json_object *v = cat_get(o, key, json_type_string);
    if (!v) {
        out[0] = '\0';
        return required ? util_fail(err, errlen, "%s.%s: a string is required", where, key) : 0;
    }
    if (util_strlcpy(out, json_object_get_string(v), cap) != 0)
        return util_fail(err, errlen, "%s.%s: too long", where, key);
    return 0;
}

static int cat_int(json_object *o, const char *key, int *out, int lo, int hi, const char *where, char *err,
                   size_t errlen)
{
    json_object *v = cat_get(o, key, json_type_int);
    if (!v || json_object_get_int(v) < lo || json_object_get_int(v) > hi)
        return util_fail(err, errlen, "%s.%s: an integer from %d to %d is required", where, key, lo, hi);
    *out = json_object_get_int(v);
    return 0;
}

static int cat_parse_questionnaire(json_object *q, catalogue_t *c, char *err, size_t errlen)
{
    if (!q)
        return util_fail(err, errlen, "questionnaire: an object is required");
    if (cat_str(q, "version", c->q_version, sizeof c->q_version, 1, "questionnaire", err, errlen)
        || cat_int(q, "max_missing", &c->max_missing, 0, CAT_MAX_QUESTIONS, "questionnaire", err, errlen))
        return -1;
    json_object *qs = cat_get(q, "questions", json_type_array);
    if (!qs || json_object_array_length(qs) == 0 || json_object_array_length(qs) > CAT_MAX_QUESTIONS)
        return util_fail(err, errlen, "questionnaire.questions: 1 to %d questions", CAT_MAX_QUESTIONS);
    for (size_t i = 0; i < json_object_array_length(qs); i++) {
        json_object *o = json_object_array_get_idx(qs, i);
        cat_question_t *qq = &c->questions[c->nquestions];
        char where[48];
        snprintf(where, sizeof where, "questions[%zu]", i);
        if (cat_str(o, "id", qq->id, sizeof qq->id, 1, where, err, errlen)
            || cat_int(o, "weight", &qq->weight, 0, 100, where, err, errlen)
            || cat_int(o, "max", &qq->max, 1, 100, where, err, errlen)
            || cat_str(o, "text_fr", qq->text_fr, sizeof qq->text_fr, 1, where, err, errlen))
            return -1;
        if (!ids_code(qq->id, CAT_CODE - 1))
            return util_fail(err, errlen, "%s.id: lowercase letters, digits, - and _ only", where);
        for (int j = 0; j < c->nquestions; j++)
            if (!strcmp(c->questions[j].id, qq->id))
                return util_fail(err, errlen, "%s.id: '%s' twice", where, qq->id);
        c->nquestions++;
    }
    json_object *ls = cat_get(q, "levels", json_type_array);
    if (!ls || json_object_array_length(ls) == 0 || json_object_array_length(ls) > CAT_MAX_LEVELS)
        return util_fail(err, errlen, "questionnaire.levels: 1 to %d levels", CAT_MAX_LEVELS);
    for (size_t i = 0; i < json_object_array_length(ls); i++) {
        json_object *o = json_object_array_get_idx(ls, i);
        cat_level_t *l = &c->levels[c->nlevels];
        char where[48];
        snprintf(where, sizeof where, "levels[%zu]", i);
        if (cat_int(o, "level", &l->level, 0, CAT_MAX_LEVELS - 1, where, err, errlen)
            || cat_int(o, "max_score", &l->max_score, 0, 100000, where, err, errlen)
            || cat_str(o, "name_fr", l->name_fr, sizeof l->name_fr, 1, where, err, errlen))
            return -1;
        if (l->level != (int)i || (i > 0 && l->max_score <= c->levels[i - 1].max_score))
            return util_fail(err, errlen, "%s: levels must be 0, 1, 2 … with rising max_score", where);
        c->nlevels++;
    }
    int full = 0;
    for (int i = 0; i < c->nquestions; i++)
        full += c->questions[i].weight * c->questions[i].max;
    if (c->levels[c->nlevels - 1].max_score < full)
        return util_fail(err, errlen, "levels: the last max_score (%d) must reach the full score (%d)",
                         c->levels[c->nlevels - 1].max_score, full);
    return 0;
}

static int cat_parse_kind(json_object *o, size_t i, catalogue_t *c, char *err, size_t errlen)
{
    cat_kind_t *k = &c->kinds[c->nkinds];
    memset(k, 0, sizeof *k);
    char where[48];
    snprintf(where, sizeof where, "kinds[%zu]", i);
    if (cat_str(o, "code", k->code, sizeof k->code, 1, where, err, errlen)
        || cat_str(o, "title_fr", k->title_fr, sizeof k->title_fr, 1, where, err, errlen)
        || cat_int(o, "capacity", &k->capacity, 1, 100, where, err, errlen)
        || cat_int(o, "duration_min", &k->duration_min, 15, 600, where, err, errlen)
        || cat_str(o, "partner", k->partner, sizeof k->partner, 1, where, err, errlen)
        || cat_str(o, "next", k->next, sizeof k->next, 0, where, err, errlen))
        return -1;
    if (!ids_code(k->code, CAT_CODE - 1))
        return util_fail(err, errlen, "%s.code: lowercase letters, digits, - and _ only", where);
    for (int j = 0; j < c->nkinds; j++)
        if (!strcmp(c->kinds[j].code, k->code))
            return util_fail(err, errlen, "%s.code: '%s' twice", where, k->code);
    json_object *lv = cat_get(o, "levels", json_type_array);
    if (!lv || json_object_array_length(lv) == 0)
        return util_fail(err, errlen, "%s.levels: a list of levels is required", where);
    for (size_t j = 0; j < json_object_array_length(lv); j++) {
        json_object *x = json_object_array_get_idx(lv, j);
        int l = json_object_is_type(x, json_type_int) ? json_object_get_int(x) : -1;
        if (l < 0 || l >= c->nlevels)
            return util_fail(err, errlen, "%s.levels: %d is not a level of the questionnaire", where, l);
        k->levels |= 1u << l;
    }
    json_object *nd = cat_get(o, "needs", json_type_array);
    for (size_t j = 0; nd && j < json_object_array_length(nd); j++) {
        json_object *x = json_object_array_get_idx(nd, j);
        if (k->nneeds == CAT_MAX_NEEDS || !json_object_is_type(x, json_type_string)
            || util_strlcpy(k->needs[k->nneeds], json_object_get_string(x), CAT_CODE) != 0)
            return util_fail(err, errlen, "%s.needs: at most %d need tags", where, CAT_MAX_NEEDS);
        k->nneeds++;
    }
    c->nkinds++;
    return 0;
}

int catalogue_parse(const char *json_text, catalogue_t *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_object *root = jsondoc_parse(json_text, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_object *kinds = cat_get(root, "kinds", json_type_array);
    if (cat_str(root, "version", c->version, sizeof c->version, 1, "catalogue", err, errlen)
        || cat_parse_questionnaire(cat_get(root, "questionnaire", json_type_object), c, err, errlen))
        goto done;
    if (!kinds || json_object_array_length(kinds) == 0 || json_object_array_length(kinds) > CAT_MAX_KINDS) {
        util_fail(err, errlen, "kinds: 1 to %d workshop kinds", CAT_MAX_KINDS);
        goto done;
    }
    for (size_t i = 0; i < json_object_array_length(kinds); i++)
        if (cat_parse_kind(json_object_array_get_idx(kinds, i), i, c, err, errlen) != 0)
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
    FILE *f = fopen(path, "r");
    if (!f)
        return util_fail(err, errlen, "%s: cannot open", path);
    char *buf = xmalloc(1024 * 1024);
    size_t n = fread(buf, 1, 1024 * 1024 - 1, f);
    fclose(f);
    buf[n] = '\0';
    char reason[400];
    int rc = catalogue_parse(buf, out, reason, sizeof reason);
    free(buf);
    if (rc != 0)
        util_fail(err, errlen, "%s: %s", path, reason);
    return rc;
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
