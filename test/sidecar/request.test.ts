// Reading a Claude Code mode request: both formats reduced to model, system, history and prompt;
// client tools refused with a pointer to API mode; agent-steering fields never read.
import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/shared/errors.ts";
import { parsePolicy } from "../../src/sidecar/policy.ts";
import { parseRunBody } from "../../src/sidecar/request.ts";

const policy = parsePolicy({ HOME: "/tmp", CC_MODEL_ALIASES: '{"house":"claude-haiku-5-5"}' });

function refusal(fn: () => unknown): ProxyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error("expected a ProxyError");
}

describe("Anthropic bodies", () => {
  it("splits the last user turn from the history and joins system blocks", () => {
    const r = parseRunBody(
      "anthropic",
      {
        model: "house",
        max_tokens: 100,
        stream: true,
        system: [
          { type: "text", text: "One." },
          { type: "text", text: "Two." },
        ],
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: [{ type: "text", text: "Hello" }] },
          {
            role: "user",
            content: [
              { type: "text", text: "" },
              { type: "text", text: "Look" },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
            ],
          },
        ],
        thinking: { type: "enabled", budget_tokens: 2048 },
      },
      policy,
    );
    expect(r.model).toBe("claude-haiku-5-5");
    expect(r.clientModel).toBe("house");
    expect(r.stream).toBe(true);
    expect(r.system).toBe("One.\n\nTwo.");
    expect(r.history).toHaveLength(2);
    expect(r.prompt.map((b) => b.type)).toEqual(["text", "image"]);
    expect(r.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
  });

  it("refuses client tools, pointing to API mode", () => {
    const err = refusal(() =>
      parseRunBody(
        "anthropic",
        { model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }], tools: [{ name: "t" }] },
        policy,
      ),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe("tools");
    expect(err.message).toContain("/api/v1/messages");
    // An empty list is no tools at all.
    expect(() =>
      parseRunBody(
        "anthropic",
        { model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }], tools: [] },
        policy,
      ),
    ).not.toThrow();
  });

  it("refuses a prefill, a tool_result prompt and an empty prompt", () => {
    const msgs = (last: unknown) => ({
      model: "m",
      max_tokens: 1,
      messages: [{ role: "user", content: "a" }, last],
    });
    expect(
      refusal(() => parseRunBody("anthropic", msgs({ role: "assistant", content: "b" }), policy)).message,
    ).toContain("role 'user'");
    const tr = refusal(() =>
      parseRunBody(
        "anthropic",
        msgs({ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "x" }] }),
        policy,
      ),
    );
    expect(tr.param).toBe("messages[1].content[0]");
    expect(tr.message).toContain("/api/");
    expect(
      refusal(() => parseRunBody("anthropic", msgs({ role: "user", content: "" }), policy)).message,
    ).toContain("empty");
  });

  it("never reads fields that would steer the agent", () => {
    const plain = { model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] };
    const steered = {
      ...plain,
      cwd: "/",
      permission_mode: "bypassPermissions",
      permissionMode: "bypassPermissions",
      allowed_tools: ["Bash"],
      mcp_servers: { x: { command: "sh" } },
      env: { A: "1" },
      max_turns: 100,
    };
    expect(parseRunBody("anthropic", steered, policy)).toEqual(parseRunBody("anthropic", plain, policy));
  });
});

describe("OpenAI bodies", () => {
  it("converts with the shared core: system hoisted, model aliased and echoed, usage option kept", () => {
    const r = parseRunBody(
      "openai",
      {
        model: "gpt-4o",
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello" },
          { role: "user", content: [{ type: "text", text: "More" }] },
        ],
      },
      policy,
    );
    expect(r.clientModel).toBe("gpt-4o");
    expect(r.model).toBe("claude-sonnet-5-5");
    expect(r.system).toBe("Be brief.");
    expect(r.includeUsage).toBe(true);
    expect(r.history.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(r.prompt).toEqual([{ type: "text", text: "More" }]);
  });

  it("refuses tools and functions, and json_schema output, pointing to API mode", () => {
    const msgs = [{ role: "user", content: "x" }];
    for (const [field, value] of [
      ["tools", [{ type: "function", function: { name: "f" } }]],
      ["functions", [{ name: "f" }]],
    ] as const) {
      const err = refusal(() =>
        parseRunBody("openai", { model: "gpt-4o", messages: msgs, [field]: value }, policy),
      );
      expect(err.param).toBe(field);
      expect(err.message).toContain("/api/v1/chat/completions");
    }
    const rf = refusal(() =>
      parseRunBody(
        "openai",
        {
          model: "gpt-4o",
          messages: msgs,
          response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
        },
        policy,
      ),
    );
    expect(rf.param).toBe("response_format");
  });

  it("passes the shared core's 400s through (n > 1)", () => {
    const err = refusal(() =>
      parseRunBody("openai", { model: "gpt-4o", n: 2, messages: [{ role: "user", content: "x" }] }, policy),
    );
    expect(err.param).toBe("n");
  });
});
