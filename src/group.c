/* Ack groups: a group is resolved when its source has sealed it and every
 * record in it is resolved. Its commit callback then runs from the
 * pipeline's pump, never from inside another plugin callback. */
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "group_mark.h"
#include "pipeline.h"
#include "record.h"

struct pl_group {
  pl_instance_t *source;
  void *data;
  size_t pending; /* records not yet resolved */
  bool sealed;
  bool failed; /* a record failed, or the group was abandoned */
  pl_group_t *next;
  /* Rejected records, reported in one line at commit. */
  size_t rejected;
  size_t rejected_lost;             /* of them, with no dead letter to go to */
  const pl_instance_t *rejected_by; /* the stage of the first */
  char *first_origin;               /* "file:/in/x.csv", or NULL */
  char *first_reason;               /* "line 2: bad quantity" */
  pl__marks_t marks; /* the committed prefix of its byte stream */
};

pl_group_t *pl_group_create(pl_instance_t *inst, void *data) {
  pl_group_t *group = calloc(1, sizeof(*group));
  if (!group)
    return NULL;
  group->source = inst;
  group->data = data;
  group->marks.group = group;
  inst->pipeline->open_groups++;
  return group;
}

void *pl_group_data(const pl_group_t *group) { return group->data; }

void pl_group_on_progress(pl_group_t *group, pl_group_progress_cb cb,
                          void *data) {
  group->marks.cb = cb;
  group->marks.data = data;
}

pl__marks_t *pl__group_marks(pl_group_t *group) { return &group->marks; }

pl_instance_t *pl__group_source(const pl_group_t *group) {
  return group->source;
}

static void check_resolved(pl_group_t *group) {
  if (group->sealed && group->pending == 0)
    pl__pipeline_group_resolved(group->source->pipeline, group);
}

void pl_group_seal(pl_group_t *group, bool complete) {
  if (group->sealed)
    return;
  group->sealed = true;
  if (!complete)
    group->failed = true;
  check_resolved(group);
}

void pl__group_add(pl_group_t *group) { group->pending++; }

void pl__group_resolve(pl_group_t *group, bool ok) {
  if (!ok)
    group->failed = true;
  group->pending--;
  check_resolved(group);
}

void pl__group_note_reject(pl_group_t *group, const pl_instance_t *stage,
                           const pl_record_t *record, bool kept) {
  group->rejected++;
  if (!kept)
    group->rejected_lost++;
  if (group->rejected > 1)
    return;
  group->rejected_by = stage;
  const char *origin = pl_record_origin(record);
  group->first_origin = origin ? strdup(origin) : NULL;
  pl_buf_t first = {0};
  if (record->line)
    pl_buf_printf(&first, "line %llu: ", (unsigned long long)record->line);
  const char *id = pl_record_message_id(record);
  if (id)
    pl_buf_printf(&first, "message %s: ", id);
  pl_buf_append_str(&first, record->reason ? record->reason : "rejected");
  group->first_reason = first.data; /* NULL when out of memory */
}

/* One line for all the rejected records of the group, by the stage that
 * rejected the first (the plugin that knows why). A group that failed
 * does not claim its letters were written: the dead letter may be what
 * failed (it says why itself, once). */
static void report_rejected(const pl_group_t *group) {
  const pl_instance_t *stage =
      group->rejected_by ? group->rejected_by : group->source;
  const char *origin =
      group->first_origin ? group->first_origin : "(unknown origin)";
  const char *first = group->first_reason ? group->first_reason : "rejected";
  if (group->rejected_lost > 0)
    pl_log(stage, PL_LOG_ERROR,
           "%zu record(s) rejected in %s, first: %s; no dead_letter is "
           "configured, so the group is not committed",
           group->rejected, origin, first);
  else if (group->failed)
    pl_log(stage, PL_LOG_WARN,
           "%zu record(s) rejected in %s, first: %s; the group failed, so "
           "it is not committed",
           group->rejected, origin, first);
  else
    pl_log(stage, PL_LOG_WARN,
           "%zu record(s) rejected in %s, first: %s; they went to the dead "
           "letter",
           group->rejected, origin, first);
}

void pl__group_free(pl_group_t *group) {
  pl__marks_free(&group->marks);
  free(group->first_origin);
  free(group->first_reason);
  free(group);
}

void pl__group_commit(pl_group_t *group) {
  pl_instance_t *source = group->source;
  pl_pipeline_t *pipeline = source->pipeline;
  pl_outcome_t outcome = group->failed ? PL_OUTCOME_FAILED : PL_OUTCOME_COMMITTED;
  if (outcome == PL_OUTCOME_COMMITTED)
    pipeline->groups_committed++;
  else
    pipeline->groups_failed++;
  pipeline->open_groups--;
  if (group->rejected > 0)
    report_rejected(group);
  if (source->plugin->commit)
    source->plugin->commit(source, source->ctx, group, outcome);
  pl__group_free(group);
}

pl_group_t *pl__group_next(const pl_group_t *group) { return group->next; }
void pl__group_set_next(pl_group_t *group, pl_group_t *next) {
  group->next = next;
}
