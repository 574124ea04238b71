/* The shared config and credentials files, read line by line into the one
 * profile asked for. Only that profile's values are copied out of the
 * text, and the file buffer itself lives in secret storage, so secrets of
 * other profiles never reach the heap. */
#include "aws_profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "secret.h"

/* Larger shared files are refused rather than read on the loop thread. */
#define PL__AWS_PROFILE_MAX_FILE ((size_t)1 << 20)

struct pl_aws_profile {
  char *name;
  bool found;
  size_t count;
  size_t cap;
  char **keys;
  char **values; /* wiped on destroy */
  int *lines;    /* where each value was set (its last setting) */
  pl_aws_profile_file_t *kinds;
  char *credentials_path;
  char *config_path;
};

static void free_value(char *value) {
  if (value)
    pl__secret_wipe(value, strlen(value));
  free(value);
}

const char *pl__aws_profile_select(const pl_env_t *env, const char *option,
                                   bool *is_explicit) {
  const char *from_env =
      env && env->getenv ? env->getenv(env->data, "AWS_PROFILE") : NULL;
  const char *name = option ? option : from_env && *from_env ? from_env : NULL;
  if (is_explicit)
    *is_explicit = name != NULL;
  return name ? name : "default";
}

int pl__aws_profile_expand_home(const pl_env_t *env, const char *path,
                                char **out) {
  *out = NULL;
  if (path[0] != '~' || (path[1] != '\0' && path[1] != '/')) {
    *out = strdup(path);
    return *out ? 0 : PL_ENOMEM;
  }
  const char *home = env && env->getenv ? env->getenv(env->data, "HOME") : NULL;
  if (!home || !*home)
    return PL_ENOENT;
  size_t home_len = strlen(home);
  /* "/" as HOME must not give "//.aws". */
  while (home_len > 1 && home[home_len - 1] == '/')
    home_len--;
  size_t rest = strlen(path + 1);
  char *expanded = malloc(home_len + rest + 1);
  if (!expanded)
    return PL_ENOMEM;
  memcpy(expanded, home, home_len);
  memcpy(expanded + home_len, path + 1, rest + 1);
  *out = expanded;
  return 0;
}

int pl__aws_profile_create(const char *name, pl_aws_profile_t **out) {
  *out = NULL;
  pl_aws_profile_t *profile = calloc(1, sizeof *profile);
  if (!profile)
    return PL_ENOMEM;
  profile->name = strdup(name);
  if (!profile->name) {
    free(profile);
    return PL_ENOMEM;
  }
  *out = profile;
  return 0;
}

void pl__aws_profile_destroy(pl_aws_profile_t *profile) {
  if (!profile)
    return;
  for (size_t i = 0; i < profile->count; i++) {
    free(profile->keys[i]);
    free_value(profile->values[i]);
  }
  free(profile->keys);
  free(profile->values);
  free(profile->lines);
  free(profile->kinds);
  free(profile->name);
  free(profile->credentials_path);
  free(profile->config_path);
  free(profile);
}

const char *pl__aws_profile_name(const pl_aws_profile_t *profile) {
  return profile->name;
}

bool pl__aws_profile_found(const pl_aws_profile_t *profile) {
  return profile->found;
}

const char *pl__aws_profile_credentials_path(const pl_aws_profile_t *profile) {
  return profile->credentials_path;
}

const char *pl__aws_profile_config_path(const pl_aws_profile_t *profile) {
  return profile->config_path;
}

static long find_key(const pl_aws_profile_t *profile, const char *key,
                     size_t key_len) {
  for (size_t i = 0; i < profile->count; i++)
    if (strlen(profile->keys[i]) == key_len &&
        strncasecmp(profile->keys[i], key, key_len) == 0)
      return (long)i;
  return -1;
}

const char *pl__aws_profile_get(const pl_aws_profile_t *profile,
                                const char *key) {
  long i = find_key(profile, key, strlen(key));
  return i < 0 ? NULL : profile->values[i];
}

int pl__aws_profile_where(const pl_aws_profile_t *profile, const char *key,
                          char **out) {
  *out = NULL;
  long i = find_key(profile, key, strlen(key));
  const char *path = i < 0 ? NULL
                     : profile->kinds[i] == PL_AWS_PROFILE_CONFIG
                         ? profile->config_path
                         : profile->credentials_path;
  pl_buf_t where = {0};
  int rc = pl_buf_printf(&where, "profile %s", profile->name);
  if (rc == 0 && path)
    rc = pl_buf_printf(&where, " in %s line %d", path, profile->lines[i]);
  else if (rc == 0 && profile->config_path)
    rc = pl_buf_printf(&where, " in %s", profile->config_path);
  if (rc < 0) {
    pl_buf_free(&where);
    return PL_ENOMEM;
  }
  *out = where.data;
  return 0;
}

/* Where a setting is: the file and line of the key. */
typedef struct place {
  int line;
  pl_aws_profile_file_t kind;
} place_t;

/* Makes room for one more entry. Returns 0 or PL_ENOMEM. */
static int grow(pl_aws_profile_t *profile) {
  if (profile->count < profile->cap)
    return 0;
  size_t cap = profile->cap ? profile->cap * 2 : 8;
  char **keys = realloc(profile->keys, cap * sizeof *keys);
  if (keys)
    profile->keys = keys;
  char **values = keys ? realloc(profile->values, cap * sizeof *values) : NULL;
  if (values)
    profile->values = values;
  int *lines = values ? realloc(profile->lines, cap * sizeof *lines) : NULL;
  if (lines)
    profile->lines = lines;
  pl_aws_profile_file_t *kinds =
      lines ? realloc(profile->kinds, cap * sizeof *kinds) : NULL;
  if (!kinds)
    return PL_ENOMEM;
  profile->kinds = kinds;
  profile->cap = cap;
  return 0;
}

/* Sets key (a range) to value (a range), set at `at`; *index gets the
 * entry. */
static int set_value(pl_aws_profile_t *profile, const char *key,
                     const char *key_end, const char *value,
                     const char *value_end, place_t at, long *index) {
  char *copy = strndup(value, (size_t)(value_end - value));
  if (!copy)
    return PL_ENOMEM;
  long i = find_key(profile, key, (size_t)(key_end - key));
  if (i >= 0) {
    free_value(profile->values[i]);
    profile->values[i] = copy;
    profile->lines[i] = at.line;
    profile->kinds[i] = at.kind;
    *index = i;
    return 0;
  }
  if (grow(profile) < 0) {
    free_value(copy);
    return PL_ENOMEM;
  }
  profile->lines[profile->count] = at.line;
  profile->kinds[profile->count] = at.kind;
  char *key_copy = strndup(key, (size_t)(key_end - key));
  if (!key_copy) {
    free_value(copy);
    return PL_ENOMEM;
  }
  profile->keys[profile->count] = key_copy;
  profile->values[profile->count] = copy;
  *index = (long)profile->count++;
  return 0;
}

/* Appends "\n" and a continuation line to entry i. */
static int continue_value(pl_aws_profile_t *profile, long i, const char *more,
                          const char *more_end) {
  char *old = profile->values[i];
  size_t old_len = strlen(old);
  size_t more_len = (size_t)(more_end - more);
  char *joined = malloc(old_len + 1 + more_len + 1);
  if (!joined)
    return PL_ENOMEM;
  memcpy(joined, old, old_len);
  joined[old_len] = '\n';
  memcpy(joined + old_len + 1, more, more_len);
  joined[old_len + 1 + more_len] = '\0';
  free_value(old);
  profile->values[i] = joined;
  return 0;
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p, const char *end) {
  while (p < end && is_blank(*p))
    p++;
  return p;
}

static const char *trim_end(const char *start, const char *end) {
  while (end > start && is_blank(end[-1]))
    end--;
  return end;
}

static bool range_is(const char *start, const char *end, const char *word) {
  size_t len = strlen(word);
  return (size_t)(end - start) == len && memcmp(start, word, len) == 0;
}

/* Where a value's comment starts ('#' or ';' after a blank), or end. */
static const char *value_end(const char *value, const char *end) {
  for (const char *p = value + 1; p < end; p++)
    if ((*p == '#' || *p == ';') && is_blank(p[-1]))
      return trim_end(value, p);
  return end;
}

/* The longest "[services NAME]" name kept. */
#define SERVICES_PREFIX_MAX 96

/* Reads a "[...]" line; *is_target tells whether it opens our profile or
 * a services section of the config file, whose settings are kept as
 * "services NAME.KEY" (`prefix` is then "services NAME.", else ""). */
static int parse_header(pl_aws_profile_t *profile, const char *p,
                        const char *end, pl_aws_profile_file_t kind,
                        bool *is_target, char prefix[SERVICES_PREFIX_MAX],
                        const char **reason) {
  prefix[0] = '\0';
  const char *close = memchr(p, ']', (size_t)(end - p));
  if (!close) {
    *reason = "expected ']' to close the section name";
    return PL_EPARSE;
  }
  const char *after = skip_blanks(close + 1, end);
  if (after < end && *after != '#' && *after != ';') {
    *reason = "unexpected text after the section name";
    return PL_EPARSE;
  }
  const char *name = skip_blanks(p + 1, close);
  const char *name_end = trim_end(name, close);
  if (name == name_end) {
    *reason = "empty section name";
    return PL_EPARSE;
  }
  *is_target = false;
  if (kind == PL_AWS_PROFILE_CONFIG) {
    if (range_is(name, name_end, "default")) {
      /* "[default]" names the default profile in both files. */
    } else if (name_end - name > 7 && memcmp(name, "profile", 7) == 0 &&
               is_blank(name[7])) {
      name = skip_blanks(name + 7, name_end);
    } else if (name_end - name > 8 && memcmp(name, "services", 8) == 0 &&
               is_blank(name[8])) {
      const char *which = skip_blanks(name + 8, name_end);
      int n = (int)(name_end - which);
      if (n > 0 && n < SERVICES_PREFIX_MAX - 16) {
        snprintf(prefix, SERVICES_PREFIX_MAX, "services %.*s.", n, which);
        *is_target = true;
      }
      return 0;
    } else {
      return 0; /* sso-session or a bare name: not a profile */
    }
  }
  *is_target = range_is(name, name_end, profile->name);
  if (*is_target)
    profile->found = true;
  return 0;
}

int pl__aws_profile_parse(pl_aws_profile_t *profile, const char *text,
                          size_t len, pl_aws_profile_file_t kind,
                          int *error_line, const char **error_reason) {
  const char *reason = NULL;
  const char *end_of_text = text + len;
  bool in_section = false;
  bool in_target = false;
  char prefix[SERVICES_PREFIX_MAX] = "";
  /* The entry a continuation line extends: an index, -1 for none, -2 for
   * a property of another profile (whose continuations are skipped). */
  long last = -1;
  int line_no = 0;
  int rc = 0;
  for (const char *line = text; line < end_of_text && rc == 0;) {
    line_no++;
    const char *nl = memchr(line, '\n', (size_t)(end_of_text - line));
    const char *end = nl ? nl : end_of_text;
    const char *next = nl ? nl + 1 : end_of_text;
    if (end > line && end[-1] == '\r')
      end--;
    bool indented = line < end && is_blank(*line);
    const char *p = skip_blanks(line, end);
    end = trim_end(p, end);
    line = next;
    if (p == end || *p == '#' || *p == ';')
      continue;
    /* A bracket always opens a section, even indented. */
    if (indented && last != -1 && *p != '[') {
      if (last >= 0)
        rc = continue_value(profile, last, p, end);
      continue;
    }
    if (*p == '[') {
      rc = parse_header(profile, p, end, kind, &in_target, prefix, &reason);
      in_section = true;
      last = -1;
      continue;
    }
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!in_section) {
      reason = "expected a [section] before the first setting";
      rc = PL_EPARSE;
    } else if (!eq) {
      reason = "expected key = value";
      rc = PL_EPARSE;
    } else if (trim_end(p, eq) == p) {
      reason = "empty key before '='";
      rc = PL_EPARSE;
    } else if (!in_target) {
      last = -2;
    } else {
      const char *value = skip_blanks(eq + 1, end);
      const char *key = p, *key_end = trim_end(p, eq);
      char prefixed[SERVICES_PREFIX_MAX + 64];
      if (prefix[0]) {
        int n = snprintf(prefixed, sizeof(prefixed), "%s%.*s", prefix,
                         (int)(key_end - key), key);
        if (n < 0 || (size_t)n >= sizeof(prefixed)) {
          last = -2; /* a service name too long to be one */
          continue;
        }
        key = prefixed;
        key_end = prefixed + n;
      }
      rc = set_value(profile, key, key_end, value,
                     value < end ? value_end(value, end) : end,
                     (place_t){line_no, kind}, &last);
    }
  }
  if (rc == PL_EPARSE) {
    if (error_line)
      *error_line = line_no;
    if (error_reason)
      *error_reason = reason;
  }
  return rc;
}

/* /dev/null (by device, whatever its name): the usual way to say "no
 * such file" (AWS_CONFIG_FILE=/dev/null), which the AWS SDKs read as
 * empty. Any other file that is not a regular one stays an error. */
static bool is_dev_null(const char *path) {
  struct stat st, null;
  return stat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
         stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode) &&
         st.st_rdev == null.st_rdev;
}

/* Reads and merges one file; a missing one (or /dev/null) is fine. */
static int load_file(pl_aws_profile_t *profile, const char *path,
                     pl_aws_profile_file_t kind, char **error) {
  if (is_dev_null(path))
    return 0;
  pl_secret_t *text = NULL;
  int err = 0;
  int rc = pl__secret_read_file(path, PL__AWS_PROFILE_MAX_FILE, &text, &err);
  if (rc == PL_ENOENT)
    return 0;
  pl_buf_t msg = {0};
  if (rc == PL_ERANGE) {
    (void)pl_buf_printf(&msg, "%s is larger than %zu bytes", path,
                        PL__AWS_PROFILE_MAX_FILE);
    rc = PL_EIO;
  } else if (rc < 0) {
    (void)pl_buf_printf(&msg, "cannot read %s: %s", path,
                        err ? strerror(err) : pl_strerror(rc));
  } else {
    int line = 0;
    const char *reason = NULL;
    rc = pl__aws_profile_parse(profile, pl__secret_str(text),
                               pl__secret_len(text), kind, &line, &reason);
    if (rc == PL_EPARSE)
      (void)pl_buf_printf(&msg, "%s:%d: %s", path, line, reason);
    pl__secret_free(text);
  }
  *error = msg.data;
  return rc;
}

int pl__aws_profile_load(const pl_env_t *env, const char *name,
                         pl_aws_profile_t **out, char **error) {
  *out = NULL;
  *error = NULL;
  pl_aws_profile_t *profile = NULL;
  int rc = pl__aws_profile_create(name, &profile);
  if (rc < 0)
    return rc;
  static const struct {
    const char *variable;
    const char *fallback;
    pl_aws_profile_file_t kind;
  } files[] = {
      {"AWS_CONFIG_FILE", "~/.aws/config", PL_AWS_PROFILE_CONFIG},
      {"AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials",
       PL_AWS_PROFILE_CREDENTIALS},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0] && rc == 0; i++) {
    const char *set =
        env && env->getenv ? env->getenv(env->data, files[i].variable) : NULL;
    const char *path = set && *set ? set : files[i].fallback;
    char *expanded = NULL;
    rc = pl__aws_profile_expand_home(env, path, &expanded);
    bool readable = rc == 0;
    if (rc == PL_ENOENT) {
      /* No HOME: keep "~/..." for messages; there is nothing to read. */
      expanded = strdup(path);
      rc = expanded ? 0 : PL_ENOMEM;
    }
    if (rc < 0)
      break;
    if (files[i].kind == PL_AWS_PROFILE_CONFIG)
      profile->config_path = expanded;
    else
      profile->credentials_path = expanded;
    if (readable)
      rc = load_file(profile, expanded, files[i].kind, error);
  }
  if (rc < 0) {
    pl__aws_profile_destroy(profile);
    return rc;
  }
  *out = profile;
  return 0;
}

char *pl__aws_profile_service_setting(const pl_aws_profile_t *profile,
                                      const char *service, const char *key) {
  const char *services = pl__aws_profile_get(profile, "services");
  if (!services || !*services)
    return NULL;
  char name[SERVICES_PREFIX_MAX + 64];
  snprintf(name, sizeof(name), "services %s.%s", services, service);
  const char *block = pl__aws_profile_get(profile, name);
  size_t key_len = strlen(key);
  /* The sub-properties: "\nkey = value" lines (continuations). */
  for (const char *line = block; line && *line;) {
    const char *nl = strchr(line, '\n');
    const char *end = nl ? nl : line + strlen(line);
    const char *p = skip_blanks(line, end);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq && (size_t)(trim_end(p, eq) - p) == key_len &&
        strncasecmp(p, key, key_len) == 0) {
      const char *value = skip_blanks(eq + 1, end);
      const char *stop = value < end ? value_end(value, end) : end;
      return strndup(value, (size_t)(stop - value));
    }
    line = nl ? nl + 1 : end;
  }
  return NULL;
}
