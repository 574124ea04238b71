/* Every built plugin opens with immediate binding (no undefined symbol),
 * exports exactly the descriptor symbol, and has a valid descriptor and
 * option table (HACKING.md#s11). */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "registry.h"
#include "stage.h"
#include "test_suite.h"

static const char *plugin_dir(void) {
  const char *path = getenv("PIPELINED_PLUGIN_PATH");
  ck_assert_msg(path != NULL, "PIPELINED_PLUGIN_PATH is not set");
  return path;
}

static void check_one(const char *dir, const char *file) {
  pl_buf_t path = {0};
  pl_buf_printf(&path, "%s/.libs/%s", dir, file);
  void *handle = dlopen(path.data, RTLD_NOW | RTLD_LOCAL);
  ck_assert_msg(handle != NULL, "dlopen %s: %s", path.data, dlerror());
  const pl_plugin_t *plugin = dlsym(handle, PL_PLUGIN_SYMBOL_NAME);
  ck_assert_msg(plugin != NULL, "%s: no descriptor", path.data);
  char *error = NULL;
  int rc = pl__plugin_validate(plugin, path.data, &error);
  ck_assert_msg(rc == 0, "%s", error ? error : "invalid");
  char *name = pl__plugin_full_name(plugin);
  ck_assert_msg(strncmp(file, name, strlen(name)) == 0 &&
                    strcmp(file + strlen(name), ".so") == 0,
                "%s holds plugin %s", file, name);
  free(name);
  ck_assert_msg(plugin->description[0] != '\0', "%s: no description", file);
  for (size_t i = 0; i < plugin->options_count; i++)
    ck_assert_msg(plugin->options[i].description[0] != '\0',
                  "%s: option %s has no description", file,
                  plugin->options[i].name);
  /* The defaults fill a struct through the same code as user input. */
  void *options = calloc(1, plugin->options_size ? plugin->options_size : 1);
  pl_option_t stage[PL_STAGE_OPTION_MAX];
  pl_stage_options_t stage_values = {0};
  size_t stage_count = pl__stage_table_for(plugin, stage);
  pl_opt_table_t tables[] = {{stage, stage_count, &stage_values}};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__options_apply(tables, 1, NULL, file, &errors), 0);
  pl_buf_free(&errors);
  pl__options_free(stage, stage_count, &stage_values);
  free(options);
  dlclose(handle);
  pl_buf_free(&path);
}

START_TEST(every_built_plugin_is_valid) {
  const char *dir = plugin_dir();
  pl_buf_t libs = {0};
  pl_buf_printf(&libs, "%s/.libs", dir);
  DIR *d = opendir(libs.data);
  ck_assert_msg(d != NULL, "cannot open %s", libs.data);
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(d))) {
    size_t len = strlen(entry->d_name);
    if (len > 3 && strcmp(entry->d_name + len - 3, ".so") == 0) {
      check_one(dir, entry->d_name);
      count++;
    }
  }
  closedir(d);
  pl_buf_free(&libs);
  ck_assert_uint_ge(count, 3);
}
END_TEST

int main(void) {
  Suite *s = suite_create("plugins");
  TCase *tc = tcase_create("descriptors");
  tcase_add_test(tc, every_built_plugin_is_valid);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
