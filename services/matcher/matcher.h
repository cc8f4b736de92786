/* matcher — what a referred person needs: which workshop, at which level,
 * and later what comes next (ARCHITECTURE.md). Shared by the service and the
 * tremplin tool. */
#ifndef TP_MATCHER_H
#define TP_MATCHER_H

#include "catalogue.h"
#include "conf.h"
#include "scheduler/timetable.h"
#include "svc.h"

typedef struct {
    char catalogue_path[256];
} matcher_conf_t;

extern const conf_field_t matcher_conf_fields[];
extern const size_t matcher_nconf_fields;

typedef struct {
    matcher_conf_t conf;
    catalogue_t catalogue; /* replaced whole on SIGHUP; placed people keep their assignment */
    /* load.c: the file read before it replaces the one in use */
    catalogue_t fresh;
    timetable_t timetable; /* the scheduler's, to check the catalogue's kinds */
} matcher_t;

extern const inbox_handler_t matcher_handlers[];
extern const size_t matcher_nhandlers;

/* load.c: the catalogue, loaded whole or not at all, and only if it has
 * every kind of the scheduler's timetable (at start and on SIGHUP): 0, or -1
 * when it keeps the one in use (the reason logged). */
int matcher_load(svc_t *s);

#endif
