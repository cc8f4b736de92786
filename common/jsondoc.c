#include "jsondoc.h"

#include <stdio.h>
#include <string.h>

json_object *jsondoc_parse(const char *text, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t len = strlen(text);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        snprintf(err, errlen, "not JSON: %s", jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
        json_object_put(root);
        return NULL;
    }
    end += strspn(text + end, " \t\r\n");
    if (end != len) {
        snprintf(err, errlen, "not JSON: text after the document (offset %zu)", end);
        json_object_put(root);
        return NULL;
    }
    return root;
}
