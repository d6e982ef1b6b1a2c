// The runner with the real `claude` binary against the mock upstream, read by the official clients:
// @anthropic-ai/sdk and openai, streamed and not. One assistant message per request, usage summed
// over the agent's turns, the SDK's cost reported, `system` appended, images passed, models aliased.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateInputTokens } from "../../src/mock/tokens.ts";
import { costUsd } from "../../src/shared/pricing.ts";
import { Runner } from "../../src/sidecar/runner.ts";
import { type Env, MODEL, messagesRequests, type Served, serve, testEnv, upMessages } from "./helpers.ts";

let env: Env;
let served: Served;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  env = await testEnv();
  served = await serve(new Runner(env.policy({ CC_MODEL_ALIASES: '{"team-default":"claude-opus-5-5"}' })));
  anthropic = new Anthropic({ baseURL: served.url, apiKey: "ccp_test", maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "ccp_test", maxRetries: 0 });
});
afterAll(async () => {
  await served?.close();
  await env?.close();
});

const T = { timeout: 30_000 };

describe("Anthropic format", () => {
  it("streams one message that MessageStream accumulates, with the agent's text", T, async () => {
    const stream = anthropic.messages.stream({
      model: MODEL,
      max_tokens: 512,
      messages: [{ role: "user", content: 'Greet me [[mock:text text="Hello from the agent, streamed."]]' }],
    });
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    expect(msg.role).toBe("assistant");
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.content).toHaveLength(1);
    expect(msg.content[0]).toMatchObject({ type: "text", text: "Hello from the agent, streamed." });
    expect(deltas.length).toBeGreaterThan(1); // token streaming, not one block at the end
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    const summary = await served.summaries.at(-1);
    expect(summary?.outcome).toBe("complete");
    expect(summary?.usage.output_tokens).toBe(msg.usage.output_tokens);
  });

  it("answers non-streaming with a Message, the cost in a header", T, async () => {
    const { data: msg, response } = await anthropic.messages
      .create({
        model: MODEL,
        max_tokens: 512,
        messages: [{ role: "user", content: 'Hi [[mock:text text="Whole answer."]]' }],
      })
      .withResponse();
    expect(msg.type).toBe("message");
    expect(msg.content).toEqual([{ type: "text", text: "Whole answer." }]);
    const summary = await served.summaries.at(-1);
    expect(Number(response.headers.get("x-ccproxy-cost-usd"))).toBe(summary?.costUsd);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
  });

  it("streams thinking as a thinking block before the text", T, async () => {
    const msg = await anthropic.messages
      .stream({
        model: MODEL,
        max_tokens: 2048,
        messages: [{ role: "user", content: 'Think [[mock:thinking text="Thought through."]]' }],
      })
      .finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect(msg.content[0]).toMatchObject({ type: "thinking" });
    expect((msg.content[0] as { thinking: string }).thinking).toContain("This is a mock");
    expect(msg.content[1]).toMatchObject({ text: "Thought through." });
  });

  it(
    "appends the client's system text to Claude Code's prompt and passes images and the model on",
    T,
    async () => {
      const since = env.mock.requests.length;
      const png =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
      await anthropic.messages.create({
        model: "team-default",
        max_tokens: 256,
        system: [{ type: "text", text: "Always answer like a pirate (client system text)." }],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture?" },
              { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
            ],
          },
        ],
      });
      const [up] = messagesRequests(env.mock, since);
      expect(up?.json.model).toBe("claude-opus-5-5"); // the alias, resolved
      expect(JSON.stringify(up?.json.system)).toContain("Always answer like a pirate (client system text).");
      expect(JSON.stringify(up?.json.system)).toContain("Claude Code"); // appended, not replacing
      const first = upMessages(up)[0]?.content as Array<{ type: string; source?: { data?: string } }>;
      expect(first.some((b) => b.type === "image" && b.source?.data === png)).toBe(true);
    },
  );
});

describe("OpenAI format", () => {
  it("streams chat.completion chunks the openai client parses", T, async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: 'Hello [[mock:text text="Hi from the agent via OpenAI."]]' },
      ],
    });
    let content = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.model).toBe("gpt-4o"); // echoes the client's name
      content += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(content).toBe("Hi from the agent via OpenAI.");
    expect(finish).toBe("stop");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("answers non-streaming with a chat.completion", T, async () => {
    const res = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: 'Hello [[mock:text text="Plain completion."]]' }],
    });
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]?.message.content).toBe("Plain completion.");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
  });
});

describe("usage and cost", () => {
  it("sums usage over the agent's turns and reports the SDK's cost", T, async () => {
    const since = env.mock.requests.length;
    const path = `${env.root}/key_a/notes.txt`;
    const { writeFileSync, mkdirSync } = await import("node:fs");
    mkdirSync(`${env.root}/key_a`, { recursive: true });
    writeFileSync(path, "one\ntwo\n");
    const msg = await anthropic.messages
      .stream({
        model: MODEL,
        max_tokens: 512,
        messages: [
          { role: "user", content: `Read it [[mock:tool name=Read input={"file_path":"${path}"}]]` },
        ],
      })
      .finalMessage();
    const upstream = messagesRequests(env.mock, since);
    expect(upstream).toHaveLength(2); // the tool call, then the answer
    const input = upstream.reduce((n, r) => n + estimateInputTokens(r.json), 0);
    expect(msg.usage.input_tokens).toBe(input);
    const summary = await served.summaries.at(-1);
    if (summary === undefined) throw new Error("no summary");
    expect(summary.usage.input_tokens).toBe(input);
    expect(summary.usage.output_tokens).toBe(msg.usage.output_tokens);
    expect(summary.numTurns).toBe(2);
    expect(summary.costUsd).toBeCloseTo(costUsd(MODEL, summary.usage) ?? -1, 6);
  });
});
