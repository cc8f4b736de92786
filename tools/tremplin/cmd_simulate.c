/* tremplin simulate — branch systems for demos and load: each simulated
 * post office is a client with its own CURVE key on intake's branch
 * endpoint, sending realistic referrals drawn from a seeded generator (the
 * same seed gives the same referrals, so a run can be replayed). */
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "intake/intake.h"
#include "intake/referral.h"

/* xorshift64*: small, seedable, good enough for test data */
static uint64_t sim_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int sim_pick(uint64_t *s, int n) { return (int)(sim_next(s) % (uint64_t)n); }

static const char *const sim_names[] = { "Josiane", "Marcel", "Fatima", "Jean-Pierre", "Odette", "Ahmed", "Colette",
                                         "Bernard", "Mireille", "Yves", "Nadia", "Gérard", "Lucienne", "Mohamed",
                                         "Simone", "René", "Aïcha", "Paulette", "Claude", "Huguette" };
static const char *const sim_questions[] = { "mouse_touch", "email", "online_form", "attach_document",
                                             "online_banking", "spot_fraud", "passwords", "video_call" };

typedef struct {
    char id[KEYRING_ID_MAX];
    char territory[17];
    client_t *client;
    long seq;
} sim_branch_t;

#define SIM_MAX_CODES 16
#define SIM_ORIGIN "simulation" /* the mark of the branches it makes (keyring origin) */

typedef struct {
    long accepted, duplicate, rejected, unreachable;
    struct {
        char code[48];
        char example[160]; /* the first French message of that code */
        long n;
    } codes[SIM_MAX_CODES]; /* the rejections by reason */
    int ncodes;
} sim_count_t;

static void sim_answer(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    (void)tag;
    sim_count_t *c = arg;
    if (!reply || (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && reply->error->retryable)) {
        c->unreachable++;
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        reply->ack->duplicate ? c->duplicate++ : c->accepted++;
    } else {
        c->rejected++;
        const char *code = reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->code : "?";
        int i = 0;
        while (i < c->ncodes && strcmp(c->codes[i].code, code))
            i++;
        if (i == c->ncodes && c->ncodes < SIM_MAX_CODES) {
            util_strlcpy(c->codes[i].code, code, sizeof c->codes[i].code);
            util_strlcpy(c->codes[i].example,
                         reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->message_fr : "",
                         sizeof c->codes[i].example);
            c->ncodes++;
        }
        if (i < c->ncodes)
            c->codes[i].n++;
    }
}

/* Every field of a referral comes from the seed and the period, none from
 * the clock: the same seed sends the same referrals again (answered "déjà
 * reçues"), so a demo can be replayed on its own data. The period is a
 * 30-day block of business time; consent is dated at most an hour before it
 * starts, always within intake's 90 days. A new period is a new series
 * (its external references carry the period). */
#define SIM_PERIOD_MS (30LL * 86400000LL)

/* One realistic referral of branch b, drawn from the generator. */
static void sim_referral(uint64_t *rng, sim_branch_t *b, int64_t period_start, Tremplin__Envelope *env)
{
    static char ext[96], phone[16], *avail[4], *needs[3], *purposes[3], qbuf[8][24];
    static Tremplin__SubmitReferral r;
    static Tremplin__Mediator m;
    static Tremplin__Person p;
    static Tremplin__PostalAddress a;
    static Tremplin__Consent c;
    static Tremplin__Answer ans[8], *answers[8];
    tremplin__submit_referral__init(&r);
    tremplin__mediator__init(&m);
    tremplin__person__init(&p);
    tremplin__postal_address__init(&a);
    tremplin__consent__init(&c);
    snprintf(ext, sizeof ext, "SIM-%s-P%lld-%06ld", b->id, (long long)(period_start / SIM_PERIOD_MS), ++b->seq);
    r.branch = b->id;
    r.external_ref = ext;
    m.id = (char *)(sim_pick(rng, 2) ? "med-pimms-01" : "med-pimms-02");
    m.partner = "pimms";
    r.mediator = &m;
    p.given_name = (char *)sim_names[sim_pick(rng, (int)TP_ARRAY_LEN(sim_names))];
    int by_post = sim_pick(rng, 5) == 0; /* many have no mobile */
    if (!by_post) {
        snprintf(phone, sizeof phone, "0%d%08d", 6 + sim_pick(rng, 2), sim_pick(rng, 100000000));
        p.phone = phone;
    } else {
        a.line1 = "12 rue de la République";
        a.postcode = "42000";
        a.city = "Saint-Étienne";
        p.address = &a;
    }
    p.birth_year = (uint32_t)(1935 + sim_pick(rng, 55));
    int navail = 1 + sim_pick(rng, 4), first = sim_pick(rng, 11);
    for (int i = 0; i < navail; i++)
        avail[i] = (char *)referral_half_days[(first + i * 3) % 11];
    p.availability = avail;
    p.n_availability = (size_t)navail;
    r.person = &p;
    c.given = sim_pick(rng, 20) != 0; /* one in twenty declines */
    c.given_at_ms = (uint64_t)(period_start - sim_pick(rng, 3600) * 1000);
    int np = 0;
    purposes[np++] = "training";
    if (!by_post)
        purposes[np++] = "sms";
    if (sim_pick(rng, 10))
        purposes[np++] = "survey";
    c.purposes = purposes;
    c.n_purposes = (size_t)np;
    c.text_version = "2026-09";
    r.consent = &c;
    int nneeds = 1 + sim_pick(rng, 3);
    for (int i = 0; i < nneeds; i++)
        needs[i] = (char *)referral_needs[(sim_pick(rng, 9) + i) % 9];
    for (int i = 1; i < nneeds; i++) /* the draw may repeat a need: keep distinct */
        for (int j = 0; j < i; j++)
            if (needs[i] == needs[j])
                nneeds = i;
    r.needs = needs;
    r.n_needs = (size_t)nneeds;
    int level = sim_pick(rng, 4); /* how at ease the person is: 0..3 */
    for (int i = 0; i < 8; i++) {
        tremplin__answer__init(&ans[i]);
        util_strlcpy(qbuf[i], sim_questions[i], sizeof qbuf[i]);
        ans[i].question_id = qbuf[i];
        int score = level - 1 + sim_pick(rng, 3);
        ans[i].score = score < 0 ? 0 : score > 3 ? 3 : score;
        answers[i] = &ans[i];
    }
    r.answers = answers;
    r.n_answers = 8;
    tremplin__envelope__init(env);
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env->submit_referral = &r;
    env->territory = b->territory;
}

client_t *cli_sim_connect(cli_t *cli, const char *id)
{
    char path[600];
    snprintf(path, sizeof path, "%s/branch-secrets/%s.key_secret", cli->intake.curve_dir, id);
    zcert_t *cert = zcert_load(path);
    const char *ep = conf_map_get(&cli->conf.endpoints, "intake_branch");
    if (!cert || !ep) {
        fprintf(stderr, "tremplin : %s : pas de clé d'agence, ou pas de [endpoints] intake_branch\n", path);
        zcert_destroy(&cert);
        return NULL;
    }
    client_t *c = client_new(cli->ctx, ep, id);
    client_set_curve(c, zcert_meta(cert, "server-key"), zcert_public_txt(cert), zcert_secret_txt(cert));
    zcert_destroy(&cert);
    char err[256];
    if (client_connect(c, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : %s\n", err);
        client_destroy(&c);
    }
    return c;
}

int cli_sim_branch_add(cli_t *cli, const char *id, const char *name, const char *territory)
{
    char err[512];
    return keyring_add(&intake_branches, cli->intake.curve_dir, id, name, territory,
                       conf_map_get(&cli->conf.endpoints, "intake_branch"), clock_real_ms(), SIM_ORIGIN, err,
                       sizeof err) == 0;
}

void cli_sim_wait_registry(cli_t *cli)
{
    /* intake looks at its registry every watch_ms */
    struct timespec ts = { (time_t)((cli->intake.watch_ms * 2) / 1000), (long)((cli->intake.watch_ms * 2) % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* simulate --remove: the simulated branches go (their referrals stay:
 * they are data like any other, under branch ids sim-NN). */
static int sim_remove(cli_t *cli)
{
    keyring_t k;
    char err[512];
    if (keyring_load(&intake_branches, cli->intake.curve_dir, &k, err, sizeof err) != 0)
        fprintf(stderr, "tremplin : %s\n", err);
    int removed = 0, rc = CLI_OK;
    for (int i = 0; i < k.n; i++) {
        if (strcmp(k.items[i].origin, SIM_ORIGIN))
            continue;
        if (keyring_remove(&intake_branches, cli->intake.curve_dir, k.items[i].id, SIM_ORIGIN, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin : %s\n", err);
            rc = CLI_REFUSED;
        } else {
            removed++;
        }
    }
    keyring_free(&k);
    printf("%d agence%s simulée%s retirée%s (les autres ne sont pas touchées)\n", removed, removed > 1 ? "s" : "",
           removed > 1 ? "s" : "", removed > 1 ? "s" : "");
    return rc;
}

/* simulate [--branches N] [--count N] [--seed S] [--rate PER_S] | --remove */
int cli_simulate(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "branches", required_argument, NULL, 'b' },
                                          { "count", required_argument, NULL, 'n' },
                                          { "seed", required_argument, NULL, 's' },
                                          { "rate", required_argument, NULL, 'r' },
                                          { "remove", no_argument, NULL, 'R' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    long nbranches, count, rate, seed_l;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0 || cli_number(cli, &a, 'b', "branches", 1, 99, 3, &nbranches) != 0
        || cli_number(cli, &a, 'n', "count", 0, 10000000, 100, &count) != 0
        || cli_number(cli, &a, 's', "seed", 0, 2147483647L, 42, &seed_l) != 0
        || cli_number(cli, &a, 'r', "rate", 0, 1000000, 0, &rate) != 0)
        return CLI_REFUSED;
    if (a.opt['R']) {
        if (a.opt['b'] || a.opt['n'] || a.opt['s'] || a.opt['r'])
            return cli_misuse(cli, "--remove seul");
        return sim_remove(cli);
    }
    uint64_t seed = (uint64_t)seed_l;
    sim_branch_t *b = xcalloc((size_t)nbranches, sizeof *b);
    int added = 0;
    for (long i = 0; i < nbranches; i++) {
        snprintf(b[i].id, sizeof b[i].id, "sim-%02ld", i + 1);
        util_strlcpy(b[i].territory, cli->territories[0], sizeof b[i].territory);
        char name[64];
        snprintf(name, sizeof name, "Bureau simulé %02ld", i + 1);
        added += cli_sim_branch_add(cli, b[i].id, name, b[i].territory) == 1;
    }
    if (added)
        cli_sim_wait_registry(cli);
    int rc = 0;
    for (long i = 0; i < nbranches; i++) {
        b[i].client = cli_sim_connect(cli, b[i].id);
        if (!b[i].client) {
            rc = 1;
            goto done;
        }
        client_set_window(b[i].client, 32);
        client_set_retry(b[i].client, 3000, 5);
    }
    uint64_t rng = seed * 2654435761ULL + 1;
    int64_t period_start = clock_now_ms() / SIM_PERIOD_MS * SIM_PERIOD_MS;
    sim_count_t counts = { 0 };
    int64_t t0 = clock_mono_ms();
    for (long n = 0; n < count; n++) {
        sim_branch_t *br = &b[sim_pick(&rng, (int)nbranches)];
        Tremplin__Envelope env;
        sim_referral(&rng, br, period_start, &env);
        while (client_send(br->client, &env, (uint64_t)n) != 0)
            client_poll(br->client, 50, sim_answer, &counts);
        for (long i = 0; i < nbranches; i++)
            client_poll(b[i].client, 0, sim_answer, &counts);
        if (rate > 0) { /* pace: n+1 sent by t0 + (n+1)/rate */
            int64_t due = t0 + (n + 1) * 1000 / rate, now = clock_mono_ms();
            if (due > now) {
                struct timespec ts = { (time_t)((due - now) / 1000), (long)((due - now) % 1000) * 1000000L };
                nanosleep(&ts, NULL);
            }
        }
    }
    for (int busy = 1; busy;) {
        busy = 0;
        for (long i = 0; i < nbranches; i++)
            busy |= client_poll(b[i].client, 20, sim_answer, &counts) > 0;
    }
    int64_t ms = clock_mono_ms() - t0;
    printf("%ld orientation%s envoyée%s par %ld agence%s simulée%s en %.1f s : %ld acceptée%s, %ld déjà reçue%s, %ld "
           "refusée%s, %ld sans réponse\n",
           count, count > 1 ? "s" : "", count > 1 ? "s" : "", nbranches, nbranches > 1 ? "s" : "",
           nbranches > 1 ? "s" : "", (double)ms / 1000.0, counts.accepted, counts.accepted > 1 ? "s" : "",
           counts.duplicate, counts.duplicate > 1 ? "s" : "", counts.rejected, counts.rejected > 1 ? "s" : "",
           counts.unreachable);
    for (int i = 0; i < counts.ncodes; i++)
        printf("  refusées %s : %ld (ex. « %s »)\n", counts.codes[i].code, counts.codes[i].n, counts.codes[i].example);
    /* 1: some got no answer; 2: every one was refused (nothing useful was made) */
    rc = counts.unreachable ? CLI_UNREACHABLE
         : count > 0 && counts.accepted + counts.duplicate == 0 ? CLI_REFUSED
                                                                : CLI_OK;
done:
    for (long i = 0; i < nbranches; i++)
        client_destroy(&b[i].client);
    free(b);
    return rc;
}
