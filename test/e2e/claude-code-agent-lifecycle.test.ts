// Claude Code mode's lifecycle and isolation through `wrangler dev`, the real tunnel and real sidecar
// processes running the bundled `claude` CLI against the mock: a client that aborts leaves no
// `claude` process behind and is still billed for what the run used; a personal sidecar serves its
// key and nothing else, and its key never runs on the shared sidecar; a handshake recorded on one
// WebSocket and replayed on another is refused and logged.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import {
  type AuthFrame,
  CLOSE_CODES,
  ClientHandshake,
  decodeFrame,
  encodeFrame,
  type Frame,
  type HelloFrame,
  tunnelHost,
} from "../../src/shared/tunnel/index.ts";
import { processesLeft, token, upstreamCalls } from "../support/agent-e2e.ts";
import { processesIn, startSidecar } from "../support/sidecar-process.ts";
import { mockUrl, newKey, until, url } from "./helpers.ts";

const dec = new TextDecoder();

function ask(key: string, prompt: string, init: { stream?: boolean; signal?: AbortSignal } = {}) {
  return fetch(`${url()}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-5-5",
      max_tokens: 1024,
      stream: init.stream ?? false,
      messages: [{ role: "user", content: prompt }],
    }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
}

async function usageOf(keyId: string) {
  const res = await fetch(`${url()}/admin/keys/${keyId}/usage`, {
    headers: { authorization: `Bearer ${inject("adminToken")}` },
  });
  return (
    (await res.json()) as {
      total: { requests: number; input_tokens: number; output_tokens: number; cost_usd: number | null };
    }
  ).total;
}

describe("a client that goes away", () => {
  it("ends the run's claude process within 10 s, and the run is billed for what it used", {
    timeout: 90_000,
  }, async () => {
    const k = await newKey();
    const dir = join(inject("workspaceRoot"), k.id);
    const controller = new AbortController();
    const res = await ask(k.key, "Talk for a long while. [[mock:long count=2000 delay=50]]", {
      stream: true,
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes("text_delta")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended early: ${seen}`);
      seen += dec.decode(value, { stream: true });
    }
    expect(processesIn(dir).length).toBeGreaterThan(0); // the agent is running, in the key's directory
    controller.abort();
    await reader.cancel().catch(() => {});
    expect(await processesLeft(dir, 10_000)).toEqual([]);
    // Not free because the client left: the tokens the run had used by then are in the ledger.
    const total = await until(async () => {
      const t = await usageOf(k.id);
      return t.requests === 1 ? t : undefined;
    }, 15_000);
    expect(total.input_tokens).toBeGreaterThan(0);
    expect(total.cost_usd).toBeGreaterThan(0);
  });
});

describe("a personal sidecar", () => {
  it("serves its key, never another key's request, and its key never runs on the shared sidecar", {
    timeout: 120_000,
  }, async () => {
    const [mine, other] = [await newKey(), await newKey()];
    const personalRoot = mkdtempSync(join(tmpdir(), "ccproxy-personal-"));
    const sharedRoot = inject("workspaceRoot");
    const sidecar = startSidecar({
      ccproxyUrl: url(),
      secret: inject("tunnelSecret"),
      env: {
        ANTHROPIC_BASE_URL: mockUrl(),
        ANTHROPIC_API_KEY: "test",
        CC_WORKSPACE_ROOT: personalRoot,
        CC_SERVE_KEYS: mine.id,
        CC_SIDECAR_NAME: `e2e-personal-${mine.id}`,
      },
    });
    try {
      await sidecar.waitForLine(/connected to ws:/, 30_000);
      for (let i = 0; i < 2; i++) {
        for (const k of [mine, other]) {
          const marker = token(`e2e-personal-${i}`);
          const res = await ask(k.key, `${marker} [[mock:text text=ok]]`);
          expect(res.status).toBe(200);
          await res.text();
          const [up] = await upstreamCalls(mockUrl(), marker);
          const root = k === mine ? personalRoot : sharedRoot;
          expect(up?.body).toContain(`Primary working directory: ${join(root, k.id)}`);
        }
      }
      expect(existsSync(join(personalRoot, mine.id))).toBe(true);
      expect(existsSync(join(personalRoot, other.id))).toBe(false);
      expect(existsSync(join(sharedRoot, other.id))).toBe(true);
      expect(existsSync(join(sharedRoot, mine.id))).toBe(false);
    } finally {
      expect(await sidecar.stop("SIGTERM")).toBe(0);
      rmSync(personalRoot, { recursive: true, force: true });
    }
  });
});

/** A raw tunnel WebSocket to `wrangler dev`: every frame it receives, and how it closed. */
function tunnelSocket() {
  const ws = new WebSocket(`${url().replace(/^http/, "ws")}/tunnel`);
  ws.binaryType = "arraybuffer";
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  ws.addEventListener("message", (ev) => {
    const d = decodeFrame(ev.data);
    if (d.ok) frames.push(d.frame);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (ev) => resolve(ev.code)));
  const opened = new Promise<void>((resolve) => ws.addEventListener("open", () => resolve()));
  const next = async (type: Frame["type"]): Promise<Frame> => {
    for (;;) {
      const f = frames.find((x) => x.type === type);
      if (f !== undefined) return f;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { ws, frames, closed, opened, next };
}

describe("the tunnel handshake against wrangler dev", () => {
  it("refuses an answer recorded on one WebSocket and replayed on another, and logs it", {
    timeout: 30_000,
  }, async () => {
    const secret = inject("tunnelSecret");
    const wsUrl = `${url().replace(/^http/, "ws")}/tunnel`;
    // A personal sidecar for a key nobody uses, so it never receives anyone's request.
    const hello: HelloFrame = {
      type: "hello",
      sidecarId: token("sc_e2e_replay"),
      name: "e2e-replay",
      version: "0.0.0-e2e",
      maxConcurrent: 1,
      serveKeys: [token("key_nobody")],
    };

    // 1. An honest handshake, recorded.
    const first = tunnelSocket();
    const handshake = new ClientHandshake({ secret, host: tunnelHost(wsUrl), hello });
    await first.opened;
    first.ws.send(encodeFrame(hello));
    const step = await handshake.receive({ ok: true, frame: await first.next("challenge") });
    if (step.kind !== "send") throw new Error(`expected auth, got ${step.kind}`);
    const auth: AuthFrame = step.frame;
    first.ws.send(encodeFrame(auth));
    const welcome = await first.next("welcome");
    expect((await handshake.receive({ ok: true, frame: welcome })).kind).toBe("ready");
    first.ws.close(1000, "done");

    // 2. The same hello and auth on a new connection: its challenge is another one.
    const second = tunnelSocket();
    await second.opened;
    await second.next("challenge");
    second.ws.send(encodeFrame(hello));
    second.ws.send(encodeFrame(auth));
    const reject = await second.next("reject");
    expect(reject).toMatchObject({ type: "reject", reason: "unknown_nonce" });
    expect(await second.closed).toBe(CLOSE_CODES.rejected);
    expect(second.frames.map((f) => f.type)).toEqual(["challenge", "reject"]);

    // The Worker says why, naming the sidecar and never the secret.
    const line = await until(async () =>
      readFileSync(inject("workerLog"), "utf8")
        .split("\n")
        .find((l) => l.includes(`refused sidecar "e2e-replay" (${hello.sidecarId})`)),
    );
    expect(line).toContain("unknown_nonce");
    expect(readFileSync(inject("workerLog"), "utf8")).not.toContain(secret);
  });
});
