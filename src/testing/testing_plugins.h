/* The scripted stages of libpipelined-testing, built on the public plugin
 * API only: a source that emits what the test fed, a sink that captures
 * what reaches it, and a dead letter that keeps records with reasons. */
#ifndef PL_TESTING_PLUGINS_H
#define PL_TESTING_PLUGINS_H

#include <pipelined/plugin.h>

/* One thing fed: a JSON value, a byte chunk or a cut, in group `group`. */
typedef struct pl__test_feed {
  json_t *value; /* owned; NULL for bytes and cuts */
  char *bytes;   /* owned */
  size_t len;
  bool last;
  bool cut; /* a record that cuts the byte stream short */
  size_t group;
  /* Metadata (pl_test_feed_meta), owned; NULL and 0: the defaults. */
  char *origin;
  char *etag;
  char *message_id;
  char *origin_time;
  uint64_t line;
  bool replay;
} pl__test_feed_t;

/* What the stages read and fill; owned by the harness. */
typedef struct pl__test_state {
  pl__test_feed_t *feeds;
  size_t feed_count;
  json_t *records;      /* captured by the sink */
  json_t *record_meta;  /* their metadata, one object each */
  json_t *dead_letters; /* the documents the dead letter received */
  size_t emitted;       /* records the scripted source emitted */
  size_t committed;
  size_t failed;
  /* Called at each commit of the scripted source (pl_test_on_commit). */
  void (*on_commit)(void *harness, bool committed);
  /* Called at each write of the capturing sink (pl_test_on_write). */
  void (*on_write)(void *harness, void *data);
  void *harness;
  void *on_write_data;
} pl__test_state_t;

/* "source-pl-test", "sink-pl-test" and "sink-pl-test-dead-letter". The
 * two sinks take the scripted behaviours of pl_test_set_sink_options():
 * fail_first, fail_always, reject_field and delay_ms. */
extern const pl_plugin_t pl__test_source;
extern const pl_plugin_t pl__test_sink;
extern const pl_plugin_t pl__test_dead_letter;

/* Gives a stage of one of those plugins (its context, from
 * pl_instance_context) the harness's state, before the engine starts. */
void pl__test_attach(void *ctx, pl__test_state_t *state);

#endif
