/* libFuzzer harness for the AWS config and credentials file parser
 * (src/aws/aws_profile.c), through its in-memory entry point
 * pl__aws_profile_parse().
 *
 * Input: one byte whose low bit chooses the file kind (config or
 * credentials), the profile's name up to the first LF, then the file.
 *
 * Checked: the result is 0 or PL_EPARSE with a line inside the text and a
 * reason; every key the text mentions reads back as a value without blanks
 * at its ends (unless a NUL byte cut it); and the parse is idempotent: reading
 * the same file again into the same profile gives the same code, line and
 * values (later settings win, so nothing may change). Destroying the
 * profile frees (and wipes) everything. */
#include "aws_profile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 64

/* Stops the run at the first broken promise, naming the check's line. */
static void check_at(bool ok, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

/* The keys the text mentions: the trimmed text before '=' on each line. */
static size_t collect_keys(const char *text, size_t len, char **keys) {
  size_t n = 0;
  const char *end = text + len;
  while (text < end && n < MAX_KEYS) {
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    const char *line_end = nl ? nl : end;
    const char *eq = memchr(text, '=', (size_t)(line_end - text));
    if (eq) {
      const char *k = text;
      while (k < eq && (*k == ' ' || *k == '\t'))
        k++;
      const char *k_end = eq;
      while (k_end > k && (k_end[-1] == ' ' || k_end[-1] == '\t'))
        k_end--;
      if (k_end > k && !memchr(k, '\0', (size_t)(k_end - k)))
        keys[n++] = strndup(k, (size_t)(k_end - k));
    }
    text = nl ? nl + 1 : end;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  pl_aws_profile_file_t kind =
      data[0] & 1 ? PL_AWS_PROFILE_CREDENTIALS : PL_AWS_PROFILE_CONFIG;
  const char *rest = (const char *)data + 1;
  size_t rest_len = size - 1;
  const char *lf = memchr(rest, '\n', rest_len);
  if (!lf)
    return 0;
  char *name = strndup(rest, (size_t)(lf - rest));
  const char *text = lf + 1;
  size_t len = (size_t)(rest + rest_len - text);
  bool has_nul = memchr(text, '\0', len) != NULL;
  size_t lines = 1;
  for (size_t i = 0; i < len; i++)
    lines += text[i] == '\n';

  pl_aws_profile_t *profile = NULL;
  check(pl__aws_profile_create(name, &profile) == 0);
  check(strcmp(pl__aws_profile_name(profile), name) == 0);
  int line = 0;
  const char *reason = NULL;
  int rc = pl__aws_profile_parse(profile, text, len, kind, &line, &reason);
  check(rc == 0 || rc == PL_EPARSE);
  if (rc == PL_EPARSE)
    check(line >= 1 && (size_t)line <= lines && reason && reason[0]);

  char *keys[MAX_KEYS];
  char *values[MAX_KEYS];
  size_t nkeys = collect_keys(text, len, keys);
  for (size_t i = 0; i < nkeys; i++) {
    const char *v = pl__aws_profile_get(profile, keys[i]);
    values[i] = v ? strdup(v) : NULL;
    if (v) {
      /* Values are C strings: a NUL byte in the file cuts one short, and
       * the blanks before it are then its end. */
      size_t n = strlen(v);
      check(
          n == 0 || has_nul ||
          (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t'));
      /* A value comes from the profile's own section, or from a
       * "[services NAME]" section of the config file, which is kept as
       * "services NAME.KEY" whether the profile is there or not (keys
       * match without regard to case). */
      check(pl__aws_profile_found(profile) ||
            strncasecmp(keys[i], "services ", 9) == 0);
    }
  }

  /* The same file again: nothing changes. */
  int line2 = 0;
  const char *reason2 = NULL;
  int rc2 = pl__aws_profile_parse(profile, text, len, kind, &line2, &reason2);
  check(rc2 == rc);
  if (rc == PL_EPARSE)
    check(line2 == line && strcmp(reason2, reason) == 0);
  for (size_t i = 0; i < nkeys; i++) {
    const char *v = pl__aws_profile_get(profile, keys[i]);
    check((v == NULL) == (values[i] == NULL));
    check(!v || strcmp(v, values[i]) == 0);
    free(values[i]);
    free(keys[i]);
  }
  pl__aws_profile_destroy(profile);
  free(name);
  return 0;
}
