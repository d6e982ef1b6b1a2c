// `scripts/start.ts` (what `npm start` runs) as a test starts it: in its own process group, with
// its state and .dev.vars somewhere of the test's choosing and no credentials from the caller's shell,
// waited for until it prints "Press Ctrl-C".
import { type ChildProcess, spawn } from "node:child_process";

export interface StartedStack {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

export interface StartOptions {
  port: number;
  /** CCPROXY_STATE_DIR, also HOME (so the sidecar's Claude Code config lands there). */
  stateDir: string;
  /** CCPROXY_DEV_VARS: never the repo's .dev.vars, where a developer's real key would make it an online start. */
  devVars: string;
}

export async function startStack(opts: StartOptions, timeoutMs = 120_000): Promise<StartedStack> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CCPROXY_STATE_DIR: opts.stateDir,
    CCPROXY_DEV_VARS: opts.devVars,
    HOME: opts.stateDir,
  };
  for (const name of ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ADMIN_TOKEN", "TUNNEL_SECRET"])
    delete env[name];
  const child = spawn(process.execPath, ["scripts/start.ts", "--port", String(opts.port)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const collect = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const deadline = Date.now() + timeoutMs;
  while (!out.includes("Press Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}
