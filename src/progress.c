/* The --once progress line. */
#include "progress.h"
#include "engine.h"

/* `bytes` as "12.3 MiB" (or B, KiB, GiB). */
static void size_text(pl_buf_t *out, uint64_t bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
    v /= 1024;
    u++;
  }
  pl_buf_printf(out, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

void pl__progress_line(const pl_engine_t *engine, pl_progress_t *progress,
                       uint64_t now_ms, pl_buf_t *out) {
  uint64_t rows = 0, rejected = 0, read = 0, total = 0;
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t s = 0; s < pipeline->stage_count; s++) {
      const pl_instance_t *stage = pipeline->stages[s];
      if (stage->role == PL_ROLE_SINK)
        rows += stage->metrics.records_out;
      if (stage->role != PL_ROLE_DEAD_LETTER)
        rejected += stage->metrics.rejected;
      read += stage->progress_read;
      total += stage->progress_total;
    }
  }
  pl_buf_printf(out, "%llu rows delivered, %llu rejected, ",
                (unsigned long long)rows, (unsigned long long)rejected);
  size_text(out, read);
  pl_buf_append_str(out, " read");
  if (total > 0) {
    uint64_t percent = read >= total ? 100 : read * 100 / total;
    pl_buf_printf(out, " (%llu%% of ", (unsigned long long)percent);
    size_text(out, total);
    pl_buf_append_str(out, ")");
  }
  if (progress->last_ms && now_ms > progress->last_ms &&
      rows >= progress->last_rows) {
    double per_s = (double)(rows - progress->last_rows) * 1000.0 /
                   (double)(now_ms - progress->last_ms);
    pl_buf_printf(out, ", %.0f rows/s", per_s);
  }
  progress->last_ms = now_ms;
  progress->last_rows = rows;
}
