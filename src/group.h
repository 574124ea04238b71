/* Internal side of acknowledgement groups. */
#ifndef PL_CORE_GROUP_H
#define PL_CORE_GROUP_H

#include <pipelined/record.h>

/* One more record belongs to the group. */
void pl__group_add(pl_group_t *group);
/* One record of the group is resolved; ok = delivered or dead-lettered. */
void pl__group_resolve(pl_group_t *group, bool ok);
/* The source stage that owns the group. */
pl_instance_t *pl__group_source(const pl_group_t *group);
/* Called by the pipeline for each resolved group, outside any plugin
 * callback: tells the source and frees the group. */
void pl__group_commit(pl_group_t *group);
/* Links for the pipeline's list of resolved groups. */
pl_group_t *pl__group_next(const pl_group_t *group);
void pl__group_set_next(pl_group_t *group, pl_group_t *next);

#endif
