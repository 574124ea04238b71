/* Check suite for the sink part of the AWS layer (pl_aws_sink_*, in
 * src/aws/aws.c): a probe sink, run alone by libpipelined-testing with its
 * client pointed at the harness's loopback server, does what sink-sqs and
 * sink-dynamodb do with it: start, write, refusals and their end, close. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws.h>
#include <pipelined/pipelined.h>
#include <pipelined/testing.h>

#include "test_suite.h"

/* What the probe's write does. */
typedef enum {
  PROBE_CLOSE_FIRST, /* closes the sink, then writes as a closed sink */
  PROBE_REFUSE,      /* two refusals and their end, then delivers */
} probe_mode_t;

typedef struct probe_options {
  int mode; /* probe_mode_t */
  char *endpoint;
  char *region;
} probe_options_t;

static const char *const probe_modes[] = {"close_first", "refuse", NULL};

static const pl_option_t probe_option_table[] = {
    PL_OPTION_ENUM(probe_options_t, mode, "mode", "close_first", probe_modes, 0,
                   "What a write does."),
    PL_AWS_CLIENT_OPTIONS(probe_options_t, "SQS", "SQS"),
};

typedef struct probe {
  const probe_options_t *opts;
  pl_aws_sink_t aws;
} probe_t;

static int probe_init(pl_instance_t *inst, const void *options, void **ctx) {
  probe_t *p = calloc(1, sizeof(*p));
  if (!p)
    return PL_ENOMEM;
  p->opts = options;
  *ctx = p;
  return 0;
}

static int probe_start(pl_instance_t *inst, void *ctx) {
  probe_t *p = ctx;
  return pl_aws_sink_start(&p->aws, inst, "sqs", p->opts->endpoint,
                           p->opts->region);
}

static void probe_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  probe_t *p = ctx;
  /* Started: the client exists until close. */
  if (!p->aws.client) {
    pl_batch_done(batch, PL_RESULT_FAILED, "no client after start");
    return;
  }
  if (p->opts->mode == PROBE_CLOSE_FIRST)
    pl_aws_sink_close(&p->aws);
  if (pl_aws_sink_closed(&p->aws, batch))
    return;
  pl_complain(inst, &p->aws.refused, PL_LOG_ERROR, "refused once");
  pl_complain(inst, &p->aws.refused, PL_LOG_ERROR, "refused twice");
  pl_aws_sink_accepted(&p->aws, "%s accepts again", "the queue");
  /* Nothing was refused since: no second line. */
  pl_aws_sink_accepted(&p->aws, "%s accepts again", "the queue");
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void probe_close(pl_instance_t *inst, void *ctx) {
  probe_t *p = ctx;
  pl_aws_sink_close(&p->aws);
}

static void probe_destroy(void *ctx) {
  free(ctx);
}

static const pl_plugin_t sink_probe = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "probe",
    .kind = PL_KIND_SINK,
    .description = "Test sink of the AWS layer's sink helpers.",
    .options = probe_option_table,
    .options_count = sizeof(probe_option_table) / sizeof(probe_option_table[0]),
    .options_size = sizeof(probe_options_t),
    .init = probe_init,
    .start = probe_start,
    .write = probe_write,
    .close = probe_close,
    .destroy = probe_destroy,
    .extensions = PL_AWS_EXTENSIONS,
};

/* Runs one record through the probe with `options`; returns the harness. */
static pl_test_t *run_probe(const char *options, pl_test_http_t **server) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&sink_probe, &t), 0);
  ck_assert_int_eq(pl_test_http_start(pl_test_loop(t), server), 0);
  ck_assert_int_eq(pl_test_use_aws(t, *server), 0);
  ck_assert_int_eq(pl_test_set_options(t, options), 0);
  ck_assert_int_eq(pl_test_feed_record(t, "{\"n\": 1}"), 0);
  pl_test_run(t, 10000);
  return t;
}

static void finish(pl_test_t *t, pl_test_http_t *server) {
  pl_test_http_close(server);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle))
    n++;
  return n;
}

START_TEST(a_closed_sink_fails_the_batch) {
  pl_test_http_t *server = NULL;
  pl_test_t *t = run_probe("mode = \"close_first\"\nretry_limit = 0\n", &server);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_uint_ge(pl_test_failed(t), 1);
  ck_assert_msg(strstr(pl_test_log(t), "the sink is closed"), "%s%s",
                pl_test_errors(t), pl_test_log(t));
  finish(t, server);
}
END_TEST

START_TEST(a_started_sink_writes_and_reports_the_end_of_refusals_once) {
  pl_test_http_t *server = NULL;
  pl_test_t *t = run_probe("mode = \"refuse\"\nretry_limit = 0\n", &server);
  const char *log = pl_test_log(t);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_uint_eq(pl_test_failed(t), 0);
  /* The second refusal came within the first second: not logged. */
  ck_assert_msg(strstr(log, "refused once"), "%s", log);
  ck_assert_msg(!strstr(log, "refused twice"), "%s", log);
  ck_assert_uint_eq(
      count_of(log, "the queue accepts again (recovered after 2 failure(s))"),
      1);
  ck_assert_uint_eq(count_of(log, "accepts again"), 1);
  finish(t, server);
}
END_TEST

/* The plugin's own region and endpoint rows (PL_AWS_CLIENT_OPTIONS) reach
 * the client: a region the AWS layer refuses stops the start, logged. */
START_TEST(the_client_options_reach_the_client) {
  pl_test_http_t *server = NULL;
  pl_test_t *t = run_probe("region = \"Not A Region\"\n", &server);
  ck_assert_int_ne(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_msg(strstr(pl_test_log(t), "invalid AWS region \"Not A Region\""),
                "%s%s", pl_test_errors(t), pl_test_log(t));
  finish(t, server);
}
END_TEST

static Suite *aws_sink_suite(void) {
  Suite *s = suite_create("aws_sink");
  TCase *tc = tcase_create("sink");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, a_closed_sink_fails_the_batch);
  tcase_add_test(tc, a_started_sink_writes_and_reports_the_end_of_refusals_once);
  tcase_add_test(tc, the_client_options_reach_the_client);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(aws_sink_suite());
}
