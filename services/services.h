/* The five services and the gateway, and the name of each one's Redis function library.
 * The version is part of the library name so that two versions can run side
 * by side during an upgrade (ARCHITECTURE.md, "State in Redis"). */
#ifndef TP_SERVICES_H
#define TP_SERVICES_H

#include <stddef.h>

#define INTAKE_LIBRARY "intake_v1"
#define MATCHER_LIBRARY "matcher_v1"
#define SCHEDULER_LIBRARY "scheduler_v1"
#define SURVEY_LIBRARY "survey_v1"
#define REPORTER_LIBRARY "reporter_v1"
#define GATEWAY_LIBRARY "gateway_v1"

typedef struct service_info {
    const char *name;
    const char *library;
} service_info_t;

static const service_info_t tp_services[] = {
    { "intake", INTAKE_LIBRARY },       { "matcher", MATCHER_LIBRARY }, { "scheduler", SCHEDULER_LIBRARY },
    { "survey", SURVEY_LIBRARY },       { "reporter", REPORTER_LIBRARY }, { "gateway", GATEWAY_LIBRARY },
};

#define TP_NSERVICES ((int)(sizeof tp_services / sizeof tp_services[0]))

/* Every section of the deployment's configuration file (deploy/setup.sh
 * writes them): each program reads its own and skips the others; a section
 * not listed here is a misspelling (`[reddis]`) and stops the program that
 * reads the file, with its file and line. */
static const char *const tp_conf_sections[] = {
    "redis",     "clock",   "log",     "bus",    "retention", "endpoints", "shards", "intake", "matcher",
    "scheduler", "survey",  "reporter", "gateway", "season",    "tool",      NULL,
};

#endif
