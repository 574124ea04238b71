/* Internal side of acknowledgement groups. */
#ifndef PL_CORE_GROUP_H
#define PL_CORE_GROUP_H

#include <pipelined/record.h>

#include "group_mark.h"

/* One more record belongs to the group. */
void pl__group_add(pl_group_t *group);
/* One record of the group is resolved; ok = delivered or dead-lettered. */
void pl__group_resolve(pl_group_t *group, bool ok);
/* A record of the group was rejected by `stage` (to the dead letter when
 * `kept`, else failing the group): counted, and the first one remembered,
 * for the one line the group's commit logs about them (HACKING.md#s9). */
void pl__group_note_reject(pl_group_t *group, const pl_instance_t *stage,
                           const pl_record_t *record, bool kept);
/* Frees a group whose commit never ran (a forced exit). */
void pl__group_free(pl_group_t *group);
/* The source stage that owns the group. */
pl_instance_t *pl__group_source(const pl_group_t *group);
/* Called by the pipeline for each resolved group, outside any plugin
 * callback: tells the source and frees the group. */
void pl__group_commit(pl_group_t *group);
/* The marks of the group's byte stream (borrowed). */
pl__marks_t *pl__group_marks(pl_group_t *group);
/* Links for the pipeline's list of resolved groups. */
pl_group_t *pl__group_next(const pl_group_t *group);
void pl__group_set_next(pl_group_t *group, pl_group_t *next);

#endif
