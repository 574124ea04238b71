/* Marks: the committed prefix of a group's byte stream (resuming a file or
 * an object in the middle, see pl_record_set_mark()).
 *
 * A source marks each chunk of its stream with the offset where the chunk
 * ends; the mark then counts the chunk and every record derived from it,
 * however deep. A group's marks form a FIFO in stream order: when the
 * marks at its head have no record left, and none of their records
 * failed, they leave it, and the group's progress callback hears the
 * latest: the offset of its end less the bytes a transform held unfinished
 * there (a partial row, which the next chunk completes and so counts), and
 * the line where the next row starts. Internal to the core. */
#ifndef PL_CORE_GROUP_MARK_H
#define PL_CORE_GROUP_MARK_H

#include <pipelined/record.h>

typedef struct pl__mark pl__mark_t;

/* The marks of one group; embedded in the group, zero-initialised. */
typedef struct pl__marks {
  pl__mark_t *head;
  pl__mark_t *tail;
  pl_group_progress_cb cb; /* NULL: nobody listens */
  void *data;
  pl_group_t *group; /* handed to the callback */
} pl__marks_t;

/* A new mark at the tail ending at `end`, holding one record (the chunk
 * being marked). NULL when out of memory. */
pl__mark_t *pl__marks_add(pl__marks_t *marks, uint64_t end);
/* One more record (derived from one of the mark's) belongs to `mark`. */
void pl__mark_hold(pl__mark_t *mark);
/* One record of `mark` is resolved (ok: delivered or dead-lettered);
 * the marks at the head that are done leave, and the callback hears the
 * last of them. A failed record stops the progress of the group for good. */
void pl__mark_release(pl__mark_t *mark, bool ok);
/* A transform holds the last `held` bytes up to the mark's end unfinished,
 * a row starting at line `line` (0: unknown). */
void pl__mark_set_held(pl__mark_t *mark, uint64_t held, uint64_t line);
/* Frees the marks left (the group is freed). */
void pl__marks_free(pl__marks_t *marks);

#endif
