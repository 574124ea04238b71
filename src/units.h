/* Parsing of scalar texts shared by the config lexer, option defaults and
 * user values (HACKING.md#s3: defaults are parsed by the same code). Every
 * function parses the whole string (no trailing garbage, no leading or
 * trailing spaces) and returns 0 or PL_EPARSE / PL_ERANGE. The formatters
 * write what the parsers read. */
#ifndef PL_CORE_UNITS_H
#define PL_CORE_UNITS_H

#include <pipelined/common.h>

/* Decimal integer with optional sign: "42", "-7". */
int pl__parse_int(const char *text, int64_t *out);
/* Decimal whole number without a sign: "42" (up to UINT64_MAX). */
int pl__parse_uint(const char *text, uint64_t *out);
/* Decimal floating point: "1.5", "-2", "1e3" (no "inf", "nan", hex or
 * ".5"); only overflow is PL_ERANGE. Independent of the C locale, which
 * can cost a copy: PL_ENOMEM is possible when the locale's decimal point
 * is not '.'. */
int pl__parse_double(const char *text, double *out);
/* "true" / "false". */
int pl__parse_bool(const char *text, bool *out);
/* Milliseconds from "<digits><unit>" with unit ms, s, m, h, d; a bare "0"
 * is allowed. "1.5s" is allowed (= 1500); a value that is not a whole
 * number of milliseconds ("0.5ms", "1.0001s") is PL_ERANGE, never
 * rounded. */
int pl__parse_duration(const char *text, uint64_t *out_ms);
/* Bytes from "<digits>[unit]" with unit B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024); a bare number is bytes. */
int pl__parse_size(const char *text, uint64_t *out_bytes);

/* The reverse, for messages and --describe: the largest unit that states
 * the value exactly ("0", "500ms", "20s", "12h"; "0B", "256KiB", "1MB",
 * "1000B"). Appends to `out`; returns 0 or PL_ENOMEM. */
int pl__format_duration(uint64_t ms, pl_buf_t *out);
int pl__format_size(uint64_t bytes, pl_buf_t *out);

#endif
