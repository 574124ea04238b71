/* The memory budget: the bytes held by every record of an engine, and
 * when its sources pause and resume for memory_limit. */
#include "memory_budget.h"
#include "record.h"

void pl__memory_budget_init(pl_memory_budget_t *budget, uint64_t limit) {
  *budget = (pl_memory_budget_t){.limit = limit};
}

uint64_t pl__memory_budget_cost(const struct pl_record *record) {
  uint64_t cost =
      (uint64_t)record->size + record->source_cost + sizeof(*record);
  const json_t *value = record->value;
  if (json_is_object(value))
    cost += (uint64_t)json_object_size(value) * PL_MEMORY_VALUE_ENTRY;
  else if (json_is_array(value))
    cost += (uint64_t)json_array_size(value) * PL_MEMORY_VALUE_ENTRY;
  /* Its metadata, shared by the records of one chunk: the structure and
   * its strings, and a member of its attributes as one of a value. */
  const pl_record_meta_t *meta = record->meta;
  if (meta) {
    uint64_t meta_cost = PL_MEMORY_META;
    if (meta->attributes)
      meta_cost +=
          (uint64_t)json_object_size(meta->attributes) * PL_MEMORY_VALUE_ENTRY;
    cost += meta_cost / (meta->refs ? meta->refs : 1);
  }
  return cost;
}

uint64_t pl__memory_budget_low_water(const pl_memory_budget_t *budget) {
  /* limit / 100 * percent would lose up to 99 bytes; limit * percent
   * could overflow near UINT64_MAX. */
  uint64_t limit = budget->limit;
  return limit / 100 * PL_MEMORY_LOW_WATER_PERCENT +
         limit % 100 * PL_MEMORY_LOW_WATER_PERCENT / 100;
}

bool pl__memory_budget_charge(pl_memory_budget_t *budget, uint64_t *charged,
                              uint64_t cost) {
  uint64_t before = *charged;
  *charged = cost;
  if (cost >= before) {
    budget->held += cost - before;
    if (budget->held > budget->peak)
      budget->peak = budget->held;
    return false;
  }
  uint64_t less = before - cost;
  /* A record's charge moves through `charged`, so what is released was
   * charged before; the clamp only keeps a bug from wrapping around. */
  budget->held = budget->held > less ? budget->held - less : 0;
  if (!budget->waiting || budget->held > pl__memory_budget_low_water(budget))
    return false;
  budget->waiting = false;
  return true;
}

bool pl__memory_budget_has_room(const pl_memory_budget_t *budget) {
  return budget->limit == 0 || budget->held < budget->limit;
}

void pl__memory_budget_note_pause(pl_memory_budget_t *budget,
                                  bool newly_paused) {
  budget->waiting = true;
  if (newly_paused)
    budget->pauses++;
}

bool pl__memory_budget_may_resume(const pl_memory_budget_t *budget) {
  return !budget->waiting ||
         budget->held <= pl__memory_budget_low_water(budget);
}
