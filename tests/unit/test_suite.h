/* The end of every unit suite's main(): one Check runner, one exit status.
 * Linked into every suite through libpipelined-unit.la (UNIT_LDADD and
 * PLUGIN_TEST_LDADD in Makefile.am), never into an installed library: the
 * public harness (<pipelined/testing.h>) does not depend on Check. */
#ifndef PL_TEST_SUITE_H
#define PL_TEST_SUITE_H

#include <check.h>

/* Runs every test of `suite` with Check's defaults (CK_NORMAL output; fork
 * mode from CK_FORK, forking unless it says "no") and returns what main()
 * returns: EXIT_SUCCESS when no test failed, EXIT_FAILURE otherwise. The
 * runner takes `suite` and frees it before this returns. */
int test_suite_run(Suite *suite);

#endif
