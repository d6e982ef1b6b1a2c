// The mock's command line: one line with its URL, serves requests, stops cleanly on SIGTERM/SIGINT.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { expect, it } from "vitest";

function start(args: string[]) {
  const child = spawn(process.execPath, ["src/mock/main.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve(out.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`mock exited early with ${code}`)));
  });
  return { child, firstLine };
}

it.each(["SIGTERM", "SIGINT"] as const)("serves and stops on %s", { timeout: 15_000 }, async (signal) => {
  const { child, firstLine } = start(["--port", "0", "--quiet", "--api-key", "k1", "--models", "x-model"]);
  try {
    const line = await firstLine;
    const url = /^mock Anthropic upstream listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
    expect(url).toBeDefined();
    const models = (await (
      await fetch(`${url}/v1/models?limit=1`, { headers: { "x-api-key": "k1" } })
    ).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data[0]?.id).toBe("x-model");
    expect((await fetch(`${url}/v1/models`, { headers: { "x-api-key": "k2" } })).status).toBe(401);
    const exited = once(child, "exit");
    child.kill(signal);
    const [code] = await exited;
    expect(code).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});

it("rejects bad arguments", async () => {
  const child = spawn(process.execPath, ["src/mock/main.ts", "--port", "nope"], { stdio: "pipe" });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const [code] = await once(child, "exit");
  expect(code).toBe(2);
  expect(err).toContain("--port");
});
