// `npm run deploy`: create the D1 database on first deploy (writing its id into wrangler.toml), deploy
// the D1 migrations remotely, then deploy the Worker. `--dry-run` prints the steps without running them.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/stack.ts";

const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
const dryRun = values["dry-run"];
const wrangler = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);

function step(args: string[]): string {
  process.stdout.write(`$ wrangler ${args.join(" ")}\n`);
  if (dryRun) return "";
  const r = spawnSync(process.execPath, [wrangler, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["inherit", "pipe", "inherit"],
  });
  process.stdout.write(r.stdout ?? "");
  if (r.status !== 0) throw new Error(`wrangler ${args[0]} failed (exit ${r.status})`);
  return r.stdout ?? "";
}

const tomlPath = join(ROOT, "wrangler.toml");
const toml = readFileSync(tomlPath, "utf8");
if (toml.includes(PLACEHOLDER)) {
  const out = step(["d1", "create", "ccproxy"]);
  const id =
    /database_id\s*=\s*"([0-9a-f-]{36})"/.exec(out)?.[1] ??
    /"database_id":\s*"([0-9a-f-]{36})"/.exec(out)?.[1];
  if (!dryRun) {
    if (!id)
      throw new Error(
        "could not read the new database id from wrangler's output; set database_id in wrangler.toml",
      );
    writeFileSync(tomlPath, toml.replace(PLACEHOLDER, id));
    process.stdout.write(`wrangler.toml: database_id = ${id}\n`);
  }
}
// Schema first, so the new code never runs against an older database.
step(["d1", "migrations", "apply", "DB", "--remote"]);
step(["deploy"]);
process.stdout.write(
  "Deployed. Set the secrets once with `npx wrangler secret put NAME` (see .dev.vars.example).\n",
);
