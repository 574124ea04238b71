/* What SQS accepts in a message (see sqs_text.h). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "sqs_text.h"

/* The length of the UTF-8 sequence at `s` that SQS accepts, or 0: SQS
 * allows #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF,
 * so of the well-formed sequences it refuses only U+FFFE and U+FFFF. */
static size_t allowed_sequence(const unsigned char *s, size_t avail) {
  size_t len = pl_utf8_sequence(s, avail);
  bool nonchar = len == 3 && s[0] == 0xEF && s[1] == 0xBF &&
                 (s[2] == 0xBE || s[2] == 0xBF);
  return nonchar ? 0 : len;
}

/* True when each of the 8 bytes in `w` is in 0x20-0x7F, which SQS accepts
 * as it is. Without a byte below 0x20 no subtraction borrows, so a high
 * bit in the difference or in `w` itself means a byte out of the range. */
static inline bool printable_word(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u;
  return (((w - ones * 0x20) | w) & (ones * 0x80)) == 0;
}

bool sqs_text_allowed(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    /* ASCII text, the usual attribute value, a word at a time. */
    uint64_t word;
    while (len - i >= 8 && (memcpy(&word, s + i, 8), printable_word(word)))
      i += 8;
    if (i == len)
      break;
    unsigned char c = s[i];
    if (c >= 0x20 && c < 0x80) {
      i++;
      continue;
    }
    if (c == '\t' || c == '\n' || c == '\r') {
      i++;
      continue;
    }
    size_t n = c >= 0x80 ? allowed_sequence(s + i, len - i) : 0;
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

bool sqs_attribute_name_valid(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > SQS_MAX_ATTRIBUTE_NAME)
    return false;
  if (strncasecmp(name, "AWS.", 4) == 0 || strncasecmp(name, "Amazon.", 7) == 0)
    return false;
  if (name[0] == '.' || name[len - 1] == '.' || strstr(name, ".."))
    return false;
  for (const char *p = name; *p; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

bool sqs_id_valid(const char *text, size_t len) {
  if (len == 0 || len > SQS_MAX_ID_LEN)
    return false;
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x21 || text[i] > 0x7E)
      return false;
  return true;
}
