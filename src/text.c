/* Bytes made into text that a JSON string can hold (see text.h). */
#include "text.h"

#include <stdint.h>

int pl__text_repair(const char *bytes, size_t len, bool hex, pl_buf_t *out) {
  const unsigned char *s = (const unsigned char *)bytes;
  for (size_t i = 0; i < len;) {
    size_t n = pl_utf8_sequence(s + i, len - i);
    int rc = n > 0 ? pl_buf_append(out, bytes + i, n)
             : hex ? pl_buf_printf(out, "\\x%02x", s[i])
                   : pl_buf_append_str(out, "\xEF\xBF\xBD");
    if (rc < 0)
      return rc;
    i += n > 0 ? n : 1;
  }
  return pl_buf_append(out, "", 0); /* "" for no bytes: a string still */
}

int pl__text_base64(const char *bytes, size_t len, pl_buf_t *out) {
  static const char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = (const unsigned char *)bytes;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t group = (uint32_t)s[i] << 16;
    if (i + 1 < len)
      group |= (uint32_t)s[i + 1] << 8;
    if (i + 2 < len)
      group |= s[i + 2];
    char quad[4] = {digits[group >> 18], digits[(group >> 12) & 63],
                    i + 1 < len ? digits[(group >> 6) & 63] : '=',
                    i + 2 < len ? digits[group & 63] : '='};
    if (pl_buf_append(out, quad, 4) < 0)
      return PL_ENOMEM;
  }
  return pl_buf_append(out, "", 0);
}
