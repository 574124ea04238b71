/* Shared basics of the pipelined public API: visibility, error codes and the
 * opaque types every other public header refers to. */
#ifndef PIPELINED_COMMON_H
#define PIPELINED_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define PL_EXTERN __attribute__((visibility("default")))
#define PL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PL_EXTERN
#define PL_PRINTF(fmt, args)
#endif

/* Error codes: functions return 0 or one of these (negative) values. */
#define PL_ERRNO_MAP(XX)                                                       \
  XX(EINVAL, -1, "invalid argument")                                          \
  XX(ENOMEM, -2, "out of memory")                                             \
  XX(ENOENT, -3, "not found")                                                 \
  XX(EIO, -4, "input/output error")                                           \
  XX(EAGAIN, -5, "resource temporarily unavailable")                          \
  XX(ERANGE, -6, "value out of range")                                        \
  XX(EABI, -7, "plugin ABI version mismatch")                                 \
  XX(EPARSE, -8, "parse error")                                               \
  XX(ECANCELED, -9, "operation canceled")                                     \
  XX(EEXIST, -10, "already exists")

enum {
  PL_OK = 0,
#define PL__ERRNO_ENUM(name, value, text) PL_##name = (value),
  PL_ERRNO_MAP(PL__ERRNO_ENUM)
#undef PL__ERRNO_ENUM
};

/* Returns a static description of an error code. */
PL_EXTERN const char *pl_strerror(int err);

typedef struct pl_instance pl_instance_t; /* one stage of one pipeline */
typedef struct pl_record pl_record_t;     /* one record and its metadata */
typedef struct pl_batch pl_batch_t;       /* records handed to a sink */
typedef struct pl_group pl_group_t;       /* an acknowledgement group */
typedef struct pl_template pl_template_t; /* a compiled "${field}" template */

/* The process environment, injected (HACKING.md#s2): the daemon passes
 * getenv's, a test its own. `getenv` returns borrowed text or NULL. */
typedef struct pl_env {
  const char *(*getenv)(void *data, const char *name);
  void *data;
} pl_env_t;

/* A growable byte buffer. Zero-initialise, append, then pl_buf_free(). */
typedef struct pl_buf {
  char *data; /* always NUL-terminated when len > 0 or after pl_buf_reserve */
  size_t len;
  size_t cap;
} pl_buf_t;

PL_EXTERN int pl_buf_reserve(pl_buf_t *buf, size_t extra);
PL_EXTERN int pl_buf_append(pl_buf_t *buf, const void *data, size_t len);
PL_EXTERN int pl_buf_append_str(pl_buf_t *buf, const char *str);
/* Appends the decimal text of `n` (as printf's "%lld", without printf). */
PL_EXTERN int pl_buf_append_int(pl_buf_t *buf, long long n);
/* Appends the shortest text that reads back (strtod) as `d`: 0.1, not the
 * 0.10000000000000001 of %.17g; an integral value has no fraction ("3").
 * Returns 0 or PL_ENOMEM. */
PL_EXTERN int pl_buf_append_real(pl_buf_t *buf, double d);
PL_EXTERN int pl_buf_printf(pl_buf_t *buf, const char *fmt, ...)
    PL_PRINTF(2, 3);
PL_EXTERN int pl_buf_vprintf(pl_buf_t *buf, const char *fmt, va_list ap)
    PL_PRINTF(2, 0);
PL_EXTERN void pl_buf_reset(pl_buf_t *buf);
/* Cuts `buf` back to its first `len` bytes (at most buf->len), still
 * NUL-terminated: how an append that failed half-way is taken back. */
PL_EXTERN void pl_buf_truncate(pl_buf_t *buf, size_t len);
PL_EXTERN void pl_buf_free(pl_buf_t *buf);

/* A new malloc()ed string of `fmt` and `ap` ("" for an empty one), or
 * NULL when out of memory or the format fails. */
PL_EXTERN char *pl_vformat(const char *fmt, va_list ap) PL_PRINTF(1, 0);
/* The error out-parameter of the API (`char **error`): when `error` is not
 * NULL, puts a new malloc()ed message in *error (NULL when out of
 * memory); nothing otherwise. */
PL_EXTERN void pl_error_set(char **error, const char *fmt, ...)
    PL_PRINTF(2, 3);

/* A list option's value: count strings, owned by the core. */
typedef struct pl_list {
  size_t count;
  char **items;
} pl_list_t;

/* A map option's value (a nested block of `key = "text"` settings), owned by
 * the core. */
typedef struct pl_map {
  size_t count;
  char **keys;
  char **values;
} pl_map_t;

/* ---- UTF-8 ---- */

/* The length (1 to 4) of the well-formed UTF-8 sequence at `s`, of which
 * `avail` (at least 1) bytes can be read, or 0 when the bytes there are not
 * one: RFC 3629, so no overlong forms, no surrogates, nothing above
 * U+10FFFF (what jansson accepts). */
PL_EXTERN size_t pl_utf8_sequence(const unsigned char *s, size_t avail);
/* True when the `len` bytes at `text` are well-formed UTF-8 (NUL bytes
 * allowed). */
PL_EXTERN bool pl_utf8_valid(const char *text, size_t len);

/* How many of the last bytes of the `len` at `bytes` begin a UTF-8
 * character that goes on past them (0 to 3, `len` at most): a piece of a
 * stream cut there holds no valid text, and a sink that writes a piece's
 * bytes as they are (a JSON string) would refuse it. A reader holds them
 * back for the next piece. */
PL_EXTERN size_t pl_utf8_partial_tail(const char *bytes, size_t len);

/* The value of one hexadecimal digit (either case), or -1. */
PL_EXTERN int pl_hex_value(int c);

/* mkdir -p: creates the directory `path` and its missing parents (mode
 * 0755 before the umask). With `parent_only`, only the directory part of
 * `path` (a file's folder). Blocks on the file system: for start-up and
 * the thread pool, not the loop. Returns 0, or the errno of the first
 * failure (ENOTDIR when a component is not a directory). */
PL_EXTERN int pl_make_dirs(const char *path, bool parent_only);

#endif
