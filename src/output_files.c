/* The files this engine writes (sinks, dead letters), by device and inode,
 * so that no source of the same daemon reads one of them as input: a
 * directory or a glob that also matches the daemon's own output would
 * otherwise read it back, and every run would double it. And where its
 * sources read (pl_input_path_add), so that no sink empties an input at
 * its start before it is read. */
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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

int pl_input_path_add(pl_instance_t *inst, const char *path) {
  char **paths =
      realloc(inst->input_paths, (inst->input_path_count + 1) * sizeof(*paths));
  if (!paths)
    return PL_ENOMEM;
  inst->input_paths = paths;
  if (!(paths[inst->input_path_count] = strdup(path)))
    return PL_ENOMEM;
  inst->input_path_count++;
  return 0;
}

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

/* Whether `entry` (a source's input path) takes in the file `path`, in
 * directory `dir` under name `base`; `real`: `path` with its directory
 * resolved (symbolic links, ".."), or NULL. */
static bool takes_in(const char *entry, const char *path, const char *dir,
                     const char *base, const char *real) {
  if (strpbrk(entry, "*?[")) {
    /* A file that is there: the same as one of the glob's matches, however
     * either spells it ("..", symbolic links); one to come, by name. */
    struct stat file;
    if (stat(path, &file) != 0)
      return fnmatch(entry, path, FNM_PATHNAME | FNM_PERIOD) == 0 ||
             (real && fnmatch(entry, real, FNM_PATHNAME | FNM_PERIOD) == 0);
    glob_t matches;
    bool found = false;
    if (glob(entry, GLOB_NOSORT, NULL, &matches) == 0)
      for (size_t i = 0; i < matches.gl_pathc && !found; i++)
        found = same_file(matches.gl_pathv[i], path);
    globfree(&matches);
    return found;
  }
  struct stat st;
  if (stat(entry, &st) != 0) /* neither exists yet: by name */
    return strcmp(entry, path) == 0;
  if (S_ISDIR(st.st_mode)) /* its files, not those whose name starts '.' */
    return base[0] != '.' && same_file(entry, dir);
  return same_file(entry, path);
}

const pl_instance_t *pl_input_file_reader(const pl_instance_t *inst,
                                          const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return NULL; /* not absolute */
  char dir[PATH_MAX], real[PATH_MAX], resolved[PATH_MAX];
  size_t dir_len = slash == path ? 1 : (size_t)(slash - path);
  if (dir_len >= sizeof(dir))
    return NULL;
  memcpy(dir, path, dir_len);
  dir[dir_len] = '\0';
  const char *base = slash + 1;
  bool have_real =
      realpath(dir, resolved) &&
      snprintf(real, sizeof(real), "%s/%s", resolved, base) < (int)sizeof(real);
  /* The stage's own pipeline first: during a reload it may not be among
   * the engine's yet. */
  const pl_engine_t *engine = inst->pipeline->engine;
  for (size_t p = 0; p <= engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline =
        p == 0 ? inst->pipeline : engine->pipelines[p - 1];
    for (size_t i = 0; i < pipeline->stage_count; i++) {
      const pl_instance_t *stage = pipeline->stages[i];
      for (size_t k = 0; k < stage->input_path_count; k++)
        if (takes_in(stage->input_paths[k], path, dir, base,
                     have_real ? real : NULL))
          return stage;
    }
  }
  return NULL;
}
