/* intake — service entry point: wiring only. */
#include "services.h"
#include "svc.h"

extern const char intake_lua[];

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "intake",
        .library = INTAKE_LIBRARY,
        .lua = intake_lua,
    };
    return svc_main(&def, argc, argv);
}
