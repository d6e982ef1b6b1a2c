// End-to-end stack for the e2e tests: the mock Anthropic upstream, `wrangler dev` with a freshly
// migrated local D1, and a Claude Code sidecar connected to it (its agent talking to the mock), all on
// 127.0.0.1, all stopped when the run ends.
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, migrateLocal, startWorker } from "../../scripts/lib/stack.ts";
import { startMock } from "../../src/mock/server.ts";
import { startSidecar, waitForSidecars } from "../support/sidecar-process.ts";

export const ADMIN_TOKEN = "e2e-admin-token";
export const TEAM_KEY = "sk-ant-e2e-team-key";
/** The tunnel protocol refuses secrets under 32 characters. */
export const TUNNEL_SECRET = "e2e-tunnel-secret-long-enough-for-hmac";

declare module "vitest" {
  export interface ProvidedContext {
    ccproxyUrl: string;
    mockUrl: string;
    adminToken: string;
    teamKey: string;
    tunnelSecret: string;
    /** The shared sidecar's CC_WORKSPACE_ROOT: each key works in `<root>/<key id>`. */
    workspaceRoot: string;
    /** A file that receives every line `wrangler dev` prints (the Worker's console.log included). */
    workerLog: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "ccproxy-e2e-"));
  const mock = await startMock({ quiet: true });
  const persistDir = join(dir, "state");
  await migrateLocal(persistDir);
  const output: string[] = [];
  const workerLog = join(dir, "worker.log");
  const worker = await startWorker({
    port: await freePort(),
    persistDir,
    stateDir: dir,
    vars: {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: TEAM_KEY,
      ADMIN_TOKEN,
      TUNNEL_SECRET,
      // Claude Code mode requests with no sidecar answer 503 after this wait (default 5 s).
      SIDECAR_WAIT_MS: "1500",
    },
    // "log": the Worker's console.log lines too (the tunnel's refusals, for the handshake test).
    logLevel: "log",
    onOutput: (line) => {
      output.push(line);
      appendFileSync(workerLog, `${line}\n`);
    },
  }).catch((e: unknown) => {
    throw new Error(`wrangler dev did not start: ${String(e)}\n${output.join("\n")}`);
  });
  const workspaceRoot = join(dir, "workspaces");
  const sidecar = startSidecar({
    ccproxyUrl: worker.url,
    secret: TUNNEL_SECRET,
    env: {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: "test",
      CC_WORKSPACE_ROOT: workspaceRoot,
      CC_SIDECAR_NAME: "e2e-shared",
    },
  });
  try {
    await waitForSidecars(worker.url, (n) => n >= 1, 30_000);
  } catch (e) {
    await sidecar.stop("SIGKILL");
    await worker.stop();
    await mock.close();
    throw new Error(`the sidecar did not connect: ${String(e)}\n${sidecar.lines.join("\n")}`);
  }
  project.provide("ccproxyUrl", worker.url);
  project.provide("mockUrl", mock.url);
  project.provide("adminToken", ADMIN_TOKEN);
  project.provide("teamKey", TEAM_KEY);
  project.provide("tunnelSecret", TUNNEL_SECRET);
  project.provide("workspaceRoot", workspaceRoot);
  project.provide("workerLog", workerLog);
  return async () => {
    await sidecar.stop("SIGTERM");
    await worker.stop();
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
