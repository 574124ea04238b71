/* Role chains: the base provider, then AssumeRole hop by hop. One step is
 * in flight at a time (op->child); each step's callback starts the next
 * one, and the last result, or the first failure, ends the run. */
#include "creds_role.h"

#include <stdlib.h>
#include <string.h>

typedef struct role_hop {
  char *profile;
  char *role_arn;
  char *session_name;
  char *external_id;
  char *duration_seconds;
} role_hop_t;

typedef struct role_op {
  pl__creds_op_t op;
  pl__creds_ctx_t ctx; /* its strings point at the copies below */
  char *sts_url;
  char *sts_region;
  char *base_label;
  role_hop_t *hops;
  size_t hop_count;
  size_t next;           /* the hop to start next */
  pl__creds_op_t *child; /* the step in flight, or NULL */
  bool canceled;
} role_op_t;

static void role_op_free(pl__creds_op_t *base) {
  role_op_t *op = (role_op_t *)base;
  for (size_t i = 0; op->hops && i < op->hop_count; i++) {
    free(op->hops[i].profile);
    free(op->hops[i].role_arn);
    free(op->hops[i].session_name);
    free(op->hops[i].external_id);
    free(op->hops[i].duration_seconds);
  }
  free(op->hops);
  free(op->sts_url);
  free(op->sts_region);
  free(op->base_label);
  free(op);
}

/* strdup that keeps NULL; *ok turns false when out of memory. */
static char *copy(const char *text, bool *ok) {
  if (!text)
    return NULL;
  char *dup = strdup(text);
  if (!dup)
    *ok = false;
  return dup;
}

static void role_on_step(void *data, pl__creds_result_t *result);

/* Goes on from the step that produced `result`: returns PL_EAGAIN when the
 * next step is in flight, 0 when `result` is the run's end (the last
 * role's credentials, or a failure), or PL_ENOMEM. */
static int advance(role_op_t *op, pl__creds_result_t *result) {
  for (;;) {
    if (op->canceled) {
      pl__creds_result_clear(result);
      return pl__creds_result_set(result, PL__CREDS_FAILED, "canceled");
    }
    if (result->outcome != PL__CREDS_FOUND || !result->set) {
      if (op->next > 0) /* an AssumeRole failure names its role */
        return 0;
      /* The base: nothing found is a failure too, named. */
      char *reason = result->reason;
      result->reason = NULL;
      int rc = pl__creds_result_set(result, PL__CREDS_FAILED, "%s: %s",
                                    op->base_label,
                                    reason ? reason : "out of memory");
      free(reason);
      return rc;
    }
    if (op->next == op->hop_count)
      return 0;
    const role_hop_t *hop = &op->hops[op->next++];
    pl__creds_set_t *signer = result->set;
    result->set = NULL;
    pl__creds_result_clear(result);
    pl_buf_t source = {0};
    int rc = pl_buf_printf(&source, "profile %s (assume role %s via %s)",
                           hop->profile, hop->role_arn, signer->view.source);
    const pl__creds_assume_role_t role = {
        .role_arn = hop->role_arn,
        .session_name = hop->session_name,
        .external_id = hop->external_id,
        .duration_seconds = hop->duration_seconds,
    };
    if (rc == 0)
      rc = pl__creds_assume_role_start(&op->ctx, &role, &signer->view,
                                       source.data, result, role_on_step, op,
                                       &op->child);
    pl_buf_free(&source);
    pl__creds_set_free(signer);
    if (rc != 0) /* PL_EAGAIN or PL_ENOMEM */
      return rc;
  }
}

static void role_on_step(void *data, pl__creds_result_t *result) {
  role_op_t *op = data;
  op->child = NULL;
  int rc = advance(op, result);
  if (rc != PL_EAGAIN)
    pl__creds_op_finish(&op->op, role_op_free, result, rc);
}

static void role_cancel(pl__creds_op_t *base) {
  role_op_t *op = (role_op_t *)base;
  op->canceled = true;
  /* Last: the child may finish, and so free op, from inside cancel(). */
  if (op->child)
    op->child->cancel(op->child);
}

int pl__creds_role_start(const pl__creds_ctx_t *ctx, pl__creds_start_fn base,
                         const char *base_profile, const char *base_label,
                         const pl__creds_role_hop_t *hops, size_t hop_count,
                         pl__creds_result_t *result, pl__creds_done_cb cb,
                         void *data, pl__creds_op_t **out) {
  *out = NULL;
  role_op_t *op = calloc(1, sizeof *op);
  if (!op)
    return PL_ENOMEM;
  op->op = (pl__creds_op_t){.cancel = role_cancel, .cb = cb, .data = data};
  bool ok = true;
  op->sts_url = copy(ctx->sts_url, &ok);
  op->sts_region = copy(ctx->sts_region, &ok);
  op->base_label = copy(base_label, &ok);
  op->hops = calloc(hop_count ? hop_count : 1, sizeof *op->hops);
  op->hop_count = op->hops ? hop_count : 0;
  ok = ok && op->hops;
  for (size_t i = 0; ok && i < hop_count; i++) {
    op->hops[i] = (role_hop_t){
        .profile = copy(hops[i].profile, &ok),
        .role_arn = copy(hops[i].role.role_arn, &ok),
        .session_name = copy(hops[i].role.session_name, &ok),
        .external_id = copy(hops[i].role.external_id, &ok),
        .duration_seconds = copy(hops[i].role.duration_seconds, &ok),
    };
  }
  if (!ok) {
    role_op_free(&op->op);
    return PL_ENOMEM;
  }
  /* The hops outlive this call: their context points at the copies. The
   * loop, transport and environment outlive every run (credentials.h). */
  op->ctx = *ctx;
  op->ctx.sts_url = op->sts_url;
  op->ctx.sts_region = op->sts_region;
  op->ctx.profile = NULL;
  pl__creds_ctx_t base_ctx = *ctx;
  if (base_profile) {
    base_ctx.profile = base_profile;
    base_ctx.profile_chosen = true;
  }
  int rc = base(&base_ctx, result, role_on_step, op, &op->child);
  if (rc == 0)
    rc = advance(op, result);
  if (rc == PL_EAGAIN) {
    *out = &op->op;
    return PL_EAGAIN;
  }
  role_op_free(&op->op);
  return rc;
}
