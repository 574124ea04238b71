/* Progress ledgers (see <pipelined/ledger.h>). */
#include <pipelined/ledger.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_HEADER "pipelined ledger 1"

/* How "no version" is written (a version that is "-" is written %2D). */
#define NO_VERSION "-"

/* Few inputs are read at once: a list does. */
typedef struct entry {
  struct entry *next;
  char *key;
  char *version; /* NULL: none */
  uint64_t offset;
  uint64_t line;
  uint64_t saved; /* the offset when a save was last asked for */
} entry_t;

struct pl_ledger {
  pl_state_file_t *file; /* owned; NULL: in memory only */
  entry_t *entries;
  size_t count;
  bool dirty;   /* changed since the last save */
  bool failing; /* the last save of pl_ledger_advance() failed (logged) */
};

static const char *version_or_null(const char *version) {
  return version && *version ? version : NULL;
}

static entry_t **find_link(pl_ledger_t *ledger, const char *key) {
  entry_t **link = &ledger->entries;
  while (*link && strcmp((*link)->key, key) != 0)
    link = &(*link)->next;
  return link;
}

static void entry_free(entry_t *e) {
  free(e->key);
  free(e->version);
  free(e);
}

/* ---- Saving ---- */

/* pl_state_render_cb */
static int render(const void *data, pl_buf_t *text) {
  const pl_ledger_t *ledger = data;
  int rc = pl_buf_printf(text, "%s\n", LEDGER_HEADER);
  for (const entry_t *e = ledger->entries; rc == 0 && e; e = e->next) {
    rc = pl_buf_printf(text, "%llu %llu ", (unsigned long long)e->offset,
                       (unsigned long long)e->line);
    if (rc == 0 && !e->version)
      rc = pl_buf_append_str(text, NO_VERSION);
    else if (rc == 0 && strcmp(e->version, NO_VERSION) == 0)
      rc = pl_buf_append_str(text, "%2D");
    else if (rc == 0)
      rc = pl_state_escape(e->version, " ", text);
    if (rc == 0)
      rc = pl_buf_append_str(text, " ");
    if (rc == 0)
      rc = pl_state_escape(e->key, NULL, text);
    if (rc == 0)
      rc = pl_buf_append_str(text, "\n");
  }
  return rc;
}

/* Writes the ledger now, on the loop and unsynced: a file of a few lines,
 * at most once per PL_LEDGER_SAVE_BYTES of an input, costs a few dozen
 * microseconds, while a round trip through the thread pool waits behind
 * the reads and writes queued there, long enough for a fast pipeline to
 * commit tens of thousands of rows the ledger would not have. */
static int save(pl_ledger_t *ledger) {
  if (!ledger->file)
    return 0;
  pl_buf_t text = {0};
  int rc = render(ledger, &text);
  if (rc == 0)
    rc = pl_state_file_write_unsynced(pl_state_file_path(ledger->file),
                                      text.data ? text.data : "", text.len,
                                      NULL);
  pl_buf_free(&text);
  if (rc < 0)
    return rc; /* still dirty: the next save or the flush tries again */
  for (entry_t *e = ledger->entries; e; e = e->next)
    e->saved = e->offset;
  ledger->dirty = false;
  return 0;
}

int pl_ledger_flush(pl_ledger_t *ledger, char **error) {
  if (error)
    *error = NULL;
  if (!ledger->dirty || !ledger->file)
    return 0;
  ledger->dirty = false;
  return pl_state_file_write_state(ledger->file, render, ledger, error);
}

/* ---- Entries ---- */

bool pl_ledger_find(const pl_ledger_t *ledger, const char *key,
                    const char *version, uint64_t *offset, uint64_t *line) {
  if (!key)
    return false;
  entry_t *e = *find_link((pl_ledger_t *)ledger, key);
  if (!e)
    return false;
  version = version_or_null(version);
  if (!e->version || !version ? e->version != version
                              : strcmp(e->version, version) != 0)
    return false;
  *offset = e->offset;
  *line = e->line;
  return true;
}

/* Sets the entry without saving; *moved says whether a save is due. */
static int put(pl_ledger_t *ledger, const char *key, const char *version,
               uint64_t offset, uint64_t line, bool *due) {
  if (!key || !*key)
    return PL_EINVAL;
  version = version_or_null(version);
  entry_t **link = find_link(ledger, key);
  entry_t *e = *link;
  bool same = e && (e->version && version ? strcmp(e->version, version) == 0
                                          : e->version == version);
  if (!same) {
    char *copy = version ? strdup(version) : NULL;
    if (version && !copy)
      return PL_ENOMEM;
    if (!e) {
      if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key))) {
        free(e);
        free(copy);
        return PL_ENOMEM;
      }
      *link = e;
      ledger->count++;
    }
    free(e->version);
    e->version = copy;
    e->saved = offset;
    *due = true;
  } else {
    uint64_t moved = offset > e->saved ? offset - e->saved : e->saved - offset;
    *due = moved >= PL_LEDGER_SAVE_BYTES;
  }
  e->offset = offset;
  e->line = line;
  ledger->dirty = true;
  return 0;
}

int pl_ledger_set(pl_ledger_t *ledger, const char *key, const char *version,
                  uint64_t offset, uint64_t line) {
  bool due = false;
  int rc = put(ledger, key, version, offset, line, &due);
  return rc == 0 && due ? save(ledger) : rc;
}

int pl_ledger_complete(pl_ledger_t *ledger, const char *key,
                       const char *version, uint64_t offset) {
  bool due = false;
  int rc = put(ledger, key, version, offset, 0, &due);
  return rc == 0 ? save(ledger) : rc;
}

int pl_ledger_advance(pl_ledger_t *ledger, pl_instance_t *inst,
                      const char *key, const char *version, uint64_t offset,
                      uint64_t line) {
  int rc = pl_ledger_set(ledger, key, version, offset, line);
  if (rc < 0 && !ledger->failing)
    pl_log(inst, PL_LOG_WARN,
           "%s: cannot save how far its rows are committed (%s); a restart "
           "may send more of them again",
           key ? key : "(no key)", pl_strerror(rc));
  ledger->failing = rc < 0;
  return rc;
}

bool pl_ledger_remove(pl_ledger_t *ledger, const char *key) {
  if (!key)
    return false;
  entry_t **link = find_link(ledger, key);
  entry_t *e = *link;
  if (!e)
    return false;
  *link = e->next;
  entry_free(e);
  ledger->count--;
  ledger->dirty = true;
  save(ledger); /* on failure, the flush at close tries again */
  return true;
}

size_t pl_ledger_count(const pl_ledger_t *ledger) { return ledger->count; }

pl_state_file_t *pl_ledger_file(const pl_ledger_t *ledger) {
  return ledger->file;
}

/* ---- Loading ---- */

/* Reads a decimal number ending at a space; advances *p past the space. */
static bool read_number(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  if (s >= end || *s < '0' || *s > '9')
    return false;
  while (s < end && *s >= '0' && *s <= '9') {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
    s++;
  }
  if (s >= end || *s != ' ')
    return false;
  *p = s + 1;
  *out = v;
  return true;
}

static int parse_entry(pl_ledger_t *ledger, const char *line, size_t len,
                       const char **what) {
  const char *p = line, *end = line + len;
  uint64_t offset = 0, number = 0;
  *what = "bad offset";
  if (!read_number(&p, end, &offset))
    return PL_EPARSE;
  *what = "bad line number";
  if (!read_number(&p, end, &number))
    return PL_EPARSE;
  *what = "bad version";
  const char *space = memchr(p, ' ', (size_t)(end - p));
  if (!space || space == p)
    return PL_EPARSE;
  char *version = NULL, *key = NULL;
  size_t vlen = (size_t)(space - p);
  int rc = 0;
  if (vlen != strlen(NO_VERSION) || memcmp(p, NO_VERSION, vlen) != 0)
    if ((rc = pl_state_unescape(p, vlen, &version)) < 0)
      return rc;
  *what = "bad key";
  const char *k = space + 1;
  if (k >= end || (rc = pl_state_unescape(k, (size_t)(end - k), &key)) < 0) {
    free(version);
    return rc < 0 ? rc : PL_EPARSE;
  }
  *what = "the key is on an earlier line too";
  bool due;
  rc = *find_link(ledger, key) ? PL_EPARSE
                               : put(ledger, key, version, offset, number, &due);
  free(version);
  free(key);
  return rc;
}

/* pl_state_line_cb: the header, then one entry per line. */
static int load_line(void *arg, size_t number, const char *line, size_t len,
                     const char **what) {
  if (number > 1)
    return parse_entry(arg, line, len, what);
  if (len == strlen(LEDGER_HEADER) && memcmp(line, LEDGER_HEADER, len) == 0)
    return 0;
  *what = "not a ledger of this version (the first line should be \"" LEDGER_HEADER
          "\")";
  return PL_EPARSE;
}

/* The file at `path` is not a ledger (`why`): renamed <path>.bad, and
 * *error says so. Returns 0, or PL_EIO when it cannot be moved. */
static int set_aside(const char *path, char *why, char **error) {
  pl_buf_t bad = {0}, text = {0};
  int rc = pl_buf_printf(&bad, "%s.bad", path) < 0 ? PL_ENOMEM : 0;
  if (rc == 0 && rename(path, bad.data) != 0)
    rc = PL_EIO;
  if (rc == 0)
    pl_buf_printf(&text,
                  "%s; set aside as %s: the inputs it named are read from "
                  "their start",
                  why ? why : "not a ledger", bad.data);
  free(why);
  pl_buf_free(&bad);
  if (error)
    *error = text.data;
  else
    pl_buf_free(&text);
  return rc;
}

int pl_ledger_create(const char *path, pl_ledger_t **out, char **error) {
  if (error)
    *error = NULL;
  pl_ledger_t *ledger = calloc(1, sizeof(*ledger));
  if (!ledger) {
    if (error)
      *error = strdup("out of memory");
    return PL_ENOMEM;
  }
  char *why = NULL;
  int rc = pl_state_file_open_load_headed(path, load_line, ledger,
                                          &ledger->file, &why);
  if (rc == PL_EPARSE) {
    /* A machine crash can tear a ledger (its saves are not synced); it is
     * a hint, so the inputs are read from their start instead. */
    pl_ledger_destroy(ledger);
    if ((rc = set_aside(path, why, error)) < 0 ||
        !(ledger = calloc(1, sizeof(*ledger))))
      return rc < 0 ? rc : PL_ENOMEM;
    why = NULL;
    rc = pl_state_file_open_load_headed(path, load_line, ledger, &ledger->file,
                                        error && *error ? NULL : &why);
  }
  if (rc < 0) {
    if (error && !*error)
      *error = why;
    else
      free(why);
    pl_ledger_destroy(ledger);
    return rc;
  }
  free(why);
  ledger->dirty = false;
  *out = ledger;
  return 0;
}

void pl_ledger_destroy(pl_ledger_t *ledger) {
  if (!ledger)
    return;
  entry_t *e;
  while ((e = ledger->entries)) {
    ledger->entries = e->next;
    entry_free(e);
  }
  pl_state_file_close(ledger->file);
  free(ledger);
}
