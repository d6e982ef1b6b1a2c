// Shared by the runner tests: a sidecar policy pointed at the mock upstream, a tiny HTTP server that
// serves a Runner's responses to the real SDK clients (a stand-in for the tunnel), and a way to find
// the `claude` processes a test started (by their working directory under its workspace root).
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockServer, type RecordedRequest, startMock } from "../../src/mock/server.ts";
import { type Policy, parsePolicy } from "../../src/sidecar/policy.ts";
import type { Runner, RunRequest, RunResponse, RunSummary } from "../../src/sidecar/runner.ts";

export const MODEL = "claude-opus-5-5";

export interface Env {
  mock: MockServer;
  home: string;
  root: string;
  policy(overrides?: Record<string, string>): Policy;
  /** Kills any `claude` still running under this env's root (a failed test's leftovers), then cleans up. */
  close(): Promise<void>;
}

export async function testEnv(): Promise<Env> {
  const mock = await startMock({ quiet: true, apiKeys: ["test"] });
  const home = mkdtempSync(join(tmpdir(), "ccproxy-sidecar-home-"));
  const root = mkdtempSync(join(tmpdir(), "ccproxy-sidecar-ws-"));
  return {
    mock,
    home,
    root,
    policy: (overrides = {}) =>
      parsePolicy({
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home, // writable: the CLI starts in 0.4 s instead of 6
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: "test",
        IS_SANDBOX: "1", // these machines run as root
        CLAUDE_CODE_MAX_RETRIES: "0", // an upstream 529 fails now, not after minutes of retries
        TUNNEL_SECRET: "must-not-reach-the-agent",
        CC_WORKSPACE_ROOT: root,
        ...overrides,
      }),
    async close() {
      for (const pid of claudePids(root)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await mock.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** PIDs of `claude` processes whose working directory is under `root`. */
export function claudePids(root: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const exe = readlinkSync(`/proc/${name}/exe`);
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if (exe.endsWith("/claude") && cwd.startsWith(root)) out.push(Number(name));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0): it is gone for our purposes once its state is Z.
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export function request(
  format: RunRequest["format"],
  body: unknown,
  opts: { keyId?: string; signal?: AbortSignal } = {},
): RunRequest {
  return {
    format,
    body,
    keyId: opts.keyId ?? "key_a",
    keyName: "test",
    requestId: `req_${Math.random().toString(36).slice(2)}`,
    signal: opts.signal ?? new AbortController().signal,
  };
}

export async function text(res: RunResponse): Promise<string> {
  return new Response(res.body).text();
}

/** The mock's /v1/messages requests, parsed. */
export function messagesRequests(
  mock: MockServer,
  since = 0,
): Array<RecordedRequest & { json: Record<string, unknown> }> {
  return mock.requests
    .slice(since)
    .filter((r) => r.url.startsWith("/v1/messages") && !r.url.includes("count_tokens")) as Array<
    RecordedRequest & { json: Record<string, unknown> }
  >;
}

type Upstream = (RecordedRequest & { json: Record<string, unknown> }) | undefined;

export interface UpMessage {
  role: string;
  content: unknown;
}

/** The messages of a request the mock received (throws when there was no such request). */
export function upMessages(r: Upstream): UpMessage[] {
  if (r === undefined) throw new Error("the mock received no such request");
  return r.json.messages as UpMessage[];
}

/** The tool names a request to the mock declared. */
export function upTools(r: Upstream): string[] {
  if (r === undefined) throw new Error("the mock received no such request");
  return ((r.json.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
}

export interface Served {
  url: string;
  /** Every run's summary, in order of arrival. */
  summaries: Promise<RunSummary>[];
  close(): Promise<void>;
}

/**
 * Serves a Runner over HTTP the way the tunnel will: `/v1/messages` → Anthropic format,
 * `/v1/chat/completions` → OpenAI; the key id from `x-key-id`; a client that disconnects aborts the
 * run, and the body is written only as fast as the socket takes it.
 */
export async function serve(runner: Runner): Promise<Served> {
  const summaries: Promise<RunSummary>[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const format = req.url?.includes("/chat/completions") ? "openai" : "anthropic";
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    const keyId = typeof req.headers["x-key-id"] === "string" ? req.headers["x-key-id"] : "key_a";
    const out = await runner.run(
      request(format, JSON.parse(Buffer.concat(chunks).toString("utf8")), { keyId, signal: abort.signal }),
    );
    summaries.push(out.done);
    res.writeHead(out.status, out.headers);
    const reader = out.body.getReader();
    abort.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!res.write(value)) await new Promise((r) => res.once("drain", r));
      }
      res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    summaries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
