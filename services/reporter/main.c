/* reporter — service entry point: wiring only. */
#include "services.h"
#include "svc.h"

extern const char reporter_lua[];

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "reporter",
        .library = REPORTER_LIBRARY,
        .lua = reporter_lua,
    };
    return svc_main(&def, argc, argv);
}
