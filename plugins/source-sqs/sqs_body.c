/* Flat message bodies without jansson's parser (see sqs_body.h). */
#include "sqs_body.h"

#include <stdlib.h>

#include <pipelined/json_scan.h>

/* Strings up to this size are unescaped on the stack. */
#define SMALL_STRING 256

/* A string value (its quotes not read yet) as a new reference; NULL when
 * the scanner gives up or memory ran out. */
static json_t *scan_string(pl_json_scan_t *s) {
  pl_json_scan_str_t str;
  if (!pl_json_scan_string(s, &str))
    return NULL;
  /* The scanner checked the UTF-8, as json_stringn would. */
  if (str.len == str.raw_len)
    return json_stringn_nocheck(str.raw, str.len);
  char small[SMALL_STRING];
  char *text = str.len < sizeof(small) ? small : malloc(str.len + 1);
  if (!text)
    return NULL;
  pl_json_scan_str_unescape(&str, text);
  json_t *value = json_stringn_nocheck(text, str.len);
  if (text != small)
    free(text);
  return value;
}

/* The integer the scanner has just skipped from `start`: at most
 * PL_JSON_SCAN_MAX_DIGITS digits, so it fits. */
static json_t *integer_of(const char *start, const char *end) {
  bool negative = *start == '-';
  long long n = 0;
  for (const char *p = start + negative; p < end; p++)
    n = n * 10 + (*p - '0');
  return json_integer((json_int_t)(negative ? -n : n));
}

/* A scalar value as a new reference; NULL for anything else. */
static json_t *scan_value(pl_json_scan_t *s) {
  pl_json_scan_ws(s);
  if (s->p >= s->end)
    return NULL;
  const char *start = s->p;
  switch (*start) {
  case '"':
    return scan_string(s);
  case '{':
  case '[':
    return NULL; /* not flat: jansson's */
  default:
    if (!pl_json_scan_skip(s))
      return NULL;
    switch (*start) {
    case 't':
      return json_true();
    case 'f':
      return json_false();
    case 'n':
      return json_null();
    default:
      return integer_of(start, s->p);
    }
  }
}

json_t *sqs_body_scan(const char *text, size_t len) {
  pl_json_scan_t s;
  pl_json_scan_init(&s, text, len, PL_JSON_SCAN_ESCAPES | PL_JSON_SCAN_SCALARS,
                    0);
  json_t *object = json_object();
  bool first = true, ok = object != NULL;
  pl_json_scan_str_t key;
  while (ok && pl_json_scan_member(&s, &first, &key, &ok)) {
    json_t *value = scan_value(&s);
    /* Keys have no escapes (pl_json_scan_key) and checked UTF-8; a
     * repeated key keeps its place and takes the later value, as
     * json_loadb's json_object_setn_new_nocheck does. */
    ok = value &&
         json_object_setn_new_nocheck(object, key.raw, key.raw_len, value) == 0;
  }
  if (ok && pl_json_scan_at_end(&s))
    return object;
  json_decref(object);
  return NULL;
}
