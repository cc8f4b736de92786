/* snapshot — every key of a Redis database, as type and content, read by an
 * admin connection independently of the services' code, so that two moments
 * (before and after a restart, a failover) can be compared key by key.
 *
 * Content is canonical per type: hash fields and set members sorted, sorted
 * sets and lists in their order, streams with every entry and, per consumer
 * group, its pending count and last-delivered id. A key with a time to live
 * is marked as such (its remaining time is not compared: it runs). The
 * loaded function libraries are part of the snapshot. */
#ifndef TP_SNAPSHOT_H
#define TP_SNAPSHOT_H

#include <stddef.h>

#include "harness.h"

typedef struct {
    char *key;
    char *type;
    char *content; /* canonical text; hashed if long */
} snap_item_t;

typedef struct {
    snap_item_t *items; /* sorted by key */
    size_t n, cap;
} snap_t;

/* Reads every key (SCAN) into s. 0, or -1 when Redis could not be read. */
int snap_take(h_env_t *h, snap_t *s);
void snap_free(snap_t *s);

/* Keys whose name contains `part`. */
size_t snap_count(const snap_t *s, const char *part);

/* Compares; prints up to `show` differences to stderr (missing, extra,
 * changed keys) and returns how many keys differ. */
size_t snap_diff(const snap_t *before, const snap_t *after, int show);

#endif
