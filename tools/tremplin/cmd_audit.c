/* tremplin audit — the audit trail (audit:{T}, common/bus.lua): who sent
 * which command, who read whose personal data, oldest first. The tool only
 * reads it (its Redis user may not write it). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cli.h"
#include "clock.h"
#include "ids.h"

static const char *audit_action_fr(const char *action)
{
    static const char *const fr[][2] = {
        { "person_show", "fiche d'une personne" },     { "person_export", "export des données d'une personne" },
        { "roster", "liste d'une séance" },            { "worklist", "liste de travail" },
        { "letters", "lettres à poster" },             { "submit_referral", "orientation" },
        { "withdraw_consent", "retrait de consentement" }, { "give_consent", "consentement donné" },
        { "mark_attendance", "présence notée" },       { "answer_offer", "réponse à une proposition" },
        { "cancel_booking", "réservation annulée" },   { "cancel_session", "séance annulée" },
        { "reopen_session", "séance rouverte" },       { "close_period", "période close" },
        { "submit_survey", "questionnaire saisi" },    { "probe", "sonde" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(fr); i++)
        if (!strcmp(fr[i][0], action))
            return fr[i][1];
    return action;
}

/* An entry's field, "" when it has none. */
static const char *audit_field(const redisReply *fields, const char *name)
{
    for (size_t j = 0; j + 1 < fields->elements; j += 2)
        if (!strcmp(fields->element[j]->str, name))
            return fields->element[j + 1]->str;
    return "";
}

int cli_audit(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "since", required_argument, NULL, 's' },
                                          { "operator", required_argument, NULL, 'o' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    const char *op = a.opt['o'];
    if (op && !ids_valid(op, KEYRING_ID_MAX - 1))
        return cli_misuse(cli, "--operator : identifiant invalide : %s", op);
    long long since = 0;
    int32_t days;
    if (a.opt['s']) {
        if (cal_parse_date(a.opt['s'], 2000, 2100, &days) != 0)
            return cli_misuse(cli, "--since : date attendue AAAA-MM-JJ, pas « %s »", a.opt['s']);
        since = (long long)cal_from_local(clock_zone(), days, 0);
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    json_object *all = json_object_new_array();
    static const int w[] = { 34, 14, 9, 34, 32 };
    if (!cli->json)
        cli_row(w, 5, "quand", "opérateur", "nature", "action", "objet");
    int rc = CLI_OK;
    for (int t = 0; t < cli->nterritories && rc == CLI_OK; t++) {
        redisReply *x = rds_cmd(r, "XRANGE audit:{%s} %lld +", cli->territories[t], since);
        if (!x || x->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "tremplin : journal d'audit illisible (%s)\n", x && x->str ? x->str : "Redis injoignable");
            rc = CLI_UNREACHABLE;
        }
        for (size_t i = 0; rc == CLI_OK && i < x->elements; i++) {
            const redisReply *f = x->element[i]->element[1];
            const char *who = audit_field(f, "op");
            if (op && strcmp(op, who))
                continue;
            int64_t ms = atoll(x->element[i]->element[0]->str);
            const char *kind = audit_field(f, "kind"), *action = audit_field(f, "action");
            const char *subject = audit_field(f, "subject");
            if (cli->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "time_ms", json_object_new_int64(ms));
                json_object_object_add(o, "operator", json_object_new_string(who));
                json_object_object_add(o, "kind", json_object_new_string(kind));
                json_object_object_add(o, "action", json_object_new_string(action));
                json_object_object_add(o, "service", json_object_new_string(audit_field(f, "svc")));
                json_object_object_add(o, "subject", json_object_new_string(subject));
                json_object_object_add(o, "territory", json_object_new_string(cli->territories[t]));
                json_object_array_add(all, o);
            } else {
                char when[96];
                cli_when_fr(ms, when, sizeof when);
                cli_row(w, 5, when, who, !strcmp(kind, "read") ? "lecture" : "écriture", audit_action_fr(action),
                        subject[0] ? subject : "-");
            }
        }
        if (x)
            freeReplyObject(x);
    }
    if (cli->json)
        printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(all);
    return rc;
}
