/* survey — service entry point: wiring only. */
#include "services.h"
#include "svc.h"

extern const char survey_lua[];

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "survey",
        .library = SURVEY_LIBRARY,
        .lua = survey_lua,
    };
    return svc_main(&def, argc, argv);
}
