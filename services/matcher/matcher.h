/* matcher — what a referred person needs: which workshop, at which level,
 * and later what comes next (ARCHITECTURE.md). Shared by the service and the
 * tremplin tool. */
#ifndef TP_MATCHER_H
#define TP_MATCHER_H

#include "catalogue.h"
#include "conf.h"
#include "svc.h"

typedef struct {
    char catalogue_path[256];
} matcher_conf_t;

extern const conf_field_t matcher_conf_fields[];
extern const size_t matcher_nconf_fields;

typedef struct {
    matcher_conf_t conf;
    catalogue_t catalogue; /* replaced whole on SIGHUP; placed people keep their assignment */
} matcher_t;

extern const inbox_handler_t matcher_handlers[];
extern const size_t matcher_nhandlers;

#endif
