// Claude Code mode through the whole stack: the official Anthropic and OpenAI SDKs against
// `wrangler dev`, the TunnelHub, the shared sidecar (global setup) and its Claude Code CLI, which
// talks to the mock upstream (driven by the `[[mock:…]]` marker in the prompt). Stream and not, under
// `/v1` and `/cc/v1`.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { processesLeft } from "../support/agent-e2e.ts";
import { processesIn, startSidecar } from "../support/sidecar-process.ts";
import { mockUrl, newKey, url } from "./helpers.ts";

const PROMPT = 'Say hello. [[mock:text text="Hello from the agent in the sidecar"]]';
const EXPECTED = "Hello from the agent in the sidecar";
const TIMEOUT = { timeout: 90_000 };

describe("Anthropic SDK, Claude Code mode", () => {
  for (const prefix of ["", "/cc"]) {
    it(`answers a message under ${prefix}/v1 (not streaming)`, TIMEOUT, async () => {
      const { key } = await newKey();
      const client = new Anthropic({ apiKey: key, baseURL: `${url()}${prefix}`, maxRetries: 0 });
      const { data: msg, response } = await client.messages
        .create({
          model: "claude-sonnet-5-5",
          max_tokens: 512,
          messages: [{ role: "user", content: PROMPT }],
        })
        .withResponse();
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
      expect(msg.type).toBe("message");
      expect(msg.role).toBe("assistant");
      const text = msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
      expect(text).toContain(EXPECTED);
      expect(msg.stop_reason).toBe("end_turn");
      expect(msg.usage.output_tokens).toBeGreaterThan(0);
    });

    it(`streams a message under ${prefix}/v1`, TIMEOUT, async () => {
      const { key } = await newKey();
      const client = new Anthropic({ apiKey: key, baseURL: `${url()}${prefix}`, maxRetries: 0 });
      const stream = client.messages.stream({
        model: "claude-sonnet-5-5",
        max_tokens: 512,
        messages: [{ role: "user", content: PROMPT }],
      });
      let deltas = 0;
      stream.on("text", () => {
        deltas++;
      });
      const msg = await stream.finalMessage();
      const text = msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
      expect(text).toContain(EXPECTED);
      expect(deltas).toBeGreaterThan(1);
      expect(msg.usage.output_tokens).toBeGreaterThan(0);
    });
  }
});

describe("OpenAI SDK, Claude Code mode", () => {
  for (const prefix of ["/v1", "/cc/v1"]) {
    it(`answers a chat completion under ${prefix} (not streaming)`, TIMEOUT, async () => {
      const { key } = await newKey();
      const client = new OpenAI({ apiKey: key, baseURL: `${url()}${prefix}`, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: "claude-sonnet-5-5",
        messages: [{ role: "user", content: PROMPT }],
      });
      expect(completion.object).toBe("chat.completion");
      expect(completion.choices[0]?.message.content).toContain(EXPECTED);
      expect(completion.choices[0]?.finish_reason).toBe("stop");
      expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    });

    it(`streams a chat completion under ${prefix}`, TIMEOUT, async () => {
      const { key } = await newKey();
      const client = new OpenAI({ apiKey: key, baseURL: `${url()}${prefix}`, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: "claude-sonnet-5-5",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: PROMPT }],
      });
      let text = "";
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toContain(EXPECTED);
      expect(finish).toBe("stop");
      expect(usage?.completion_tokens).toBeGreaterThan(0);
    });
  }
});

describe("a personal sidecar running the agent", () => {
  it("runs its key's requests in its own workspace, and a kill mid-answer ends the stream with an error event", {
    timeout: 120_000,
  }, async () => {
    const k = await newKey();
    const root = mkdtempSync(join(tmpdir(), "ccproxy-personal-"));
    const sidecar = startSidecar({
      ccproxyUrl: url(),
      secret: inject("tunnelSecret"),
      env: {
        ANTHROPIC_BASE_URL: mockUrl(),
        ANTHROPIC_API_KEY: "test",
        CC_WORKSPACE_ROOT: root,
        CC_SERVE_KEYS: k.id,
        CC_SIDECAR_NAME: `e2e-personal-${k.id}`,
      },
    });
    try {
      await sidecar.waitForLine(/connected to ws:/, 30_000);
      const res = await fetch(`${url()}/v1/messages`, {
        method: "POST",
        headers: {
          "x-api-key": k.key,
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
        },
        body: JSON.stringify({
          model: "claude-sonnet-5-5",
          max_tokens: 4096,
          stream: true,
          messages: [{ role: "user", content: "Talk for a while. [[mock:long count=200 delay=100]]" }],
        }),
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const dec = new TextDecoder();
      let seen = "";
      while (!seen.includes("text_delta")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended early: ${seen}`);
        seen += dec.decode(value, { stream: true });
      }
      // The request ran on the personal sidecar: its workspace for the key exists.
      expect(existsSync(join(root, k.id))).toBe(true);
      // The machine dies: the sidecar and its claude process, at once.
      await sidecar.stop("SIGKILL");
      let rest = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += dec.decode(value, { stream: true });
      }
      const events = rest.split("\n\n").filter((e) => e.trim() !== "");
      const last = events.at(-1) ?? "";
      expect(last).toMatch(/^event: error\ndata: /);
      expect(last).toContain("sidecar disconnected");
      expect(rest).not.toContain("message_stop");
      // `claude` runs in its own process group, out of reach of the kill above; the kernel's
      // parent-death signal (setpriv --pdeathsig) ends it when its sidecar dies. Nothing is left.
      expect(await processesLeft(root, 10_000)).toEqual([]);
    } finally {
      await sidecar.stop("SIGKILL");
      // Whatever a failed run of this test left behind (found by its cwd in this test's root).
      for (const pid of processesIn(root)) process.kill(pid, "SIGKILL");
      rmSync(root, { recursive: true, force: true });
    }
  });
});
