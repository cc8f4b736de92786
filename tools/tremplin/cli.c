/* Shared context of the tremplin tool: configuration, the line of a
 * command, ZeroMQ, Redis, and how answers are told in French. */
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "gateway/message.h"
#include "gateway/pdf.h"
#include "keys.h"
#include "log.h"
#include "matcher/matcher.h"
#include "services.h"

/* ------------------------------------------------------- configuration */

int cli_conf_part(cli_t *cli, const char *program, const conf_field_t *fields, size_t n, void *base)
{
    svc_conf_t scratch;
    svc_def_t part = { .sections = tp_conf_sections, .conf_fields = fields, .nconf_fields = n, .conf_base = base };
    char err[512];
    if (svc_conf_load(cli->conf_path, program, &scratch, &part, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : configuration invalide : %s\n", err);
        return -1;
    }
    return 0;
}

int cli_init(cli_t *cli, const cli_command_t *cmd, const char *conf_path)
{
    memset(cli, 0, sizeof *cli);
    cli->cmd = cmd;
    zsys_handler_set(NULL);
    log_init("tremplin", TPLOG_WARN);
    const char *env = getenv("TREMPLIN_CONF");
    cli->conf_path = conf_path ? conf_path : env && *env ? env : "tremplin.conf";
    if (access(cli->conf_path, R_OK) != 0) {
        if (errno == ENOENT && !conf_path && !(env && *env))
            fprintf(stderr, "tremplin : fichier de configuration introuvable : ni -c FICHIER, ni $TREMPLIN_CONF, ni "
                            "./tremplin.conf\n");
        else if (errno == ENOENT)
            fprintf(stderr, "tremplin : fichier de configuration introuvable : %s\n", cli->conf_path);
        else
            fprintf(stderr, "tremplin : fichier de configuration illisible : %s (%s)\n", cli->conf_path,
                    strerror(errno));
        return -1;
    }
    /* the operator's settings, then intake's (branch keys), the
     * scheduler's (timetable) and the survey's (kiosk keys), each read as
     * that service reads them */
    svc_def_t operator_part = { .sections = tp_conf_sections };
    char err[512];
    if (svc_conf_load(cli->conf_path, "operator", &cli->conf, &operator_part, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : configuration invalide : %s\n", err);
        return -1;
    }
    if (cli_conf_part(cli, "intake", intake_conf_fields, intake_nconf_fields, &cli->intake) != 0
        || cli_conf_part(cli, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &cli->scheduler) != 0
        || cli_conf_part(cli, "survey", survey_conf_fields, survey_nconf_fields, &cli->survey) != 0)
        return -1;
    /* the tool inspects and repairs whatever Redis it finds; only the
     * services refuse to work on one without AOF */
    cli->conf.redis.require_aof = 0;
    cli->nterritories = svc_territories(&cli->conf, cli->terr_buf, sizeof cli->terr_buf, cli->territories,
                                        SVC_MAX_TERRITORIES);
    /* business time and the venues' zone, as the services have them */
    clock_configure(cli->conf.clock_epoch_ms, cli->conf.clock_start_ms, cli->conf.clock_speed);
    clock_set_timezone(cli->conf.timezone);
    cli->ctx = zmq_ctx_new();
    return 0;
}

const timetable_t *cli_tt(cli_t *cli)
{
    if (!cli->tt_tried) {
        cli->tt_tried = 1;
        cli->tt = xcalloc(1, sizeof *cli->tt);
        char err[512];
        if (timetable_load(cli->scheduler.timetable_path, cli->tt, err, sizeof err) != 0) {
            fprintf(stderr, "attention : calendrier illisible, les lieux sont montrés par leur code : %s\n", err);
            free(cli->tt);
            cli->tt = NULL;
        }
    }
    return cli->tt;
}

const catalogue_t *cli_catalogue(cli_t *cli)
{
    if (!cli->cat_tried) {
        cli->cat_tried = 1;
        matcher_conf_t mc;
        char err[512] = "";
        cli->cat = xmalloc(sizeof *cli->cat);
        if (cli_conf_part(cli, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc) != 0
            || catalogue_load(mc.catalogue_path, cli->cat, err, sizeof err) != 0) {
            if (err[0])
                fprintf(stderr, "attention : catalogue illisible, les ateliers sont montrés par leur code : %s\n", err);
            free(cli->cat);
            cli->cat = NULL;
        }
    }
    return cli->cat;
}

const char *cli_level_fr(cli_t *cli, const char *level, char *out, size_t cap)
{
    const catalogue_t *c = level && level[0] ? cli_catalogue(cli) : NULL;
    for (int k = 0; c && k < c->nlevels; k++)
        if (c->levels[k].level == atoi(level)) {
            util_strlcpy(out, c->levels[k].name_fr, cap);
            return out;
        }
    snprintf(out, cap, "%s", level && level[0] ? level : "non déterminé");
    return out;
}

const char *cli_venue_fr(cli_t *cli, const char *venue)
{
    const timetable_t *tt = cli_tt(cli);
    const tt_venue_t *v = tt ? timetable_venue(tt, venue) : NULL;
    return v ? v->name_fr : venue;
}

const char *cli_kind_fr(cli_t *cli, const char *kind)
{
    const catalogue_t *c = cli_catalogue(cli);
    const cat_kind_t *k = c ? catalogue_kind(c, kind) : NULL;
    return k ? k->title_fr : kind;
}

void cli_fini(cli_t *cli)
{
    if (cli->pdf_used) /* once, at exit: pango and cairo cannot draw again after it */
        pdf_cleanup();
    timetable_free(cli->tt);
    free(cli->tt);
    free(cli->cat);
    rds_destroy(&cli->rds);
    if (cli->ctx)
        zmq_ctx_term(cli->ctx);
}

/* ------------------------------------------------------------- the line */

int cli_misuse(cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tremplin %s : ", cli->cmd ? cli->cmd->name : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", cli->cmd ? cli->cmd->usage : "");
    return CLI_REFUSED;
}

int cli_parse(cli_t *cli, int argc, char **argv, const struct option *opts, int min, int max, cli_args_t *a)
{
    char *args[CLI_MAX_WORDS + 1];
    memset(a, 0, sizeof *a);
    if (argc + 1 > (int)TP_ARRAY_LEN(args)) {
        cli_misuse(cli, "trop d'arguments");
        return -1;
    }
    args[0] = "tremplin";
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    optind = 0; /* glibc: a full reset */
    opterr = 0;
    int o, idx;
    while ((o = getopt_long(argc + 1, args, ":", opts, &idx)) != -1) {
        const char *seen = args[optind - 1];
        if (o == ':') {
            cli_misuse(cli, "il manque la valeur de %s", seen);
            return -1;
        }
        if (o == '?' || o <= 0 || o >= 128) {
            cli_misuse(cli, "option inconnue : %s", seen);
            return -1;
        }
        if (a->opt[o]) {
            cli_misuse(cli, "option donnée deux fois : %s", seen);
            return -1;
        }
        a->opt[o] = optarg ? optarg : "";
    }
    for (int i = optind; i < argc + 1; i++) {
        if (a->nwords == max) {
            cli_misuse(cli, "argument en trop : %s", args[i]);
            return -1;
        }
        a->word[a->nwords++] = args[i];
    }
    if (a->nwords < min) {
        cli_misuse(cli, "il manque %s", a->nwords + 1 == min ? "un argument" : "des arguments");
        return -1;
    }
    return 0;
}

int cli_number(cli_t *cli, const cli_args_t *a, char letter, const char *name, long min, long max, long def,
               long *out)
{
    const char *v = a->opt[(unsigned char)letter];
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max || strspn(v, "0123456789") != strlen(v)) {
        cli_misuse(cli, "--%s : un nombre entier de %ld à %ld est attendu, pas « %s »", name, min, max, v);
        return -1;
    }
    *out = n;
    return 0;
}

int cli_action(cli_t *cli, int argc, char **argv, const char *const *actions)
{
    if (argc < 1) {
        cli_misuse(cli, "quelle action ?");
        return -1;
    }
    for (int i = 0; actions[i]; i++)
        if (!strcmp(argv[0], actions[i]))
            return i;
    cli_misuse(cli, "action inconnue : %s", argv[0]);
    return -1;
}

/* -------------------------------------------------------------- services */

int cli_key(cli_t *cli)
{
    if (cli->cred_state)
        return cli->cred_state;
    const char *env = getenv("TREMPLIN_KEY");
    const char *path = env && *env ? env : cli->conf.tool_key;
    char err[600];
    if (!path[0] && !cli->conf.keys_dir[0])
        return cli->cred_state = 0; /* a deployment whose services take any local process */
    if (!path[0]) {
        fprintf(stderr, "tremplin : pas de clé d'opérateur : [tool] key dans %s, ou $TREMPLIN_KEY (tremplin operator "
                        "add la crée)\n", cli->conf_path);
        return cli->cred_state = -1;
    }
    if (keyring_cred_load(path, &cli->cred, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : clé d'opérateur illisible : %s\n", err);
        return cli->cred_state = -1;
    }
    return cli->cred_state = 1;
}

client_t *cli_client(cli_t *cli, const char *service)
{
    const char *ep = conf_map_get(&cli->conf.endpoints, service);
    if (!ep) {
        fprintf(stderr, "tremplin : pas d'adresse pour « %s » dans [endpoints] de %s\n", service, cli->conf_path);
        return NULL;
    }
    if (cli_key(cli) < 0)
        return NULL;
    client_t *c = client_new(cli->ctx, ep, "tremplin-cli");
    client_set_retry(c, 1500, 3);
    if (cli->cred_state == 1) {
        client_set_curve(c, cli->cred.server_key, cli->cred.public_key, cli->cred.secret_key);
        client_watch_handshakes(c, cli->ctx);
    }
    char err[256];
    if (client_connect(c, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : %s\n", err);
        client_destroy(&c);
    }
    return c;
}

rds_t *cli_redis(cli_t *cli)
{
    if (cli->rds)
        return cli->rds;
    cli->rds = rds_new(&cli->conf.redis, "tremplin-cli");
    char err[256];
    if (rds_connect(cli->rds, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : Redis injoignable : %s\n", err);
        rds_destroy(&cli->rds);
    }
    return cli->rds;
}

int cli_print_json(const Tremplin__Envelope *reply)
{
    json_object *o = json_object_new_object();
    int rc = CLI_REFUSED;
    if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        const Tremplin__Ack *a = reply->ack;
        json_object_object_add(o, "status", json_object_new_string(a->status[0] ? a->status : "ok"));
        const char *ids[][2] = { { "booking_id", a->booking_id },
                                 { "session_id", a->session_id },
                                 { "referral_id", a->referral_id },
                                 { "person_id", a->person_id } };
        for (size_t i = 0; i < TP_ARRAY_LEN(ids); i++)
            if (ids[i][1][0])
                json_object_object_add(o, ids[i][0], json_object_new_string(ids[i][1]));
        json_object_object_add(o, "duplicate", json_object_new_boolean(a->duplicate));
        rc = CLI_OK;
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
        const Tremplin__Error *e = reply->error;
        json_object *err = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string(e->code));
        json_object_object_add(err, "field", json_object_new_string(e->field));
        json_object_object_add(err, "message", json_object_new_string(e->message_fr));
        json_object_object_add(o, "status", json_object_new_string("rejected"));
        json_object_object_add(o, "error", err);
        if (e->retryable)
            rc = CLI_UNREACHABLE;
    }
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return rc;
}

int cli_refuse(cli_t *cli, const char *code, const char *field, const char *message)
{
    if (cli->json) {
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Error e = TREMPLIN__ERROR__INIT;
        e.code = (char *)code;
        e.field = (char *)field;
        e.message_fr = (char *)message;
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERROR;
        env.error = &e;
        return cli_print_json(&env);
    }
    fprintf(stderr, "refusé : %s\n", message);
    return CLI_REFUSED;
}

int cli_send(cli_t *cli, const char *service, Tremplin__Envelope *env, cli_tell_fn tell, void *arg)
{
    if (!env->territory || !env->territory[0])
        env->territory = (char *)cli->territories[0];
    client_t *c = cli_client(cli, service);
    if (!c)
        return CLI_UNREACHABLE;
    Tremplin__Envelope *reply = NULL;
    int rc = CLI_UNREACHABLE;
    if (client_call(c, env, &reply) != 0) {
        rc = cli_unanswered(cli, c, service);
    } else if (cli->json) {
        rc = cli_print_json(reply);
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        tell(cli, reply->ack, arg);
        rc = CLI_OK;
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
        const Tremplin__Error *e = reply->error;
        if (e->retryable) {
            fprintf(stderr, "tremplin : le service %s ne peut pas répondre maintenant (%s) : réessayer dans un moment\n",
                    service, e->message_fr[0] ? e->message_fr : e->code);
        } else {
            fprintf(stderr, "refusé : %s [%s%s%s]\n", e->message_fr[0] ? e->message_fr : "(sans motif)", e->code,
                    e->field[0] ? ", " : "", e->field);
            rc = CLI_REFUSED;
        }
    }
    wire_free(reply, NULL);
    client_destroy(&c);
    return rc;
}

int cli_unanswered(cli_t *cli, client_t *c, const char *service)
{
    if (client_key_refused(c)) {
        fprintf(stderr, "tremplin : le service %s refuse la clé d'opérateur %s (inconnue ou révoquée) : rien n'est "
                        "envoyé ; demander une clé à la coordination (tremplin operator add)\n",
                service, cli->cred.id[0] ? cli->cred.id : "");
        return CLI_REFUSED;
    }
    fprintf(stderr, "tremplin : le service %s ne répond pas (3 essais) : rien n'est sûr ; relancer la même commande est "
                    "sans danger\n", service);
    return CLI_UNREACHABLE;
}

int cli_record_read(cli_t *cli, const char *service, const char *territory, const char *action, const char *subject)
{
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
    Tremplin__RecordRead r = TREMPLIN__RECORD_READ__INIT;
    r.action = (char *)action;
    r.subject = (char *)subject;
    r.trainer_id = cli_key(cli) == 1 ? cli->cred.trainer : "";
    r.branch = cli_key(cli) == 1 ? cli->cred.branch : "";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ;
    env.record_read = &r;
    env.territory = (char *)territory;
    client_t *c = cli_client(cli, service);
    if (!c)
        return CLI_UNREACHABLE;
    int rc = CLI_UNREACHABLE;
    if (client_call(c, &env, &reply) != 0)
        rc = cli_unanswered(cli, c, service);
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        rc = CLI_OK;
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
        fprintf(stderr, "refusé : %s [%s]\n", reply->error->message_fr[0] ? reply->error->message_fr : "(sans motif)",
                reply->error->code);
        rc = reply->error->retryable ? CLI_UNREACHABLE : CLI_REFUSED;
    }
    wire_free(reply, NULL);
    client_destroy(&c);
    return rc;
}

const char *cli_person_territory(cli_t *cli, const char *person_id)
{
    rds_t *r = cli->nterritories > 1 ? cli_redis(cli) : NULL;
    for (int t = 0; r && t < cli->nterritories; t++) {
        char key[160];
        tp_key(key, sizeof key, cli->territories[t], "intake", "person:%s", person_id);
        redisReply *x = rds_cmd(r, "EXISTS %s", key);
        int found = x && x->type == REDIS_REPLY_INTEGER && x->integer == 1;
        if (x)
            freeReplyObject(x);
        if (found)
            return cli->territories[t];
    }
    return cli->territories[0];
}

/* --------------------------------------------------------------- French */

const char *cli_status_fr(const char *status)
{
    static const struct {
        const char *code, *fr;
    } st[] = {
        { "booked", "réservée" },
        { "offered", "place proposée, en attente de réponse" },
        { "declined", "proposition déclinée" },
        { "expired", "proposition expirée sans réponse" },
        { "cancelled", "annulée" },
        { "session_cancelled", "séance annulée" },
        { "capacity_cut", "places réduites" },
        { "withdrawn", "retirée (présence corrigée)" },
        { "consent_withdrawn", "consentement retiré" },
        { "seen", "présent(e)" },
        { "noshow", "absent(e)" },
        { "excused", "excusé(e)" },
        { "waitlisted", "en liste d'attente" },
        { "waiting", "en liste d'attente" },
        { "already", "déjà inscrite" },
        { "accepted", "acceptée" },
        { "open", "ouverte" },
        { "closing", "en cours d'annulation" },
        { "given", "donné" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(st); i++)
        if (!strcmp(st[i].code, status))
            return st[i].fr;
    return status;
}

const char *cli_purpose_fr(const char *purpose)
{
    return !strcmp(purpose, "training") ? "formation" : !strcmp(purpose, "sms") ? "SMS"
                                                      : !strcmp(purpose, "survey") ? "questionnaire de satisfaction"
                                                                                   : purpose;
}

void cli_when_fr(int64_t ms, char *out, size_t cap)
{
    char when[MSG_DATE_MAX];
    msg_when_fr(clock_zone(), ms, 1, when);
    util_strlcpy(out, when, cap);
}

void cli_date_fr(int64_t ms, char out[11])
{
    if (ms <= 0) {
        out[0] = '\0';
        return;
    }
    char day[11];
    clock_local_day(ms, day); /* YYYY-MM-DD */
    snprintf(out, 11, "%.2s/%.2s/%.4s", day + 8, day + 5, day);
}

int cli_chars(const char *s)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80; /* continuation bytes are not characters */
    return chars;
}

const char *cli_pad(const char *s, int width, char *out, size_t cap)
{
    int chars = cli_chars(s);
    int n = snprintf(out, cap, "%s%*s", s, chars < width ? width - chars : 0, "");
    (void)n;
    return out;
}

void cli_fit(int *width, const char *s)
{
    int chars = cli_chars(s ? s : "");
    if (chars > *width)
        *width = chars;
}

void cli_row(const int *widths, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *s = va_arg(ap, const char *);
        char cell[512];
        if (i + 1 < n)
            printf("%s  ", cli_pad(s ? s : "", widths[i], cell, sizeof cell));
        else
            printf("%s\n", s ? s : "");
    }
    va_end(ap);
}
