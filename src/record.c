/* Records: a value or bytes, shared metadata, and a pending count on the
 * record's ack group. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "group.h"
#include "pipeline.h"
#include "record.h"
#include "units.h"

void pl__queue_push(pl_queue_t *queue, pl_record_t *record) {
  record->next = NULL;
  if (queue->tail)
    queue->tail->next = record;
  else
    queue->head = record;
  queue->tail = record;
  queue->count++;
  queue->bytes += record->size;
}

pl_record_t *pl__queue_pop(pl_queue_t *queue) {
  pl_record_t *record = queue->head;
  if (!record)
    return NULL;
  queue->head = record->next;
  if (!queue->head)
    queue->tail = NULL;
  record->next = NULL;
  queue->count--;
  queue->bytes -= record->size;
  return record;
}

/* Spare records kept per engine; bounded so memory stays flat. */
#define PL_SPARE_RECORDS_MAX 4096

static pl_engine_t *engine_of(const pl_group_t *group) {
  return pl__group_source(group)->pipeline->engine;
}

pl_record_t *pl_record_create(pl_group_t *group) {
  pl_engine_t *engine = engine_of(group);
  pl_record_t *record = engine->spare_records;
  if (record) {
    engine->spare_records = record->next;
    engine->spare_count--;
    *record = (pl_record_t){0};
  } else if (!(record = calloc(1, sizeof(*record)))) {
    return NULL;
  }
  record->group = group;
  pl__group_add(group);
  return record;
}

/* Drops one reference to `meta` (NULL is allowed). */
static void meta_release(pl_record_meta_t *meta) {
  if (!meta || --meta->refs > 0)
    return;
  json_decref(meta->origin);
  json_decref(meta->etag);
  json_decref(meta->origin_time);
  json_decref(meta->message_id);
  json_decref(meta->attributes);
  free(meta);
}

/* The record's metadata, its own to change: new when it has none, a copy
 * when it shares it. NULL: out of memory (the record is unchanged). */
static pl_record_meta_t *meta_own(pl_record_t *record) {
  pl_record_meta_t *meta = record->meta;
  if (meta && meta->refs == 1)
    return meta;
  pl_record_meta_t *copy = calloc(1, sizeof(*copy));
  if (!copy)
    return NULL;
  copy->refs = 1;
  if (meta) {
    copy->origin = json_incref(meta->origin);
    copy->etag = json_incref(meta->etag);
    copy->origin_time = json_incref(meta->origin_time);
    copy->message_id = json_incref(meta->message_id);
    copy->attributes = json_incref(meta->attributes);
    meta_release(meta); /* shared: others still hold it */
  }
  record->meta = copy;
  return copy;
}

pl_record_t *pl_record_derive(const pl_record_t *parent) {
  pl_record_t *record = pl_record_create(parent->group);
  if (!record)
    return NULL;
  record->meta = parent->meta;
  if (record->meta)
    record->meta->refs++;
  if ((record->mark = parent->mark))
    pl__mark_hold(record->mark);
  return record;
}

void pl__record_free(pl_record_t *record) {
  json_decref(record->value);
  meta_release(record->meta);
  /* Most records have neither: skip the calls, which are not free with
   * every allocator (jemalloc's free(NULL) costs a few dozen instructions,
   * twice per record). */
  if (record->bytes)
    free(record->bytes);
  if (record->reason)
    free(record->reason);
  pl_engine_t *engine = engine_of(record->group);
  if (record->charged &&
      pl__memory_budget_charge(&engine->memory, &record->charged, 0))
    pl__engine_memory_available(engine);
  if (engine->spare_count < PL_SPARE_RECORDS_MAX) {
    record->next = engine->spare_records;
    engine->spare_records = record;
    engine->spare_count++;
  } else {
    free(record);
  }
}

void pl__record_free_spares(pl_engine_t *engine) {
  pl_record_t *record;
  while ((record = engine->spare_records)) {
    engine->spare_records = record->next;
    free(record);
  }
  engine->spare_count = 0;
}

void pl__record_resolve(pl_record_t *record, bool ok) {
  pl_group_t *group = record->group;
  pl__mark_t *mark = record->mark;
  pl__record_free(record);
  if (mark)
    pl__mark_release(mark, ok);
  pl__group_resolve(group, ok);
}

int pl_record_set_mark(pl_record_t *chunk, uint64_t end) {
  if (chunk->mark)
    return PL_EINVAL;
  chunk->mark = pl__marks_add(pl__group_marks(chunk->group), end);
  return chunk->mark ? 0 : PL_ENOMEM;
}

void pl_record_set_held(pl_record_t *chunk, uint64_t held, uint64_t line) {
  if (chunk->mark)
    pl__mark_set_held(chunk->mark, held, line);
}

bool pl_record_is_replay(const pl_record_t *record) { return record->replay; }
void pl_record_set_replay(pl_record_t *record) { record->replay = true; }

void pl_record_done(pl_record_t *record) { pl__record_resolve(record, true); }

void pl__record_set_reason_v(pl_record_t *record, const char *fmt,
                             va_list ap) {
  pl_buf_t buf = {0};
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n >= 0 && pl_buf_reserve(&buf, (size_t)n) == 0) {
    vsnprintf(buf.data, (size_t)n + 1, fmt, ap);
    buf.len = (size_t)n;
  }
  free(record->reason);
  record->reason = buf.data; /* NULL when out of memory */
}

static void reject_v(pl_record_t *record, const char *reason_class,
                     const char *fmt, va_list ap) {
  pl__record_set_reason_v(record, fmt, ap);
  record->reason_class = reason_class;
  record->result = PL_RESULT_REJECTED;
  pl_instance_t *source = pl__group_source(record->group);
  pl_pipeline_t *pipeline = source->pipeline;
  /* Counted where it was rejected: the transform at work, else the source
   * (sinks reject through pl_batch_resolve, counted by the batch). */
  pl_instance_t *by = pipeline->current ? pipeline->current : source;
  pl__stage_count_rejection(by, reason_class);
  pl__pipeline_dead_letter(pipeline, by, record);
}

void pl_record_reject(pl_record_t *record, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(record, NULL, fmt, ap);
  va_end(ap);
}

void pl_record_reject_as(pl_record_t *record, const char *reason_class,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(record, reason_class, fmt, ap);
  va_end(ap);
}

pl_group_t *pl_record_group(const pl_record_t *record) { return record->group; }

json_t *pl_record_value(const pl_record_t *record) { return record->value; }

void pl_record_set_value_new(pl_record_t *record, json_t *value) {
  json_decref(record->value);
  record->value = value;
}

const char *pl_record_bytes(const pl_record_t *record, size_t *len) {
  if (len)
    *len = record->len;
  return record->bytes;
}

int pl_record_set_bytes(pl_record_t *record, const void *data, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy)
    return PL_ENOMEM;
  if (len > 0)
    memcpy(copy, data, len);
  copy[len] = '\0';
  pl_record_set_bytes_new(record, copy, len);
  return 0;
}

void pl_record_set_bytes_new(pl_record_t *record, char *data, size_t len) {
  free(record->bytes);
  record->bytes = data;
  record->len = len;
  if (record->size == 0)
    record->size = len;
}

bool pl_record_is_last(const pl_record_t *record) { return record->last; }
void pl_record_set_last(pl_record_t *record, bool last) { record->last = last; }
bool pl_record_is_cut(const pl_record_t *record) { return record->cut; }
void pl_record_set_cut(pl_record_t *record) {
  record->cut = true;
  record->last = true;
}

size_t pl_record_size(const pl_record_t *record) { return record->size; }
void pl_record_set_size(pl_record_t *record, size_t size) {
  record->size = size;
}
void pl_record_set_source_cost(pl_record_t *record, size_t bytes) {
  record->source_cost = bytes;
}

static const char *string_of(const json_t *value) {
  return value ? json_string_value(value) : NULL;
}

const char *pl_record_origin(const pl_record_t *record) {
  return record->meta ? string_of(record->meta->origin) : NULL;
}
const char *pl_record_etag(const pl_record_t *record) {
  return record->meta ? string_of(record->meta->etag) : NULL;
}
const char *pl_record_origin_time(const pl_record_t *record) {
  return record->meta ? string_of(record->meta->origin_time) : NULL;
}
const char *pl_record_message_id(const pl_record_t *record) {
  return record->meta ? string_of(record->meta->message_id) : NULL;
}
uint64_t pl_record_line(const pl_record_t *record) { return record->line; }

/* Sets the value at `offset` in the record's own metadata (an offsetof()
 * of pl_record_meta_t, as the option tables do for their fields) to
 * `value`, stolen; NULL clears it. */
static int set_meta_value(pl_record_t *record, size_t offset, json_t *value) {
  if (!value && !record->meta)
    return 0; /* nothing to clear */
  pl_record_meta_t *meta = meta_own(record);
  if (!meta) {
    json_decref(value);
    return PL_ENOMEM;
  }
  json_t **slot = (json_t **)((char *)meta + offset);
  json_decref(*slot);
  *slot = value;
  return 0;
}

/* The core's UTF-8 check, which settles ASCII a word at a time, instead
 * of jansson's byte by byte (json_string): the same strings pass. */
static int set_meta_string(pl_record_t *record, size_t offset,
                           const char *text) {
  json_t *value = NULL;
  if (text) {
    size_t len = strlen(text);
    if (!pl_utf8_valid(text, len))
      return PL_EINVAL;
    if (!(value = json_stringn_nocheck(text, len)))
      return PL_ENOMEM;
  }
  return set_meta_value(record, offset, value);
}

int pl_record_set_origin(pl_record_t *record, const char *origin) {
  return set_meta_string(record, offsetof(pl_record_meta_t, origin), origin);
}
int pl_record_set_etag(pl_record_t *record, const char *etag) {
  return set_meta_string(record, offsetof(pl_record_meta_t, etag), etag);
}
int pl_record_set_origin_time(pl_record_t *record, const char *time) {
  return set_meta_string(record, offsetof(pl_record_meta_t, origin_time),
                         time);
}
int pl_record_set_message_id(pl_record_t *record, const char *id) {
  return set_meta_string(record, offsetof(pl_record_meta_t, message_id),
                         id);
}
void pl_record_set_line(pl_record_t *record, uint64_t line) {
  record->line = line;
}

json_t *pl_record_attributes(const pl_record_t *record) {
  return record->meta ? record->meta->attributes : NULL;
}

int pl_record_set_attribute_new(pl_record_t *record, const char *name,
                                json_t *value) {
  /* As json_object_set_new, with the core's UTF-8 check of the name, made
   * first: a refused name or value leaves the record as it was. */
  if (!name || !value || !pl_utf8_valid(name, strlen(name))) {
    json_decref(value);
    return PL_EINVAL;
  }
  pl_record_meta_t *meta = meta_own(record);
  if (!meta) {
    json_decref(value);
    return PL_ENOMEM;
  }
  /* The object may still be shared with the metadata this record's was
   * copied from: copy it before writing. */
  if (!meta->attributes) {
    meta->attributes = json_object();
  } else if (meta->attributes->refcount > 1) {
    json_t *copy = json_copy(meta->attributes);
    json_decref(meta->attributes);
    meta->attributes = copy;
  }
  if (!meta->attributes) {
    json_decref(value);
    return PL_ENOMEM;
  }
  /* Name and value are checked: only memory can fail here. */
  return json_object_set_new_nocheck(meta->attributes, name, value) == 0
             ? 0
             : PL_ENOMEM;
}

int pl_record_set_attributes_new(pl_record_t *record, json_t *attributes) {
  if (attributes && !json_is_object(attributes)) {
    json_decref(attributes);
    return PL_EINVAL;
  }
  return set_meta_value(record, offsetof(pl_record_meta_t, attributes),
                        attributes);
}

/* The metadata travelling as attributes, and where each goes. */
static const struct {
  const char *name;
  size_t offset; /* in pl_record_meta_t; 0: the line */
} meta_attributes[] = {
    {"origin", offsetof(pl_record_meta_t, origin)},
    {"origin_time", offsetof(pl_record_meta_t, origin_time)},
    {"etag", offsetof(pl_record_meta_t, etag)},
    {"line", 0},
};
#define META_ATTRIBUTES (sizeof(meta_attributes) / sizeof(meta_attributes[0]))

bool pl_record_is_meta_attribute(const char *name) {
  for (size_t i = 0; i < META_ATTRIBUTES; i++)
    if (strcmp(meta_attributes[i].name, name) == 0)
      return true;
  return false;
}

/* A line number: a positive JSON integer or a string of digits; 0 when
 * absent or anything else. */
static uint64_t line_of(const json_t *value) {
  if (json_is_integer(value))
    return json_integer_value(value) > 0 ? (uint64_t)json_integer_value(value)
                                         : 0;
  const char *text = json_string_value(value);
  uint64_t n;
  return text && pl__parse_uint(text, &n) == 0 ? n : 0;
}

int pl_record_set_meta_from_attributes(pl_record_t *record) {
  json_t *attributes = pl_record_attributes(record);
  for (size_t i = 0; attributes && i < META_ATTRIBUTES; i++) {
    json_t *value = json_object_get(attributes, meta_attributes[i].name);
    if (meta_attributes[i].offset == 0) {
      uint64_t line = line_of(value);
      if (line > 0)
        record->line = line;
      continue;
    }
    const char *text = json_string_value(value);
    /* Shared: the record's own metadata holds its attributes too. */
    if (text && *text &&
        set_meta_value(record, meta_attributes[i].offset,
                       json_incref(value)) < 0)
      return PL_ENOMEM;
  }
  return 0;
}

const char *pl_record_reason(const pl_record_t *record) {
  return record->reason;
}

void pl__record_location(const pl_record_t *record, pl_buf_t *out) {
  const char *origin = pl_record_origin(record);
  pl_buf_append_str(out, origin ? origin : "(unknown origin)");
  if (record->line)
    pl_buf_printf(out, ":%llu", (unsigned long long)record->line);
  const char *id = pl_record_message_id(record);
  if (id)
    pl_buf_printf(out, " (message %s)", id);
}
