/* A reader of the Prometheus text exposition (format 0.0.4), for
 * `pipelined top`: samples with their labels; comments are skipped. */
#ifndef PL_CORE_EXPOSITION_H
#define PL_CORE_EXPOSITION_H

#include <pipelined/common.h>

typedef struct pl_label {
  char *name;
  char *value; /* unescaped */
} pl_label_t;

typedef struct pl_sample {
  char *name;
  pl_label_t *labels;
  size_t label_count;
  double value;
} pl_sample_t;

/* Zero-initialise; pl__exposition_free() when done. */
typedef struct pl_exposition {
  pl_sample_t *samples;
  size_t count;
} pl_exposition_t;

/* Appends the samples of `len` bytes of `text` to `out`. Returns 0,
 * PL_EPARSE naming the line in *error (new; may be NULL) when a line is
 * not a comment, a blank or a sample, or PL_ENOMEM. */
int pl__exposition_parse(const char *text, size_t len, pl_exposition_t *out,
                         char **error);
/* The value of label `name` of `sample` (borrowed), or NULL. */
const char *pl__sample_label(const pl_sample_t *sample, const char *name);
void pl__exposition_free(pl_exposition_t *exposition);

#endif
