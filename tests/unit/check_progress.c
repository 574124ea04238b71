/* Check suite for src/progress.c: the --once progress line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "test_stages.h"
#include "test_suite.h"

static const char *const config =
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"1\", \"2\", \"3\"] }\n"
    "  sink \"capture\" { reject_field = \"x\" }\n"
    "}\n";

START_TEST(the_line_says_rows_bytes_share_and_rate) {
  test_run_t *run = test_run(config, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_instance_t *source = test_stage(run, "p", PL_ROLE_SOURCE);
  pl_progress_t progress = {0};
  pl_buf_t line = {0};
  /* Nothing of known size yet: no share; the first line has no rate. */
  pl_source_progress(source, 512, 0);
  pl__progress_line(run->engine, &progress, 1000, &line);
  ck_assert_str_eq(line.data, "3 rows delivered, 0 rejected, 512 B read");
  pl_buf_reset(&line);
  pl_source_progress(source, 1536, 4096);
  pl__progress_line(run->engine, &progress, 3000, &line);
  ck_assert_str_eq(line.data, "3 rows delivered, 0 rejected, 2.0 KiB read "
                              "(50% of 4.0 KiB), 0 rows/s");
  pl_buf_reset(&line);
  /* More rows since the last line: their rate; never past 100%. */
  test_stage(run, "p", PL_ROLE_SINK)->metrics.records_out += 1000;
  pl_source_progress(source, 1 << 20, 0);
  pl__progress_line(run->engine, &progress, 3500, &line);
  ck_assert_str_eq(line.data, "1003 rows delivered, 0 rejected, 1.0 MiB read "
                              "(100% of 4.0 KiB), 2000 rows/s");
  pl_buf_free(&line);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("progress");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, the_line_says_rows_bytes_share_and_rate);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
