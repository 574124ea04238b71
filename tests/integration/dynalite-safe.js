'use strict'
// Starts dynalite (DynamoDB emulator) on 127.0.0.1 for
// tests/integration/aws-env.sh, guarded against dynalite 4.0.0's crash when
// a client disconnects in the middle of a request.
//
// Usage: node dynalite-safe.js NODE_MODULES_DIR PORT PORT_FILE
// Environment: DYNALITE_PATH (LevelDB directory; in memory when unset),
// DYNALITE_TABLE_MS (CREATING/DELETING/UPDATING time, default 100 ms).
//
// The crash: dynalite's request handler (index.js, httpHandler) does
//   req.on('error', function (err) { throw err })
// When a client closes its connection before the request body is complete
// (a SIGKILLed daemon, a client timeout), Node's HTTP server destroys the
// IncomingMessage with "Error: aborted" (code ECONNRESET, from abortIncoming
// in socketOnClose); the listener rethrows it from an event emitter callback,
// which is an uncaught exception and ends the process. The server's
// 'clientError' event does not see it: that event is for socket and parse
// errors, not for errors of a request already handed to the handler.
//
// The fix here wraps every 'error' listener dynalite adds to a request so
// that this one error is dropped (the request is gone; there is nobody to
// answer) and anything else still reaches dynalite's listener. A filtered
// 'uncaughtException' handler is the backstop for the same error raised by
// any other path; every other uncaught error still ends the process.
const fs = require('fs')
const path = require('path')
const { createRequire } = require('module')

const [modulesDir, portArg, portFile] = process.argv.slice(2)
if (!modulesDir || portArg === undefined || !portFile) {
  console.error('usage: dynalite-safe.js NODE_MODULES_DIR PORT PORT_FILE')
  process.exit(2)
}

const requireFrom = createRequire(path.join(path.resolve(modulesDir), 'dynalite-safe-anchor.js'))
const dynalite = requireFrom('dynalite')
const dynaliteVersion = requireFrom('dynalite/package.json').version

function isClientAbort (err) {
  return Boolean(err) && err.code === 'ECONNRESET' && err.message === 'aborted'
}

let aborts = 0
function noteAbort (where) {
  aborts += 1
  console.error(`dynalite-safe: client disconnected mid-request (${where}), ignored [${aborts}]`)
}

process.on('uncaughtException', (err) => {
  if (isClientAbort(err)) {
    noteAbort('uncaughtException')
    return
  }
  console.error('dynalite-safe: uncaught exception:', err && err.stack ? err.stack : err)
  process.exit(1)
})

const tableMs = Number(process.env.DYNALITE_TABLE_MS || 100)
const server = dynalite({
  path: process.env.DYNALITE_PATH || undefined,
  createTableMs: tableMs,
  deleteTableMs: tableMs,
  updateTableMs: tableMs,
})

// Runs before dynalite's own 'request' listener, so the request's on() is
// wrapped by the time dynalite subscribes to 'error'.
server.prependListener('request', (req) => {
  const on = req.on
  req.on = req.addListener = function (event, listener) {
    if (event !== 'error') return on.apply(this, arguments)
    return on.call(this, 'error', function (err) {
      if (isClientAbort(err)) {
        noteAbort('request')
        return
      }
      return listener.apply(this, arguments)
    })
  }
})

server.listen(Number(portArg), '127.0.0.1', () => {
  const port = server.address().port
  // Written atomically so the caller never reads a half-written file.
  fs.writeFileSync(`${portFile}.tmp`, `${port}\n`)
  fs.renameSync(`${portFile}.tmp`, portFile)
  console.log(`dynalite ${dynaliteVersion} (node ${process.version}) listening on 127.0.0.1:${port}` +
    (process.env.DYNALITE_PATH ? ` (LevelDB at ${process.env.DYNALITE_PATH})` : ' (in memory)'))
})

for (const sig of [ 'SIGTERM', 'SIGINT' ]) {
  process.on(sig, () => {
    // dynalite's close() waits up to 30 s for requests; never hang cleanup.
    setTimeout(() => process.exit(0), 2000).unref()
    server.close(() => process.exit(0))
  })
}
