#!/usr/bin/env node
// `npx ccproxy …`: the admin CLI's entry (Node 22 type stripping runs it as is); the work is in cli.ts.

import { runCli } from "./cli.ts";

// `ccproxy keys list | head -1` closes stdout early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  fetch: globalThis.fetch,
  now: () => new Date(),
});
