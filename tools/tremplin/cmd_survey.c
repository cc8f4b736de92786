/* tremplin survey — paper forms typed in (one as JSON, many as CSV), and a
 * participation shown as staff need it. Both send SubmitSurvey to the survey
 * service with channel "paper" unless the form says otherwise; the service
 * decides (README, "Satisfaction survey"). */
#include <csv.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "jsondoc.h"
#include "keys.h"
#include "survey/survey.h"

/* One form as the tool reads it: JSON keys (and CSV columns) of the same
 * names as SubmitSurvey's fields; satisfaction 1-4, wants_more true/false
 * (CSV: oui/non), both optional. */
typedef struct {
    char participation_id[40], person_id[40], session_id[72], topic[40], channel[16];
    char comment[SURVEY_COMMENT_MAX * 4 + 1];
    int satisfaction, wants_more; /* wants_more -1: not said */
} cli_form_t;

static const char *const form_keys[] = { "participation_id", "person_id", "session_id", "satisfaction", "wants_more",
                                         "requested_topic", "comment", "channel", NULL };

static int form_from_json(json_object *root, cli_form_t *f, char *err, size_t errlen)
{
    jsondoc_t jd = { err, errlen, 1 };
    memset(f, 0, sizeof *f);
    f->wants_more = -1;
    util_strlcpy(f->channel, "paper", sizeof f->channel);
    if (jsondoc_object(&jd, root, "", form_keys) != 0
        || jsondoc_str(&jd, root, "", "participation_id", 0, f->participation_id, sizeof f->participation_id) != 0
        || jsondoc_str(&jd, root, "", "person_id", 0, f->person_id, sizeof f->person_id) != 0
        || jsondoc_str(&jd, root, "", "session_id", 0, f->session_id, sizeof f->session_id) != 0
        || jsondoc_int(&jd, root, "", "satisfaction", 0, 1, 4, &f->satisfaction) != 0
        || jsondoc_bool(&jd, root, "", "wants_more", 0, &f->wants_more) != 0
        || jsondoc_str(&jd, root, "", "requested_topic", 0, f->topic, sizeof f->topic) != 0
        || jsondoc_str(&jd, root, "", "comment", 0, f->comment, sizeof f->comment) != 0)
        return -1;
    if (json_object_object_get_ex(root, "channel", NULL)
        && jsondoc_str(&jd, root, "", "channel", 1, f->channel, sizeof f->channel) != 0)
        return -1;
    return 0;
}

static void form_envelope(cli_t *cli, cli_form_t *f, Tremplin__Envelope *env, Tremplin__SubmitSurvey *s)
{
    tremplin__envelope__init(env);
    tremplin__submit_survey__init(s);
    s->participation_id = f->participation_id;
    s->person_id = f->person_id;
    s->session_id = f->session_id;
    s->satisfaction = (uint32_t)f->satisfaction;
    s->wants_more_given = f->wants_more >= 0;
    s->wants_more = f->wants_more == 1;
    s->requested_topic = f->topic;
    s->comment = f->comment;
    s->channel = f->channel;
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    env->submit_survey = s;
    env->territory = (char *)cli->territories[0];
}

static void cli_tell_survey(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    (void)arg;
    printf("Réponse au questionnaire enregistrée%s\n", ack->duplicate ? " (elle l'était déjà : rien de changé)" : "");
}

/* submit [FILE|-]: one form as JSON; the answer in French, or as JSON. */
static int cli_survey_submit(cli_t *cli, const char *path)
{
    char err[256];
    char *text = strcmp(path, "-") ? jsondoc_read(path, err, sizeof err) : jsondoc_fread(stdin, err, sizeof err);
    if (!text) {
        fprintf(stderr, "tremplin : %s : lecture impossible (%s)\n", path, err);
        return CLI_REFUSED;
    }
    json_object *root = jsondoc_parse_fr(text, err, sizeof err);
    free(text);
    cli_form_t f;
    if (!root || form_from_json(root, &f, err, sizeof err) != 0) {
        json_object_put(root);
        return cli_refuse(cli, "INVALID_JSON", "", err);
    }
    json_object_put(root);
    Tremplin__Envelope env;
    Tremplin__SubmitSurvey s;
    form_envelope(cli, &f, &env, &s);
    return cli_send(cli, "survey", &env, cli_tell_survey, NULL);
}

/* ------------------------------------------------------------------ import */

/* import FILE.csv: a header row naming the columns (those of the JSON form,
 * any order; wants_more oui/non), one form a line, sent one after the other.
 * Refused lines go to FILE.csv.rejected with their code and French reason;
 * once the survey service does not answer a line, the rest are counted
 * unreachable (run the same import again later: a form already received is
 * answered as such, nothing is counted twice). */
typedef struct {
    cli_t *cli;
    client_t *client;
    char *header[16], *fields[16];
    int nheader, nfields;
    long row, accepted, duplicate, rejected, unreachable;
    FILE *rejects;
    const char *rejects_path;
} cli_survey_import_t;

static void import_reject(cli_survey_import_t *im, const char *code, const char *field, const char *msg)
{
    if (!im->rejects)
        im->rejects = fopen(im->rejects_path, "w");
    if (im->rejects)
        fprintf(im->rejects, "ligne %ld: %s %s — %s\n", im->row, code, field, msg);
    im->rejected++;
}

/* The CSV line as the JSON form, so both are read by one reader; NULL
 * (the line refused, its line and column named) when a yes/no cell says
 * neither: "peut-être" is never taken for a "no". */
static json_object *import_json(cli_survey_import_t *im)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < im->nheader && i < im->nfields; i++) {
        const char *k = im->header[i], *v = im->fields[i];
        if (!*v)
            continue;
        if (!strcmp(k, "satisfaction"))
            json_object_object_add(o, k, json_object_new_int(atoi(v)));
        else if (!strcmp(k, "wants_more")) {
            int yes = survey_yes_no(v);
            if (yes < 0) {
                char msg[200];
                snprintf(msg, sizeof msg, "colonne %d (%s) : « %.40s » n'est ni oui ni non (oui/non, o/n, 1/0)", i + 1,
                         k, v);
                fprintf(stderr, "tremplin: ligne %ld, %s\n", im->row, msg);
                import_reject(im, "INVALID_FIELD", k, msg);
                json_object_put(o);
                return NULL;
            }
            json_object_object_add(o, k, json_object_new_boolean(yes));
        } else
            json_object_object_add(o, k, json_object_new_string(v));
    }
    return o;
}

static void import_line(cli_survey_import_t *im)
{
    if (im->unreachable) {
        im->unreachable++;
        return;
    }
    json_object *o = import_json(im);
    if (!o)
        return;
    cli_form_t f;
    char err[256];
    if (form_from_json(o, &f, err, sizeof err) != 0) {
        import_reject(im, "INVALID_JSON", "", err);
        json_object_put(o);
        return;
    }
    json_object_put(o);
    Tremplin__Envelope env, *reply = NULL;
    Tremplin__SubmitSurvey s;
    form_envelope(im->cli, &f, &env, &s);
    if (client_call(im->client, &env, &reply) != 0
        || (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && reply->error->retryable))
        im->unreachable++;
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        reply->ack->duplicate ? im->duplicate++ : im->accepted++;
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR)
        import_reject(im, reply->error->code, reply->error->field, reply->error->message_fr);
    wire_free(reply, NULL);
}

static void import_field(void *data, size_t len, void *arg)
{
    cli_survey_import_t *im = arg;
    if (im->nfields < (int)TP_ARRAY_LEN(im->fields)) {
        char *s = xmalloc(len + 1);
        memcpy(s, data, len);
        s[len] = '\0';
        im->fields[im->nfields++] = s;
    }
}

static void import_row(int term, void *arg)
{
    (void)term;
    cli_survey_import_t *im = arg;
    im->row++;
    if (im->nheader == 0) {
        memcpy(im->header, im->fields, (size_t)im->nfields * sizeof im->fields[0]);
        im->nheader = im->nfields;
    } else {
        import_line(im);
        for (int i = 0; i < im->nfields; i++)
            free(im->fields[i]);
    }
    im->nfields = 0;
}

static int cli_survey_import(cli_t *cli, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tremplin: impossible de lire %s\n", path);
        return 2;
    }
    char rejects[600];
    snprintf(rejects, sizeof rejects, "%s.rejected", path);
    unlink(rejects);
    cli_survey_import_t im = { .cli = cli, .rejects_path = rejects };
    im.client = cli_client(cli, "survey");
    if (!im.client) {
        fclose(f);
        return 1;
    }
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, n, import_field, import_row, &im) != n) {
            fprintf(stderr, "tremplin: CSV : %s (ligne %ld)\n", csv_strerror(csv_error(&p)), im.row + 1);
            rc = 2;
            break;
        }
    csv_fini(&p, import_field, import_row, &im);
    csv_free(&p);
    fclose(f);
    for (int i = 0; i < im.nheader; i++)
        free(im.header[i]);
    for (int i = 0; i < im.nfields; i++)
        free(im.fields[i]);
    if (im.rejects)
        fclose(im.rejects);
    client_destroy(&im.client);
    printf("acceptées=%ld déjà_reçues=%ld rejetées=%ld injoignables=%ld%s%s\n", im.accepted, im.duplicate, im.rejected,
           im.unreachable, im.rejected ? " rejets=" : "", im.rejected ? rejects : "");
    if (im.unreachable) {
        fprintf(stderr, "tremplin: le service survey ne répond pas : %ld lignes sans réponse ; relancer le même import "
                        "(les réponses déjà reçues ne sont pas comptées deux fois)\n",
                im.unreachable);
        return 1;
    }
    return rc ? rc : im.rejected ? 2 : 0;
}

/* -------------------------------------------------------------------- show */

/* show PARTICIPATION | PERSON SESSION: the participation's record (never the
 * comment: whether there is one, and until when it is kept). */
static int cli_survey_show(cli_t *cli, const char **words, int n)
{
    char id[TP_ID_LEN + 1];
    if (n == 2 && ids_hex(words[0]) && ids_valid(words[1], 64)) {
        char err[256];
        if (util_id_key_load(cli->conf.id_key_file, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: %s\n", err);
            return 1;
        }
        survey_participation_id(words[0], words[1], id);
    } else if (n == 1 && ids_hex(words[0])) {
        util_strlcpy(id, words[0], sizeof id);
    } else {
        fprintf(stderr, "tremplin: identifiant de questionnaire (ou personne et séance) invalide\n");
        return 2;
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return 1;
    static const char *const fields[] = { "person", "session", "kind", "attendance", "status", "closed_reason",
                                          "invited_ms", "reminded_ms", "answered_ms", "channel", "satisfaction",
                                          "more", "deadline_ms", "commented_ms", "comment_purged_ms" };
    static const char *const labels[] = { "personne", "séance", "atelier", "présence", "état", "fermé parce que",
                                          "invitation", "relance", "réponse", "canal", "satisfaction (1-4)",
                                          "autre atelier", "date limite", "commentaire reçu", "commentaire effacé" };
    for (int t = 0; t < cli->nterritories; t++) {
        char key[160];
        tp_key(key, sizeof key, cli->territories[t], "survey", "participation:%s", id);
        redisReply *x = rds_cmd(r, "HGETALL %s", key);
        if (!x)
            return 1;
        if (x->type == REDIS_REPLY_ARRAY && x->elements > 0) {
            printf("questionnaire %s (territoire %s)\n", id, cli->territories[t]);
            for (size_t k = 0; k < TP_ARRAY_LEN(fields); k++)
                for (size_t i = 0; i + 1 < x->elements; i += 2)
                    if (!strcmp(x->element[i]->str, fields[k])) {
                        const char *v = x->element[i + 1]->str;
                        char day[11];
                        if (strstr(fields[k], "_ms")) {
                            clock_local_day(atoll(v), day);
                            v = day;
                        }
                        printf("  %-20s %s\n", labels[k], !strcmp(fields[k], "more") ? (v[0] == '1' ? "oui" : "non") : v);
                    }
            freeReplyObject(x);
            return 0;
        }
        freeReplyObject(x);
    }
    printf("questionnaire %s inconnu\n", id);
    return 2;
}

int cli_survey(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "submit", "import", "show", NULL };
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    static const int min[] = { 0, 1, 1 }, max[] = { 1, 1, 2 };
    int act = cli_action(cli, argc, argv, actions);
    cli_args_t a;
    if (act < 0 || cli_parse(cli, argc - 1, argv + 1, opts, min[act], max[act], &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    if (cli->json && act != 0)
        return cli_misuse(cli, "--json : pour submit");
    if (act == 0)
        return cli_survey_submit(cli, a.nwords ? a.word[0] : "-");
    if (act == 1)
        return cli_survey_import(cli, a.word[0]);
    return cli_survey_show(cli, a.word, a.nwords);
}
