/* The fake AWS's reader of JSON request bodies (see fake_aws_json.h). */
#include "fake_aws_json.h"

#include <string.h>

/* Bodies nest far less; deeper is refused, so a hostile body cannot
 * exhaust the stack. */
#define MAX_DEPTH 64

static const char *skip_space(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static bool is_escape(char c) {
  switch (c) {
  case '"':
  case '\\':
  case '/':
  case 'b':
  case 'f':
  case 'n':
  case 'r':
  case 't':
    return true;
  default:
    return false;
  }
}

/* Past the string that starts at p (its opening quote); NULL when it is
 * not one. The bodies are mostly strings (a message's body is JSON in a
 * string), so this is the loop the fake spends its time in. */
static const char *skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"')
      return p + 1;
    if (c == '\\') {
      if (++p >= end)
        return NULL;
      if (*p == 'u') {
        if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) ||
            !is_hex(p[4]))
          return NULL;
        p += 4;
      } else if (!is_escape(*p)) {
        return NULL;
      }
    } else if (c < 0x20) {
      return NULL;
    }
  }
  return NULL;
}

static const char *skip_digits(const char *p, const char *end) {
  const char *start = p;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  return p > start ? p : NULL;
}

static const char *skip_number(const char *p, const char *end) {
  if (*p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (!(p = skip_digits(p, end)))
    return NULL;
  if (p < end && *p == '.' && !(p = skip_digits(p + 1, end)))
    return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    p = skip_digits(p, end);
  }
  return p;
}

static const char *skip_word(const char *p, const char *end, const char *word) {
  size_t len = strlen(word);
  return (size_t)(end - p) >= len && memcmp(p, word, len) == 0 ? p + len : NULL;
}

static const char *skip_value(const char *p, const char *end, int depth);

/* Past the array or object that starts at p. */
static const char *skip_container(const char *p, const char *end, int depth) {
  char close = *p == '[' ? ']' : '}';
  if (depth >= MAX_DEPTH)
    return NULL;
  p = skip_space(p + 1, end);
  if (p < end && *p == close)
    return p + 1;
  for (;;) {
    if (close == '}') {
      if (p >= end || *p != '"' || !(p = skip_string(p, end)))
        return NULL;
      p = skip_space(p, end);
      if (p >= end || *p != ':')
        return NULL;
      p = skip_space(p + 1, end);
    }
    if (!(p = skip_value(p, end, depth + 1)))
      return NULL;
    p = skip_space(p, end);
    if (p < end && *p == close)
      return p + 1;
    if (p >= end || *p != ',')
      return NULL;
    p = skip_space(p + 1, end);
  }
}

/* Past the value that starts at p (no white space before it). */
static const char *skip_value(const char *p, const char *end, int depth) {
  if (p >= end)
    return NULL;
  switch (*p) {
  case '"':
    return skip_string(p, end);
  case '[':
  case '{':
    return skip_container(p, end, depth);
  case 't':
    return skip_word(p, end, "true");
  case 'f':
    return skip_word(p, end, "false");
  case 'n':
    return skip_word(p, end, "null");
  default:
    return (*p == '-' || (*p >= '0' && *p <= '9')) ? skip_number(p, end) : NULL;
  }
}

bool fake_json_valid(fake_text_t text) {
  const char *end = text.at + text.len;
  const char *p = skip_value(skip_space(text.at, end), end, 0);
  return p && skip_space(p, end) == end;
}

fake_json_iter_t fake_json_iter(fake_text_t container) {
  const char *end = container.at + container.len;
  const char *p = skip_space(container.at, end);
  if (p >= end || (*p != '[' && *p != '{'))
    return (fake_json_iter_t){.at = end, .end = end};
  return (fake_json_iter_t){
      .at = p + 1, .end = end, .close = *p == '[' ? ']' : '}'};
}

bool fake_json_next(fake_json_iter_t *it, fake_text_t *key,
                    fake_text_t *value) {
  const char *p = skip_space(it->at, it->end);
  if (!it->close || p >= it->end || *p == it->close) {
    it->close = 0;
    return false;
  }
  if (it->close == '}') {
    const char *after = *p == '"' ? skip_string(p, it->end) : NULL;
    if (!after)
      goto malformed;
    if (key)
      *key = (fake_text_t){p + 1, (size_t)(after - p - 2)};
    p = skip_space(after, it->end);
    if (p >= it->end || *p != ':')
      goto malformed;
    p = skip_space(p + 1, it->end);
  }
  const char *after = skip_value(p, it->end, 1);
  if (!after)
    goto malformed;
  *value = (fake_text_t){p, (size_t)(after - p)};
  p = skip_space(after, it->end);
  if (p < it->end && *p == ',')
    it->at = p + 1;
  else if (p < it->end && *p == it->close)
    it->at = p;
  else
    it->close = 0; /* neither: this value is the last one walked */
  return true;
malformed:
  it->close = 0;
  return false;
}

bool fake_json_member(fake_text_t object, const char *key, fake_text_t *value) {
  fake_json_iter_t it = fake_json_iter(object);
  if (it.close != '}')
    return false;
  fake_text_t name;
  while (fake_json_next(&it, &name, value))
    if (fake_text_is(name, key))
      return true;
  return false;
}

size_t fake_json_count(fake_text_t container) {
  fake_json_iter_t it = fake_json_iter(container);
  fake_text_t key, value;
  size_t n = 0;
  while (fake_json_next(&it, &key, &value))
    n++;
  return n;
}

bool fake_json_string(fake_text_t value, fake_text_t *text) {
  if (value.len < 2 || value.at[0] != '"' || value.at[value.len - 1] != '"')
    return false;
  *text = (fake_text_t){value.at + 1, value.len - 2};
  return true;
}

bool fake_json_int(fake_text_t value, long long *out) {
  const char *p = value.at, *end = value.at + value.len;
  bool negative = p < end && *p == '-';
  if (negative)
    p++;
  if (p >= end || end - p > 18)
    return false;
  long long n = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9')
      return false;
    n = n * 10 + (*p - '0');
  }
  *out = negative ? -n : n;
  return true;
}
