/* Everything a plugin needs: #include <pipelined/pipelined.h>. */
#ifndef PIPELINED_PIPELINED_H
#define PIPELINED_PIPELINED_H

#include <pipelined/backoff.h>
#include <pipelined/common.h>
#include <pipelined/json.h>
#include <pipelined/ledger.h>
#include <pipelined/log.h>
#include <pipelined/plugin.h>
#include <pipelined/preflight.h>
#include <pipelined/record.h>
#include <pipelined/schema.h>
#include <pipelined/state_file.h>
#include <pipelined/template.h>
#include <pipelined/timestamp.h>

#endif
