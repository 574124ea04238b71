/* The command line of the pipelined executable, inside the library so that
 * the executable links only exported symbols. */
#ifndef PL_CORE_CLI_H
#define PL_CORE_CLI_H

#include <pipelined/common.h>

/* Runs the daemon as `pipelined ARGS` would; returns the exit status. */
PL_EXTERN int pl_cli_main(int argc, char **argv);

#endif
