/* Check suite for src/registry.c: descriptor validation (ABI version
 * first, size, names, callbacks, option tables), built-in plugins, the
 * directory search order, and loading real modules with libltdl: a good
 * one, one from a future ABI, one whose file name does not match its
 * descriptor, and files that are not plugins at all. The test modules are
 * in $PIPELINED_TEST_PLUGIN_DIR (tests/plugins/). */
#define _GNU_SOURCE /* dladdr */
#include "registry.h"

#include <check.h>
#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_suite.h"

/* ---- Descriptors linked into the test ---- */

static int t_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = NULL;
  return 0;
}
static int t_start(pl_instance_t *inst, void *ctx) { return 0; }
static void t_process(pl_instance_t *inst, void *ctx, pl_record_t *record) {}
static void t_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {}
static void t_destroy(void *ctx) {}

typedef struct t_options {
  int64_t n;
  int mode;
  pl_list_t list;
} t_options_t;

static const char *const t_modes[] = {"a", "b", NULL};

static const pl_option_t t_option_table[] = {
    PL_OPTION_INT(t_options_t, n, "n", "1", 0, "A number."),
    PL_OPTION_ENUM(t_options_t, mode, "mode", "a", t_modes, 0, "A mode."),
    PL_OPTION_LIST(t_options_t, list, "list", NULL, 0, "A list."),
};

static pl_plugin_t valid(pl_kind_t kind) {
  return (pl_plugin_t){
      .abi_version = PL_ABI_VERSION,
      .struct_size = sizeof(pl_plugin_t),
      .name = "t",
      .kind = kind,
      .description = "A test plugin.",
      .options = t_option_table,
      .options_count = sizeof(t_option_table) / sizeof(t_option_table[0]),
      .options_size = sizeof(t_options_t),
      .init = t_init,
      .start = kind == PL_KIND_SOURCE ? t_start : NULL,
      .process = kind == PL_KIND_TRANSFORM ? t_process : NULL,
      .write = kind == PL_KIND_SINK ? t_write : NULL,
      .destroy = t_destroy,
  };
}

/* Validates `p` and checks the code and the exact message. */
static void assert_invalid(const pl_plugin_t *p, int rc, const char *message) {
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(p, "/lib/x/source-t.so", &error), rc);
  ck_assert_ptr_nonnull(error);
  ck_assert_str_eq(error, message);
  free(error);
}

/* ---- Temporary plugin directories ---- */

static const char *plugin_dir(void) {
  const char *dir = getenv("PIPELINED_TEST_PLUGIN_DIR");
  if (!dir || !*dir)
    ck_abort_msg("PIPELINED_TEST_PLUGIN_DIR is not set (the directory of "
                 "tests/plugins/source-good, source-badabi, sink-misnamed)");
  return dir;
}

typedef struct tmpdir {
  char path[256];
} tmpdir_t;

static void tmpdir_create(tmpdir_t *t) {
  const char *base = getenv("TMPDIR");
  snprintf(t->path, sizeof t->path, "%s/check_registry.XXXXXX",
           base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(t->path));
}

static void tmpdir_write(const tmpdir_t *t, const char *name, const void *data,
                         size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", t->path, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* Copies a shared library that has no pipelined_plugin symbol (jansson's,
 * found from one of its functions) into the directory as `name`. */
static void tmpdir_copy_library(const tmpdir_t *t, const char *name) {
  Dl_info info;
  ck_assert_int_ne(dladdr((void *)json_object, &info), 0);
  ck_assert_ptr_nonnull(info.dli_fname);
  FILE *in = fopen(info.dli_fname, "rb");
  ck_assert_msg(in != NULL, "cannot read %s", info.dli_fname);
  char path[512];
  snprintf(path, sizeof path, "%s/%s", t->path, name);
  FILE *out = fopen(path, "wb");
  ck_assert_ptr_nonnull(out);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
    ck_assert_uint_eq(fwrite(chunk, 1, n, out), n);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

static void tmpdir_remove(tmpdir_t *t, const char *const *names) {
  for (size_t i = 0; names[i]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", t->path, names[i]);
    unlink(path);
  }
  ck_assert_int_eq(rmdir(t->path), 0);
}

static pl_registry_t *registry(const char *const *dirs, size_t count) {
  pl_registry_t *reg = NULL;
  ck_assert_int_eq(pl__registry_create(dirs, count, &reg), 0);
  ck_assert_ptr_nonnull(reg);
  return reg;
}

/* Finds a plugin that must be missing or broken; returns the message. */
static char *find_error(pl_registry_t *reg, pl_kind_t kind, const char *name,
                        int rc) {
  const pl_plugin_t *p = (const pl_plugin_t *)&p; /* must stay untouched */
  const pl_plugin_t *const sentinel = p;
  char *error = NULL;
  ck_assert_int_eq(pl__registry_find(reg, kind, name, &p, &error), rc);
  ck_assert_ptr_eq(p, sentinel);
  ck_assert_ptr_nonnull(error);
  return error;
}

static char *path_in(const char *dir, const char *fmt) {
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, fmt, dir);
  return buf.data;
}

/* ---- Validation ---- */

START_TEST(valid_descriptors_of_every_kind_pass) {
  for (int kind = PL_KIND_SOURCE; kind <= PL_KIND_SINK; kind++) {
    pl_plugin_t p = valid((pl_kind_t)kind);
    char *error = NULL;
    ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
    ck_assert_ptr_null(error);
  }
  /* No options at all is fine. */
  pl_plugin_t p = valid(PL_KIND_SINK);
  p.options = NULL;
  p.options_count = 0;
  p.options_size = 0;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(an_abi_mismatch_names_the_file_and_both_versions) {
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.abi_version = PL_ABI_VERSION + 1;
  char expected[256];
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: plugin ABI version %u, but this pipelined "
           "needs version %u (rebuild the plugin against these headers)",
           PL_ABI_VERSION + 1, PL_ABI_VERSION);
  assert_invalid(&p, PL_EABI, expected);
  p.abi_version = 0;
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: plugin ABI version 0, but this pipelined "
           "needs version %u (rebuild the plugin against these headers)",
           PL_ABI_VERSION);
  assert_invalid(&p, PL_EABI, expected);
}
END_TEST

START_TEST(the_abi_version_is_checked_before_anything_else) {
  /* Everything after the version is garbage: only the version is read. */
  pl_plugin_t p;
  memset(&p, 0xA5, sizeof p);
  p.abi_version = 99;
  char expected[256];
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: plugin ABI version 99, but this pipelined "
           "needs version %u (rebuild the plugin against these headers)",
           PL_ABI_VERSION);
  assert_invalid(&p, PL_EABI, expected);
}
END_TEST

/* The size of the descriptor as ABI 2 defines it. */
#define MIN_SIZE                                                               \
  (offsetof(pl_plugin_t, extensions) +                                         \
   sizeof(((pl_plugin_t *)0)->extensions))

START_TEST(the_exact_struct_size_is_accepted) {
  /* A descriptor built before fields were appended (preflight) ends at
   * extensions: it still loads. */
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  ck_assert_uint_gt(p.struct_size, MIN_SIZE);
  p.struct_size = MIN_SIZE;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
  ck_assert_ptr_null(error);
  /* And so does one of these headers' size. */
  p.struct_size = sizeof(pl_plugin_t);
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(a_larger_struct_size_is_accepted) {
  /* A descriptor from later headers of the same ABI, with fields appended
   * that this core does not know and does not read. */
  struct {
    pl_plugin_t known;
    void *appended[4];
  } later = {.known = valid(PL_KIND_SINK),
             .appended = {NULL, NULL, NULL, NULL}};
  later.known.struct_size = sizeof later;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&later.known, "x", &error), 0);
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(a_struct_size_below_the_minimum_is_an_abi_error) {
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.struct_size = MIN_SIZE - 8;
  char expected[160];
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: descriptor size %zu, but ABI version %u "
           "needs at least %zu",
           (size_t)MIN_SIZE - 8, PL_ABI_VERSION, (size_t)MIN_SIZE);
  assert_invalid(&p, PL_EABI, expected);
  p.struct_size = 0;
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: descriptor size 0, but ABI version %u needs "
           "at least %zu",
           PL_ABI_VERSION, (size_t)MIN_SIZE);
  assert_invalid(&p, PL_EABI, expected);
}
END_TEST

START_TEST(a_version_1_descriptor_is_refused_by_its_version) {
  /* Built against ABI 1, whose pl_option_t had no limits: the version
   * decides before the size does. */
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.abi_version = 1;
  p.struct_size = MIN_SIZE - 8;
  char expected[160];
  snprintf(expected, sizeof expected,
           "/lib/x/source-t.so: plugin ABI version 1, but this pipelined "
           "needs version %u (rebuild the plugin against these headers)",
           PL_ABI_VERSION);
  ck_assert_uint_ge(PL_ABI_VERSION, 2);
  assert_invalid(&p, PL_EABI, expected);
}
END_TEST

START_TEST(a_descriptor_needs_a_name_kind_and_description) {
  const char *message = "/lib/x/source-t.so: descriptor lacks a name, kind "
                        "or description";
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.name = NULL;
  assert_invalid(&p, PL_EINVAL, message);
  p = valid(PL_KIND_SOURCE);
  p.name = "";
  assert_invalid(&p, PL_EINVAL, message);
  p = valid(PL_KIND_SOURCE);
  p.description = NULL;
  assert_invalid(&p, PL_EINVAL, message);
  p = valid(PL_KIND_SOURCE);
  p.kind = (pl_kind_t)3;
  assert_invalid(&p, PL_EINVAL, message);
  p.kind = (pl_kind_t)-1;
  assert_invalid(&p, PL_EINVAL, message);
}
END_TEST

START_TEST(every_kind_needs_its_callbacks) {
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.init = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: source plugin 't' has no init callback");
  p = valid(PL_KIND_SINK);
  p.destroy = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: sink plugin 't' has no destroy "
                 "callback");
  p = valid(PL_KIND_SOURCE);
  p.start = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: source plugin 't' has no start "
                 "callback");
  p = valid(PL_KIND_TRANSFORM);
  p.process = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: transform plugin 't' has no process "
                 "callback");
  p = valid(PL_KIND_SINK);
  p.write = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: sink plugin 't' has no write callback");
  /* A sink needs no start, a source no write. */
  p = valid(PL_KIND_SINK);
  p.start = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
}
END_TEST

START_TEST(options_need_a_name_and_description) {
  pl_option_t options[2] = {t_option_table[0], t_option_table[1]};
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.options = options;
  p.options_count = 2;
  options[1].name = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 1 ('?') is invalid");
  options[1] = t_option_table[1];
  options[0].description = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid");
}
END_TEST

START_TEST(an_enum_without_choices_is_invalid) {
  pl_option_t options[1] = {t_option_table[1]};
  options[0].choices = NULL;
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.options = options;
  p.options_count = 1;
  options[0].default_value = NULL;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('mode') is "
                 "invalid");
}
END_TEST

START_TEST(an_option_outside_the_options_struct_is_invalid) {
  pl_option_t options[1] = {t_option_table[0]};
  options[0].offset = sizeof(t_options_t);
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.options = options;
  p.options_count = 1;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid");
  /* A table with options but no struct size. */
  options[0].offset = 8;
  p.options_size = 0;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid");
}
END_TEST

START_TEST(a_default_that_does_not_parse_is_invalid) {
  pl_option_t options[3] = {t_option_table[0], t_option_table[1],
                            t_option_table[2]};
  pl_plugin_t p = valid(PL_KIND_SINK);
  p.options = options;
  p.options_count = 3;
  options[0].default_value = "one";
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid: "
                 "option 'n': default 'one' is not an integer");
  options[0] = t_option_table[0];
  options[2].default_value = "x";
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 2 ('list') is "
                 "invalid: list and map options cannot have a default");
  options[2] = t_option_table[2];
  options[1].default_value = "c";
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "w", &error), PL_EINVAL);
  ck_assert_ptr_nonnull(
      strstr(error, "w: plugin 't': option 1 ('mode') is invalid: option "
                    "'mode': default 'c' is not one of"));
  free(error);
}
END_TEST

START_TEST(a_template_default_that_does_not_parse_is_invalid) {
  typedef struct o {
    pl_template_t *key;
  } o_t;
  pl_option_t options[1] = {
      PL_OPTION_TEMPLATE(o_t, key, "key", "${", 0, "The key.")};
  pl_plugin_t p = valid(PL_KIND_SINK);
  p.options = options;
  p.options_count = 1;
  p.options_size = sizeof(o_t);
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('key') is "
                 "invalid: option 'key': default '${' is not a \"template\" "
                 "string: template \"${\", at character 1: '${' is not "
                 "closed by '}'");
}
END_TEST

START_TEST(limits_are_checked_when_a_descriptor_is_validated) {
  pl_option_t options[3] = {t_option_table[0], t_option_table[1],
                            t_option_table[2]};
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.options = options;
  p.options_count = 3;
  options[0] = (pl_option_t)PL_OPTION_INT_RANGE(t_options_t, n, "n", "1", 1, 9,
                                                0, "A number.");
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
  /* The default is checked against the limits. */
  options[0].default_value = "10";
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid: "
                 "option 'n': default '10' is not an integer from 1 to 9");
  options[0].default_value = NULL;
  options[0].min.i = 10;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 0 ('n') is invalid: "
                 "option 'n': its minimum is above its maximum");
  options[0] = t_option_table[0];
  /* Limits on a type that has none. */
  options[1].has_limits = true;
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': option 1 ('mode') is "
                 "invalid: option 'mode': limits are for int, double, "
                 "duration, size, string, list and map options");
}
END_TEST

START_TEST(a_sinks_stage_defaults_keep_the_stage_limits) {
  pl_plugin_t p = valid(PL_KIND_SINK);
  p.defaults.batch_size = "0";
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': stage defaults: option "
                 "'batch_size': default '0' is not an integer of at least 1");
  p.defaults.batch_size = "10";
  p.defaults.linger = "soon";
  assert_invalid(&p, PL_EINVAL,
                 "/lib/x/source-t.so: plugin 't': stage defaults: option "
                 "'linger': default 'soon' is not a duration such as 500ms, "
                 "30s or 5m");
  p.defaults.linger = "5ms";
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), 0);
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(full_names_join_kind_and_name) {
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.name = "file";
  char *name = pl__plugin_full_name(&p);
  ck_assert_str_eq(name, "source-file");
  free(name);
  p.kind = PL_KIND_TRANSFORM;
  p.name = "csv";
  name = pl__plugin_full_name(&p);
  ck_assert_str_eq(name, "transform-csv");
  free(name);
  p.kind = PL_KIND_SINK;
  p.name = "sqs";
  name = pl__plugin_full_name(&p);
  ck_assert_str_eq(name, "sink-sqs");
  free(name);
  ck_assert_str_eq(pl_kind_name((pl_kind_t)7), "unknown");
}
END_TEST

/* ---- Built-in plugins and the search path ---- */

START_TEST(built_in_plugins_are_found_by_kind_and_name) {
  pl_registry_t *reg = registry(NULL, 0);
  pl_plugin_t source = valid(PL_KIND_SOURCE);
  pl_plugin_t sink = valid(PL_KIND_SINK);
  ck_assert_int_eq(pl__registry_add(reg, &source), 0);
  ck_assert_int_eq(pl__registry_add(reg, &sink), 0);
  const pl_plugin_t *found = NULL;
  char *error = NULL;
  ck_assert_int_eq(
      pl__registry_find(reg, PL_KIND_SOURCE, "t", &found, &error), 0);
  ck_assert_ptr_eq(found, &source);
  ck_assert_ptr_null(error);
  ck_assert_int_eq(pl__registry_find(reg, PL_KIND_SINK, "t", &found, &error),
                   0);
  ck_assert_ptr_eq(found, &sink);
  error = find_error(reg, PL_KIND_TRANSFORM, "t", PL_ENOENT);
  ck_assert_str_eq(error, "no plugin transform-t in (no plugin directory) "
                          "(pipelined --list-plugins shows what there is)");
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(an_invalid_built_in_plugin_is_refused) {
  pl_registry_t *reg = registry(NULL, 0);
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.abi_version = PL_ABI_VERSION + 1;
  ck_assert_int_eq(pl__registry_add(reg, &p), PL_EABI);
  p = valid(PL_KIND_SOURCE);
  p.init = NULL;
  ck_assert_int_eq(pl__registry_add(reg, &p), PL_EINVAL);
  char *error = find_error(reg, PL_KIND_SOURCE, "t", PL_ENOENT);
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(a_missing_plugin_lists_the_directories_searched) {
  const char *dirs[] = {"/opt/a", "/opt/b"};
  pl_registry_t *reg = registry(dirs, 2);
  char *error = find_error(reg, PL_KIND_SINK, "sqs", PL_ENOENT);
  ck_assert_str_eq(error, "no plugin sink-sqs in /opt/a, /opt/b (pipelined "
                          "--list-plugins shows what there is)");
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(prepended_and_appended_directories_keep_their_order) {
  const char *dirs[] = {"/installed"};
  pl_registry_t *reg = registry(dirs, 1);
  const char *first[] = {"/config/one", "/config/two"};
  ck_assert_int_eq(pl__registry_prepend_dirs(reg, first, 2), 0);
  ck_assert_int_eq(pl__registry_prepend_dirs(reg, first, 0), 0);
  ck_assert_int_eq(pl__registry_append_path(reg, "/env/a::/env/b:"), 0);
  ck_assert_int_eq(pl__registry_append_path(reg, ""), 0);
  ck_assert_int_eq(pl__registry_append_path(reg, NULL), 0);
  ck_assert_int_eq(pl__registry_append_path(reg, ":::"), 0);
  char *error = find_error(reg, PL_KIND_SOURCE, "x", PL_ENOENT);
  ck_assert_str_eq(error, "no plugin source-x in /config/one, /config/two, "
                          "/installed, /env/a, /env/b (pipelined "
                          "--list-plugins shows what there is)");
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(directories_are_copied) {
  char dir[] = "/opt/plugins";
  const char *dirs[] = {dir};
  pl_registry_t *reg = registry(dirs, 1);
  dir[1] = 'X';
  char *error = find_error(reg, PL_KIND_SOURCE, "x", PL_ENOENT);
  ck_assert_ptr_nonnull(strstr(error, " /opt/plugins "));
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(two_registries_live_side_by_side) {
  /* libltdl is reference counted: destroying one registry must not close
   * the other's modules (two engines may run in one process). */
  const char *dirs[] = {plugin_dir()};
  pl_registry_t *a = registry(dirs, 1);
  pl_registry_t *b = registry(dirs, 1);
  const pl_plugin_t *pa = NULL, *pb = NULL;
  char *error = NULL;
  ck_assert_msg(pl__registry_find(a, PL_KIND_SOURCE, "good", &pa, &error) == 0,
                "%s", error);
  pl__registry_destroy(a);
  ck_assert_msg(pl__registry_find(b, PL_KIND_SOURCE, "good", &pb, &error) == 0,
                "%s", error);
  ck_assert_str_eq(pb->name, "good");
  pl__registry_destroy(b);
}
END_TEST

/* ---- Loading modules ---- */

START_TEST(a_good_module_loads_and_validates) {
  const char *dirs[] = {plugin_dir()};
  pl_registry_t *reg = registry(dirs, 1);
  const pl_plugin_t *p = NULL;
  char *error = NULL;
  int rc = pl__registry_find(reg, PL_KIND_SOURCE, "good", &p, &error);
  ck_assert_msg(rc == 0, "%s", error ? error : "?");
  ck_assert_ptr_null(error);
  ck_assert_uint_eq(p->abi_version, PL_ABI_VERSION);
  ck_assert_str_eq(p->name, "good");
  ck_assert_int_eq(p->kind, PL_KIND_SOURCE);
  ck_assert_uint_eq(p->options_count, 2);
  ck_assert_str_eq(p->options[0].name, "count");
  ck_assert_ptr_nonnull(p->init);
  ck_assert_ptr_nonnull(p->start);
  /* A second find returns the module already loaded. */
  const pl_plugin_t *again = NULL;
  ck_assert_int_eq(
      pl__registry_find(reg, PL_KIND_SOURCE, "good", &again, &error), 0);
  ck_assert_ptr_eq(again, p);
  /* The name is the whole file name: the kind must match too. */
  error = find_error(reg, PL_KIND_SINK, "good", PL_ENOENT);
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

/* ---- Trust ---- */

/* Copies the test module source-good into `dir` as source-good.so with
 * `mode`; returns its path (a new string). */
static char *copy_good_module(const char *dir, mode_t mode) {
  char *from = path_in(plugin_dir(), "%s/.libs/source-good.so");
  char *to = path_in(dir, "%s/source-good.so");
  FILE *in = fopen(from, "rb");
  ck_assert_msg(in != NULL, "cannot read %s", from);
  FILE *out = fopen(to, "wb");
  ck_assert_ptr_nonnull(out);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
    ck_assert_uint_eq(fwrite(chunk, 1, n, out), n);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
  ck_assert_int_eq(chmod(to, mode), 0);
  free(from);
  return to;
}

static void count_plugin(void *data, const pl_plugin_t *plugin,
                         const char *path) {
  (void)plugin, (void)path;
  (*(size_t *)data)++;
}

/* Finds source-good in `dir` alone: 0, or the code with the message in
 * *error. */
static int find_good(const char *dir, char **error) {
  const char *dirs[] = {dir};
  pl_registry_t *reg = registry(dirs, 1);
  const pl_plugin_t *p = NULL;
  *error = NULL;
  int rc = pl__registry_find(reg, PL_KIND_SOURCE, "good", &p, error);
  pl__registry_destroy(reg);
  return rc;
}

/* As sshd's StrictModes: a module, or a directory up to the plugin
 * directory, that another user could write is refused before it is opened
 * (loading runs its code), naming the path and its mode. Mode bits and
 * ownership, not access(), so that the test means the same as root. */
START_TEST(a_plugin_other_users_can_write_is_refused) {
  tmpdir_t t;
  tmpdir_create(&t);
  char *real_top = realpath(t.path, NULL);
  ck_assert_ptr_nonnull(real_top);
  char *dir = path_in(t.path, "%s/plugins");
  char *real_dir = path_in(real_top, "%s/plugins");
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  ck_assert_int_eq(chmod(dir, 0755), 0);
  char *file = copy_good_module(dir, 0644);
  char *real_file = path_in(real_dir, "%s/source-good.so");
  char *error = NULL;
  ck_assert_msg(find_good(dir, &error) == 0, "%s", error);

  /* The file, writable by every user. */
  ck_assert_int_eq(chmod(file, 0646), 0);
  ck_assert_int_eq(find_good(dir, &error), PL_EINVAL);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "refusing to load %s: %s has mode 0646, writable by every "
                "user (chmod go-w %s)",
                file, real_file, real_file);
  ck_assert_str_eq(error, expect.data);
  free(error);

  /* Its directory, writable by its group. */
  ck_assert_int_eq(chmod(file, 0644), 0);
  ck_assert_int_eq(chmod(dir, 0775), 0);
  ck_assert_int_eq(find_good(dir, &error), PL_EINVAL);
  pl_buf_reset(&expect);
  pl_buf_printf(&expect,
                "refusing to load %s: %s has mode 0775, writable by its "
                "group (chmod go-w %s)",
                file, real_dir, real_dir);
  ck_assert_str_eq(error, expect.data);
  free(error);
  ck_assert_int_eq(chmod(dir, 0755), 0);

  /* Owned by another user (only root can give a file away). */
  if (geteuid() == 0) {
    ck_assert_int_eq(chown(file, 4321, (gid_t)-1), 0);
    ck_assert_int_eq(find_good(dir, &error), PL_EINVAL);
    pl_buf_reset(&expect);
    pl_buf_printf(&expect,
                  "refusing to load %s: %s is owned by uid 4321, neither "
                  "root nor this user (uid 0)",
                  file, real_file);
    ck_assert_str_eq(error, expect.data);
    free(error);
  }

  /* --list-plugins reports it too, and lists nothing. */
  ck_assert_int_eq(chmod(file, 0666), 0);
  const char *dirs[] = {dir};
  pl_registry_t *reg = registry(dirs, 1);
  pl_buf_t errors = {0};
  size_t seen = 0;
  ck_assert_int_eq(pl__registry_each(reg, count_plugin, &seen, &errors), 0);
  ck_assert_uint_eq(seen, 0);
  ck_assert_msg(strstr(errors.data, "has mode 0666"), "%s", errors.data);
  pl_buf_free(&errors);
  pl__registry_destroy(reg);

  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  ck_assert_int_eq(rmdir(t.path), 0);
  pl_buf_free(&expect);
  free(real_file);
  free(file);
  free(real_dir);
  free(dir);
  free(real_top);
}
END_TEST

/* plugin_path: its relative directories, already made relative to their
 * config file by the option table (PL_OPT_PATH, check_options), are made
 * absolute with the working directory of the moment, so that a later
 * change of directory does not change what is found. */
START_TEST(a_relative_plugin_path_is_made_absolute) {
  const char *dirs[] = {"/installed"};
  pl_registry_t *reg = registry(dirs, 1);
  ck_assert_int_eq(chdir("/etc"), 0);
  const char *mine[] = {"pipelined/plugins", "/abs", "../lib"};
  ck_assert_int_eq(pl__registry_prepend_config_dirs(reg, mine, 3), 0);
  ck_assert_int_eq(chdir("/"), 0);
  char *error = find_error(reg, PL_KIND_SOURCE, "x", PL_ENOENT);
  ck_assert_str_eq(error, "no plugin source-x in /etc/pipelined/plugins, "
                          "/abs, /etc/../lib, /installed (pipelined "
                          "--list-plugins shows what there is)");
  free(error);
  pl__registry_destroy(reg);

  /* A real load after the working directory changed. */
  tmpdir_t t;
  tmpdir_create(&t);
  ck_assert_int_eq(chmod(t.path, 0755), 0);
  char *conf = path_in(t.path, "%s/conf");
  char *plugins = path_in(t.path, "%s/conf/plugins");
  ck_assert_int_eq(mkdir(conf, 0755), 0);
  ck_assert_int_eq(mkdir(plugins, 0755), 0);
  char *file = copy_good_module(plugins, 0644);
  ck_assert_int_eq(chdir(t.path), 0);
  reg = registry(NULL, 0);
  const char *rel[] = {"conf/plugins"};
  ck_assert_int_eq(pl__registry_prepend_config_dirs(reg, rel, 1), 0);
  ck_assert_int_eq(chdir("/"), 0);
  const pl_plugin_t *p = NULL;
  error = NULL;
  int rc = pl__registry_find(reg, PL_KIND_SOURCE, "good", &p, &error);
  ck_assert_msg(rc == 0, "%s", error);
  ck_assert_str_eq(p->name, "good");
  pl__registry_destroy(reg);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(rmdir(plugins), 0);
  ck_assert_int_eq(rmdir(conf), 0);
  ck_assert_int_eq(rmdir(t.path), 0);
  free(file);
  free(plugins);
  free(conf);
}
END_TEST

START_TEST(a_module_from_another_abi_is_refused) {
  const char *dir = plugin_dir();
  const char *dirs[] = {dir};
  pl_registry_t *reg = registry(dirs, 1);
  char *error = find_error(reg, PL_KIND_SOURCE, "badabi", PL_EABI);
  pl_buf_t expected = {0};
  pl_buf_printf(&expected,
                "%s/source-badabi: plugin ABI version %u, but this "
                "pipelined needs version %u (rebuild the plugin against "
                "these headers)",
                dir, PL_ABI_VERSION + 1, PL_ABI_VERSION);
  ck_assert_str_eq(error, expected.data);
  pl_buf_free(&expected);
  free(error);
  /* Refused modules are not remembered: the error repeats. */
  error = find_error(reg, PL_KIND_SOURCE, "badabi", PL_EABI);
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(a_module_whose_file_name_does_not_match_is_refused) {
  const char *dir = plugin_dir();
  const char *dirs[] = {dir};
  pl_registry_t *reg = registry(dirs, 1);
  char *error = find_error(reg, PL_KIND_SINK, "misnamed", PL_EINVAL);
  char *expected = path_in(dir, "%s/sink-misnamed: the file is named "
                                "sink-misnamed but its plugin is sink-other");
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);
  /* Nor is the module known under its descriptor's name. */
  error = find_error(reg, PL_KIND_SINK, "other", PL_ENOENT);
  free(error);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(a_file_that_is_not_a_shared_object_cannot_load) {
  tmpdir_t t;
  tmpdir_create(&t);
  tmpdir_write(&t, "source-junk.so", "not a plugin\n", 13);
  const char *dirs[] = {t.path};
  pl_registry_t *reg = registry(dirs, 1);
  char *error = find_error(reg, PL_KIND_SOURCE, "junk", PL_EIO);
  char *prefix = path_in(t.path, "cannot load %s/source-junk.so: ");
  ck_assert_msg(strncmp(error, prefix, strlen(prefix)) == 0, "%s", error);
  ck_assert_uint_gt(strlen(error), strlen(prefix));
  ck_assert_ptr_null(strchr(error, '\n'));
  free(prefix);
  free(error);
  pl__registry_destroy(reg);
  tmpdir_remove(&t, (const char *const[]){"source-junk.so", NULL});
}
END_TEST

START_TEST(a_shared_object_without_a_descriptor_is_not_a_plugin) {
  tmpdir_t t;
  tmpdir_create(&t);
  tmpdir_copy_library(&t, "transform-nosym.so");
  const char *dirs[] = {t.path};
  pl_registry_t *reg = registry(dirs, 1);
  char *error = find_error(reg, PL_KIND_TRANSFORM, "nosym", PL_EINVAL);
  char *expected = path_in(t.path, "%s/transform-nosym: no 'pipelined_plugin' "
                                   "symbol: not a pipelined plugin");
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);
  pl__registry_destroy(reg);
  tmpdir_remove(&t, (const char *const[]){"transform-nosym.so", NULL});
}
END_TEST

START_TEST(directories_are_searched_in_order) {
  /* The first directory lacks the plugin, the second has it. */
  tmpdir_t empty;
  tmpdir_create(&empty);
  const char *dirs[] = {"/nonexistent/pipelined", empty.path, plugin_dir()};
  pl_registry_t *reg = registry(dirs, 3);
  const pl_plugin_t *p = NULL;
  char *error = NULL;
  ck_assert_msg(
      pl__registry_find(reg, PL_KIND_SOURCE, "good", &p, &error) == 0, "%s",
      error ? error : "?");
  ck_assert_str_eq(p->name, "good");
  pl__registry_destroy(reg);
  tmpdir_remove(&empty, (const char *const[]){NULL});
}
END_TEST

START_TEST(a_broken_plugin_earlier_in_the_path_is_an_error) {
  /* A broken file shadows a good one later in the path rather than being
   * skipped silently. */
  tmpdir_t t;
  tmpdir_create(&t);
  tmpdir_write(&t, "source-good.so", "broken", 6);
  const char *dirs[] = {t.path, plugin_dir()};
  pl_registry_t *reg = registry(dirs, 2);
  char *error = find_error(reg, PL_KIND_SOURCE, "good", PL_EIO);
  char *prefix = path_in(t.path, "cannot load %s/source-good.so: ");
  ck_assert_msg(strncmp(error, prefix, strlen(prefix)) == 0, "%s", error);
  free(prefix);
  free(error);
  pl__registry_destroy(reg);
  tmpdir_remove(&t, (const char *const[]){"source-good.so", NULL});
}
END_TEST

START_TEST(a_built_in_plugin_shadows_a_module) {
  const char *dirs[] = {plugin_dir()};
  pl_registry_t *reg = registry(dirs, 1);
  pl_plugin_t builtin = valid(PL_KIND_SOURCE);
  builtin.name = "good";
  ck_assert_int_eq(pl__registry_add(reg, &builtin), 0);
  const pl_plugin_t *p = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__registry_find(reg, PL_KIND_SOURCE, "good", &p, &error),
                   0);
  ck_assert_ptr_eq(p, &builtin);
  pl__registry_destroy(reg);
}
END_TEST

/* ---- Listing every plugin ---- */

typedef struct seen {
  pl_buf_t names; /* "full-name path\n" per plugin */
} seen_t;

static void collect(void *data, const pl_plugin_t *plugin, const char *path) {
  seen_t *seen = data;
  char *name = pl__plugin_full_name(plugin);
  pl_buf_printf(&seen->names, "%s %s\n", name, path ? path : "(built in)");
  free(name);
}

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (; text && *text; text++)
    n += *text == '\n';
  return n;
}

START_TEST(each_lists_plugins_sorted_and_reports_broken_ones) {
  const char *dir = plugin_dir();
  const char *dirs[] = {"/nonexistent/pipelined", dir};
  pl_registry_t *reg = registry(dirs, 2);
  pl_plugin_t sink = valid(PL_KIND_SINK);
  sink.name = "a-builtin";
  pl_plugin_t source = valid(PL_KIND_SOURCE);
  source.name = "zz";
  ck_assert_int_eq(pl__registry_add(reg, &source), 0);
  ck_assert_int_eq(pl__registry_add(reg, &sink), 0);
  seen_t seen = {0};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__registry_each(reg, collect, &seen, &errors), 0);
  pl_buf_t expected = {0};
  pl_buf_printf(&expected,
                "sink-a-builtin (built in)\n"
                "source-good %s/source-good\n"
                "source-leaky %s/source-leaky\n"
                "source-zz (built in)\n",
                dir, dir);
  ck_assert_str_eq(seen.names.data, expected.data);
  /* One line per broken module, each naming its file. */
  ck_assert_uint_eq(count_lines(errors.data), 2);
  char *badabi = path_in(dir, "%s/source-badabi: plugin ABI version ");
  char *misnamed = path_in(dir, "%s/sink-misnamed: the file is named "
                                "sink-misnamed but its plugin is "
                                "sink-other\n");
  ck_assert_ptr_nonnull(strstr(errors.data, badabi));
  ck_assert_ptr_nonnull(strstr(errors.data, misnamed));
  free(badabi);
  free(misnamed);
  /* A second listing loads nothing again and reports again. */
  pl_buf_reset(&seen.names);
  pl_buf_reset(&errors);
  ck_assert_int_eq(pl__registry_each(reg, collect, &seen, &errors), 0);
  ck_assert_str_eq(seen.names.data, expected.data);
  ck_assert_uint_eq(count_lines(errors.data), 2);
  pl_buf_free(&expected);
  pl_buf_free(&seen.names);
  pl_buf_free(&errors);
  pl__registry_destroy(reg);
}
END_TEST

START_TEST(each_ignores_files_that_are_not_plugin_names) {
  tmpdir_t t;
  tmpdir_create(&t);
  static const char *const names[] = {"README",        "libfoo.so",
                                      "source-x.txt",  "filter-y.so",
                                      "source-z.so.1", "sink-",
                                      NULL};
  for (size_t i = 0; names[i]; i++)
    tmpdir_write(&t, names[i], "x", 1);
  const char *dirs[] = {t.path};
  pl_registry_t *reg = registry(dirs, 1);
  /* A built-in plugin, so that something is listed (see the known bug
   * bug_each_with_nothing_loaded below). */
  pl_plugin_t builtin = valid(PL_KIND_SINK);
  ck_assert_int_eq(pl__registry_add(reg, &builtin), 0);
  seen_t seen = {0};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__registry_each(reg, collect, &seen, &errors), 0);
  ck_assert_str_eq(seen.names.data, "sink-t (built in)\n");
  ck_assert_uint_eq(errors.len, 0);
  pl_buf_free(&seen.names);
  pl_buf_free(&errors);
  pl__registry_destroy(reg);
  tmpdir_remove(&t, names);
}
END_TEST

START_TEST(each_reports_a_file_that_cannot_load) {
  tmpdir_t t;
  tmpdir_create(&t);
  tmpdir_write(&t, "sink-junk.so", "junk", 4);
  const char *dirs[] = {t.path};
  pl_registry_t *reg = registry(dirs, 1);
  pl_plugin_t builtin = valid(PL_KIND_SINK);
  ck_assert_int_eq(pl__registry_add(reg, &builtin), 0);
  seen_t seen = {0};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__registry_each(reg, collect, &seen, &errors), 0);
  ck_assert_str_eq(seen.names.data, "sink-t (built in)\n");
  char *prefix = path_in(t.path, "cannot load %s/sink-junk.so: ");
  ck_assert_msg(strncmp(errors.data, prefix, strlen(prefix)) == 0, "%s",
                errors.data);
  ck_assert_uint_eq(count_lines(errors.data), 1);
  free(prefix);
  pl_buf_free(&seen.names);
  pl_buf_free(&errors);
  pl__registry_destroy(reg);
  tmpdir_remove(&t, (const char *const[]){"sink-junk.so", NULL});
}
END_TEST

/* ---- Regressions: core bugs found by these tests, now fixed ---- */

/* src/registry.c pl__plugin_validate(): the offset check only compares
 * the start of the field with options_size, so a table whose int64_t
 * field would end past the struct passes (with options_size 0 the engine
 * callocs 1 byte and writes 8 into it). */
START_TEST(bug_an_option_field_past_the_struct_end_is_invalid) {
  pl_option_t options[1] = {t_option_table[0]}; /* int64_t at offset 0 */
  pl_plugin_t p = valid(PL_KIND_SOURCE);
  p.options = options;
  p.options_count = 1;
  p.options_size = 0;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), PL_EINVAL);
  free(error);
  p.options_size = 4;
  error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&p, "x", &error), PL_EINVAL);
  free(error);
}
END_TEST

/* src/registry.c open_in(): after lt_dlopenext() fails, lt_dlerror() may
 * return NULL (a corrupt .la) or, worse, a stale message left by an
 * earlier lt_dlsym() failure that points into memory glibc has freed. */
START_TEST(bug_a_corrupt_la_file_gets_a_real_message) {
  tmpdir_t t;
  tmpdir_create(&t);
  tmpdir_copy_library(&t, "source-nosym.so");
  tmpdir_write(&t, "sink-corrupt.la", "garbage\n", 8);
  const char *dirs[] = {t.path};
  pl_registry_t *reg = registry(dirs, 1);
  char *error = find_error(reg, PL_KIND_SOURCE, "nosym", PL_EINVAL);
  free(error);
  error = find_error(reg, PL_KIND_SINK, "corrupt", PL_EIO);
  ck_assert_ptr_null(strstr(error, "(null)"));
  free(error);
  pl__registry_destroy(reg);
  tmpdir_remove(&t,
                (const char *const[]){"source-nosym.so", "sink-corrupt.la",
                                      NULL});
}
END_TEST

/* src/registry.c pl__registry_each(): with no plugin loaded at all (an
 * empty plugin directory, e.g. `pipelined --list-plugins` on a fresh
 * install) it calls memcpy(sorted, NULL, 0), which is undefined behaviour
 * (UBSan: "null pointer passed as argument 2"). */
START_TEST(bug_each_with_nothing_loaded) {
  const char *dirs[] = {"/nonexistent/pipelined"};
  pl_registry_t *reg = registry(dirs, 1);
  seen_t seen = {0};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__registry_each(reg, collect, &seen, &errors), 0);
  ck_assert_uint_eq(seen.names.len, 0);
  ck_assert_uint_eq(errors.len, 0);
  pl__registry_destroy(reg);
}
END_TEST


static Suite *registry_suite(void) {
  Suite *s = suite_create("registry");
  TCase *validate = tcase_create("validate");
  tcase_add_test(validate, valid_descriptors_of_every_kind_pass);
  tcase_add_test(validate, an_abi_mismatch_names_the_file_and_both_versions);
  tcase_add_test(validate, the_abi_version_is_checked_before_anything_else);
  tcase_add_test(validate, the_exact_struct_size_is_accepted);
  tcase_add_test(validate, a_larger_struct_size_is_accepted);
  tcase_add_test(validate, a_struct_size_below_the_minimum_is_an_abi_error);
  tcase_add_test(validate, a_version_1_descriptor_is_refused_by_its_version);
  tcase_add_test(validate, limits_are_checked_when_a_descriptor_is_validated);
  tcase_add_test(validate, a_sinks_stage_defaults_keep_the_stage_limits);
  tcase_add_test(validate, a_descriptor_needs_a_name_kind_and_description);
  tcase_add_test(validate, every_kind_needs_its_callbacks);
  tcase_add_test(validate, options_need_a_name_and_description);
  tcase_add_test(validate, an_enum_without_choices_is_invalid);
  tcase_add_test(validate, an_option_outside_the_options_struct_is_invalid);
  tcase_add_test(validate, a_default_that_does_not_parse_is_invalid);
  tcase_add_test(validate, a_template_default_that_does_not_parse_is_invalid);
  tcase_add_test(validate, full_names_join_kind_and_name);
  suite_add_tcase(s, validate);

  TCase *search = tcase_create("search");
  tcase_add_test(search, built_in_plugins_are_found_by_kind_and_name);
  tcase_add_test(search, an_invalid_built_in_plugin_is_refused);
  tcase_add_test(search, a_missing_plugin_lists_the_directories_searched);
  tcase_add_test(search, prepended_and_appended_directories_keep_their_order);
  tcase_add_test(search, directories_are_copied);
  tcase_add_test(search, two_registries_live_side_by_side);
  suite_add_tcase(s, search);

  TCase *load = tcase_create("load");
  tcase_add_test(load, a_good_module_loads_and_validates);
  tcase_add_test(load, a_module_from_another_abi_is_refused);
  tcase_add_test(load, a_module_whose_file_name_does_not_match_is_refused);
  tcase_add_test(load, a_file_that_is_not_a_shared_object_cannot_load);
  tcase_add_test(load, a_shared_object_without_a_descriptor_is_not_a_plugin);
  tcase_add_test(load, directories_are_searched_in_order);
  tcase_add_test(load, a_broken_plugin_earlier_in_the_path_is_an_error);
  tcase_add_test(load, a_built_in_plugin_shadows_a_module);
  tcase_add_test(load, a_plugin_other_users_can_write_is_refused);
  tcase_add_test(load, a_relative_plugin_path_is_made_absolute);
  suite_add_tcase(s, load);

  TCase *each = tcase_create("each");
  tcase_add_test(each, each_lists_plugins_sorted_and_reports_broken_ones);
  tcase_add_test(each, each_ignores_files_that_are_not_plugin_names);
  tcase_add_test(each, each_reports_a_file_that_cannot_load);
  suite_add_tcase(s, each);

  TCase *bugs = tcase_create("known bugs");
  tcase_add_test(bugs, bug_an_option_field_past_the_struct_end_is_invalid);
  tcase_add_test(bugs, bug_a_corrupt_la_file_gets_a_real_message);
  tcase_add_test(bugs, bug_each_with_nothing_loaded);
  suite_add_tcase(s, bugs);
  return s;
}

int main(void) {
  return test_suite_run(registry_suite());
}
