/* tremplin referral import — many referrals from a file, and never a lie
 * about what became of each line.
 *
 * The file is read whole first (CSV as French Excel writes it, JSON lines,
 * or a JSON array), so a wrong header refuses it before anything is sent,
 * and the progress knows its total. Each line is then sent with its own
 * msg_id, many in flight: an answer that says "not now" (UNAVAILABLE: Redis
 * restarting) or no answer at all is tried again later under the same
 * msg_id — a try that was stored is answered from intake's mark, never
 * stored twice — until the line's budget is spent; only a line never
 * answered by then is counted unreachable, and intake is then taken as gone
 * (the lines not sent yet are counted so too, without waiting each in turn).
 * What became of each line is written down: FILE.accepted (its ids),
 * FILE.rejected (the line as it was, with the reason, to fix and import
 * again). */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "intake/referral_csv.h"
#include "intake/referral_json.h"
#include "jsondoc.h"

#define IMP_MAX_FILE (256L * 1024 * 1024)
#define IMP_WINDOW 64           /* lines in flight */
#define IMP_RETRY 256           /* lines waiting for another try */
#define IMP_TRY_MS 3000         /* one try's wait for an answer */
#define IMP_LINE_BUDGET_MS 45000 /* a line's tries, from its first: then unreachable */
#define IMP_BACKOFF_MAX_MS 4000
#define IMP_SHOWN_REJECTS 10    /* refused lines told on stderr; the rest are in FILE.rejected */

enum { IMP_CSV, IMP_JSONL, IMP_JSON };

typedef struct {
    long line;         /* CSV: its row (the header is 1), as a spreadsheet numbers it; JSON: line or element */
    json_object *root; /* the referral's JSON form; NULL when the line could not be read */
    char *reason;      /* why it could not (NULL otherwise) */
    char **fields;     /* CSV: the line's fields as they were */
    int nfields;
    char *text; /* JSON: the line as it was */
} imp_line_t;

typedef struct {
    const char *path;
    int format;
    char sep;
    int bom, crlf;
    char **header; /* CSV */
    int nheader, reason_col; /* reason_col: of a .rejected read again, or -1 */
    referral_csv_header_t cols;
    imp_line_t *lines;
    long n, cap;
    long row; /* CSV: rows read */
    char err[600]; /* a whole-file error */
} imp_file_t;

/* --------------------------------------------------------------- reading */

static imp_line_t *imp_add(imp_file_t *f, long line)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->lines = xrealloc(f->lines, (size_t)f->cap * sizeof *f->lines);
    }
    imp_line_t *l = &f->lines[f->n++];
    memset(l, 0, sizeof *l);
    l->line = line;
    return l;
}

static void imp_reason(imp_line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void imp_reason(imp_line_t *l, const char *fmt, ...)
{
    char buf[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(l->reason);
    l->reason = xstrdup(buf);
}

typedef struct {
    imp_file_t *f;
    char **fields;
    int n, cap;
} imp_csv_t;

static void imp_csv_field(void *data, size_t len, void *arg)
{
    imp_csv_t *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->fields = xrealloc(c->fields, (size_t)c->cap * sizeof *c->fields);
    }
    char *s = xmalloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    c->fields[c->n++] = s;
}

static void imp_csv_free_fields(char **fields, int n)
{
    for (int i = 0; i < n; i++)
        free(fields[i]);
    free(fields);
}

static void imp_csv_row(int term, void *arg)
{
    (void)term;
    imp_csv_t *c = arg;
    imp_file_t *f = c->f;
    f->row++;
    char **fields = c->fields;
    int n = c->n;
    c->fields = NULL;
    c->n = c->cap = 0;
    if (f->row == 1) {
        f->header = fields;
        f->nheader = n;
        f->reason_col = -1;
        if (referral_csv_header((const char *const *)fields, n, &f->cols, f->err, sizeof f->err) != 0)
            return;
        for (int i = 0; i < n; i++)
            if (f->cols.col[i] == RC_IGNORED)
                f->reason_col = i;
        return;
    }
    int empty = 1; /* a row of empty cells: what Excel leaves after the last line */
    for (int i = 0; i < n && empty; i++)
        empty = strspn(fields[i], " \t\r") == strlen(fields[i]);
    if (empty || f->err[0]) {
        imp_csv_free_fields(fields, n);
        return;
    }
    imp_line_t *l = imp_add(f, f->row);
    l->fields = fields;
    l->nfields = n;
    char err[600];
    if (referral_csv_row(&f->cols, (const char *const *)fields, n, &l->root, err, sizeof err) != 0)
        imp_reason(l, "ligne %ld, %s", l->line, err);
}

static int imp_read_csv(imp_file_t *f, char *text, size_t len)
{
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* Excel's UTF-8 mark */
        f->bom = 1;
        text += 3;
        len -= 3;
    }
    const char *eol = memchr(text, '\n', len);
    f->crlf = eol && eol > text && eol[-1] == '\r';
    f->sep = referral_csv_separator(text, len);
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    csv_set_delim(&p, (unsigned char)f->sep);
    imp_csv_t c = { f, NULL, 0, 0 };
    int rc = 0;
    if (csv_parse(&p, text, len, imp_csv_field, imp_csv_row, &c) != len) {
        snprintf(f->err, sizeof f->err, "ligne %ld : CSV illisible (%s)", f->row + 1, csv_strerror(csv_error(&p)));
        rc = -1;
    }
    csv_fini(&p, imp_csv_field, imp_csv_row, &c);
    csv_free(&p);
    imp_csv_free_fields(c.fields, c.n);
    if (f->row == 0)
        snprintf(f->err, sizeof f->err, "fichier vide : la première ligne nomme les colonnes (tremplin referral template)");
    if (f->err[0] && f->row >= 1 && !strstr(f->err, "ligne")) {
        char why[sizeof f->err];
        util_strlcpy(why, f->err, sizeof why);
        snprintf(f->err, sizeof f->err, "ligne 1 (en-tête), %.560s", why);
    }
    return f->err[0] || rc ? -1 : 0;
}

static int imp_read_jsonl(imp_file_t *f, char *text)
{
    long line = 0;
    char *save = NULL;
    for (char *p = text; p; p = save) {
        char *nl = strchr(p, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r')
            p[--n] = '\0';
        if (strspn(p, " \t") == n)
            continue;
        imp_line_t *l = imp_add(f, line);
        l->text = xstrdup(p);
        char err[512];
        if (!(l->root = jsondoc_parse_fr(p, err, sizeof err)))
            imp_reason(l, "ligne %ld : %s", line, err);
        else if (!json_object_is_type(l->root, json_type_object)) {
            imp_reason(l, "ligne %ld : un objet JSON est attendu", line);
            json_object_put(l->root);
            l->root = NULL;
        }
    }
    return 0;
}

/* A JSON array of referrals (a single object is an array of one). */
static int imp_read_json(imp_file_t *f, const char *text)
{
    char err[512];
    json_object *doc = jsondoc_parse_fr(text, err, sizeof err);
    if (!doc) {
        snprintf(f->err, sizeof f->err, "%s", err);
        return -1;
    }
    if (json_object_is_type(doc, json_type_object)) {
        imp_line_t *l = imp_add(f, 1);
        l->root = doc;
        l->text = xstrdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
    }
    if (!json_object_is_type(doc, json_type_array)) {
        snprintf(f->err, sizeof f->err, "un tableau JSON d'orientations est attendu ([ {…}, {…} ])");
        json_object_put(doc);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(doc); i++) {
        json_object *o = json_object_array_get_idx(doc, i);
        imp_line_t *l = imp_add(f, (long)i + 1);
        l->text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!json_object_is_type(o, json_type_object))
            imp_reason(l, "élément %zu : un objet JSON est attendu", i + 1);
        else
            l->root = json_object_get(o);
    }
    json_object_put(doc);
    return 0;
}

static int imp_ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && !strcmp(s + n - m, end);
}

/* Reads the whole file. 0, or -1 with f->err (nothing is sent then). */
static int imp_read(imp_file_t *f)
{
    FILE *in = fopen(f->path, "rb");
    if (!in) {
        snprintf(f->err, sizeof f->err, "lecture impossible (%s)", strerror(errno));
        return -1;
    }
    char *text = xmalloc(IMP_MAX_FILE + 1);
    size_t len = fread(text, 1, IMP_MAX_FILE + 1, in);
    int bad = ferror(in);
    fclose(in);
    int rc = -1;
    if (bad)
        snprintf(f->err, sizeof f->err, "erreur de lecture");
    else if (len > IMP_MAX_FILE)
        snprintf(f->err, sizeof f->err, "fichier de plus de 256 Mio : le couper en plusieurs");
    else if (memchr(text, '\0', len))
        snprintf(f->err, sizeof f->err, "fichier binaire (un octet nul) : un CSV ou du JSON est attendu");
    else {
        text[len] = '\0';
        f->format = imp_ends_with(f->path, ".jsonl") ? IMP_JSONL : imp_ends_with(f->path, ".json") ? IMP_JSON : IMP_CSV;
        rc = f->format == IMP_CSV ? imp_read_csv(f, text, len)
             : f->format == IMP_JSONL ? imp_read_jsonl(f, text)
                                      : imp_read_json(f, text);
    }
    free(text);
    return rc;
}

static void imp_free(imp_file_t *f)
{
    for (long i = 0; i < f->n; i++) {
        json_object_put(f->lines[i].root);
        free(f->lines[i].reason);
        free(f->lines[i].text);
        imp_csv_free_fields(f->lines[i].fields, f->lines[i].nfields);
    }
    free(f->lines);
    imp_csv_free_fields(f->header, f->nheader);
}

/* --------------------------------------------------------------- writing */

/* A CSV field as written: quoted when it holds the separator, a quote or a
 * line end. */
static void imp_csv_put(FILE *o, const char *s, char sep)
{
    if (!strchr(s, sep) && !strchr(s, '"') && !strchr(s, '\n') && !strchr(s, '\r')) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

typedef struct {
    cli_t *cli;
    imp_file_t *f;
    client_t *client;
    keyring_t branches;
    char acc_path[600], rej_path[600];
    FILE *acc, *rej;
    long accepted, duplicate, rejected, unreachable, done;
    int gone; /* a line went unanswered for its whole budget: intake is away */
    int tty;
    int64_t t0, last_progress;
    struct {
        long line; /* index into f->lines; -1: free */
        char msg_id[TP_ID_LEN + 1];
        int64_t first_ms, next_ms;
        int tries, resent, waiting;
    } slot[IMP_WINDOW + IMP_RETRY];
    int waiting; /* slots waiting for another try */
} importer_t;

static void imp_eol(importer_t *im, FILE *o) { fputs(im->f->crlf ? "\r\n" : "\n", o); }

/* The line, as it was, into FILE.rejected with why: a CSV with the header
 * and a "motif" column (a .rejected read again keeps its column), a JSON
 * line or element with "_motif" (a comment to the reader). */
static void imp_write_rejected(importer_t *im, const imp_line_t *l, const char *reason)
{
    imp_file_t *f = im->f;
    if (!im->rej) {
        snprintf(im->rej_path, sizeof im->rej_path, "%s.rejected", f->path);
        im->rej = fopen(im->rej_path, "w");
        if (!im->rej)
            return;
        if (f->format == IMP_CSV) {
            if (f->bom)
                fputs("\xEF\xBB\xBF", im->rej);
            for (int i = 0; i < f->nheader; i++) {
                if (i)
                    fputc(f->sep, im->rej);
                imp_csv_put(im->rej, f->header[i], f->sep);
            }
            if (f->reason_col < 0) {
                fputc(f->sep, im->rej);
                fputs(RC_REASON_COLUMN, im->rej);
            }
            imp_eol(im, im->rej);
        } else if (f->format == IMP_JSON) {
            fputs("[\n", im->rej);
        }
    }
    if (f->format == IMP_CSV) {
        int n = l->nfields > f->nheader ? l->nfields : f->nheader;
        for (int i = 0; i < n; i++) {
            if (i)
                fputc(f->sep, im->rej);
            imp_csv_put(im->rej, i == f->reason_col ? reason : i < l->nfields ? l->fields[i] : "", f->sep);
        }
        if (f->reason_col < 0) {
            fputc(f->sep, im->rej);
            imp_csv_put(im->rej, reason, f->sep);
        }
        imp_eol(im, im->rej);
        return;
    }
    json_object *o = l->root ? json_object_get(l->root) : json_object_new_object();
    if (!l->root)
        json_object_object_add(o, "_ligne", json_object_new_string(l->text ? l->text : ""));
    json_object_object_add(o, "_motif", json_object_new_string(reason));
    fprintf(im->rej, "%s%s\n", f->format == IMP_JSON && im->rejected > 0 ? "," : "",
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void imp_reject(importer_t *im, const imp_line_t *l, const char *reason)
{
    imp_write_rejected(im, l, reason);
    if (im->rejected < IMP_SHOWN_REJECTS)
        fprintf(stderr, "%srefusée : %s\n", im->tty ? "\r\033[K" : "", reason);
    im->rejected++;
    im->done++;
}

/* FILE.accepted: the line, the mediator's reference, the ids, what it was. */
static void imp_write_accepted(importer_t *im, const imp_line_t *l, const Tremplin__Ack *ack, int duplicate)
{
    char sep = im->f->format == IMP_CSV ? im->f->sep : ';';
    if (!im->acc) {
        snprintf(im->acc_path, sizeof im->acc_path, "%s.accepted", im->f->path);
        im->acc = fopen(im->acc_path, "w");
        if (!im->acc)
            return;
        if (im->f->bom || im->f->format != IMP_CSV)
            fputs("\xEF\xBB\xBF", im->acc);
        fprintf(im->acc, "ligne%cbranch%cexternal_ref%creferral_id%cperson_id%cstatut", sep, sep, sep, sep, sep);
        imp_eol(im, im->acc);
    }
    json_object *v;
    const char *branch = json_object_object_get_ex(l->root, "branch", &v) ? json_object_get_string(v) : "";
    const char *ref = json_object_object_get_ex(l->root, "external_ref", &v) ? json_object_get_string(v) : "";
    fprintf(im->acc, "%ld%c", l->line, sep);
    imp_csv_put(im->acc, branch, sep);
    fputc(sep, im->acc);
    imp_csv_put(im->acc, ref, sep);
    fprintf(im->acc, "%c%s%c%s%c%s", sep, ack->referral_id, sep, ack->person_id, sep,
            duplicate ? "déjà reçue" : "acceptée");
    imp_eol(im, im->acc);
}

/* --------------------------------------------------------------- sending */

static void imp_progress(importer_t *im, int final)
{
    int64_t now = clock_mono_ms();
    if (!final && now - im->last_progress < (im->tty ? 200 : 5000))
        return;
    im->last_progress = now;
    double s = (double)(now - im->t0) / 1000.0;
    long total = im->f->n;
    int pct = total ? (int)(im->done * 100 / total) : 100;
    if (im->tty)
        fprintf(stderr, "\r\033[K%ld/%ld lignes (%d %%), %.0f lignes/s%s", im->done, total, pct,
                s > 0 ? (double)im->done / s : 0.0, final ? "\n" : "");
    else if (!final)
        fprintf(stderr, "import : %ld/%ld lignes (%d %%), %.0f lignes/s\n", im->done, total, pct,
                s > 0 ? (double)im->done / s : 0.0);
}

/* Sends line li under the slot's msg_id (the same on every try). */
static int imp_send(importer_t *im, int k)
{
    const imp_line_t *l = &im->f->lines[im->slot[k].line];
    referral_json_t h;
    char err[256];
    if (referral_from_json(l->root, &h, err, sizeof err) != 0)
        return -1; /* checked before the first try */
    Tremplin__Envelope env;
    cli_referral_envelope(&env, &h.referral, cli_branch_territory(im->cli, &im->branches, h.referral.branch));
    char scratch[TP_ID_LEN + 1];
    wire_stamp(&env, scratch, NULL, "tremplin-import", env.territory);
    env.msg_id = im->slot[k].msg_id;
    if (client_send(im->client, &env, (uint64_t)k) != 0)
        return -1;
    im->slot[k].tries++;
    return 0;
}

static void imp_free_slot(importer_t *im, int k)
{
    im->slot[k].line = -1;
    im->done++;
}

/* Another try for slot k in delay_ms, or unreachable once its budget is spent. */
static void imp_again(importer_t *im, int k, int64_t delay_ms)
{
    int64_t now = clock_mono_ms();
    if (now - im->slot[k].first_ms + delay_ms >= IMP_LINE_BUDGET_MS) {
        im->unreachable++;
        im->gone = 1;
        imp_free_slot(im, k);
        return;
    }
    im->slot[k].waiting = 1;
    im->slot[k].next_ms = now + delay_ms;
    im->waiting++;
}

static void imp_answer(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    importer_t *im = arg;
    int k = (int)tag;
    const imp_line_t *l = &im->f->lines[im->slot[k].line];
    if (!reply) { /* no answer in IMP_TRY_MS: again at once, the same msg_id */
        im->slot[k].resent = 1;
        imp_again(im, k, 0);
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && reply->error->retryable) {
        int64_t backoff = 250LL << (im->slot[k].tries < 5 ? im->slot[k].tries : 5);
        imp_again(im, k, backoff < IMP_BACKOFF_MAX_MS ? backoff : IMP_BACKOFF_MAX_MS);
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        /* a duplicate after a try left unanswered is that try's answer: the
         * line was stored by this import */
        int dup = reply->ack->duplicate && !im->slot[k].resent;
        dup ? im->duplicate++ : im->accepted++;
        imp_write_accepted(im, l, reply->ack, dup);
        imp_free_slot(im, k);
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
        const Tremplin__Error *e = reply->error;
        char reason[700];
        snprintf(reason, sizeof reason, "ligne %ld : %s [%s%s%s]", l->line, e->message_fr, e->code,
                 e->field[0] ? " " : "", e->field);
        imp_reject(im, l, reason); /* counts it done */
        im->slot[k].line = -1;
    } else {
        imp_again(im, k, 1000);
    }
}

static int imp_free_slot_index(importer_t *im)
{
    for (int k = 0; k < IMP_WINDOW + IMP_RETRY; k++)
        if (im->slot[k].line < 0)
            return k;
    return -1;
}

/* Every line sent, answered or given up: the loop of the import. */
static void imp_run(importer_t *im)
{
    long next = 0;
    int inflight = 0;
    for (;;) {
        int64_t now = clock_mono_ms();
        /* the tries that are due, before new lines */
        for (int k = 0; k < IMP_WINDOW + IMP_RETRY && im->waiting; k++)
            if (im->slot[k].line >= 0 && im->slot[k].waiting && im->slot[k].next_ms <= now
                && client_inflight(im->client) < IMP_WINDOW && imp_send(im, k) == 0) {
                im->slot[k].waiting = 0;
                im->waiting--;
            }
        while (!im->gone && next < im->f->n && client_inflight(im->client) < IMP_WINDOW) {
            imp_line_t *l = &im->f->lines[next];
            char err[512];
            referral_json_t h;
            if (l->reason || referral_from_json(l->root, &h, err, sizeof err) != 0) {
                if (!l->reason)
                    imp_reason(l, "%s %ld : %s", im->f->format == IMP_JSON ? "élément" : "ligne", l->line, err);
                imp_reject(im, l, l->reason);
                next++;
                continue;
            }
            int k = imp_free_slot_index(im);
            if (k < 0)
                break;
            im->slot[k].line = next;
            util_random_id(im->slot[k].msg_id);
            im->slot[k].first_ms = now;
            im->slot[k].tries = im->slot[k].resent = im->slot[k].waiting = 0;
            if (imp_send(im, k) != 0) {
                im->slot[k].line = -1;
                break;
            }
            next++;
        }
        if (im->gone && next < im->f->n) { /* intake is away: the rest waits for the next run */
            im->unreachable += im->f->n - next;
            im->done += im->f->n - next;
            next = im->f->n;
        }
        inflight = client_poll(im->client, 50, imp_answer, im);
        imp_progress(im, 0);
        if (next >= im->f->n && inflight == 0 && im->waiting == 0)
            break;
    }
}

static const char *imp_plural(long n, const char *one, const char *many) { return n > 1 ? many : one; }

int cli_referral_import(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    imp_file_t f = { .path = a.word[0], .reason_col = -1 };
    if (imp_read(&f) != 0) {
        fprintf(stderr, "tremplin referral import : %s : %s\nrien n'a été envoyé.\n", f.path, f.err);
        imp_free(&f);
        return CLI_REFUSED;
    }
    importer_t *im = xcalloc(1, sizeof *im);
    im->cli = cli;
    im->f = &f;
    im->tty = isatty(2);
    for (int k = 0; k < IMP_WINDOW + IMP_RETRY; k++)
        im->slot[k].line = -1;
    char err[256];
    keyring_load(&intake_branches, cli->intake.curve_dir, &im->branches, err, sizeof err);
    /* what a previous run wrote is about that run */
    char old[620];
    snprintf(old, sizeof old, "%s.rejected", f.path);
    unlink(old);
    snprintf(old, sizeof old, "%s.accepted", f.path);
    unlink(old);
    im->client = cli_client(cli, "intake");
    if (!im->client) {
        keyring_free(&im->branches);
        imp_free(&f);
        free(im);
        return CLI_UNREACHABLE;
    }
    client_set_window(im->client, IMP_WINDOW);
    client_set_retry(im->client, IMP_TRY_MS, 1); /* the tries are the import's: it knows a line was resent */
    im->t0 = im->last_progress = clock_mono_ms();
    imp_run(im);
    imp_progress(im, 1);
    if (im->acc)
        fclose(im->acc);
    if (f.format == IMP_JSON && im->rej)
        fputs("]\n", im->rej);
    if (im->rej)
        fclose(im->rej);
    if (im->rejected > IMP_SHOWN_REJECTS)
        fprintf(stderr, "… et %ld autres lignes refusées\n", im->rejected - IMP_SHOWN_REJECTS);
    printf("%s : %ld %s — %ld %s, %ld %s, %ld %s, %ld sans réponse\n", f.path, f.n, imp_plural(f.n, "ligne", "lignes"),
           im->accepted, imp_plural(im->accepted, "acceptée", "acceptées"), im->duplicate,
           imp_plural(im->duplicate, "déjà reçue", "déjà reçues"), im->rejected,
           imp_plural(im->rejected, "refusée", "refusées"), im->unreachable);
    if (im->acc)
        printf("  acceptées, avec leurs identifiants : %s\n", im->acc_path);
    if (im->rej)
        printf("  refusées, avec le motif : %s (corriger, puis importer ce fichier)\n", im->rej_path);
    if (im->unreachable)
        fprintf(stderr, "tremplin : intake n'a pas répondu pour %ld %s : relancer le même import quand `tremplin ping "
                        "intake` répond (rien ne sera créé deux fois)\n",
                im->unreachable, imp_plural(im->unreachable, "ligne", "lignes"));
    int rc = im->unreachable ? CLI_UNREACHABLE : im->rejected ? CLI_REFUSED : CLI_OK;
    client_destroy(&im->client);
    keyring_free(&im->branches);
    imp_free(&f);
    free(im);
    return rc;
}
