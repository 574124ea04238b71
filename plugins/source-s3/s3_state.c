/* Hashed sets of committed S3 keys and the state file of source-s3. */
#include "s3_state.h"

#include <stdlib.h>
#include <string.h>

#include <pipelined/state_file.h>

#define STATE_HEADER "pipelined source-s3 state 1"
#define STATE_HEADER_PREFIX "pipelined source-s3 state "

/* How "no ETag" is written: "-" (an ETag that is "-" is written %2D). */
#define NO_ETAG "-"

typedef struct s3_entry {
  char *key;  /* NULL: an empty slot */
  char *etag; /* NULL: none */
  uint64_t hash;
  bool marked;
} s3_entry_t;

/* An open-addressing table with linear probing, at most half full, and
 * deletion by backward shift (no tombstones, so lookups stay short after
 * many removals and sweeps). */
struct s3_state {
  pl_state_file_t *file; /* owned and locked; NULL: in memory only */
  s3_entry_t *slots;     /* `cap` slots; NULL when cap is 0 */
  size_t cap;            /* 0 or a power of two */
  size_t count;
};

/* Returns PL_ENOMEM, with the message in *error when `error` is not NULL. */
static int out_of_memory(char **error) {
  if (error)
    *error = strdup("out of memory");
  return PL_ENOMEM;
}

/* ---- The table ---- */

/* FNV-1a, then a murmur3-style finaliser so that the low bits used for
 * the slot depend on every byte (keys often share long prefixes). */
static uint64_t hash_key(const char *key) {
  uint64_t h = 0xcbf29ce484222325u;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3u;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53u;
  h ^= h >> 33;
  return h;
}

/* The slot of `key`, or of the empty slot where it would go (*found
 * false). The table must have a slot. */
static size_t find_slot(const s3_state_t *state, const char *key, uint64_t hash,
                        bool *found) {
  size_t mask = state->cap - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const s3_entry_t *entry = &state->slots[i];
    if (!entry->key) {
      *found = false;
      return i;
    }
    if (entry->hash == hash && strcmp(entry->key, key) == 0) {
      *found = true;
      return i;
    }
  }
}

static s3_entry_t *lookup(const s3_state_t *state, const char *key) {
  if (state->count == 0 || !key)
    return NULL;
  bool found;
  size_t i = find_slot(state, key, hash_key(key), &found);
  return found ? &state->slots[i] : NULL;
}

/* Makes room for one more key, keeping the table at most half full. */
static int reserve_one(s3_state_t *state) {
  if ((state->count + 1) * 2 <= state->cap)
    return 0;
  size_t cap = state->cap ? state->cap * 2 : 64;
  s3_entry_t *slots = calloc(cap, sizeof(*slots));
  if (!slots)
    return PL_ENOMEM;
  for (size_t i = 0; i < state->cap; i++) {
    if (!state->slots[i].key)
      continue;
    size_t j = state->slots[i].hash & (cap - 1);
    while (slots[j].key)
      j = (j + 1) & (cap - 1);
    slots[j] = state->slots[i];
  }
  free(state->slots);
  state->slots = slots;
  state->cap = cap;
  return 0;
}

/* Frees the entry in slot `i` and moves back the entries after it that
 * would no longer be found past the hole. Entries only move from later
 * slots (in probe order) to slot `i` or slots between `i` and where they
 * were: s3_state_sweep() relies on it. */
static void remove_at(s3_state_t *state, size_t i) {
  size_t mask = state->cap - 1;
  free(state->slots[i].key);
  free(state->slots[i].etag);
  for (size_t j = (i + 1) & mask; state->slots[j].key; j = (j + 1) & mask) {
    size_t home = state->slots[j].hash & mask;
    /* The entry at j stays when its home lies cyclically in (i, j]. */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays)
      continue;
    state->slots[i] = state->slots[j];
    i = j;
  }
  state->slots[i] = (s3_entry_t){0};
  state->count--;
}

/* "" is no ETag, as NULL is. */
static const char *etag_or_null(const char *etag) {
  return etag && *etag ? etag : NULL;
}

bool s3_state_find(const s3_state_t *state, const char *key,
                   const char **etag) {
  const s3_entry_t *entry = lookup(state, key);
  if (entry && etag)
    *etag = entry->etag;
  return entry != NULL;
}

bool s3_state_has(const s3_state_t *state, const char *key, const char *etag) {
  const s3_entry_t *entry = lookup(state, key);
  if (!entry)
    return false;
  etag = etag_or_null(etag);
  if (!entry->etag || !etag)
    return !entry->etag && !etag;
  return strcmp(entry->etag, etag) == 0;
}

int s3_state_put(s3_state_t *state, const char *key, const char *etag) {
  if (!key || !*key)
    return PL_EINVAL;
  etag = etag_or_null(etag);
  char *etag_copy = etag ? strdup(etag) : NULL;
  if (etag && !etag_copy)
    return PL_ENOMEM;
  s3_entry_t *entry = lookup(state, key);
  if (entry) {
    free(entry->etag);
    entry->etag = etag_copy;
    entry->marked = true;
    return 0;
  }
  char *key_copy = strdup(key);
  if (!key_copy || reserve_one(state) < 0) {
    free(key_copy);
    free(etag_copy);
    return PL_ENOMEM;
  }
  uint64_t hash = hash_key(key);
  bool found;
  size_t i = find_slot(state, key, hash, &found);
  state->slots[i] = (s3_entry_t){key_copy, etag_copy, hash, true};
  state->count++;
  return 0;
}

bool s3_state_remove(s3_state_t *state, const char *key) {
  s3_entry_t *entry = lookup(state, key);
  if (!entry)
    return false;
  remove_at(state, (size_t)(entry - state->slots));
  return true;
}

void s3_state_unmark_all(s3_state_t *state) {
  for (size_t i = 0; i < state->cap; i++)
    state->slots[i].marked = false;
}

void s3_state_mark(s3_state_t *state, const char *key) {
  s3_entry_t *entry = lookup(state, key);
  if (entry)
    entry->marked = true;
}

size_t s3_state_sweep(s3_state_t *state) {
  size_t before = state->count;
  /* A removal moves later entries back into the slot examined, so it is
   * examined again; the entries it moves from earlier slots (across the
   * end of the table) were examined already and are marked. */
  for (size_t i = 0; i < state->cap; i++)
    while (state->slots[i].key && !state->slots[i].marked)
      remove_at(state, i);
  return before - state->count;
}

const char *s3_state_file(const s3_state_t *state) {
  return state->file ? pl_state_file_path(state->file) : NULL;
}

size_t s3_state_count(const s3_state_t *state) {
  return state->count;
}

/* ---- Loading ---- */

/* Reads one "<etag> <key>" line; on failure *what says why. */
static int parse_line(s3_state_t *state, const char *line, size_t len,
                      const char **what) {
  const char *space = memchr(line, ' ', len);
  if (!space) {
    *what = "no space between the ETag and the key";
    return PL_EPARSE;
  }
  size_t etag_len = (size_t)(space - line);
  char *etag = NULL;
  int rc = 0;
  *what = "bad ETag";
  if (etag_len == 0)
    return PL_EPARSE;
  if (etag_len != strlen(NO_ETAG) || memcmp(line, NO_ETAG, etag_len) != 0)
    if ((rc = pl_state_unescape(line, etag_len, &etag)) < 0)
      return rc;
  char *key = NULL;
  *what = "bad key";
  const char *key_text = space + 1;
  size_t key_len = (size_t)(line + len - key_text);
  if (key_len == 0 || (rc = pl_state_unescape(key_text, key_len, &key)) < 0) {
    free(etag);
    return rc < 0 ? rc : PL_EPARSE;
  }
  *what = "the key is on an earlier line too";
  if (lookup(state, key))
    rc = PL_EPARSE;
  else
    rc = s3_state_put(state, key, etag);
  free(key);
  free(etag);
  return rc;
}

/* Checks the first line; on failure *what says why. */
static int parse_header(const char *line, size_t len, const char **what) {
  if (len == strlen(STATE_HEADER) && memcmp(line, STATE_HEADER, len) == 0)
    return 0;
  size_t prefix = strlen(STATE_HEADER_PREFIX);
  bool versioned =
      len > prefix && memcmp(line, STATE_HEADER_PREFIX, prefix) == 0;
  for (size_t i = prefix; versioned && i < len; i++)
    versioned = line[i] >= '0' && line[i] <= '9';
  if (versioned)
    *what =
        "unsupported format version (this build reads \"" STATE_HEADER "\")";
  else
    *what =
        "not a source-s3 state file (the first line should be \"" STATE_HEADER
        "\")";
  return PL_EPARSE;
}

/* The first line is the header, each other one a key. */
static int load_line(void *arg, size_t number, const char *line, size_t len,
                     const char **what) {
  return number == 1 ? parse_header(line, len, what)
                     : parse_line(arg, line, len, what);
}

int s3_state_create(const char *file, s3_state_t **out, char **error) {
  if (error)
    *error = NULL;
  s3_state_t *state = calloc(1, sizeof(*state));
  if (!state)
    return out_of_memory(error);
  int rc = pl_state_file_open_load_headed(file, load_line, state, &state->file,
                                          error);
  if (rc < 0) {
    s3_state_destroy(state);
    return rc;
  }
  *out = state;
  return 0;
}

void s3_state_destroy(s3_state_t *state) {
  if (!state)
    return;
  for (size_t i = 0; i < state->cap; i++) {
    free(state->slots[i].key);
    free(state->slots[i].etag);
  }
  free(state->slots);
  pl_state_file_close(state->file);
  free(state);
}

/* ---- Saving ---- */

static int compare_keys(const void *a, const void *b) {
  const s3_entry_t *const *x = a, *const *y = b;
  return strcmp((*x)->key, (*y)->key);
}

/* The whole file: the header, then the keys sorted by their bytes. */
/* pl_state_render_cb */
static int render(const void *data, pl_buf_t *text) {
  const s3_state_t *state = data;
  const s3_entry_t **sorted = NULL;
  if (state->count > 0 && !(sorted = malloc(state->count * sizeof(*sorted))))
    return PL_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < state->cap; i++)
    if (state->slots[i].key)
      sorted[n++] = &state->slots[i];
  if (n > 1)
    qsort(sorted, n, sizeof(*sorted), compare_keys);
  int rc = pl_buf_printf(text, "%s\n", STATE_HEADER);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *etag = sorted[i]->etag;
    if (!etag)
      rc = pl_buf_append_str(text, NO_ETAG);
    else if (strcmp(etag, NO_ETAG) == 0)
      rc = pl_buf_append_str(text, "%2D");
    else
      rc = pl_state_escape(etag, " ", text);
    if (rc == 0)
      rc = pl_buf_append_str(text, " ");
    if (rc == 0)
      rc = pl_state_escape(sorted[i]->key, NULL, text);
    if (rc == 0)
      rc = pl_buf_append_str(text, "\n");
  }
  free(sorted);
  return rc;
}

int s3_state_save(const s3_state_t *state, char **error) {
  return pl_state_file_write_state(state->file, render, state, error);
}

int s3_state_save_async(const s3_state_t *state, uv_loop_t *loop) {
  return pl_state_file_save_state(state->file, loop, render, state);
}

pl_state_file_t *s3_state_owner(const s3_state_t *state) {
  return state->file;
}
