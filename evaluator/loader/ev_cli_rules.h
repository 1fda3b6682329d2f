/*
 * ev_cli_rules.h - the `trailguard rules ...` subcommands.  Owner: rules
 * loader.  cli/main.c dispatches `trailguard rules ARGS...` here with
 * argv[0] == "rules" (i.e. main's argc-1, argv+1).
 *
 *   rules validate FILE...                  exit 0 when every file loads
 *   rules list [-r FILE|DIR]... [--tag TAG] one line per rule
 *   rules test [DIR] [-r FILE|DIR]...       rule unit tests (DIR/NAME.yaml)
 *
 * The default rules directory is $TRAILGUARD_RULES_DIR, else the installed
 * share dir (TG_RULES_DATADIR) when it exists, else ./rules.
 */
#ifndef EV_CLI_RULES_H
#define EV_CLI_RULES_H

/* Returns the process exit code (0 ok, 1 failures, 2 usage). */
int ev_cli_rules_main(int argc, char **argv);

#endif /* EV_CLI_RULES_H */
