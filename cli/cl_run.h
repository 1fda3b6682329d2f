/*
 * cl_run.h - `trailguard run`: start and supervise the four daemons on one
 * machine, and `trailguard status` / `trailguard reload` against a running
 * supervisor.
 *
 * DESIGN
 * The supervisor makes a private runtime directory (mkdtemp, 0700) under
 * $XDG_RUNTIME_DIR or $TMPDIR (or /tmp), wires the daemons with ipc://
 * endpoints inside it and passes each child its wiring as `-e` overrides
 * (plus the user's --config file, if any); sources and rules files go as
 * positional arguments so that any path works.  It writes
 * <rundir>/run.info (supervisor pid, then one line per child: stage,
 * instance, pid, metrics port), which `trailguard status` reads.
 *
 * Children that die are restarted with exponential backoff (reset once a
 * child has run for 10 s).  SIGHUP is forwarded to every child (rules
 * reload in the evaluators, file reopen in the notifier).  SIGINT/SIGTERM
 * stop the stages in pipeline order - fetcher, parsers, evaluators,
 * notifier - each draining before the next is told, then exit.
 *
 * Finite runs (sources on the command line, or --once): the fetcher exits
 * by itself once every job is acknowledged, i.e. every alert delivered; the
 * supervisor then stops the rest and exits with the fetcher's status (0, or
 * 1 when some input failed).
 */
#ifndef CL_RUN_H
#define CL_RUN_H

/* argv[0] is "run" / "status" / "reload".  Return the exit status. */
int cl_run_main(int argc, char **argv);
int cl_status_main(int argc, char **argv);
int cl_reload_main(int argc, char **argv);

#endif /* CL_RUN_H */
