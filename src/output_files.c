/* The files this engine writes (sinks, dead letters), by device and inode,
 * so that no source of the same daemon reads one of them as input: a
 * directory or a glob that also matches the daemon's own output would
 * otherwise read it back, and every run would double it. */
#include <stdlib.h>
#include <sys/stat.h>

#include "engine.h"
#include "pipeline.h"
#include "stage.h"

int pl_output_file_add(pl_instance_t *inst, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return 0; /* a pipe or a terminal cannot be read back as a file */
  pl_engine_t *engine = inst->pipeline->engine;
  if (pl_output_file_has(inst, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
    return 0;
  pl_file_id_t *ids = realloc(engine->outputs, (engine->output_count + 1) *
                                                   sizeof(*ids));
  if (!ids)
    return PL_ENOMEM;
  engine->outputs = ids;
  ids[engine->output_count++] =
      (pl_file_id_t){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  return 0;
}

bool pl_output_file_has(const pl_instance_t *inst, uint64_t dev,
                        uint64_t ino) {
  const pl_engine_t *engine = inst->pipeline->engine;
  for (size_t i = 0; i < engine->output_count; i++)
    if (engine->outputs[i].dev == dev && engine->outputs[i].ino == ino)
      return true;
  return false;
}
