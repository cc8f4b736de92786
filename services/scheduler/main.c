/* scheduler — service entry point: wiring only. */
#include "services.h"
#include "svc.h"

extern const char scheduler_lua[];

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "scheduler",
        .library = SCHEDULER_LIBRARY,
        .lua = scheduler_lua,
    };
    return svc_main(&def, argc, argv);
}
