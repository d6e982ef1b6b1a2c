// End-to-end stack for the e2e tests: the mock Anthropic upstream and `wrangler dev` with a freshly
// migrated local D1, both on 127.0.0.1, both stopped when the run ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, migrateLocal, startWorker } from "../../scripts/lib/stack.ts";
import { startMock } from "../../src/mock/server.ts";

export const ADMIN_TOKEN = "e2e-admin-token";
export const TEAM_KEY = "sk-ant-e2e-team-key";
export const TUNNEL_SECRET = "e2e-tunnel-secret";

declare module "vitest" {
  export interface ProvidedContext {
    ccproxyUrl: string;
    mockUrl: string;
    adminToken: string;
    teamKey: string;
    tunnelSecret: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "ccproxy-e2e-"));
  const mock = await startMock({ quiet: true });
  const persistDir = join(dir, "state");
  await migrateLocal(persistDir);
  const output: string[] = [];
  const worker = await startWorker({
    port: await freePort(),
    persistDir,
    stateDir: dir,
    vars: {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: TEAM_KEY,
      ADMIN_TOKEN,
      TUNNEL_SECRET,
    },
    onOutput: (line) => output.push(line),
  }).catch((e: unknown) => {
    throw new Error(`wrangler dev did not start: ${String(e)}\n${output.join("\n")}`);
  });
  project.provide("ccproxyUrl", worker.url);
  project.provide("mockUrl", mock.url);
  project.provide("adminToken", ADMIN_TOKEN);
  project.provide("teamKey", TEAM_KEY);
  project.provide("tunnelSecret", TUNNEL_SECRET);
  return async () => {
    await worker.stop();
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
