/* Live checks of a config: `pipelined --check --live -c FILE`.
 *
 * After the config is valid and every stage is initialised, the engine
 * calls each stage's preflight callback (pl_plugin_t.preflight) instead of
 * starting it. A stage checks what it will use (a queue exists and has a
 * redrive policy, a table's keys match the sink's) without writing
 * anything, reports one line per finding, and says when it is done. The
 * engine prints every line once all stages are done, in pipeline order,
 * after the lines about what the stages share (the AWS identity), then a
 * summary; the exit status is 1 when a check failed, and also when one
 * warned under --strict.
 *
 * A line reads "<level> pipeline <name>: <role> <plugin>: <text>", e.g.
 *   ok   pipeline updates: sink dynamodb: table Inventory (keys id)
 *   warn pipeline updates: source sqs: queue updates has no redrive policy
 *   FAIL pipeline updates: sink dynamodb: table Inventory:
 *        ResourceNotFoundException: Requested resource not found
 * (one line each). Texts never hold secrets. */
#ifndef PIPELINED_PREFLIGHT_H
#define PIPELINED_PREFLIGHT_H

#include <pipelined/common.h>
#include <pipelined/plugin.h>

#define PL_CHECK_MAP(XX)                                                       \
  XX(OK, "ok")                                                                 \
  XX(WARN, "warn")                                                             \
  XX(FAIL, "FAIL")                                                             \
  XX(INFO, "info")

typedef enum {
#define PL__CHECK_ENUM(name, text) PL_CHECK_##name,
  PL_CHECK_MAP(PL__CHECK_ENUM)
#undef PL__CHECK_ENUM
} pl_check_t;

/* "ok", "warn", "FAIL" or "info". */
PL_EXTERN const char *pl_check_name(pl_check_t level);

/* Reports one finding of the stage (the text is formatted now). OK: the
 * thing checked is there and fit; WARN: it works, but a setting is risky;
 * FAIL: the pipeline cannot work as configured; INFO: not a finding but a
 * fact worth showing (where a setting came from), not counted in the
 * summary and never failing the run. Ignored after pl_preflight_done(). */
PL_EXTERN void pl_preflight_report(pl_preflight_t *check, pl_check_t level,
                                   const char *fmt, ...) PL_PRINTF(3, 4);
/* The same for something the stages share, under `scope` ("aws") instead
 * of the stage's name; such lines come first. Use with
 * pl_preflight_claim() so that it is said once. */
PL_EXTERN void pl_preflight_report_shared(pl_preflight_t *check,
                                          const char *scope, pl_check_t level,
                                          const char *fmt, ...)
    PL_PRINTF(4, 5);
/* True for the first stage of the run that claims `key` (copied), false
 * for the others and when out of memory: something shared (the caller's
 * AWS identity) is checked once per run. */
PL_EXTERN bool pl_preflight_claim(pl_preflight_t *check, const char *key);
/* The stage `check` belongs to (borrowed). */
PL_EXTERN pl_instance_t *pl_preflight_instance(const pl_preflight_t *check);
/* The stage's checks are over: its requests are answered and its handles
 * closed or closing. Exactly once per preflight callback that returned
 * 0, from the callback itself or later on the loop. */
PL_EXTERN void pl_preflight_done(pl_preflight_t *check);

#endif
