// The runner's response body is pull-based: with a scripted agent (no CLI) that counts what is taken
// from it, a client that reads one chunk makes the runner take only what that chunk needs, and a
// cancel interrupts the agent and waits for it to exit before `done` resolves.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Query, SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentRun, AgentStart } from "../../src/sidecar/agent.ts";
import { type Policy, parsePolicy } from "../../src/sidecar/policy.ts";
import { Runner } from "../../src/sidecar/runner.ts";
import { request } from "./helpers.ts";

const base = { session_id: "s", uuid: "00000000-0000-0000-0000-000000000000", parent_tool_use_id: null };
const event = (e: Record<string, unknown>) =>
  ({ type: "stream_event", event: e, ...base }) as unknown as SDKMessage;

interface Script {
  taken: number;
  interrupted: boolean;
  exited: boolean;
  start: (o: AgentStart) => AgentRun;
}

/** An agent that streams `deltas` text deltas forever-ish, counting every message taken from it. */
function scripted(deltas: number): Script {
  const s: Script = { taken: 0, interrupted: false, exited: false, start: () => run };
  let release: () => void = () => {};
  const exit = new Promise<void>((resolve) => {
    release = () => {
      s.exited = true;
      resolve();
    };
  });
  async function* messages(): AsyncGenerator<SDKMessage> {
    const script: SDKMessage[] = [
      event({ type: "message_start", message: { id: "m1", usage: { input_tokens: 5, output_tokens: 1 } } }),
      event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    ];
    for (let i = 0; i < deltas; i++) {
      script.push(
        event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: `w${i} ` } }),
      );
    }
    for (const m of script) {
      if (s.interrupted) throw new Error("aborted");
      s.taken++;
      yield m;
    }
  }
  const run: AgentRun = {
    query: messages() as unknown as Query,
    interrupt: () => {
      s.interrupted = true;
      setTimeout(release, 20);
    },
    exited: () => exit,
    pid: () => undefined,
    stderrTail: () => "",
  };
  return s;
}

let root: string;
let policy: Policy;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ccproxy-backpressure-"));
  policy = parsePolicy({ HOME: root, CC_WORKSPACE_ROOT: root });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("pull-based body", () => {
  it("takes from the agent only as fast as the client reads, and a cancel ends the agent", async () => {
    const s = scripted(10_000);
    const runner = new Runner(policy, { start: s.start });
    const res = await runner.run(
      request("anthropic", {
        model: "m",
        max_tokens: 10,
        stream: true,
        messages: [{ role: "user", content: "go" }],
      }),
    );
    const reader = res.body.getReader();
    await reader.read();
    await reader.read();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.taken).toBeLessThanOrEqual(4); // message_start, block start, a delta or two: not 10,000
    await reader.cancel();
    const summary = await res.done;
    expect(summary.outcome).toBe("aborted");
    expect(s.interrupted).toBe(true);
    expect(s.exited).toBe(true); // done waits for the process
    expect(s.taken).toBeLessThan(10);
    expect(runner.active).toBe(0);
  });

  it("a client that disconnects without reading still winds the run down and frees the slot", async () => {
    const s = scripted(10_000);
    const runner = new Runner(policy, { start: s.start });
    const abort = new AbortController();
    const res = await runner.run(
      request(
        "openai",
        { model: "gpt-4o", stream: true, messages: [{ role: "user", content: "go" }] },
        { signal: abort.signal },
      ),
    );
    expect(res.headers["content-type"]).toContain("text/event-stream");
    abort.abort();
    expect((await res.done).outcome).toBe("aborted");
    expect(s.exited).toBe(true);
    expect(runner.active).toBe(0);
  });
});
