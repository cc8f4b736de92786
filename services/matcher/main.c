/* matcher — service entry point: wiring only. */
#include "services.h"
#include "svc.h"

extern const char matcher_lua[];

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "matcher",
        .library = MATCHER_LIBRARY,
        .lua = matcher_lua,
    };
    return svc_main(&def, argc, argv);
}
