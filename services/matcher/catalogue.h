/* catalogue — the workshop kinds and the self-assessment questionnaire,
 * read from a JSON file (config, not code: a new kind is a file change and a
 * SIGHUP), and the pure rules that turn answers and needs into a level and a
 * kind, and a completed workshop into the next step of a pathway. */
#ifndef TP_CATALOGUE_H
#define TP_CATALOGUE_H

#include <stddef.h>

#include "tremplin.pb-c.h"

#define CAT_MAX_QUESTIONS 32
#define CAT_MAX_LEVELS 8
#define CAT_MAX_KINDS 32
#define CAT_MAX_NEEDS 8
#define CAT_CODE 33

typedef struct {
    char id[CAT_CODE];
    int weight;
    int max;
    char text_fr[200];
} cat_question_t;

typedef struct {
    int level;
    int max_score;
    char name_fr[64];
} cat_level_t;

typedef struct {
    char code[CAT_CODE];
    char title_fr[96];
    unsigned levels; /* bit i: serves level i */
    int capacity;
    int duration_min;
    char partner[64];
    char next[CAT_CODE]; /* the kind that follows in a pathway, "" = end */
    char needs[CAT_MAX_NEEDS][CAT_CODE];
    int nneeds;
} cat_kind_t;

typedef struct {
    char version[CAT_CODE];   /* of the whole catalogue */
    char q_version[CAT_CODE]; /* of the questionnaire */
    int max_missing;          /* answers that may be missing or out of range */
    char scores_fr[256];      /* what each score means, in French ("" if not said) */
    cat_question_t questions[CAT_MAX_QUESTIONS];
    int nquestions;
    cat_level_t levels[CAT_MAX_LEVELS]; /* ascending max_score */
    int nlevels;
    cat_kind_t kinds[CAT_MAX_KINDS];
    int nkinds;
} catalogue_t;

/* 0, or -1 with "file: path: reason" in err (catalogue_parse: "path:
 * reason"). Read as common/jsondoc reads every document: whole, at most
 * 1 MiB, nothing after the document, no unknown key (keys starting with '_'
 * are comments), types checked, null included; codes are [a-z0-9_-]. */
int catalogue_load(const char *path, catalogue_t *out, char *err, size_t errlen);
int catalogue_parse(const char *json_text, catalogue_t *out, char *err, size_t errlen);

const cat_kind_t *catalogue_kind(const catalogue_t *c, const char *code);
/* The kinds' codes, pointers into c; returns how many (at most max). */
int catalogue_codes(const catalogue_t *c, const char **out, int max);

typedef enum { ASSESS_WORKSHOP, ASSESS_AUTONOMOUS, ASSESS_REASSESS } assess_outcome_t;

typedef struct {
    int score;  /* on the full scale (prorated when answers are missing) */
    int level;  /* -1: undetermined */
    int answered, missing, out_of_range, unknown;
    assess_outcome_t outcome;
    const cat_kind_t *kind; /* NULL unless ASSESS_WORKSHOP */
    char reason_fr[600];
} assessment_t;

const char *assess_outcome_name(assess_outcome_t o);

/* Answers and needs to level and kind, with the reason in French. */
void assess(const catalogue_t *c, Tremplin__Answer *const *answers, size_t nanswers, char *const *needs,
            size_t nneeds, assessment_t *out);

/* The kinds a follow-up may lead to, best first: the requested topic (a kind
 * code, or a need a kind answers), else the pathway after completed_kind.
 * explicit_request is set when the first candidate was asked for by name (it
 * may then be a kind already completed). Returns the count (0: the pathway
 * is finished). */
int next_candidates(const catalogue_t *c, const char *completed_kind, const char *requested_topic,
                    const cat_kind_t **out, int max, int *explicit_request);

#endif
