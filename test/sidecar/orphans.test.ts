// No `claude` outlives its sidecar: killed outright (SIGKILL, no cleanup code runs) the kernel's
// parent-death signal ends it; and a sidecar that starts reaps what a dead one left recorded.
import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deathSignalPrefix, reapOrphans } from "../../src/sidecar/orphans.ts";
import { alive, claudePids, type Env, testEnv } from "./helpers.ts";

let env: Env;
beforeAll(async () => {
  env = await testEnv();
});
afterAll(() => env.close());

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe("orphaned claude processes", () => {
  it.runIf(deathSignalPrefix() !== null)(
    "a sidecar killed with SIGKILL mid-run takes its claude process with it",
    { timeout: 60_000 },
    async () => {
      const child = spawn(process.execPath, ["test/support/runner-child.ts"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: env.home,
          ANTHROPIC_BASE_URL: env.mock.url,
          ANTHROPIC_API_KEY: "test",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          IS_SANDBOX: "1",
          CC_WORKSPACE_ROOT: env.root,
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on("data", (d: Buffer) => d.toString().includes("running") && resolve());
        child.once("exit", (code) => reject(new Error(`runner child exited ${code}`)));
      });
      const pids = claudePids(env.root);
      expect(pids.length).toBe(1);
      child.kill("SIGKILL");
      expect(await until(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
    },
  );

  it("a starting sidecar reaps the claude process groups a dead one left behind, and nothing else", async () => {
    const bin = join(env.root, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync("/bin/sleep", join(bin, "claude"));
    const leftover = spawn(join(bin, "claude"), ["60"], { detached: true, stdio: "ignore" });
    const bystander = spawn("/bin/sleep", ["60"], { detached: true, stdio: "ignore" });
    const runs = join(env.root, ".runs");
    mkdirSync(runs, { recursive: true });
    // Recorded by sidecar PID 999999, which is not running.
    writeFileSync(join(runs, String(leftover.pid)), "999999\n");
    writeFileSync(join(runs, String(bystander.pid)), "999999\n");
    try {
      expect(reapOrphans(env.root)).toBe(1);
      expect(await until(() => !alive(leftover.pid ?? 0), 5000)).toBe(true);
      expect(alive(bystander.pid ?? 0)).toBe(true);
      expect(reapOrphans(env.root)).toBe(0);
    } finally {
      bystander.kill("SIGKILL");
      leftover.kill("SIGKILL");
    }
  });
});
