/* Secrets in their own mappings, out of core dumps and wiped on free. One
 * mapping per secret costs a page each, which is fine for the handful of
 * credentials a daemon holds, and keeps a secret from ever sharing a page
 * with heap data that a dump or a use-after-free could expose. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mapping starts with this header; the text follows it. */
struct pl_secret {
  size_t len;     /* bytes of text, a NUL follows */
  size_t map_len; /* length of the whole mapping */
};

#define PL__SECRET_MAX ((size_t)16 << 20)

void pl__secret_wipe(void *data, size_t len) {
  if (!data || len == 0)
    return;
#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
  explicit_bzero(data, len);
#elif defined(__OpenBSD__) || defined(__FreeBSD__)
  explicit_bzero(data, len);
#else
  /* A volatile function pointer: the compiler cannot prove the call is
   * memset and drop it as a dead store. */
  static void *(*const volatile wipe)(void *, int, size_t) = memset;
  wipe(data, 0, len);
#endif
}

/* The text follows the header in the same mapping. */
static char *secret_text(pl_secret_t *secret) {
  return (char *)(secret + 1);
}

int pl__secret_alloc(size_t len, pl_secret_t **out) {
  *out = NULL;
  if (len > PL__SECRET_MAX)
    return PL_ERANGE;
  long page = sysconf(_SC_PAGESIZE);
  size_t page_size = page > 0 ? (size_t)page : 4096;
  size_t need = sizeof(pl_secret_t) + len + 1;
  size_t map_len = (need + page_size - 1) / page_size * page_size;
  void *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return PL_ENOMEM;
#if defined(MADV_DONTDUMP)
  (void)madvise(map, map_len, MADV_DONTDUMP);
#elif defined(MADV_NOCORE)
  (void)madvise(map, map_len, MADV_NOCORE);
#endif
  /* Best effort: keeps the page out of swap where RLIMIT_MEMLOCK allows;
   * a failure only loses that extra protection. */
  (void)mlock(map, map_len);
  pl_secret_t *secret = map;
  secret->len = len;
  secret->map_len = map_len;
  *out = secret;
  return 0;
}

int pl__secret_new(const char *text, size_t len, pl_secret_t **out) {
  int rc = pl__secret_alloc(len, out);
  if (rc < 0)
    return rc;
  if (len > 0)
    memcpy(secret_text(*out), text, len);
  return 0;
}

const char *pl__secret_str(const pl_secret_t *secret) {
  return (const char *)(secret + 1);
}

char *pl__secret_data(pl_secret_t *secret) {
  return secret_text(secret);
}

size_t pl__secret_len(const pl_secret_t *secret) {
  return secret->len;
}

void pl__secret_truncate(pl_secret_t *secret, size_t len) {
  if (len >= secret->len)
    return;
  pl__secret_wipe(secret_text(secret) + len, secret->len - len);
  secret->len = len;
}

void pl__secret_free(pl_secret_t *secret) {
  if (!secret)
    return;
  size_t map_len = secret->map_len;
  pl__secret_wipe(secret, map_len);
  (void)munlock(secret, map_len);
  (void)munmap(secret, map_len);
}

int pl__secret_read_file(const char *path, size_t max, pl_secret_t **out,
                         int *errno_out) {
  *out = NULL;
  if (errno_out)
    *errno_out = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno_out)
      *errno_out = errno;
    return errno == ENOENT || errno == ENOTDIR ? PL_ENOENT : PL_EIO;
  }
  int rc = 0;
  pl_secret_t *secret = NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    rc = PL_EIO;
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    rc = PL_EIO;
    goto fail;
  }
  if ((uint64_t)st.st_size > max) {
    errno = EFBIG;
    rc = PL_ERANGE;
    goto fail;
  }
  /* One byte more than the size, to notice a file that grew meanwhile. */
  size_t cap = (size_t)st.st_size + 1;
  rc = pl__secret_alloc(cap, &secret);
  if (rc < 0)
    goto fail;
  size_t got = 0;
  while (got < cap) {
    ssize_t n = read(fd, secret_text(secret) + got, cap - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = PL_EIO;
      goto fail;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  if (got > max) {
    errno = EFBIG;
    rc = PL_ERANGE;
    goto fail;
  }
  close(fd);
  pl__secret_truncate(secret, got);
  *out = secret;
  return 0;
fail:
  if (errno_out)
    *errno_out = errno;
  pl__secret_free(secret);
  close(fd);
  return rc;
}

/* Each block is preceded by its size, padded to keep malloc's alignment. */
typedef union wiping_header {
  size_t size;
  max_align_t align;
} wiping_header_t;

void *pl__secret_wiping_malloc(size_t size) {
  if (size > SIZE_MAX - sizeof(wiping_header_t))
    return NULL;
  wiping_header_t *block = malloc(sizeof *block + size);
  if (!block)
    return NULL;
  block->size = size;
  return block + 1;
}

void pl__secret_wiping_free(void *ptr) {
  if (!ptr)
    return;
  wiping_header_t *block = (wiping_header_t *)ptr - 1;
  pl__secret_wipe(block, sizeof *block + block->size);
  free(block);
}

void *pl__secret_wiping_realloc(void *ptr, size_t size) {
  if (!ptr)
    return pl__secret_wiping_malloc(size);
  /* Never realloc() in place: the old block would be released unwiped. */
  void *moved = pl__secret_wiping_malloc(size);
  if (!moved)
    return NULL;
  wiping_header_t *block = (wiping_header_t *)ptr - 1;
  memcpy(moved, ptr, block->size < size ? block->size : size);
  pl__secret_wiping_free(ptr);
  return moved;
}

void pl__secret_redact(char *text, const char *secret) {
  if (!text || !secret)
    return;
  size_t secret_len = strlen(secret);
  if (secret_len < 3)
    return; /* too short to be a secret worth hiding, and to shrink */
  char *hit;
  while ((hit = strstr(text, secret)) != NULL) {
    memcpy(hit, "***", 3);
    memmove(hit + 3, hit + secret_len, strlen(hit + secret_len) + 1);
  }
}
