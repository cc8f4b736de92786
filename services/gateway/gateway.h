/* gateway — the sixth process (tremplin-gateway): reads the notification
 * jobs the scheduler and the survey service write on their notify streams,
 * and sends each one — SMS through a spool folder or an HTTP provider,
 * letters for the people without a mobile — at the right time (quiet hours,
 * the J-2 reminder, never once the session started), checking consent and
 * contact at send time; reads the people's SMS replies (the spool's inbox,
 * the provider's callback) and turns them into AnswerOffer, CancelBooking
 * and SubmitSurvey through its outbox.
 *
 *   main.c      wiring only
 *   config.c    [gateway] settings, their checks, the timetable and catalogue
 *   jobs.c      the send loop: ingest, take, decide, send, result (timers)
 *   channel.c   the spool and HTTP channels
 *   replies.c   incoming SMS: the inbox folder, matching, the commands sent
 *   route.c     what a reply is for (pure: unit-tested)
 *   callback.c  the provider's callback endpoint (libmicrohttpd, loopback)
 *   erase.c     its part of an erasure: the command, then the person's files
 *   gateway.lua its Redis functions */
#ifndef TP_GATEWAY_H
#define TP_GATEWAY_H

#include <stdint.h>

#include "gateway/http.h"
#include "gateway/quiet.h"
#include "gateway/reply.h"
#include "matcher/catalogue.h"
#include "scheduler/timetable.h"
#include "svc.h"

typedef struct {
    char channel[16];           /* spool | http */
    char spool_dir[256];        /* one file per SMS */
    char inbox_dir[256];        /* one file per incoming SMS ("" = <spool_dir>/inbox) */
    char streams[256];          /* the producers whose <name>:notify streams are read */
    char quiet_from[8], quiet_until[8], closed_days[64];
    int64_t sms_max_segments;
    int64_t reminder_days;
    int64_t batch;              /* jobs taken at once */
    int64_t tick_ms;            /* how often the loop looks for work (real time) */
    int64_t lease_ms;           /* a job taken is another instance's after this (real time) */
    int64_t max_tries;          /* failed sends before a job is given up and flagged */
    int64_t retry_base_ms, retry_max_ms; /* backoff between tries (real time) */
    int64_t survey_wait_min;    /* a partial survey answer waits this long for the rest (business) */
    char http_url[512];
    char http_auth_header_file[256]; /* "Authorization: Bearer …", a secret file (mode 600) */
    char http_body_template[1024];
    char http_id_path[128];
    int64_t http_connect_timeout_ms, http_timeout_ms;
    char callback_bind[64];     /* "127.0.0.1:PORT" of the provider's callback, "" = none */
    char callback_secret_file[256]; /* the value the callback's X-Tremplin-Secret header must carry */
    char letter_sender[512];    /* the sender's block of letters, "\n" = "|" */
    char letter_place[64];
    int64_t purge_ms;           /* how often the retention purge runs (real time) */
} gateway_conf_t;

extern const conf_field_t gateway_conf_fields[];
extern const size_t gateway_nconf_fields;

#define GW_MAX_STREAMS 8
#define GW_MAX_BATCH 64

struct gw_callback;

typedef struct {
    gateway_conf_t conf;
    quiet_rules_t quiet;
    timetable_t timetable; /* venues' names and addresses */
    catalogue_t catalogue; /* workshops' titles */
    char streams[GW_MAX_STREAMS][32];
    int nstreams;
    http_t *http;
    char owner[96]; /* instance/pid: who holds a job it took */
    call_t step;
    struct gw_callback *callback;
    int64_t next_survey_ms; /* real ms of the next look at partial survey answers */
    int64_t cutoff_ms;      /* the scheduler's cancellation cutoff: ANNULER inside it is refused here */
} gateway_t;

/* config.c: reads the [gateway] settings and the files the texts need;
 * 0, or -1 with the reason logged (at start: exit 1; on SIGHUP the previous
 * settings stay). */
int gateway_load(svc_t *s);
void gateway_unload(gateway_t *g);
/* A secret from a file of its own, not readable by others (mode 600): its
 * first line. 0, or -1 with the reason in err. */
int gateway_read_secret(const char *path, char *out, size_t cap, char *err, size_t errlen);

/* jobs.c: one round of the send loop, every tick_ms. */
void gateway_tick(svc_t *s);

/* channel.c: an SMS handed to the configured channel. 0 sent (provider_id
 * filled for HTTP, "" for the spool); -1 not sent, *retryable says whether
 * to try again, error why (for the log and the job record, never the
 * number or the text). A spool file that exists already (a job sent by a
 * holder that died before recording it) counts as sent. */
int gateway_send_sms(gateway_t *g, const char *jid, const char *to, const char *text, int segments,
                     char *provider_id, size_t idcap, int *retryable, char *error, size_t errcap);
/* The file name a job's SMS gets in the spool (":" is "_"). */
void gateway_spool_name(const char *jid, char *out, size_t cap);
/* The name territory T's job jid is handed over as (spool file, Job: line,
 * Idempotency-Key): T:jid — a job id is its producer and stream entry id,
 * which two territories' streams can share. */
void gateway_job_key(const char *T, const char *jid, char *out, size_t cap);
/* The spool file of territory T's job jid (gateway_job_key's name). */
void gateway_job_spool_name(const char *T, const char *jid, char *out, size_t cap);
/* The job id of a hand-over name (a spool file's Job: line, "T:jid") of
 * territory T; the name itself when it is not T's. */
const char *gateway_job_of_key(const char *T, const char *key);
/* 1 when the spool holds the file of job jid already (an instance handed it
 * over, then died before recording it), with its segments; 0 otherwise. */
int gateway_spooled(const gateway_t *g, const char *jid, int *segments);

/* replies.c: the incoming SMS of the inbox folder, and the partial survey
 * answers whose wait is over. */
void gateway_replies(svc_t *s);
/* retention.c: the purge timer (texts, spool files, phone sets past
 * [retention] sms_days, business time; under the lease "purge"), and the stamp a
 * file gets when it is put in the spool or done/: its mtime = the business
 * time, which the purge compares. */
void gateway_purge(svc_t *s);
void gateway_stamp_business(const char *path, int64_t business_ms);
/* svc's refusal hook: an AnswerOffer, CancelBooking or SubmitSurvey a reply
 * sent, refused for a business reason, is its final answer — the person is
 * told why (reply_refused), it is no dead letter. 0, 1 (not ours: dead
 * letter), -1 (Redis: later). */
int gateway_refused(svc_t *s, const char *territory, const Tremplin__Envelope *sent, const char *code);
/* The keyed hash of a phone number, as phone:<h> names it. */
void gateway_phone_hash(const char *e164, char out[33]);

/* erase.c: ErasePerson's handler, and the timer deleting the files of the
 * people erased (spool files, reply texts). */
extern const inbox_handler_t gateway_handlers[];
extern const size_t gateway_nhandlers;
void gateway_erase_files(svc_t *s);

/* callback.c: the provider's callback endpoint, writing each incoming SMS
 * into the inbox folder. */
int gateway_callback_start(gateway_t *g, char *err, size_t errlen);
void gateway_callback_stop(gateway_t *g);

#endif
