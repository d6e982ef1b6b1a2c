// The Claude Code agent through the whole stack — `wrangler dev`, the real tunnel, the shared sidecar
// of the global setup and its bundled `claude` CLI talking to the mock — doing what a user sees:
// reading a file of the key's workspace (the tool line, the outcome, the tool_result upstream), a
// denied tool, a resumed session, one directory per key, request bodies that cannot change the
// policy, the route aliases, and the cost header.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { token, upstreamCalls } from "../support/agent-e2e.ts";
import { mockUrl, newKey, until, url } from "./helpers.ts";

const T = { timeout: 90_000 };
const MODEL = "claude-sonnet-5-5";

function anthropic(key: string, prefix = ""): Anthropic {
  return new Anthropic({ apiKey: key, baseURL: `${url()}${prefix}`, maxRetries: 0 });
}

function textOf(msg: Anthropic.Message): string {
  expect(msg.content.every((b) => b.type === "text" || b.type === "thinking")).toBe(true); // never tool_use
  return msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
}

/** `<root>/<keyId>`, the directory the shared sidecar runs the key's agent in. */
function workspace(keyId: string): string {
  return join(inject("workspaceRoot"), keyId);
}

describe("the agent's tools, end to end", () => {
  it(
    "reads a file of the key's workspace: the tool line, its outcome, the answer, and the tool_result upstream",
    T,
    async () => {
      const k = await newKey();
      const dir = workspace(k.id);
      mkdirSync(dir, { recursive: true });
      const marker = token("e2e-read");
      const file = join(dir, "notes.txt");
      writeFileSync(file, `alpha ${marker}\nbeta\n`);
      const msg = await anthropic(k.key).messages.create({
        model: MODEL,
        max_tokens: 1024,
        messages: [
          {
            role: "user",
            content: `Read my notes. [[mock:tool name=Read input=${JSON.stringify({ file_path: file })}]]`,
          },
        ],
      });
      const text = textOf(msg);
      expect(text).toMatch(/\n→ Read notes\.txt\n {2}✓ \d+ lines\n/);
      // The mock answers a tool_result turn with "Tool result: <the file>": the agent's final text.
      expect(text).toMatch(new RegExp(`Tool result: .*alpha ${marker}`, "s"));
      expect(msg.stop_reason).toBe("end_turn");

      const calls = await upstreamCalls(mockUrl(), marker);
      // The second model call carries the Read's result: the file's content, as a tool_result.
      const second = calls.find((c) =>
        JSON.stringify(c.json.messages.at(-1)?.content).includes("tool_result"),
      );
      expect(second).toBeDefined();
      const last = JSON.stringify(second?.json.messages.at(-1)?.content);
      expect(last).toContain(`alpha ${marker}`);
      expect(last).toContain("beta");
    },
  );

  it("denies a tool the sidecar does not allow, and says so in the answer", T, async () => {
    const k = await newKey();
    const target = join("/tmp", token("ccproxy-e2e-pwned"));
    const msg = await anthropic(k.key).messages.create({
      model: MODEL,
      max_tokens: 1024,
      messages: [
        {
          role: "user",
          content: `Run it. [[mock:tool name=Bash input=${JSON.stringify({ command: `touch ${target}` })}]]`,
        },
      ],
    });
    expect(textOf(msg)).toContain(
      `→ Bash touch ${target}\n  ✗ denied: Bash is not enabled on this sidecar\n`,
    );
    expect(existsSync(target)).toBe(false);
  });

  it("keeps Glob inside the key's workspace (an absolute pattern elsewhere is denied)", T, async () => {
    const k = await newKey();
    const msg = await anthropic(k.key).messages.create({
      model: MODEL,
      max_tokens: 1024,
      messages: [{ role: "user", content: 'Look. [[mock:tool name=Glob input={"pattern":"/etc/host*"}]]' }],
    });
    const text = textOf(msg);
    expect(text).toMatch(/→ Glob "\/etc\/host\*"\n {2}✗ denied: .*outside this key's workspace\n/);
    expect(text).not.toContain("/etc/hosts");
    expect(text).not.toContain("/etc/hostname");
  });

  it(
    "resumes the session for a follow-up: the earlier turns reach the model as turns, not as a transcript",
    T,
    async () => {
      const k = await newKey();
      const word = token("zebra");
      const opening = `Remember the word "${word}". [[mock:text text="Noted: ${word}."]]`;
      const client = anthropic(k.key);
      const first = await client.messages.create({
        model: MODEL,
        max_tokens: 512,
        messages: [{ role: "user", content: opening }],
      });
      expect(textOf(first)).toBe(`Noted: ${word}.`);
      const question = `Which word did I ask you to remember? ${token("q")}`;
      await client.messages.create({
        model: MODEL,
        max_tokens: 512,
        messages: [
          { role: "user", content: opening },
          { role: "assistant", content: first.content.flatMap((b) => (b.type === "text" ? [b] : [])) },
          { role: "user", content: question },
        ],
      });
      const [up] = await upstreamCalls(mockUrl(), question);
      expect(up).toBeDefined();
      // (Claude Code adds its own context as system-role entries; the conversation is the rest.)
      const turns = (up?.json.messages ?? [])
        .filter((m) => m.role !== "system")
        .map((m) => [m.role, JSON.stringify(m.content)] as const);
      expect(turns.map(([role]) => role)).toEqual(["user", "assistant", "user"]);
      expect(turns[0]?.[1]).toContain(word);
      expect(turns[1]?.[1]).toContain(`Noted: ${word}.`);
      expect(turns[2]?.[1]).toContain(question);
      expect(up?.body).not.toContain("conversation_history");
    },
  );

  it("runs two keys in two directories", T, async () => {
    const [a, b] = [await newKey(), await newKey()];
    const marker = token("e2e-dirs");
    for (const k of [a, b])
      await anthropic(k.key).messages.create({
        model: MODEL,
        max_tokens: 256,
        messages: [{ role: "user", content: `Where are you? ${marker}-${k.id} [[mock:text text=here]]` }],
      });
    for (const k of [a, b]) {
      const [up] = await upstreamCalls(mockUrl(), `${marker}-${k.id}`);
      expect(up?.body).toContain(`Primary working directory: ${workspace(k.id)}`);
      expect(existsSync(workspace(k.id))).toBe(true);
    }
    expect(workspace(a.id)).not.toBe(workspace(b.id));
  });

  it("ignores body fields that try to set cwd, permission mode, tools, MCP servers or env", T, async () => {
    const k = await newKey();
    const marker = token("e2e-body");
    const res = await fetch(`${url()}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": k.key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 512,
        messages: [{ role: "user", content: `${marker} [[mock:tool name=Bash input={"command":"id"}]]` }],
        cwd: "/",
        permission_mode: "bypassPermissions",
        permissionMode: "bypassPermissions",
        allowed_tools: ["Bash"],
        allowedTools: ["Bash"],
        mcp_servers: { evil: { command: "sh", args: ["-c", "touch /tmp/ccproxy-e2e-evil"] } },
        mcpServers: { evil: { command: "sh" } },
        env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:1" },
      }),
    });
    expect(res.status).toBe(200);
    const msg = (await res.json()) as Anthropic.Message;
    expect(textOf(msg)).toContain("→ Bash id\n  ✗ denied: Bash is not enabled on this sidecar\n");
    const [first] = await upstreamCalls(mockUrl(), marker);
    expect(first?.body).toContain(`Primary working directory: ${workspace(k.id)}`);
    const tools = (first?.json.tools ?? []).map((t) => t.name);
    expect(tools).toContain("Read");
    expect(tools).not.toContain("Bash");
    expect(tools.some((t) => t.startsWith("mcp__evil"))).toBe(false);
  });
});

describe("route aliases and the cost header", () => {
  it("answers /sdk/v1/messages with the agent", T, async () => {
    const k = await newKey();
    const marker = token("e2e-sdk-alias");
    const msg = await anthropic(k.key, "/sdk").messages.create({
      model: MODEL,
      max_tokens: 256,
      messages: [{ role: "user", content: `${marker} [[mock:text text="via the sdk alias"]]` }],
    });
    expect(textOf(msg)).toBe("via the sdk alias");
    const [up] = await upstreamCalls(mockUrl(), marker);
    // Asked by the Claude Code CLI in the key's workspace, not passed through to the API.
    expect(up?.body).toContain(`Primary working directory: ${workspace(k.id)}`);
  });

  it("answers /claude/sdk/v1/chat/completions with the agent", T, async () => {
    const k = await newKey();
    const marker = token("e2e-claude-sdk-alias");
    const client = new OpenAI({ apiKey: k.key, baseURL: `${url()}/claude/sdk/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: `${marker} [[mock:text text="via the claude sdk alias"]]` }],
    });
    expect(completion.choices[0]?.message.content).toBe("via the claude sdk alias");
    const [up] = await upstreamCalls(mockUrl(), marker);
    expect(up?.body).toContain(`Primary working directory: ${workspace(k.id)}`);
  });

  it("gives a non-streaming answer's cost in x-ccproxy-cost-usd, in both formats", T, async () => {
    const k = await newKey();
    const { response } = await anthropic(k.key)
      .messages.create({
        model: MODEL,
        max_tokens: 256,
        messages: [{ role: "user", content: "[[mock:text text=priced]]" }],
      })
      .withResponse();
    const cost = Number(response.headers.get("x-ccproxy-cost-usd"));
    expect(cost).toBeGreaterThan(0);
    const oai = new OpenAI({ apiKey: k.key, baseURL: `${url()}/v1`, maxRetries: 0 });
    const { response: r2 } = await oai.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "[[mock:text text=priced]]" }] })
      .withResponse();
    expect(Number(r2.headers.get("x-ccproxy-cost-usd"))).toBeGreaterThan(0);
    // The ledger books the same figures (its rows are written just after the answers).
    const report = await until(async () => {
      const res = await fetch(`${url()}/admin/keys/${k.id}/usage`, {
        headers: { authorization: `Bearer ${inject("adminToken")}` },
      });
      const r = (await res.json()) as { total: { requests: number; cost_usd: number } };
      return r.total.requests === 2 ? r : undefined;
    });
    expect(report.total.cost_usd).toBeCloseTo(cost + Number(r2.headers.get("x-ccproxy-cost-usd")), 10);
  });
});
