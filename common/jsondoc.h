/* jsondoc — parse a whole JSON document with json-c, strictly: one value,
 * nothing but white space after it (json-c alone stops at the end of the
 * first value and ignores the rest). */
#ifndef TP_JSONDOC_H
#define TP_JSONDOC_H

#include <json-c/json.h>
#include <stddef.h>

/* The document's root (json_object_put it), or NULL with the reason in err. */
json_object *jsondoc_parse(const char *text, char *err, size_t errlen);

#endif
