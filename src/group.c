/* Ack groups: a group is resolved when its source has sealed it and every
 * record in it is resolved. Its commit callback then runs from the
 * pipeline's pump, never from inside another plugin callback. */
#include <stdlib.h>

#include "group.h"
#include "pipeline.h"

struct pl_group {
  pl_instance_t *source;
  void *data;
  size_t pending; /* records not yet resolved */
  bool sealed;
  bool failed; /* a record failed, or the group was abandoned */
  pl_group_t *next;
};

pl_group_t *pl_group_create(pl_instance_t *inst, void *data) {
  pl_group_t *group = calloc(1, sizeof(*group));
  if (!group)
    return NULL;
  group->source = inst;
  group->data = data;
  inst->pipeline->open_groups++;
  return group;
}

void *pl_group_data(const pl_group_t *group) { return group->data; }

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

void pl__group_commit(pl_group_t *group) {
  pl_instance_t *source = group->source;
  pl_pipeline_t *pipeline = source->pipeline;
  pl_outcome_t outcome = group->failed ? PL_GROUP_FAILED : PL_GROUP_COMMITTED;
  if (outcome == PL_GROUP_COMMITTED)
    pipeline->groups_committed++;
  else
    pipeline->groups_failed++;
  pipeline->open_groups--;
  if (source->plugin->commit)
    source->plugin->commit(source, source->ctx, group, outcome);
  free(group);
}

pl_group_t *pl__group_next(const pl_group_t *group) { return group->next; }
void pl__group_set_next(pl_group_t *group, pl_group_t *next) {
  group->next = next;
}
