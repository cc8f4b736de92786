/* tremplin referral | consent — intake's side of the tool: referrals as
 * JSON, bulk imports (the branch keys are cmd_keys.c's). */
#include <csv.h>
#include <czmq.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "intake/referral_json.h"
#include "jsondoc.h"
#include "keys.h"

/* ---------------------------------------------------------------- answers */

/* The answer as JSON on stdout; returns the exit code (0 accepted, 2 refused). */
static int cli_print_answer(const Tremplin__Envelope *reply)
{
    json_object *o = json_object_new_object();
    int rc = 2;
    if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        const Tremplin__Ack *a = reply->ack;
        json_object_object_add(o, "status", json_object_new_string(a->status[0] ? a->status : "ok"));
        if (a->booking_id[0])
            json_object_object_add(o, "booking_id", json_object_new_string(a->booking_id));
        if (a->session_id[0])
            json_object_object_add(o, "session_id", json_object_new_string(a->session_id));
        if (a->referral_id[0])
            json_object_object_add(o, "referral_id", json_object_new_string(a->referral_id));
        if (a->person_id[0])
            json_object_object_add(o, "person_id", json_object_new_string(a->person_id));
        json_object_object_add(o, "duplicate", json_object_new_boolean(a->duplicate));
        rc = 0;
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
        const Tremplin__Error *e = reply->error;
        json_object *err = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string(e->code));
        json_object_object_add(err, "field", json_object_new_string(e->field));
        json_object_object_add(err, "message", json_object_new_string(e->message_fr));
        json_object_object_add(o, "status", json_object_new_string("rejected"));
        json_object_object_add(o, "error", err);
    }
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return rc;
}

static int cli_json_error(const char *code, const char *field, const char *message)
{
    printf("{\n  \"status\": \"rejected\",\n  \"error\": { \"code\": \"%s\", \"field\": \"%s\", \"message\": \"%s\" }\n}\n",
           code, field, message);
    return 2;
}

/* The territory of a referral is its branch's (else the first configured). */
static const char *cli_territory_of(cli_t *cli, const keyring_t *b, const char *branch)
{
    const keyring_entry_t *br = keyring_by_id(b, branch);
    return br ? br->territory : cli->territories[0];
}

/* A referral file, or stdin for "-": whole, at most 1 MiB (common/jsondoc). */
static char *cli_read_all(const char *path, char *err, size_t errlen)
{
    return strcmp(path, "-") ? jsondoc_read(path, err, errlen) : jsondoc_fread(stdin, err, errlen);
}

static void cli_envelope(Tremplin__Envelope *env, Tremplin__SubmitReferral *r, const char *territory)
{
    tremplin__envelope__init(env);
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env->submit_referral = r;
    env->territory = (char *)territory;
}

static int cli_referral_submit(cli_t *cli, const char *path)
{
    char err[256];
    char *text = cli_read_all(path, err, sizeof err);
    if (!text) {
        fprintf(stderr, "tremplin: %s: %s\n", path, err);
        return 2;
    }
    json_object *root = jsondoc_parse(text, err, sizeof err);
    free(text);
    if (!root)
        return cli_json_error("INVALID_JSON", "", err);
    referral_json_t h;
    if (referral_from_json(root, &h, err, sizeof err) != 0) {
        json_object_put(root);
        return cli_json_error("INVALID_JSON", "", err);
    }
    keyring_t b;
    keyring_load(&intake_branches, cli->intake.curve_dir, &b, err, sizeof err);
    Tremplin__Envelope env;
    cli_envelope(&env, &h.referral, cli_territory_of(cli, &b, h.referral.branch));
    client_t *c = cli_client(cli, "intake");
    int rc = c ? 1 : 2;
    Tremplin__Envelope *reply = NULL;
    if (c && client_call(c, &env, &reply) == 0)
        rc = cli_print_answer(reply);
    else if (c)
        fprintf(stderr, "tremplin: intake injoignable (3 essais)\n");
    wire_free(reply, NULL);
    client_destroy(&c);
    keyring_free(&b);
    json_object_put(root);
    return rc;
}

/* ------------------------------------------------------------------ import */

typedef struct {
    long accepted, duplicate, rejected, unreachable, lines;
    FILE *rejects;
    const char *rejects_path;
} cli_import_t;

static void cli_import_reject(cli_import_t *st, long line, const char *code, const char *field, const char *msg)
{
    if (!st->rejects)
        st->rejects = fopen(st->rejects_path, "w");
    if (st->rejects)
        fprintf(st->rejects, "ligne %ld: %s %s — %s\n", line, code, field, msg);
    st->rejected++;
}

static void cli_import_answer(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    cli_import_t *st = arg;
    if (!reply || (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && reply->error->retryable))
        st->unreachable++; /* no answer, or intake could not store it now: not the line's fault */
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        reply->ack->duplicate ? st->duplicate++ : st->accepted++;
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR)
        cli_import_reject(st, (long)tag, reply->error->code, reply->error->field, reply->error->message_fr);
}

typedef struct {
    cli_t *cli;
    client_t *client;
    keyring_t branches;
    cli_import_t st;
    int tty;
} cli_importer_t;

static void cli_import_progress(cli_importer_t *im, int final)
{
    if (!final && (im->st.lines % 200 != 0 || !im->tty))
        return;
    fprintf(stderr, "%s%ld lignes : %ld acceptées, %ld déjà reçues, %ld rejetées, %ld injoignables%s",
            im->tty ? "\r" : "", im->st.lines, im->st.accepted, im->st.duplicate, im->st.rejected, im->st.unreachable,
            final || !im->tty ? "\n" : "");
}

/* Sends one line, waiting for room in the window. Each line has a deadline
 * (the client's tries); once a line got no answer by its deadline, intake
 * is gone: the lines after it are counted unreachable without being sent,
 * instead of each waiting as long in turn (10 000 lines took 40 minutes). */
static void cli_import_send(cli_importer_t *im, const Tremplin__Envelope *env, long line)
{
    while (im->st.unreachable == 0) {
        if (client_send(im->client, env, (uint64_t)line) == 0)
            return;
        client_poll(im->client, 100, cli_import_answer, &im->st);
    }
    im->st.unreachable++;
}

/* Sends one record (a JSON object) as line `line`; keeps the window full. */
static void cli_import_record(cli_importer_t *im, json_object *root, long line)
{
    im->st.lines++;
    referral_json_t h;
    char err[256];
    if (!root) {
        cli_import_reject(&im->st, line, "INVALID_JSON", "", "ligne illisible");
    } else if (referral_from_json(root, &h, err, sizeof err) != 0) {
        cli_import_reject(&im->st, line, "INVALID_JSON", "", err);
    } else {
        Tremplin__Envelope env;
        cli_envelope(&env, &h.referral, cli_territory_of(im->cli, &im->branches, h.referral.branch));
        cli_import_send(im, &env, line);
    }
    if (root)
        json_object_put(root);
    client_poll(im->client, 0, cli_import_answer, &im->st);
    cli_import_progress(im, 0);
}

/* CSV columns (header row, any order): branch, external_ref, mediator_id,
 * partner, person_id, given_name, family_name, phone, address_line1, address_line2,
 * postcode, city, birth_year, availability, accessibility, consent_given,
 * consent_at, consent_purposes, consent_version, needs, answers; lists are
 * space separated, answers "question=score ...". */
typedef struct {
    cli_importer_t *im;
    char *header[32];
    int nheader;
    char *fields[32];
    int nfields;
    long row;
} cli_csv_t;

static json_object *cli_words(const char *s)
{
    json_object *a = json_object_new_array();
    char buf[1024];
    util_strlcpy(buf, s, sizeof buf);
    char *save = NULL;
    for (char *w = strtok_r(buf, " ,;", &save); w; w = strtok_r(NULL, " ,;", &save))
        json_object_array_add(a, json_object_new_string(w));
    return a;
}

static json_object *cli_csv_to_json(cli_csv_t *c)
{
    json_object *root = json_object_new_object(), *med = json_object_new_object(), *per = json_object_new_object(),
                *adr = json_object_new_object(), *con = json_object_new_object(), *ans = json_object_new_object();
    int has_adr = 0;
    for (int i = 0; i < c->nheader && i < c->nfields; i++) {
        const char *k = c->header[i], *v = c->fields[i];
        if (!*v)
            continue;
        if (!strcmp(k, "branch") || !strcmp(k, "external_ref"))
            json_object_object_add(root, k, json_object_new_string(v));
        else if (!strcmp(k, "mediator_id"))
            json_object_object_add(med, "id", json_object_new_string(v));
        else if (!strcmp(k, "partner"))
            json_object_object_add(med, "partner", json_object_new_string(v));
        else if (!strcmp(k, "person_id") || !strcmp(k, "given_name") || !strcmp(k, "family_name") || !strcmp(k, "phone"))
            json_object_object_add(per, k, json_object_new_string(v));
        else if (!strncmp(k, "address_", 8) || !strcmp(k, "postcode") || !strcmp(k, "city")) {
            json_object_object_add(adr, !strncmp(k, "address_", 8) ? k + 8 : k, json_object_new_string(v));
            has_adr = 1;
        } else if (!strcmp(k, "birth_year"))
            json_object_object_add(per, k, json_object_new_int(atoi(v)));
        else if (!strcmp(k, "availability") || !strcmp(k, "accessibility"))
            json_object_object_add(per, k, cli_words(v));
        else if (!strcmp(k, "consent_given"))
            json_object_object_add(con, "given", json_object_new_boolean(!strcmp(v, "oui") || !strcmp(v, "yes")
                                                                         || !strcmp(v, "true") || !strcmp(v, "1")));
        else if (!strcmp(k, "consent_at"))
            json_object_object_add(con, "given_at", json_object_new_string(v));
        else if (!strcmp(k, "consent_purposes"))
            json_object_object_add(con, "purposes", cli_words(v));
        else if (!strcmp(k, "consent_version"))
            json_object_object_add(con, "text_version", json_object_new_string(v));
        else if (!strcmp(k, "needs"))
            json_object_object_add(root, "needs", cli_words(v));
        else if (!strcmp(k, "answers")) {
            json_object *words = cli_words(v);
            for (size_t j = 0; j < json_object_array_length(words); j++) {
                char pair[96];
                util_strlcpy(pair, json_object_get_string(json_object_array_get_idx(words, j)), sizeof pair);
                char *eq = strchr(pair, '=');
                if (eq) {
                    *eq = '\0';
                    json_object_object_add(ans, pair, json_object_new_int(atoi(eq + 1)));
                }
            }
            json_object_put(words);
        }
    }
    if (has_adr)
        json_object_object_add(per, "address", adr);
    else
        json_object_put(adr);
    json_object_object_add(root, "mediator", med);
    json_object_object_add(root, "person", per);
    json_object_object_add(root, "consent", con);
    json_object_object_add(root, "answers", ans);
    return root;
}

static void cli_csv_field(void *data, size_t len, void *arg)
{
    cli_csv_t *c = arg;
    if (c->nfields < 32) {
        char *s = xmalloc(len + 1);
        memcpy(s, data, len);
        s[len] = '\0';
        c->fields[c->nfields++] = s;
    }
}

static void cli_csv_row(int term, void *arg)
{
    (void)term;
    cli_csv_t *c = arg;
    c->row++;
    if (c->nheader == 0) {
        memcpy(c->header, c->fields, (size_t)c->nfields * sizeof c->fields[0]);
        c->nheader = c->nfields;
    } else {
        cli_import_record(c->im, cli_csv_to_json(c), c->row);
        for (int i = 0; i < c->nfields; i++)
            free(c->fields[i]);
    }
    c->nfields = 0;
}

static int cli_import_csv(cli_importer_t *im, FILE *f)
{
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    cli_csv_t c = { .im = im };
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, n, cli_csv_field, cli_csv_row, &c) != n) {
            fprintf(stderr, "tremplin: CSV: %s (ligne %ld)\n", csv_strerror(csv_error(&p)), c.row + 1);
            rc = -1;
            break;
        }
    csv_fini(&p, cli_csv_field, cli_csv_row, &c);
    csv_free(&p);
    for (int i = 0; i < c.nheader; i++)
        free(c.header[i]);
    for (int i = 0; i < c.nfields; i++)
        free(c.fields[i]);
    return rc;
}

static int cli_import_jsonl(cli_importer_t *im, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        n++;
        if (len <= 1)
            continue;
        char err[256];
        cli_import_record(im, jsondoc_parse(line, err, sizeof err), n);
    }
    free(line);
    return 0;
}

static int cli_referral_import(cli_t *cli, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tremplin: cannot read %s\n", path);
        return 2;
    }
    cli_importer_t im = { .cli = cli, .tty = isatty(2) };
    char err[256], rejects[600];
    snprintf(rejects, sizeof rejects, "%s.rejected", path);
    unlink(rejects);
    im.st.rejects_path = rejects;
    keyring_load(&intake_branches, cli->intake.curve_dir, &im.branches, err, sizeof err);
    im.client = cli_client(cli, "intake");
    if (!im.client) {
        fclose(f);
        keyring_free(&im.branches);
        return 1;
    }
    client_set_window(im.client, 64);
    client_set_retry(im.client, 3000, 5);
    size_t plen = strlen(path);
    int rc = plen > 4 && !strcmp(path + plen - 4, ".csv") ? cli_import_csv(&im, f) : cli_import_jsonl(&im, f);
    while (client_inflight(im.client) > 0)
        client_poll(im.client, 100, cli_import_answer, &im.st);
    fclose(f);
    cli_import_progress(&im, 1);
    if (im.st.rejects)
        fclose(im.st.rejects);
    printf("acceptées=%ld déjà_reçues=%ld rejetées=%ld injoignables=%ld%s%s\n", im.st.accepted, im.st.duplicate,
           im.st.rejected, im.st.unreachable, im.st.rejected ? " rejets=" : "", im.st.rejected ? rejects : "");
    if (im.st.unreachable)
        fprintf(stderr, "tremplin: intake injoignable : %ld lignes sans réponse ; relancer le même import quand intake "
                        "répond (les lignes déjà reçues ne seront pas créées deux fois)\n",
                im.st.unreachable);
    client_destroy(&im.client);
    keyring_free(&im.branches);
    if (rc != 0 || im.st.unreachable)
        return 1;
    return im.st.rejected ? 2 : 0;
}

/* explain REFERRAL_ID: why this workshop, in French, from the matcher's
 * record of its decision (score, level, rules version, reason). */
static int cli_referral_explain(cli_t *cli, const char *rid)
{
    if (!ids_hex(rid)) {
        fprintf(stderr, "tremplin: identifiant d'orientation invalide\n");
        return 2;
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return 1;
    for (int t = 0; t < cli->nterritories; t++) {
        char key[160];
        tp_key(key, sizeof key, cli->territories[t], "matcher", "assignment:%s", rid);
        redisReply *x = rds_cmd(r, "HGETALL %s", key);
        if (!x)
            return 1;
        if (x->type != REDIS_REPLY_ARRAY || x->elements == 0) {
            freeReplyObject(x);
            continue;
        }
        const char *f[9] = { "kind", "kind_title", "level", "score", "outcome", "reason", "rules", "decided_ms",
                             "branch" };
        const char *v[9] = { "", "", "", "", "", "", "", "0", "" };
        for (size_t i = 0; i + 1 < x->elements; i += 2)
            for (int k = 0; k < 9; k++)
                if (!strcmp(x->element[i]->str, f[k]))
                    v[k] = x->element[i + 1]->str;
        char day[11];
        clock_local_day(atoll(v[7]), day);
        printf("Orientation %s (agence %s, territoire %s), décidée le %s\n", rid, v[8], cli->territories[t], day);
        if (!strcmp(v[4], "workshop"))
            printf("Atelier : %s\n", v[1]);
        else if (!strcmp(v[4], "autonomous"))
            printf("Pas d'atelier : personne autonome (accompagnée)\n");
        else
            printf("Pas d'atelier pour l'instant : questionnaire à refaire\n");
        printf("Pourquoi : %s\nRègles appliquées : %s\n", v[5], v[6]);
        freeReplyObject(x);
        return 0;
    }
    printf("Orientation %s inconnue du matcher (pas encore évaluée, ou identifiant erroné).\n", rid);
    return 2;
}

int cli_referral(cli_t *cli, int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[0], "explain"))
        return cli_referral_explain(cli, argv[1]);
    if (argc >= 1 && !strcmp(argv[0], "submit"))
        return cli_referral_submit(cli, argc > 1 ? argv[1] : "-");
    if (argc == 2 && !strcmp(argv[0], "import"))
        return cli_referral_import(cli, argv[1]);
    fprintf(stderr, "usage: tremplin referral submit [FILE|-] | import FILE.csv|FILE.jsonl | explain REFERRAL_ID\n");
    return 2;
}

/* ----------------------------------------------------------------- consent */

int cli_command(cli_t *cli, const char *service, Tremplin__Envelope *env)
{
    if (!env->territory || !env->territory[0])
        env->territory = (char *)cli->territories[0];
    client_t *c = cli_client(cli, service);
    if (!c)
        return 2;
    Tremplin__Envelope *reply = NULL;
    int rc = 1;
    if (client_call(c, env, &reply) == 0)
        rc = cli_print_answer(reply);
    else
        fprintf(stderr, "tremplin: %s injoignable (3 essais)\n", service);
    wire_free(reply, NULL);
    client_destroy(&c);
    return rc;
}

int cli_consent(cli_t *cli, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[0], "withdraw") != 0) {
        fprintf(stderr, "usage: tremplin consent withdraw PERSON_ID training|sms|survey\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__WithdrawConsent w = TREMPLIN__WITHDRAW_CONSENT__INIT;
    w.person_id = argv[1];
    w.purpose = argv[2];
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT;
    env.withdraw_consent = &w;
    return cli_command(cli, "intake", &env);
}
