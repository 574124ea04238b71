/* The shared AWS config and credentials files (INI): one named profile,
 * merged from both files.
 *
 * Paths: AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials; a leading "~" is HOME from the injected environment.
 *
 * Syntax, as the AWS SDKs read it:
 *  - Lines whose first non-blank character is '#' or ';' are comments;
 *    blank lines are ignored; "\r\n" line ends are accepted.
 *  - "[name]" starts a section (even when indented); blanks inside the
 *    brackets are trimmed and a comment may follow the ']'. In the config file
 * a profile is
 *    "[default]" or "[profile NAME]"; other sections ("[sso-session x]",
 *    "[services x]", a bare "[x]") are skipped. In the credentials file
 *    every section is a profile and is named as written.
 *  - "key = value": blanks around both are trimmed; in a value, '#' or ';'
 *    after a blank starts a comment ("a;b" keeps its ';'). Keys compare
 *    case-insensitively. A line starting with a blank continues the
 *    previous value (a sub-property block), joined with '\n'.
 *  - The same profile may appear more than once; later settings win, and
 *    the credentials file wins over the config file.
 * Errors give the file and line, never the line's text (it may hold a
 * secret). Values are wiped when the profile is destroyed. */
#ifndef PL_AWS_PROFILE_H
#define PL_AWS_PROFILE_H

#include <pipelined/common.h>


typedef struct pl_aws_profile pl_aws_profile_t;

typedef enum pl_aws_profile_file {
  PL_AWS_PROFILE_CONFIG,
  PL_AWS_PROFILE_CREDENTIALS,
} pl_aws_profile_file_t;

/* The profile to use: `option` when not NULL, else AWS_PROFILE when set
 * and not empty, else "default" (borrowed from the arguments, the
 * environment or a literal). *is_explicit (optional) tells whether the
 * name was chosen rather than defaulted. */
const char *pl__aws_profile_select(const pl_env_t *env, const char *option,
                                   bool *is_explicit);

/* Expands a leading "~" or "~/" with HOME. Returns 0 and a new string, or
 * PL_ENOENT when the path needs HOME and it is unset or empty. */
int pl__aws_profile_expand_home(const pl_env_t *env, const char *path,
                                char **out);

/* An empty profile named `name` (copied), not yet found in any file. */
int pl__aws_profile_create(const char *name, pl_aws_profile_t **out);

/* Merges the settings that `len` bytes of `text` (one file) hold for this
 * profile. Returns 0, PL_ENOMEM, or PL_EPARSE with *error_line (1-based)
 * and *error_reason (a static phrase, "expected key = value") set; the
 * lines before the offending one have been merged. */
int pl__aws_profile_parse(pl_aws_profile_t *profile, const char *text,
                          size_t len, pl_aws_profile_file_t kind,
                          int *error_line, const char **error_reason);

/* Reads both files (config first, then credentials on top) for profile
 * `name`. A missing file is not an error. Returns 0 with *out a new
 * profile (check pl__aws_profile_found), or PL_EIO / PL_EPARSE /
 * PL_ENOMEM with *error a new message naming the file (and line). The
 * files are read synchronously: call this at create or refresh time. */
int pl__aws_profile_load(const pl_env_t *env, const char *name,
                         pl_aws_profile_t **out, char **error);

/* The profile's name (borrowed). */
const char *pl__aws_profile_name(const pl_aws_profile_t *profile);
/* Whether a section for the profile appeared in a file. */
bool pl__aws_profile_found(const pl_aws_profile_t *profile);
/* A setting, or NULL (borrowed until destroy). */
const char *pl__aws_profile_get(const pl_aws_profile_t *profile,
                                const char *key);
/* Where `key` was set, for messages: "profile prod in /root/.aws/config
 * line 3" (the file that set it last), else "profile prod in
 * /root/.aws/config" (no such key), else "profile prod" (not loaded).
 * Returns 0 and a new string, or PL_ENOMEM. */
int pl__aws_profile_where(const pl_aws_profile_t *profile, const char *key,
                          char **out);
/* A sub-property of `service` ("sqs", "dynamodb", "s3", "sts") in the
 * [services NAME] section the profile's `services` setting names, e.g.
 * endpoint_url in
 *     [services local]
 *     sqs =
 *       endpoint_url = http://localhost:4566
 * as a new string, or NULL when there is none (or out of memory). */
char *pl__aws_profile_service_setting(const pl_aws_profile_t *profile,
                                      const char *service, const char *key);
/* The paths load() read, as resolved ("~/..." kept when HOME is unset),
 * for messages (borrowed; NULL for a profile that was not loaded). */
const char *pl__aws_profile_credentials_path(const pl_aws_profile_t *profile);
const char *pl__aws_profile_config_path(const pl_aws_profile_t *profile);

/* Wipes every value and frees; NULL is accepted. */
void pl__aws_profile_destroy(pl_aws_profile_t *profile);

#endif
