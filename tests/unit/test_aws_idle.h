/* An idle engine whose one sink may create AWS clients: the fixture of the
 * tests that drive the AWS client API itself on the engine's loop. */
#ifndef PL_TEST_AWS_IDLE_H
#define PL_TEST_AWS_IDLE_H

#include "test_stages.h"

/* A sink that names the AWS extension and accepts every batch. */
extern const pl_plugin_t test_sink_aws_idle;

/* An engine in daemon mode with one pipeline "p" (source "script", sink
 * "aws-idle"), whose AWS clients read `env` (borrowed) and the settings in
 * `aws_block` (the text of an aws { } block, or NULL). Its sink stage,
 * test_stage(run, "p", PL_ROLE_SINK), can create clients. */
test_run_t *test_aws_idle(const pl_env_t *env, const char *aws_block);

#endif
