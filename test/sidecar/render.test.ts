// The renderer on recorded-shape SDK messages (no CLI): several agent turns become ONE valid
// Anthropic event sequence, tool activity becomes text lines, subagent chatter stays out, and the
// same events feed the OpenAI converter and the non-streaming accumulator.
import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import { describe, expect, it } from "vitest";
import type { StreamEvent } from "../../src/shared/anthropic/types.ts";
import { emptyUsage } from "../../src/shared/pricing.ts";
import { MessageAccumulator, sseEncoder } from "../../src/sidecar/output.ts";
import { AgentRenderer } from "../../src/sidecar/render.ts";

const WS = "/ws/key_a";
const base = { session_id: "s", uuid: "00000000-0000-0000-0000-000000000000" };

function ev(event: Record<string, unknown>, parent: string | null = null): SDKMessage {
  return { type: "stream_event", event, parent_tool_use_id: parent, ...base } as unknown as SDKMessage;
}
function turn(
  id: string,
  blocks: Array<Record<string, unknown>>,
  parent: string | null = null,
): SDKMessage[] {
  const out: SDKMessage[] = [
    ev({ type: "message_start", message: { id, usage: { input_tokens: 100, output_tokens: 1 } } }, parent),
  ];
  blocks.forEach((b, index) => {
    if (b.type === "text") {
      out.push(ev({ type: "content_block_start", index, content_block: { type: "text", text: "" } }, parent));
      out.push(
        ev({ type: "content_block_delta", index, delta: { type: "text_delta", text: b.text } }, parent),
      );
    } else if (b.type === "thinking") {
      out.push(
        ev({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "" } }, parent),
      );
      out.push(
        ev(
          { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: b.thinking } },
          parent,
        ),
      );
      out.push(
        ev(
          { type: "content_block_delta", index, delta: { type: "signature_delta", signature: "sig" } },
          parent,
        ),
      );
    } else {
      out.push(ev({ type: "content_block_start", index, content_block: { ...b, input: {} } }, parent));
      out.push(
        ev(
          {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) },
          },
          parent,
        ),
      );
    }
    out.push({
      type: "assistant",
      message: { id, model: "claude-opus-5-5", content: [b] },
      parent_tool_use_id: parent,
      ...base,
    } as unknown as SDKMessage);
    out.push(ev({ type: "content_block_stop", index }, parent));
  });
  out.push(
    ev({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 10 } }, parent),
  );
  out.push(ev({ type: "message_stop" }, parent));
  return out;
}
function result(id: string, content: string, extra: Record<string, unknown> = {}): SDKMessage {
  return {
    type: "user",
    message: { role: "user", content: [{ type: "tool_result", tool_use_id: id, content, ...extra }] },
    parent_tool_use_id: null,
    ...base,
  } as unknown as SDKMessage;
}

/** Checks the rules clients rely on: one message, blocks 0.. opened and closed in order. */
function assertValid(events: StreamEvent[]): void {
  expect(events[0]?.type).toBe("message_start");
  expect(events.at(-2)?.type).toBe("message_delta");
  expect(events.at(-1)?.type).toBe("message_stop");
  expect(events.filter((e) => e.type === "message_start")).toHaveLength(1);
  let open: number | null = null;
  let next = 0;
  for (const e of events) {
    if (e.type === "content_block_start") {
      expect(open).toBeNull();
      expect(e.index).toBe(next++);
      open = e.index;
    } else if (e.type === "content_block_delta") {
      expect(e.index).toBe(open);
    } else if (e.type === "content_block_stop") {
      expect(e.index).toBe(open);
      open = null;
    }
    if (e.type === "content_block_start") expect(["text", "thinking"]).toContain(e.content_block.type);
  }
  expect(open).toBeNull();
}

function render(
  messages: SDKMessage[],
  prepare?: (r: AgentRenderer) => void,
): { events: StreamEvent[]; r: AgentRenderer } {
  const r = new AgentRenderer({ messageId: "msg_1", model: "claude-opus-5-5", workspace: WS });
  prepare?.(r);
  const events: StreamEvent[] = [];
  for (const m of messages) events.push(...r.push(m));
  const usage = { ...emptyUsage(), input_tokens: 300, output_tokens: 30 };
  events.push(...r.finish("end_turn", usage));
  return { events, r };
}

function accumulate(events: StreamEvent[]) {
  const acc = new MessageAccumulator();
  for (const e of events) acc.push(e);
  return acc.message;
}

describe("AgentRenderer", () => {
  it("renders a tool-using run as one message: thinking, then text with tool lines", () => {
    const { events, r } = render([
      ...turn("m1", [
        { type: "thinking", thinking: "I should read it." },
        { type: "text", text: "Let me look." },
        { type: "tool_use", id: "t1", name: "Read", input: { file_path: `${WS}/hello.txt` } },
      ]),
      result("t1", "1\thi\n2\tthere\n3\t!"),
      ...turn("m2", [{ type: "text", text: "It says hi." }]),
    ]);
    assertValid(events);
    const msg = accumulate(events);
    expect(msg?.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect(msg?.content[0]).toMatchObject({ thinking: "I should read it.", signature: "sig" });
    expect(msg?.content[1]).toMatchObject({
      text: "Let me look.\n\n→ Read hello.txt\n  ✓ 3 lines\n\nIt says hi.",
    });
    expect(msg?.usage).toMatchObject({ input_tokens: 300, output_tokens: 30 });
    expect(msg?.stop_reason).toBe("end_turn");
    expect(r.text).toBe("Let me look.\n\n→ Read hello.txt\n  ✓ 3 lines\n\nIt says hi.");
    expect(JSON.stringify(events)).not.toContain("tool_use");
    expect(r.streamedUsage).toMatchObject({ input_tokens: 200, output_tokens: 20 });
  });

  it("counts a turn cut off before its usage at least by what it streamed, flagged as an estimate", () => {
    const r = new AgentRenderer({ messageId: "msg_1", model: "claude-opus-5-5", workspace: WS });
    for (const m of turn("m1", [{ type: "text", text: "done" }])) r.push(m);
    expect(r.usageEstimated).toBe(false);
    // The second model call is interrupted mid-answer: no message_delta, only what was streamed.
    const cut = turn("m2", [{ type: "text", text: "x".repeat(400) }]).slice(0, 3);
    for (const m of cut) r.push(m);
    expect(r.usageEstimated).toBe(true);
    // m1: 100 in, 10 out (its own report); m2: 100 in, 1 reported but 400 characters ≈ 100+ tokens.
    expect(r.streamedUsage.input_tokens).toBe(200);
    expect(r.streamedUsage.output_tokens).toBeGreaterThanOrEqual(10 + 100);
  });

  it("labels outcomes of parallel calls and shows denials and errors", () => {
    const { r } = render(
      [
        ...turn("m1", [
          { type: "tool_use", id: "a", name: "Read", input: { file_path: "/etc/passwd" } },
          { type: "tool_use", id: "b", name: "Grep", input: { pattern: "x" } },
          { type: "tool_use", id: "c", name: "Bash", input: { command: "ls" } },
        ]),
        result("a", "hook error: outside", { is_error: true }),
        result("b", "<tool_use_error>Error: bad regex</tool_use_error>", { is_error: true }),
        result("c", "<tool_use_error>Error: No such tool available: Bash</tool_use_error>", {
          is_error: true,
        }),
        ...turn("m2", [{ type: "text", text: "Done." }]),
      ],
      (r) => r.noteDenial("a", "/etc/passwd is outside this key's workspace"),
    );
    expect(r.text).toBe(
      [
        "→ Read /etc/passwd",
        '→ Grep "x"',
        "→ Bash ls",
        "  ✗ Read /etc/passwd: denied: /etc/passwd is outside this key's workspace",
        '  ✗ Grep "x": bad regex',
        "  ✗ Bash ls: denied: Bash is not enabled on this sidecar",
        "",
        "Done.",
      ].join("\n"),
    );
  });

  it("keeps subagent messages out and renders a turn that came without stream events", () => {
    const sub = turn("s1", [{ type: "text", text: "subagent chatter" }], "toolu_agent");
    const { r } = render([
      ...sub,
      {
        type: "assistant",
        message: { id: "m9", model: "claude-opus-5-5", content: [{ type: "text", text: "Whole turn." }] },
        parent_tool_use_id: null,
        ...base,
      } as unknown as SDKMessage,
    ]);
    expect(r.text).toBe("Whole turn.");
  });

  it("records a synthetic API error instead of rendering it", () => {
    const r = new AgentRenderer({ messageId: "msg_1", model: "m", workspace: WS });
    const out = r.push({
      type: "assistant",
      error: "overloaded",
      message: {
        id: "x",
        model: "<synthetic>",
        content: [{ type: "text", text: "API Error: 529 Overloaded" }],
      },
      parent_tool_use_id: null,
      ...base,
    } as unknown as SDKMessage);
    expect(out).toEqual([]);
    expect(r.apiError).toEqual({ kind: "overloaded", message: "API Error: 529 Overloaded" });
    expect(r.started).toBe(false);
  });

  it("gives an empty answer one empty text block, and a note its own paragraph", () => {
    const empty = new AgentRenderer({ messageId: "msg_1", model: "m", workspace: WS });
    const events = empty.finish("end_turn", emptyUsage());
    assertValid(events);
    expect(accumulate(events)?.content).toEqual([{ type: "text", text: "" }]);
    const noted = new AgentRenderer({ messageId: "msg_2", model: "m", workspace: WS });
    for (const m of turn("m1", [{ type: "text", text: "Partial" }])) noted.push(m);
    noted.finish("max_tokens", emptyUsage(), "[Stopped]");
    expect(noted.text).toBe("Partial\n\n[Stopped]");
  });
});

describe("the same events in the OpenAI format", () => {
  it("become chat.completion.chunks with reasoning_content, content and [DONE]", () => {
    const { events } = render([
      ...turn("m1", [
        { type: "thinking", thinking: "Hmm." },
        { type: "text", text: "Answer." },
      ]),
    ]);
    const sse = sseEncoder("openai", { requestId: "req_1", clientModel: "gpt-4o", includeUsage: true });
    const out = events.map((e) => sse.encode(e)).join("") + sse.end();
    const chunks = out
      .split("\n\n")
      .filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
      .map(
        (l) =>
          JSON.parse(l.slice(6)) as {
            model: string;
            choices: Array<{ delta: Record<string, string> }>;
            usage?: unknown;
          },
      );
    expect(chunks.every((c) => c.model === "gpt-4o")).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? "").join("")).toBe("Hmm.");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Answer.");
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 300, completion_tokens: 30 });
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});
