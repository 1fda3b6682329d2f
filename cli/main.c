/*
 * main.c - the `trailguard` command: dispatches to its subcommands.
 *
 *   trailguard run ...      start and supervise the pipeline (cl_run.c)
 *   trailguard status       per-stage rates, queues, errors (cl_status.c)
 *   trailguard reload       SIGHUP to a running supervisor
 *   trailguard rules ...    validate / list / test rules (evaluator/loader)
 *   trailguard keygen       a CURVE keypair for a stage (cl_keygen.c)
 */
#include <stdio.h>
#include <string.h>

#include "cl_keygen.h"
#include "cl_run.h"
#ifdef TG_HAVE_RULES_CLI
#include "ev_cli_rules.h"
#endif

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

static void s_usage(FILE *f)
{
    fprintf(f,
        "Usage: trailguard COMMAND [ARGS]\n"
        "Commands:\n"
        "  run [OPTIONS] [SOURCE...]   run the pipeline (trailguard run --help)\n"
        "  status [RUNDIR]             rates, queue depths and errors of a run\n"
        "  reload [RUNDIR]             reload rules / reopen outputs of a run\n"
        "  rules validate|list|test    work with rules files\n"
        "  keygen [--out FILE]         make a CURVE keypair for a stage\n"
        "  version                     print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cl_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cl_status_main(argc - 1, argv + 1);
    if (strcmp(cmd, "reload") == 0)
        return cl_reload_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return cl_keygen_main(argc - 1, argv + 1);
    if (strcmp(cmd, "rules") == 0) {
#ifdef TG_HAVE_RULES_CLI
        return ev_cli_rules_main(argc - 1, argv + 1);
#else
        fprintf(stderr, "trailguard rules: not built in (evaluator/loader missing)\n");
        return 2;
#endif
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
        strcmp(cmd, "-V") == 0) {
        printf("trailguard %s\n", TG_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    fprintf(stderr, "trailguard: unknown command '%s'\n", cmd);
    s_usage(stderr);
    return 2;
}
