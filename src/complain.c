/* The per-call-site limiter of repeating failures, in the manner of
 * collectd's c_complain/c_release: each place that may fail again and again
 * owns a pl_complain_t, logs the first failure at once, then at growing
 * intervals with the number it did not log, and one line on recovery. A
 * limiter on identical lines cannot do this: a line number or a request id
 * makes every line different. */
#include <stdarg.h>
#include <stdio.h>
#include <uv.h>

#include "complain.h"
#include "engine.h"
#include "log.h"

bool pl__complain_admit(pl_complain_t *c, uint64_t now_ms,
                        uint64_t *suppressed) {
  c->failures++;
  if (c->interval_ms == 0) {
    c->interval_ms = PL_COMPLAIN_FIRST_MS;
    c->last_ms = now_ms;
    c->suppressed = 0;
    *suppressed = 0;
    return true;
  }
  if (now_ms - c->last_ms < c->interval_ms) {
    c->suppressed++;
    return false;
  }
  c->interval_ms *= 2;
  if (c->interval_ms > PL_COMPLAIN_MAX_MS)
    c->interval_ms = PL_COMPLAIN_MAX_MS;
  c->last_ms = now_ms;
  *suppressed = c->suppressed;
  c->suppressed = 0;
  return true;
}

bool pl__complain_release(pl_complain_t *c, uint64_t *failures) {
  bool logged = c->interval_ms != 0;
  *failures = c->failures;
  *c = (pl_complain_t){0};
  return logged;
}

/* The loop's clock: cached per iteration, which is precise enough for
 * intervals of a second and more, and what a test's loop controls. */
static uint64_t now_ms(const pl_instance_t *inst) {
  return uv_now(inst->pipeline->engine->loop);
}

void pl_complain(const pl_instance_t *inst, pl_complain_t *c,
                 pl_log_level_t level, const char *fmt, ...) {
  uint64_t suppressed = 0;
  uint64_t since = now_ms(inst) - c->last_ms;
  if (!pl__complain_admit(c, now_ms(inst), &suppressed))
    return;
  char suffix[96] = "";
  if (suppressed > 0)
    snprintf(
        suffix, sizeof(suffix), " (and %llu more time(s) in the last %llu s)",
        (unsigned long long)suppressed, (unsigned long long)(since / 1000));
  va_list ap;
  va_start(ap, fmt);
  pl__log_instance(inst, level, suffix, fmt, ap);
  va_end(ap);
}

void pl_complain_vrelease(const pl_instance_t *inst, pl_complain_t *c,
                          const char *fmt, va_list ap) {
  uint64_t failures = 0;
  if (!pl__complain_release(c, &failures))
    return;
  char suffix[64];
  snprintf(suffix, sizeof(suffix), " (recovered after %llu failure(s))",
           (unsigned long long)failures);
  pl__log_instance(inst, PL_LOG_INFO, suffix, fmt, ap);
}

void pl_complain_release(const pl_instance_t *inst, pl_complain_t *c,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pl_complain_vrelease(inst, c, fmt, ap);
  va_end(ap);
}
