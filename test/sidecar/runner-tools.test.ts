// The agent's tools under the operator's policy, with the real `claude` binary against the mock: tool
// activity shown as text lines (never tool_use), denials visible, workspaces per key, request bodies
// unable to change any of it, the max-turns stop, and sessions resumed for follow-ups.
import { mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateInputTokens } from "../../src/mock/tokens.ts";
import { Runner } from "../../src/sidecar/runner.ts";
import { type Env, MODEL, messagesRequests, request, testEnv, text, upMessages, upTools } from "./helpers.ts";

let env: Env;
let runner: Runner;

beforeAll(async () => {
  env = await testEnv();
  runner = new Runner(env.policy());
});
afterAll(async () => {
  await env?.close();
});

const T = { timeout: 30_000 };

interface Answer {
  status: number;
  text: string;
  stop: string | null;
  json: Record<string, unknown>;
}

/** One non-streaming Anthropic-format run; the answer's text blocks joined. */
async function ask(
  content: string,
  opts: { keyId?: string; extra?: Record<string, unknown>; history?: unknown[] } = {},
) {
  const res = await runner.run(
    request(
      "anthropic",
      {
        model: MODEL,
        max_tokens: 1024,
        messages: [...(opts.history ?? []), { role: "user", content }],
        ...opts.extra,
      },
      opts.keyId === undefined ? {} : { keyId: opts.keyId },
    ),
  );
  const json = JSON.parse(await text(res)) as Record<string, unknown>;
  const blocks = (json.content ?? []) as Array<{ type: string; text?: string }>;
  const answer: Answer = {
    status: res.status,
    text: blocks.map((b) => b.text ?? "").join(""),
    stop: (json.stop_reason as string | null) ?? null,
    json,
  };
  expect(blocks.every((b) => b.type === "text" || b.type === "thinking")).toBe(true); // never tool_use
  return { answer, summary: await res.done };
}

function keyDir(keyId: string): string {
  const dir = join(env.root, keyId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("tool activity", () => {
  it("shows a Read of a workspace file as lines, and the tool_result reaches the model", T, async () => {
    const file = join(keyDir("key_a"), "hello.txt");
    writeFileSync(file, "first line\nsecond line\nthird line\n");
    const since = env.mock.requests.length;
    const { answer } = await ask(`Read it [[mock:tool name=Read input={"file_path":"${file}"}]]`);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("\n→ Read hello.txt\n  ✓ 4 lines\n");
    expect(answer.text).toMatch(/Tool result: .*first line/s); // the mock's answer to the tool result
    const [, second] = messagesRequests(env.mock, since);
    const last = upMessages(second).at(-1);
    expect(JSON.stringify(last?.content)).toContain("tool_result");
    expect(JSON.stringify(last?.content)).toContain("second line");
  });

  it("denies a tool the policy does not allow (Bash), and says so", T, async () => {
    const since = env.mock.requests.length;
    const { answer } = await ask('Run it [[mock:tool name=Bash input={"command":"echo pwned > /tmp/x"}]]');
    expect(answer.text).toContain(
      "→ Bash echo pwned > /tmp/x\n  ✗ denied: Bash is not enabled on this sidecar\n",
    );
    const [first] = messagesRequests(env.mock, since);
    const tools = upTools(first);
    expect(tools).toContain("Read");
    expect(tools).not.toContain("Bash"); // not even offered to the model
  });

  it("denies file tools outside the key's workspace (the PreToolUse hook)", T, async () => {
    const { answer } = await ask('Peek [[mock:tool name=Read input={"file_path":"/etc/hostname"}]]');
    expect(answer.text).toContain(
      "→ Read /etc/hostname\n  ✗ denied: /etc/hostname is outside this key's workspace\n",
    );
  });

  it("denies what would need a human's approval (a Bash command beyond the allowed rule)", T, async () => {
    const strict = new Runner(env.policy({ CC_ALLOWED_TOOLS: "Read,Bash(git log:*)" }));
    const res = await strict.run(
      request("anthropic", {
        model: MODEL,
        max_tokens: 256,
        messages: [
          { role: "user", content: 'Go [[mock:tool name=Bash input={"command":"touch made-by-agent"}]]' },
        ],
      }),
    );
    const body = JSON.parse(await text(res)) as { content: Array<{ text: string }> };
    const out = body.content.map((b) => b.text).join("");
    expect(out).toContain(
      "→ Bash touch made-by-agent\n  ✗ denied: needs approval, which this sidecar does not give\n",
    );
    expect(() => statSync(join(env.root, "key_a", "made-by-agent"))).toThrow();
  });
});

describe("Glob and Grep stay in the key's workspace", () => {
  // What each call would have listed without the hook: /etc's host files, another key's file, the
  // agent's home (where Claude Code keeps every key's session transcripts).
  const leaks = ["/etc/hosts", "/etc/hostname", "host.conf", "other-key-secret", "home-secret"];
  const cases: Array<[string, Record<string, string>]> = [
    ["Glob", { pattern: "/etc/host*" }],
    ["Glob", { pattern: "/etc/../etc/host*" }],
    ["Glob", { pattern: "/**/hostname" }],
    ["Glob", { pattern: "**/../../key_other/*" }],
    ["Glob", { pattern: "{../key_other,.}/*" }],
    ["Glob", { pattern: "*", path: "~" }],
    ["Grep", { pattern: "secret", path: "~" }],
    ["Grep", { pattern: "secret", glob: "../key_other/*" }],
    ["Grep", { pattern: "localhost", glob: "/etc/*" }],
  ];

  beforeAll(() => {
    writeFileSync(join(keyDir("key_other"), "other-key-secret.txt"), "secret of another key\n");
    writeFileSync(join(env.home, "home-secret.txt"), "secret in the agent's home\n");
  });

  it.each(cases)(
    "denies %s %j, and nothing outside reaches the client or the model",
    T,
    async (tool, input) => {
      keyDir("key_a");
      const since = env.mock.requests.length;
      const { answer } = await ask(`Look [[mock:tool name=${tool} input=${JSON.stringify(input)}]]`);
      expect(answer.status).toBe(200);
      expect(answer.text).toMatch(/\n {2}✗ denied: .* outside this key's workspace\n/);
      const [, second] = messagesRequests(env.mock, since);
      const toolResult = JSON.stringify(upMessages(second).at(-1)?.content);
      expect(toolResult).toContain("tool_result");
      for (const leak of leaks) {
        expect(answer.text).not.toContain(leak);
        expect(toolResult).not.toContain(leak);
      }
    },
  );

  it("allows an absolute pattern inside the workspace", T, async () => {
    const dir = keyDir("key_a");
    writeFileSync(join(dir, "inside-abs.md"), "# here\n");
    const { answer } = await ask(
      `List [[mock:tool name=Glob input=${JSON.stringify({ pattern: `${realpathSync(dir)}/*.md` })}]]`,
    );
    expect(answer.text).toMatch(/\n {2}✓ 1 file\n/);
    expect(answer.text).toContain("inside-abs.md");
  });
});

describe("MCP servers from CC_MCP_CONFIG", () => {
  it(
    "runs an allowed MCP tool, denies one the policy leaves out, and never starts unused servers",
    T,
    async () => {
      const config = join(env.home, "mcp.json");
      const server = {
        command: process.execPath,
        args: [join(import.meta.dirname, "fixtures", "echo-mcp.mjs")],
      };
      writeFileSync(config, JSON.stringify({ mcpServers: { echo: server, unused: server } }));
      const withMcp = new Runner(env.policy({ CC_MCP_CONFIG: config, CC_ALLOWED_TOOLS: "Read,mcp__echo" }));
      const since = env.mock.requests.length;
      const run = async (tool: string) => {
        const res = await withMcp.run(
          request("anthropic", {
            model: MODEL,
            max_tokens: 256,
            messages: [
              { role: "user", content: `Use it [[mock:tool name=${tool} input={"text":"hello mcp"}]]` },
            ],
          }),
        );
        return (JSON.parse(await text(res)) as { content: Array<{ text: string }> }).content
          .map((b) => b.text)
          .join("");
      };
      expect(await run("mcp__echo__echo")).toContain(
        '→ echo.echo "hello mcp"\n  ✓ 1 line\n\nTool result: echo: hello mcp',
      );
      expect(upTools(messagesRequests(env.mock, since)[0])).toContain("mcp__echo__echo");
      expect(upTools(messagesRequests(env.mock, since)[0])).not.toContain("mcp__unused__echo");
      expect(await run("mcp__unused__echo")).toContain('→ unused.echo "hello mcp"\n  ✗ denied:');
    },
  );
});

describe("workspaces", () => {
  it("runs each key in its own 0700 directory", T, async () => {
    const since = env.mock.requests.length;
    await ask("Where am I? [[mock:text text=ok]]", { keyId: "key_one" });
    await ask("Where am I? [[mock:text text=ok]]", { keyId: "key_two" });
    const [one, two] = messagesRequests(env.mock, since).map((r) => JSON.stringify(r.json));
    expect(one).toContain(`Primary working directory: ${join(env.root, "key_one")}`);
    expect(two).toContain(`Primary working directory: ${join(env.root, "key_two")}`);
    expect(statSync(join(env.root, "key_one")).mode & 0o777).toBe(0o700);
    expect(statSync(join(env.root, "key_two")).mode & 0o777).toBe(0o700);
  });

  it("ignores body fields that try to set cwd, permission mode, tools, MCP servers or env", T, async () => {
    const since = env.mock.requests.length;
    const { answer } = await ask('Run [[mock:tool name=Bash input={"command":"id"}]]', {
      extra: {
        cwd: "/",
        permission_mode: "bypassPermissions",
        permissionMode: "bypassPermissions",
        allowed_tools: ["Bash"],
        allowedTools: ["Bash"],
        tools_policy: "all",
        mcp_servers: { evil: { command: "sh", args: ["-c", "touch /tmp/ccproxy-evil"] } },
        mcpServers: { evil: { command: "sh" } },
        env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:1" },
        max_turns: 99,
      },
    });
    expect(answer.text).toContain("✗ denied: Bash is not enabled on this sidecar");
    const [first] = messagesRequests(env.mock, since);
    const body = JSON.stringify(first?.json);
    expect(body).toContain(`Primary working directory: ${join(env.root, "key_a")}`);
    expect(upTools(first)).not.toContain("Bash");
    expect(body).not.toContain("mcp__evil");
  });

  it("never hands the tunnel secret to the agent", async () => {
    expect(Object.keys(env.policy().agentEnv)).not.toContain("TUNNEL_SECRET");
  });
});

describe("turns and sessions", () => {
  it("stops at CC_MAX_TURNS with the answer so far, a note and stop_reason max_tokens", T, async () => {
    const limited = new Runner(env.policy({ CC_MAX_TURNS: "1" }));
    const file = join(keyDir("key_a"), "hello.txt");
    const res = await limited.run(
      request("anthropic", {
        model: MODEL,
        max_tokens: 256,
        messages: [{ role: "user", content: `Read [[mock:tool name=Read input={"file_path":"${file}"}]]` }],
      }),
    );
    const body = JSON.parse(await text(res)) as { stop_reason: string; content: Array<{ text: string }> };
    expect(res.status).toBe(200);
    expect(body.stop_reason).toBe("max_tokens");
    const out = body.content.map((b) => b.text).join("");
    expect(out).toContain("→ Read hello.txt");
    expect(out).toContain("[Stopped: the agent reached this sidecar's limit of 1 turns");
  });

  it("resumes the Claude Code session for a follow-up, sending only the new turn", T, async () => {
    const first = await ask('Remember the word "zebra". [[mock:text text="Noted: zebra."]]', {
      keyId: "key_s",
    });
    expect(first.answer.text).toBe("Noted: zebra.");
    const since = env.mock.requests.length;
    const follow = await ask("Which word did I ask you to remember?", {
      keyId: "key_s",
      history: [
        { role: "user", content: 'Remember the word "zebra". [[mock:text text="Noted: zebra."]]' },
        { role: "assistant", content: [{ type: "text", text: "Noted: zebra." }] },
      ],
    });
    expect(follow.summary.outcome).toBe("complete");
    expect(follow.summary.sessionId).not.toBe(first.summary.sessionId); // forked: the original stays as it was
    const [up] = messagesRequests(env.mock, since);
    const msgs = upMessages(up);
    const turns = msgs.filter((m) => m.role !== "system").map((m) => [m.role, JSON.stringify(m.content)]);
    // The earlier exchange comes from the session as real turns…
    expect(turns[0]?.[1]).toContain('Remember the word \\"zebra\\"');
    expect(turns[1]).toEqual(["assistant", expect.stringContaining("Noted: zebra.")]);
    expect(turns.at(-1)?.[1]).toContain("Which word did I ask you to remember?");
    // …not re-sent as a transcript.
    expect(JSON.stringify(up?.json)).not.toContain("conversation_history");
    // This run's usage, not the session's running total (the SDK reports resumed sessions cumulatively).
    expect(follow.summary.usage.input_tokens).toBe(estimateInputTokens(up?.json ?? {}));
  });

  it("resumes for an OpenAI-format follow-up too (the answer comes back as one string)", T, async () => {
    const ask1 = async (messages: unknown[]) => {
      const res = await runner.run(request("openai", { model: "gpt-4o", messages }, { keyId: "key_o" }));
      return (JSON.parse(await text(res)) as { choices: Array<{ message: { content: string } }> }).choices[0]
        ?.message.content;
    };
    const opening = [
      { role: "system", content: "Be terse." },
      { role: "user", content: "Pick a colour. [[mock:text text=Teal.]]" },
    ];
    const answer = await ask1(opening);
    expect(answer).toBe("Teal.");
    const since = env.mock.requests.length;
    await ask1([
      ...opening,
      { role: "assistant", content: answer },
      { role: "user", content: "Why that one?" },
    ]);
    const [up] = messagesRequests(env.mock, since);
    const roles = upMessages(up)
      .map((m) => m.role)
      .filter((r) => r !== "system");
    expect(roles).toEqual(["user", "assistant", "user"]);
    expect(JSON.stringify(up?.json)).not.toContain("conversation_history");
  });

  it("starts afresh, with the earlier turns as context, when the remembered session is gone", T, async () => {
    const opening = { role: "user", content: "Say fig. [[mock:text text=Fig.]]" };
    const first = await ask(opening.content, { keyId: "key_gone" });
    expect(first.answer.text).toBe("Fig.");
    rmSync(join(env.home, ".claude", "projects"), { recursive: true, force: true }); // transcripts lost
    const since = env.mock.requests.length;
    const follow = await ask("And again?", {
      keyId: "key_gone",
      history: [opening, { role: "assistant", content: "Fig." }],
    });
    expect(follow.answer.status).toBe(200);
    expect(follow.summary.outcome).toBe("complete");
    const [up] = messagesRequests(env.mock, since);
    expect(JSON.stringify(up?.json.system)).toContain("<conversation_history>");
  });

  it("gives a new session the earlier turns as context when no session matches", T, async () => {
    const since = env.mock.requests.length;
    await ask("And now?", {
      keyId: "key_t",
      history: [
        { role: "user", content: "My name is Ada." },
        { role: "assistant", content: "Nice to meet you, Ada." },
      ],
    });
    const [up] = messagesRequests(env.mock, since);
    const system = JSON.stringify(up?.json.system);
    expect(system).toContain("<conversation_history>");
    expect(system).toContain("My name is Ada.");
    expect(system).toContain("Nice to meet you, Ada.");
    const users = upMessages(up).filter((m) => m.role === "assistant");
    expect(users).toHaveLength(0); // one real turn: the prompt
  });
});
