/* credential_process (a profile setting): runs the command, reads the
 * credentials it prints on standard output as JSON ({"Version": 1,
 * "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}; no
 * Expiration: they never expire) and hands them on. The output is read
 * into secret storage and never logged or quoted; a failure names the
 * exit status (the command's own standard error is the daemon's). The
 * command runs through /bin/sh -c, with the daemon's environment, on the
 * loop (uv_spawn) in a process group of its own; the group is killed
 * after PL_CREDS_PROCESS_TIMEOUT_MS (or the chain's process_timeout_ms),
 * after PL_CREDS_PROCESS_MAX_OUTPUT bytes, or on cancel. The chain runs it
 * again before Expiration, as for every provider. Follows pl__creds_start_fn.
 */
#ifndef PL_AWS_CREDS_PROCESS_H
#define PL_AWS_CREDS_PROCESS_H

#include "creds_providers.h"

#define PL_CREDS_PROCESS_TIMEOUT_MS 60000
#define PL_CREDS_PROCESS_MAX_OUTPUT 65536

/* `command` and `source` are copied. */
int pl__creds_process_start(const pl__creds_ctx_t *ctx, const char *command,
                            const char *source, pl__creds_result_t *result,
                            pl__creds_done_cb cb, void *data,
                            pl__creds_op_t **op);

#endif
