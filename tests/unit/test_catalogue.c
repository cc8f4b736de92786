/* Unit tests for services/matcher/catalogue: the shipped deploy/catalogue.json,
 * assess() at every level threshold, with needs and with missing answers,
 * the pathway and explicit requests, and the catalogue files the loader
 * must refuse. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/catalogue.h"
#include "util.h"

#define CATALOGUE_PATH "deploy/catalogue.json"
#define FULL 24 /* 8 questions of weight 1, scored 0..3 */

static catalogue_t cat; /* deploy/catalogue.json, loaded once */

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (catalogue_load(CATALOGUE_PATH, &cat, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- answers */

#define NONE (-100) /* no answer to this question */

/* Answers to the questions of c in their order, scores[i] for question i. */
typedef struct {
    Tremplin__Answer a[CAT_MAX_QUESTIONS + 4];
    Tremplin__Answer *p[CAT_MAX_QUESTIONS + 4];
    size_t n;
} answers_t;

static void answers_build(answers_t *as, const catalogue_t *c, const int *scores)
{
    as->n = 0;
    for (int i = 0; i < c->nquestions; i++) {
        if (scores[i] == NONE)
            continue;
        as->a[as->n] = (Tremplin__Answer)TREMPLIN__ANSWER__INIT;
        as->a[as->n].question_id = (char *)c->questions[i].id;
        as->a[as->n].score = scores[i];
        as->p[as->n] = &as->a[as->n];
        as->n++;
    }
}

static void answers_add(answers_t *as, const char *qid, int score)
{
    as->a[as->n] = (Tremplin__Answer)TREMPLIN__ANSWER__INIT;
    as->a[as->n].question_id = (char *)qid;
    as->a[as->n].score = score;
    as->p[as->n] = &as->a[as->n];
    as->n++;
}

/* ------------------------------------------------------------- loading */

static void test_load(void **state)
{
    (void)state;
    assert_string_equal(cat.version, "2026-11-1");
    assert_string_equal(cat.q_version, "q-2026-1");
    assert_int_equal(cat.max_missing, 2);
    assert_non_null(strstr(cat.scores_fr, "0 jamais"));

    assert_int_equal(cat.nquestions, 8);
    static const char *const qids[] = { "mouse_touch",    "email",      "online_form", "attach_document",
                                        "online_banking", "spot_fraud", "passwords",   "video_call" };
    for (int i = 0; i < 8; i++) {
        assert_string_equal(cat.questions[i].id, qids[i]);
        assert_int_equal(cat.questions[i].weight, 1);
        assert_int_equal(cat.questions[i].max, 3);
        assert_true(cat.questions[i].text_fr[0] != '\0');
    }
    assert_string_equal(cat.questions[0].text_fr, "Utilisez-vous une souris ou un écran tactile ?");

    assert_int_equal(cat.nlevels, 4);
    static const int max_score[] = { 3, 10, 18, 24 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cat.levels[i].level, i);
        assert_int_equal(cat.levels[i].max_score, max_score[i]);
    }
    assert_string_equal(cat.levels[3].name_fr, "autonome");

    assert_int_equal(cat.nkinds, 3);
    const cat_kind_t *ini = catalogue_kind(&cat, "initiation");
    const cat_kind_t *perf = catalogue_kind(&cat, "perfectionnement");
    const cat_kind_t *bud = catalogue_kind(&cat, "budget");
    assert_ptr_equal(ini, &cat.kinds[0]);
    assert_ptr_equal(perf, &cat.kinds[1]);
    assert_ptr_equal(bud, &cat.kinds[2]);
    assert_null(catalogue_kind(&cat, "expert"));
    assert_null(catalogue_kind(&cat, ""));

    assert_int_equal(ini->levels, (1u << 0) | (1u << 1));
    assert_int_equal(perf->levels, 1u << 2);
    assert_int_equal(bud->levels, (1u << 1) | (1u << 2));
    assert_string_equal(ini->next, "perfectionnement");
    assert_string_equal(perf->next, "");
    assert_string_equal(bud->next, "");
    assert_int_equal(ini->nneeds, 0);
    assert_int_equal(perf->nneeds, 0);
    assert_int_equal(bud->nneeds, 2);
    assert_string_equal(bud->needs[0], "online_banking");
    assert_string_equal(bud->needs[1], "budget");
    assert_string_equal(ini->title_fr, "Initiation au numérique");
    assert_string_equal(bud->title_fr, "Outils budgétaires");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cat.kinds[i].capacity, 8);
        assert_int_equal(cat.kinds[i].duration_min, 120);
        assert_string_equal(cat.kinds[i].partner, "face-loire");
    }
}

static void test_load_missing_file(void **state)
{
    (void)state;
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[256] = "";
    assert_int_equal(catalogue_load("deploy/no-such-catalogue.json", c, err, sizeof err), -1);
    assert_non_null(strstr(err, "deploy/no-such-catalogue.json"));
    free(c);
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(assess_outcome_name(ASSESS_WORKSHOP), "workshop");
    assert_string_equal(assess_outcome_name(ASSESS_AUTONOMOUS), "autonomous");
    assert_string_equal(assess_outcome_name(ASSESS_REASSESS), "reassess");
}

/* ---------------------------------------------------------- assessment */

typedef struct {
    const char *name;
    int scores[8];        /* per question, NONE = not answered */
    const char *extra_id; /* one more answer, to a question not in the questionnaire */
    const char *needs[3];
    int score, level;
    assess_outcome_t outcome;
    const char *kind; /* NULL: none */
    int answered, missing, out_of_range, unknown;
    const char *reason; /* a substring of reason_fr, or NULL */
} assess_case_t;

#define W ASSESS_WORKSHOP
#define A ASSESS_AUTONOMOUS
#define R ASSESS_REASSESS

static const assess_case_t assess_cases[] = {
    /* every threshold of the default questionnaire, no needs */
    { "score 0", { 0, 0, 0, 0, 0, 0, 0, 0 }, NULL, { NULL }, 0, 0, W, "initiation", 8, 0, 0, 0, "niveau 0" },
    { "score 3", { 1, 1, 1, 0, 0, 0, 0, 0 }, NULL, { NULL }, 3, 0, W, "initiation", 8, 0, 0, 0, "Score 3/24" },
    { "score 4", { 1, 1, 1, 1, 0, 0, 0, 0 }, NULL, { NULL }, 4, 1, W, "initiation", 8, 0, 0, 0, "débutant" },
    { "score 10", { 3, 3, 2, 2, 0, 0, 0, 0 }, NULL, { NULL }, 10, 1, W, "initiation", 8, 0, 0, 0, "niveau 1" },
    { "score 11", { 3, 3, 3, 2, 0, 0, 0, 0 }, NULL, { NULL }, 11, 2, W, "perfectionnement", 8, 0, 0, 0,
      "intermédiaire" },
    { "score 18", { 3, 3, 3, 3, 3, 3, 0, 0 }, NULL, { NULL }, 18, 2, W, "perfectionnement", 8, 0, 0, 0,
      "Perfectionnement" },
    { "score 19", { 3, 3, 3, 3, 3, 3, 1, 0 }, NULL, { NULL }, 19, 3, A, NULL, 8, 0, 0, 0, "Aucun atelier" },
    { "score 24", { 3, 3, 3, 3, 3, 3, 3, 3 }, NULL, { NULL }, 24, 3, A, NULL, 8, 0, 0, 0, "Score 24/24" },
    /* needs */
    { "budget need, level 1", { 1, 1, 1, 1, 1, 0, 0, 0 }, NULL, { "budget" }, 5, 1, W, "budget", 8, 0, 0, 0,
      "Besoin « budget »" },
    { "online_banking need, level 1", { 1, 1, 1, 1, 1, 0, 0, 0 }, NULL, { "online_banking" }, 5, 1, W, "budget", 8,
      0, 0, 0, "Outils budgétaires" },
    { "budget need, level 2 (11)", { 3, 3, 3, 2, 0, 0, 0, 0 }, NULL, { "budget" }, 11, 2, W, "budget", 8, 0, 0, 0,
      NULL },
    { "online_banking need, level 2 (18)", { 3, 3, 3, 3, 3, 3, 0, 0 }, NULL, { "online_banking" }, 18, 2, W,
      "budget", 8, 0, 0, 0, NULL },
    { "budget need, level 0", { 1, 1, 1, 0, 0, 0, 0, 0 }, NULL, { "budget" }, 3, 0, W, "initiation", 8, 0, 0, 0,
      "Initiation" },
    { "online_banking need, level 0", { 0, 0, 0, 0, 0, 0, 0, 0 }, NULL, { "online_banking" }, 0, 0, W,
      "initiation", 8, 0, 0, 0, NULL },
    { "budget need, level 3", { 3, 3, 3, 3, 3, 3, 1, 0 }, NULL, { "budget" }, 19, 3, A, NULL, 8, 0, 0, 0,
      "Aucun atelier" },
    { "a need no kind answers", { 1, 1, 1, 1, 1, 0, 0, 0 }, NULL, { "email" }, 5, 1, W, "initiation", 8, 0, 0, 0,
      NULL },
    { "the budget need second", { 1, 1, 1, 1, 1, 0, 0, 0 }, NULL, { "email", "video_call", "budget" }, 5, 1, W,
      "budget", 8, 0, 0, 0, NULL },
    /* missing answers: prorated to the full scale, (raw*24 + am/2) / am */
    { "1 missing, raw 10", { NONE, 3, 3, 2, 2, 0, 0, 0 }, NULL, { NULL }, 11, 2, W, "perfectionnement", 7, 1, 0, 0,
      "1 manquante" },
    { "1 missing, raw 9", { 3, 3, 3, 0, 0, 0, 0, NONE }, NULL, { NULL }, 10, 1, W, "initiation", 7, 1, 0, 0,
      "manquante" },
    { "1 missing, raw 21", { 3, 3, 3, NONE, 3, 3, 3, 3 }, NULL, { NULL }, 24, 3, A, NULL, 7, 1, 0, 0,
      "calculé sur 7 réponses" },
    { "2 missing, raw 10", { NONE, 3, 3, 2, 2, 0, 0, NONE }, NULL, { NULL }, 13, 2, W, "perfectionnement", 6, 2, 0,
      0, "2 manquante" },
    { "2 missing, raw 2", { 1, 1, NONE, 0, NONE, 0, 0, 0 }, NULL, { "budget" }, 3, 0, W, "initiation", 6, 2, 0, 0,
      "manquante" },
    { "2 missing, raw 0", { NONE, NONE, 0, 0, 0, 0, 0, 0 }, NULL, { NULL }, 0, 0, W, "initiation", 6, 2, 0, 0,
      "manquante" },
    { "3 missing", { NONE, NONE, NONE, 3, 3, 3, 3, 3 }, NULL, { "budget" }, 0, -1, R, NULL, 5, 3, 0, 0,
      "3 réponse(s) manquante(s)" },
    { "nothing answered", { NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE }, NULL, { NULL }, 0, -1, R, NULL, 0, 8,
      0, 0, "refaire le questionnaire" },
    /* out of range counts like missing */
    { "score -1", { -1, 3, 3, 2, 2, 0, 0, 0 }, NULL, { NULL }, 11, 2, W, "perfectionnement", 7, 0, 1, 0,
      "1 hors limites" },
    { "score 4", { 4, 3, 3, 2, 2, 0, 0, 0 }, NULL, { NULL }, 11, 2, W, "perfectionnement", 7, 0, 1, 0,
      "hors limites" },
    { "-1, 4 and a missing one", { -1, 4, NONE, 3, 3, 3, 3, 3 }, NULL, { NULL }, 0, -1, R, NULL, 5, 1, 2, 0,
      "2 hors limites" },
    { "INT32_MIN", { INT32_MIN, 0, 0, 0, 0, 0, 0, 0 }, NULL, { NULL }, 0, 0, W, "initiation", 7, 0, 1, 0, NULL },
    /* unknown question ids are counted and ignored */
    { "an unknown question", { 3, 3, 2, 2, 0, 0, 0, 0 }, "old_question", { NULL }, 10, 1, W, "initiation", 8, 0, 0,
      1, NULL },
    { "an unknown question instead of one", { NONE, 3, 3, 2, 2, 0, 0, 0 }, "mouse", { NULL }, 11, 2, W,
      "perfectionnement", 7, 1, 0, 1, "manquante" },
};

static void test_assess(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(assess_cases); i++) {
        const assess_case_t *t = &assess_cases[i];
        answers_t as;
        answers_build(&as, &cat, t->scores);
        if (t->extra_id)
            answers_add(&as, t->extra_id, 3);
        char *needs[3];
        size_t nneeds = 0;
        while (nneeds < 3 && t->needs[nneeds]) {
            needs[nneeds] = (char *)t->needs[nneeds];
            nneeds++;
        }
        assessment_t a;
        memset(&a, 0x5a, sizeof a);
        assess(&cat, as.p, as.n, needs, nneeds, &a);
        const char *kind = a.kind ? a.kind->code : NULL;
        int ok = a.score == t->score && a.level == t->level && a.outcome == t->outcome
                 && (t->kind ? kind && !strcmp(kind, t->kind) : !kind) && a.answered == t->answered
                 && a.missing == t->missing && a.out_of_range == t->out_of_range && a.unknown == t->unknown
                 && a.reason_fr[0] != '\0' && strlen(a.reason_fr) < sizeof a.reason_fr
                 && (!t->reason || strstr(a.reason_fr, t->reason));
        if (!ok) {
            print_error("%s: expected score %d level %d %s %s (%d/%d/%d/%d) '%s'\n"
                        "   got score %d level %d %s %s (%d/%d/%d/%d) '%s'\n",
                        t->name, t->score, t->level, assess_outcome_name(t->outcome), t->kind ? t->kind : "-",
                        t->answered, t->missing, t->out_of_range, t->unknown, t->reason ? t->reason : "",
                        a.score, a.level, assess_outcome_name(a.outcome), kind ? kind : "-", a.answered,
                        a.missing, a.out_of_range, a.unknown, a.reason_fr);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The prorated scores in the table follow the documented formula. */
static void test_prorate_formula(void **state)
{
    (void)state;
    static const struct {
        int raw, answered_max, expect;
    } cases[] = { { 10, 21, 11 }, { 9, 21, 10 }, { 21, 21, 24 }, { 10, 18, 13 }, { 2, 18, 3 }, { 0, 18, 0 } };
    for (size_t i = 0; i < TP_ARRAY_LEN(cases); i++)
        assert_int_equal((cases[i].raw * FULL + cases[i].answered_max / 2) / cases[i].answered_max, cases[i].expect);
}

/* Without missing answers the score is the raw sum; the first of two
 * answers to one question counts. */
static void test_assess_duplicate_answer(void **state)
{
    (void)state;
    answers_t as;
    static const int scores[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    answers_build(&as, &cat, scores);
    answers_add(&as, "mouse_touch", 3);
    assessment_t a;
    assess(&cat, as.p, as.n, NULL, 0, &a);
    assert_int_equal(a.score, 8);
    assert_int_equal(a.answered, 8);
    assert_int_equal(a.unknown, 0);
}

/* --------------------------------------------------------- next steps */

typedef struct {
    const char *name;
    const char *completed, *topic;
    const char *expect[3]; /* kind codes, NULL-terminated */
    int explicit_request;
} next_case_t;

static const next_case_t next_cases[] = {
    { "after initiation", "initiation", NULL, { "perfectionnement" }, 0 },
    { "after initiation, empty topic", "initiation", "", { "perfectionnement" }, 0 },
    { "after perfectionnement", "perfectionnement", NULL, { NULL }, 0 },
    { "after budget", "budget", NULL, { NULL }, 0 },
    { "nothing completed", NULL, NULL, { NULL }, 0 },
    { "an unknown kind completed", "expert", NULL, { NULL }, 0 },
    { "kind code requested", "initiation", "budget", { "budget" }, 1 },
    { "kind already done requested", "budget", "budget", { "budget" }, 1 },
    { "pathway kind requested", "perfectionnement", "initiation", { "initiation" }, 1 },
    { "need requested", "initiation", "online_banking", { "budget" }, 0 },
    { "need requested, nothing completed", NULL, "online_banking", { "budget" }, 0 },
    { "unknown topic", "initiation", "cooking", { "perfectionnement" }, 0 },
    { "unknown topic at the end", "perfectionnement", "cooking", { NULL }, 0 },
};

static void test_next_candidates(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(next_cases); i++) {
        const next_case_t *t = &next_cases[i];
        const cat_kind_t *out[4] = { NULL };
        int explicit_request = 42;
        int n = next_candidates(&cat, t->completed, t->topic, out, 4, &explicit_request);
        int want = 0;
        while (want < 3 && t->expect[want])
            want++;
        int ok = n == want && explicit_request == t->explicit_request;
        for (int j = 0; ok && j < n; j++)
            ok = out[j] && !strcmp(out[j]->code, t->expect[j]);
        if (!ok) {
            print_error("%s: expected %d candidate(s) (%s) explicit %d, got %d (%s) explicit %d\n", t->name, want,
                        want ? t->expect[0] : "-", t->explicit_request, n, n > 0 && out[0] ? out[0]->code : "-",
                        explicit_request);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_next_candidates_max(void **state)
{
    (void)state;
    const cat_kind_t *out[1] = { NULL };
    int explicit_request = 42;
    assert_int_equal(next_candidates(&cat, "initiation", "budget", out, 0, &explicit_request), 0);
    assert_int_equal(explicit_request, 0);
    assert_null(out[0]);
}

/* ---------------------------------------------------- catalogue files */

static char *read_default(void)
{
    FILE *f = fopen(CATALOGUE_PATH, "r");
    assert_non_null(f);
    static char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static json_object *q_of(json_object *root)
{
    json_object *q = NULL;
    assert_true(json_object_object_get_ex(root, "questionnaire", &q));
    return q;
}
static json_object *item(json_object *o, const char *key, size_t i)
{
    json_object *a = NULL;
    assert_true(json_object_object_get_ex(o, key, &a));
    assert_true(i < json_object_array_length(a));
    return json_object_array_get_idx(a, i);
}
static void set_int(json_object *o, const char *key, int v) { json_object_object_add(o, key, json_object_new_int(v)); }
static void set_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v));
}

typedef void (*jmutate_fn)(json_object *root);

static void j_no_version(json_object *root) { json_object_object_del(root, "version"); }
static void j_version_number(json_object *root) { set_int(root, "version", 3); }
static void j_no_questionnaire(json_object *root) { json_object_object_del(root, "questionnaire"); }
static void j_no_q_version(json_object *root) { json_object_object_del(q_of(root), "version"); }
static void j_next_nowhere(json_object *root) { set_str(item(root, "kinds", 0), "next", "expert"); }
static void j_level_not_rising(json_object *root) { set_int(item(q_of(root), "levels", 2), "max_score", 10); }
static void j_level_falling(json_object *root) { set_int(item(q_of(root), "levels", 1), "max_score", 2); }
static void j_level_numbering(json_object *root) { set_int(item(q_of(root), "levels", 1), "level", 2); }
static void j_last_below_full(json_object *root) { set_int(item(q_of(root), "levels", 3), "max_score", 23); }
static void j_dup_kind(json_object *root) { set_str(item(root, "kinds", 2), "code", "initiation"); }
static void j_dup_question(json_object *root) { set_str(item(q_of(root), "questions", 1), "id", "mouse_touch"); }
static void j_kind_level_4(json_object *root)
{
    json_object *lv = json_object_new_array();
    json_object_array_add(lv, json_object_new_int(1));
    json_object_array_add(lv, json_object_new_int(4));
    json_object_object_add(item(root, "kinds", 2), "levels", lv);
}
static void j_kind_level_neg(json_object *root)
{
    json_object *lv = json_object_new_array();
    json_object_array_add(lv, json_object_new_int(-1));
    json_object_object_add(item(root, "kinds", 0), "levels", lv);
}
static void j_kind_no_levels(json_object *root)
{
    json_object_object_add(item(root, "kinds", 1), "levels", json_object_new_array());
}
static void j_no_kinds(json_object *root) { json_object_object_add(root, "kinds", json_object_new_array()); }
static void j_bad_kind_code(json_object *root) { set_str(item(root, "kinds", 1), "code", "perfection nement"); }
static void j_bad_question_id(json_object *root) { set_str(item(q_of(root), "questions", 0), "id", "mouse/touch"); }
static void j_weight_string(json_object *root) { set_str(item(q_of(root), "questions", 0), "weight", "1"); }
static void j_max_zero(json_object *root) { set_int(item(q_of(root), "questions", 0), "max", 0); }
static void j_no_questions(json_object *root)
{
    json_object_object_add(q_of(root), "questions", json_object_new_array());
}
static void j_no_levels(json_object *root) { json_object_object_del(q_of(root), "levels"); }
static void j_capacity_0(json_object *root) { set_int(item(root, "kinds", 0), "capacity", 0); }
static void j_title_too_long(json_object *root)
{
    char t[200];
    memset(t, 't', sizeof t - 1);
    t[sizeof t - 1] = '\0';
    set_str(item(root, "kinds", 0), "title_fr", t);
}

/* the one strictness of common/jsondoc: unknown keys, types with their path */
static void j_root_unknown(json_object *root) { set_int(root, "kind", 1); }
static void j_q_unknown(json_object *root) { set_int(q_of(root), "max_mising", 2); }
static void j_question_unknown(json_object *root) { set_str(item(q_of(root), "questions", 2), "txt_fr", "?"); }
static void j_level_unknown(json_object *root) { set_str(item(q_of(root), "levels", 0), "name", "x"); }
static void j_kind_unknown(json_object *root) { set_int(item(root, "kinds", 1), "capcity", 8); }
static void j_capacity_string(json_object *root) { set_str(item(root, "kinds", 1), "capacity", "8"); }
static void j_next_null(json_object *root) { json_object_object_add(item(root, "kinds", 0), "next", NULL); }
static void j_partner_number(json_object *root) { set_int(item(root, "kinds", 2), "partner", 7); }
static void j_code_upper(json_object *root) { set_str(item(root, "kinds", 0), "code", "Initiation"); }
static void j_need_not_code(json_object *root)
{
    json_object *nd = json_object_new_array();
    json_object_array_add(nd, json_object_new_string("online banking"));
    json_object_object_add(item(root, "kinds", 2), "needs", nd);
}
static void j_need_number(json_object *root)
{
    json_object *nd = json_object_new_array();
    json_object_array_add(nd, json_object_new_string("budget"));
    json_object_array_add(nd, json_object_new_int(3));
    json_object_object_add(item(root, "kinds", 2), "needs", nd);
}
static void j_kind_level_string(json_object *root)
{
    json_object *lv = json_object_new_array();
    json_object_array_add(lv, json_object_new_int(0));
    json_object_array_add(lv, json_object_new_string("1"));
    json_object_object_add(item(root, "kinds", 0), "levels", lv);
}
static void j_question_not_object(json_object *root)
{
    json_object *qs = NULL;
    assert_true(json_object_object_get_ex(q_of(root), "questions", &qs));
    json_object_array_put_idx(qs, 2, json_object_new_string("online_form"));
}
static void j_text_with_nul(json_object *root)
{
    json_object_object_add(item(q_of(root), "questions", 0), "text_fr", json_object_new_string_len("a\0b", 3));
}

typedef struct {
    const char *name;
    const char *text; /* the whole file, or NULL: the default one, mutated */
    jmutate_fn mutate;
    const char *reason; /* a substring of the error */
} parse_case_t;

static const parse_case_t parse_cases[] = {
    { "not JSON", "{ \"version\": ", NULL, "not JSON" },
    { "plain text", "catalogue", NULL, "not JSON" },
    { "empty", "", NULL, "not JSON" },
    { "an array", "[]", NULL, "version" },
    { "missing version", NULL, j_no_version, "catalogue.version" },
    { "version a number", NULL, j_version_number, "catalogue.version" },
    { "no questionnaire", NULL, j_no_questionnaire, "questionnaire" },
    { "no questionnaire version", NULL, j_no_q_version, "questionnaire.version" },
    { "next names no kind", NULL, j_next_nowhere, "no kind 'expert'" },
    { "level list not rising", NULL, j_level_not_rising, "rising max_score" },
    { "level list falling", NULL, j_level_falling, "levels[1]" },
    { "levels not numbered 0, 1, 2", NULL, j_level_numbering, "levels[1]" },
    { "last max_score below the full score", NULL, j_last_below_full, "full score (24)" },
    { "duplicate kind code", NULL, j_dup_kind, "'initiation' twice" },
    { "duplicate question id", NULL, j_dup_question, "'mouse_touch' twice" },
    { "kind level 4", NULL, j_kind_level_4, "4 is not a level" },
    { "kind level -1", NULL, j_kind_level_neg, "not a level" },
    { "kind without levels", NULL, j_kind_no_levels, "kinds[1].levels" },
    { "no kinds", NULL, j_no_kinds, "kinds" },
    { "bad kind code", NULL, j_bad_kind_code, "kinds[1].code" },
    { "bad question id", NULL, j_bad_question_id, "questions[0].id" },
    { "weight a string", NULL, j_weight_string, "questions[0].weight" },
    { "question max 0", NULL, j_max_zero, "questions[0].max" },
    { "no questions", NULL, j_no_questions, "questions" },
    { "no levels", NULL, j_no_levels, "levels" },
    { "capacity 0", NULL, j_capacity_0, "kinds[0].capacity" },
    { "title too long", NULL, j_title_too_long, "too long" },
    { "unknown key at the top", NULL, j_root_unknown, "catalogue.kind: unknown key" },
    { "unknown key in the questionnaire", NULL, j_q_unknown, "questionnaire.max_mising: unknown key" },
    { "unknown key in a question", NULL, j_question_unknown, "questionnaire.questions[2].txt_fr: unknown key" },
    { "unknown key in a level", NULL, j_level_unknown, "questionnaire.levels[0].name: unknown key" },
    { "unknown key in a kind", NULL, j_kind_unknown, "kinds[1].capcity: unknown key" },
    { "capacity a string", NULL, j_capacity_string, "kinds[1].capacity: an integer from 1 to 100 is required" },
    { "next null", NULL, j_next_null, "kinds[0].next: a string is required" },
    { "partner a number", NULL, j_partner_number, "kinds[2].partner: a string is required" },
    { "code in upper case", NULL, j_code_upper, "kinds[0].code: \"Initiation\" is not a code ([a-z0-9_-]" },
    { "need not a code", NULL, j_need_not_code, "kinds[2].needs[0]: \"online banking\" is not a need tag" },
    { "need a number", NULL, j_need_number, "kinds[2].needs[1]: a string is required" },
    { "level a string", NULL, j_kind_level_string, "kinds[0].levels[1]: an integer is required" },
    { "question not an object", NULL, j_question_not_object,
      "questionnaire.questions[2]: an object is required (id, weight, max, text_fr)" },
    { "text with a NUL", NULL, j_text_with_nul, "questionnaire.questions[0].text_fr: contains a NUL character" },
    { "text after the document", "{\"version\":\"1\"} {}", NULL, "not JSON: text after the document" },
    { "a comment", "{\"version\": /* v */ \"1\"}", NULL, "not JSON" },
};

/* The default file with mutate applied, as text (caller frees). */
static char *mutated_default(jmutate_fn mutate)
{
    json_object *root = json_tokener_parse(read_default());
    assert_non_null(root);
    if (mutate)
        mutate(root);
    char *text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    assert_non_null(text);
    return text;
}

static void test_parse_errors(void **state)
{
    (void)state;
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[512];

    /* the round trip through json-c itself is accepted */
    char *text = mutated_default(NULL);
    assert_int_equal(catalogue_parse(text, c, err, sizeof err), 0);
    assert_int_equal(c->nkinds, 3);
    free(text);

    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(parse_cases); i++) {
        const parse_case_t *t = &parse_cases[i];
        text = t->text ? strdup(t->text) : mutated_default(t->mutate);
        assert_non_null(text);
        err[0] = '\0';
        int rc = catalogue_parse(text, c, err, sizeof err);
        if (rc != -1 || err[0] == '\0' || !strstr(err, t->reason)) {
            print_error("%s: expected -1 with '%s', got %d '%s'\n", t->name, t->reason, rc, err);
            failures++;
        }
        free(text);
    }
    free(c);
    assert_int_equal(failures, 0);
}

/* Keys starting with '_' are comments, at every level. */
static void j_comments(json_object *root)
{
    set_str(root, "_about", "le catalogue de démonstration");
    set_str(q_of(root), "_note", "x");
    set_int(item(q_of(root), "questions", 0), "_weight_was", 2);
    set_str(item(q_of(root), "levels", 1), "_", "x");
    set_str(item(root, "kinds", 2), "_partner_since", "2026");
}

static void test_comments_accepted(void **state)
{
    (void)state;
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[512] = "";
    char *text = mutated_default(j_comments);
    int rc = catalogue_parse(text, c, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(c->nkinds, 3);
    free(text);
    free(c);
}

/* The loader reads the whole file or refuses it: text after the document,
 * a file over 1 MiB (cut at 1 MiB it would still parse: the padding is white
 * space) and a NUL byte are refused with the file's name. */
static void test_load_refuses_what_it_cannot_read_whole(void **state)
{
    (void)state;
    static const struct {
        const char *tail;
        size_t pad;
        const char *reason;
    } cases[] = {
        { "\n{}\n", 0, ": not JSON: text after the document (line " },
        { "", 1024 * 1024, ": larger than 1 MiB" },
        { "\n", 1, ": holds a NUL byte" },
    };
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < TP_ARRAY_LEN(cases); i++) {
        char path[] = "/tmp/tp-catalogue-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        assert_non_null(f);
        fputs(read_default(), f);
        fputs(cases[i].tail, f);
        for (size_t j = 0; j < cases[i].pad; j++)
            fputc(cases[i].pad == 1 ? '\0' : ' ', f);
        fclose(f);
        char err[512] = "", want[600];
        assert_int_equal(catalogue_load(path, c, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s%s", path, cases[i].reason);
        if (strncmp(err, want, strlen(want)) != 0)
            fprintf(stderr, "case %zu: \"%s\", wanted \"%s\"\n", i, err, want);
        assert_int_equal(strncmp(err, want, strlen(want)), 0);
        remove(path);
    }
    free(c);
}

/* A fourth kind is a file change: it is read and used by assess and by
 * next_candidates. */
static void j_add_demarches(json_object *root)
{
    json_object *k = json_object_new_object();
    set_str(k, "code", "demarches");
    set_str(k, "title_fr", "Démarches administratives en ligne");
    json_object *lv = json_object_new_array();
    json_object_array_add(lv, json_object_new_int(1));
    json_object_array_add(lv, json_object_new_int(2));
    json_object_object_add(k, "levels", lv);
    set_int(k, "capacity", 8);
    set_int(k, "duration_min", 120);
    set_str(k, "partner", "face-loire");
    set_str(k, "next", "");
    json_object *nd = json_object_new_array();
    json_object_array_add(nd, json_object_new_string("admin_sites"));
    json_object_object_add(k, "needs", nd);
    json_object *kinds = NULL;
    assert_true(json_object_object_get_ex(root, "kinds", &kinds));
    json_object_array_add(kinds, k);
}

static void test_fourth_kind(void **state)
{
    (void)state;
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[512] = "";
    char *text = mutated_default(j_add_demarches);
    assert_int_equal(catalogue_parse(text, c, err, sizeof err), 0);
    free(text);
    assert_int_equal(c->nkinds, 4);
    const cat_kind_t *d = catalogue_kind(c, "demarches");
    assert_non_null(d);
    assert_string_equal(d->title_fr, "Démarches administratives en ligne");
    assert_int_equal(d->levels, (1u << 1) | (1u << 2));

    char *needs[] = { "admin_sites" };
    answers_t as;
    assessment_t a;
    static const int level1[8] = { 1, 1, 1, 1, 1, 0, 0, 0 }; /* 5 */
    static const int level2[8] = { 3, 3, 3, 3, 3, 0, 0, 0 }; /* 15 */
    static const int level0[8] = { 1, 1, 0, 0, 0, 0, 0, 0 }; /* 2 */

    /* before: the default catalogue has nothing for it */
    answers_build(&as, &cat, level1);
    assess(&cat, as.p, as.n, needs, 1, &a);
    assert_int_equal(a.level, 1);
    assert_string_equal(a.kind->code, "initiation");

    answers_build(&as, c, level1);
    assess(c, as.p, as.n, needs, 1, &a);
    assert_int_equal(a.level, 1);
    assert_int_equal(a.outcome, ASSESS_WORKSHOP);
    assert_non_null(a.kind);
    assert_string_equal(a.kind->code, "demarches");
    assert_non_null(strstr(a.reason_fr, "Démarches administratives en ligne"));

    answers_build(&as, c, level2);
    assess(c, as.p, as.n, needs, 1, &a);
    assert_int_equal(a.level, 2);
    assert_string_equal(a.kind->code, "demarches");

    answers_build(&as, c, level0);
    assess(c, as.p, as.n, needs, 1, &a);
    assert_int_equal(a.level, 0);
    assert_string_equal(a.kind->code, "initiation");

    /* without the need, the pathway as before */
    answers_build(&as, c, level1);
    assess(c, as.p, as.n, NULL, 0, &a);
    assert_string_equal(a.kind->code, "initiation");

    const cat_kind_t *out[4];
    int explicit_request = 42;
    assert_int_equal(next_candidates(c, "initiation", "admin_sites", out, 4, &explicit_request), 1);
    assert_string_equal(out[0]->code, "demarches");
    assert_int_equal(explicit_request, 0);
    assert_int_equal(next_candidates(c, "initiation", "demarches", out, 4, &explicit_request), 1);
    assert_string_equal(out[0]->code, "demarches");
    assert_int_equal(explicit_request, 1);
    free(c);
}

/* The loader accepts weights and maxima up to 100 and scores up to 100000:
 * prorating such a scale must not overflow. */
static void test_large_scale(void **state)
{
    (void)state;
    char text[4096];
    size_t w = (size_t)snprintf(text, sizeof text,
                                "{\"version\":\"big\",\"questionnaire\":{\"version\":\"q-big\",\"max_missing\":2,"
                                "\"questions\":[");
    for (int i = 0; i < 10; i++)
        w += (size_t)snprintf(text + w, sizeof text - w,
                              "%s{\"id\":\"q%d\",\"weight\":100,\"max\":100,\"text_fr\":\"?\"}", i ? "," : "", i);
    snprintf(text + w, sizeof text - w,
             "],\"levels\":[{\"level\":0,\"max_score\":50000,\"name_fr\":\"a\"},"
             "{\"level\":1,\"max_score\":100000,\"name_fr\":\"b\"}]},"
             "\"kinds\":[{\"code\":\"k\",\"title_fr\":\"K\",\"levels\":[0],\"capacity\":8,\"duration_min\":120,"
             "\"partner\":\"p\",\"next\":\"\",\"needs\":[]}]}");
    catalogue_t *c = malloc(sizeof *c);
    assert_non_null(c);
    char err[512] = "";
    assert_int_equal(catalogue_parse(text, c, err, sizeof err), 0);
    int scores[10];
    for (int i = 0; i < 10; i++)
        scores[i] = 100;
    scores[9] = NONE;
    answers_t as;
    answers_build(&as, c, scores);
    assessment_t a;
    assess(c, as.p, as.n, NULL, 0, &a);
    assert_int_equal(a.missing, 1);
    assert_int_equal(a.score, 100000); /* 90000 of 90000, on a scale of 100000 */
    assert_int_equal(a.level, 1);
    assert_int_equal(a.outcome, ASSESS_AUTONOMOUS);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_outcome_names),
        cmocka_unit_test(test_assess),
        cmocka_unit_test(test_prorate_formula),
        cmocka_unit_test(test_assess_duplicate_answer),
        cmocka_unit_test(test_next_candidates),
        cmocka_unit_test(test_next_candidates_max),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_comments_accepted),
        cmocka_unit_test(test_load_refuses_what_it_cannot_read_whole),
        cmocka_unit_test(test_fourth_kind),
        cmocka_unit_test(test_large_scale),
    };
    return cmocka_run_group_tests_name("catalogue", tests, setup, NULL);
}
