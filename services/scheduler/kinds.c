/* The timetable's kinds against the catalogue's, checked wherever either
 * is loaded (the scheduler and the matcher read both files): a kind the
 * catalogue does not have is refused; a catalogue kind no session serves is
 * a warning (people assigned to it would wait for good). */
#include <stdio.h>

#include "scheduler.h"

int scheduler_check_kinds(const timetable_t *tt, const catalogue_t *cat, const char *catalogue_path, char *err,
                          size_t errlen, char *warning, size_t wcap)
{
    const char *codes[CAT_MAX_KINDS];
    int n = catalogue_codes(cat, codes, CAT_MAX_KINDS);
    if (timetable_check_kinds(tt, codes, n, catalogue_path, err, errlen) != 0)
        return -1;
    char unserved[256];
    warning[0] = '\0';
    if (timetable_unserved_kinds(tt, codes, n, unserved, sizeof unserved) > 0)
        snprintf(warning, wcap, "types d'atelier sans séance au calendrier (%s) : %s", tt->path, unserved);
    return 0;
}
