// The runner's small parts without the CLI: conversation digests and the session map, the capacity
// gate, workspaces and their confinement check, the new-session context, and the tool-line texts.
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { MessageParam } from "../../src/shared/anthropic/types.ts";
import { ProxyError } from "../../src/shared/errors.ts";
import { denyReason } from "../../src/sidecar/agent.ts";
import { apiError } from "../../src/sidecar/agent-errors.ts";
import { Gate } from "../../src/sidecar/capacity.ts";
import { appendedSystemPrompt } from "../../src/sidecar/context.ts";
import { parsePolicy } from "../../src/sidecar/policy.ts";
import { conversationDigest, SessionMap } from "../../src/sidecar/sessions.ts";
import { callLine, errorSummary, successSummary } from "../../src/sidecar/tool-lines.ts";
import { isInside, workspaceFor } from "../../src/sidecar/workspace.ts";

const roots: string[] = [];
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "ccproxy-ws-unit-"));
  roots.push(root);
  return root;
}
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("conversationDigest", () => {
  const answerBlocks: MessageParam = {
    role: "assistant",
    content: [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "text", text: "Part one, " },
      { type: "text", text: "part two.\n" },
    ],
  };
  const answerString: MessageParam = { role: "assistant", content: "Part one, part two." };
  const user: MessageParam = { role: "user", content: "Q" };

  it("is the same for an answer sent back as blocks (with thinking) or as one string", () => {
    expect(conversationDigest("k", "", [user, answerBlocks])).toBe(
      conversationDigest("k", "", [user, answerString]),
    );
  });

  it("differs per key, per system text and per content", () => {
    const d = conversationDigest("k", "", [user, answerString]);
    expect(conversationDigest("other", "", [user, answerString])).not.toBe(d);
    expect(conversationDigest("k", "Be brief.", [user, answerString])).not.toBe(d);
    expect(conversationDigest("k", "", [user, { role: "assistant", content: "Part one." }])).not.toBe(d);
    const img = (data: string): MessageParam => ({
      role: "user",
      content: [{ type: "image", source: { type: "base64", media_type: "image/png", data } }],
    });
    expect(conversationDigest("k", "", [img("AAAA")])).not.toBe(conversationDigest("k", "", [img("BBBB")]));
  });
});

describe("SessionMap", () => {
  const entry = (id: string) => ({
    sessionId: id,
    totals: { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    costUsd: 0,
  });

  it("evicts the least recently used entry beyond its size", () => {
    const m = new SessionMap({ max: 2 });
    m.set("a", entry("1"));
    m.set("b", entry("2"));
    expect(m.get("a")?.sessionId).toBe("1"); // a is now the most recent
    m.set("c", entry("3"));
    expect(m.get("b")).toBeUndefined();
    expect(m.get("a")?.sessionId).toBe("1");
    expect(m.size).toBe(2);
  });

  it("forgets entries older than its TTL", () => {
    let now = 0;
    const m = new SessionMap({ ttlMs: 100, now: () => now });
    m.set("a", entry("1"));
    now = 150;
    expect(m.get("a")).toBeUndefined();
  });
});

describe("Gate", () => {
  it("admits up to max, queues, refuses with 429 when the queue is full and 529 when the wait runs out", async () => {
    const g = new Gate(1, 1, 50);
    const signal = new AbortController().signal;
    const r1 = await g.acquire(signal);
    const queued = g.acquire(signal);
    const full = await g.acquire(signal).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(ProxyError);
    expect((full as ProxyError).status).toBe(429);
    const timedOut = await queued.catch((e: unknown) => e);
    expect((timedOut as ProxyError).status).toBe(529);
    r1();
    expect(g.active).toBe(0);
  });

  it("hands a released slot to the next in line, leaves the queue on abort, and reports idle", async () => {
    const g = new Gate(1, 2, 10_000);
    const r1 = await g.acquire(new AbortController().signal);
    const leaving = new AbortController();
    const gone = g.acquire(leaving.signal).catch((e: unknown) => e);
    const next = g.acquire(new AbortController().signal);
    leaving.abort(new Error("client left"));
    expect(((await gone) as Error).message).toBe("client left");
    expect(g.waiting).toBe(1);
    let idle = false;
    void g.idle().then(() => {
      idle = true;
    });
    r1();
    const r2 = await next;
    expect(g.active).toBe(1);
    r2();
    r2(); // releasing twice is harmless
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(g.active).toBe(0);
  });
});

describe("workspaces", () => {
  it("creates <root>/<keyId> with mode 0700 and refuses ids unfit for a path", async () => {
    const root = tempRoot();
    const dir = await workspaceFor(join(root, "nested"), "key_ABC-1");
    expect(dir).toBe(join(root, "nested", "key_ABC-1"));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const bad of ["..", "../etc", "a/b", "", ".", "a b", "x".repeat(200)]) {
      await expect(workspaceFor(root, bad)).rejects.toThrow(/not usable/);
    }
  });

  it("tells inside from outside, through symlinks", async () => {
    const root = tempRoot();
    const dir = await workspaceFor(root, "k");
    mkdirSync(join(dir, "sub"));
    symlinkSync("/etc", join(dir, "escape"));
    expect(isInside(dir, join(dir, "sub", "file.txt"))).toBe(true);
    expect(isInside(dir, "sub/new-file.txt")).toBe(true);
    expect(isInside(dir, dir)).toBe(true);
    expect(isInside(dir, "/etc/passwd")).toBe(false);
    expect(isInside(dir, join(dir, "..", "other"))).toBe(false);
    expect(isInside(dir, join(dir, "escape", "passwd"))).toBe(false);
    expect(isInside(dir, `${dir}-sibling/x`)).toBe(false);
  });

  it("denies file-tool paths outside the workspace and tools outside the policy", async () => {
    const dir = await workspaceFor(tempRoot(), "k");
    const policy = parsePolicy({ HOME: "/tmp", CC_ALLOWED_TOOLS: "Read,Grep,mcp__docs" });
    expect(denyReason(policy, dir, "Read", { file_path: join(dir, "a.txt") })).toBeUndefined();
    expect(denyReason(policy, dir, "Read", { file_path: "/etc/shadow" })).toContain(
      "outside this key's workspace",
    );
    expect(denyReason(policy, dir, "Grep", { pattern: "x", path: "/" })).toContain("outside");
    expect(denyReason(policy, dir, "Grep", { pattern: "x" })).toBeUndefined();
    expect(denyReason(policy, dir, "Bash", { command: "ls" })).toBe(
      "Bash is not allowed by this sidecar's policy",
    );
    expect(denyReason(policy, dir, "mcp__docs__search", { q: "x" })).toBeUndefined();
    expect(denyReason(policy, dir, "mcp__other__search", { q: "x" })).toContain("not allowed");
  });
});

describe("glob patterns and home paths", () => {
  it("confines Glob patterns and Grep globs: absolute ones to the workspace, never through ..", async () => {
    const dir = await workspaceFor(tempRoot(), "k");
    const policy = parsePolicy({ HOME: "/home/agent" });
    const glob = (pattern: string) => denyReason(policy, dir, "Glob", { pattern });
    const grep = (g: string) => denyReason(policy, dir, "Grep", { pattern: "x", glob: g });
    for (const ok of ["*.ts", "src/**/*.{ts,tsx}", `${dir}/**/*.md`, `${dir}/notes.txt`, "~user/x", "a..b/*"])
      expect([ok, glob(ok)]).toEqual([ok, undefined]);
    for (const bad of [
      "/etc/host*",
      "/**/hostname",
      "/etc/../etc/hosts",
      "../other/*",
      "**/../../other/*",
      "{..,x}/*",
      "{/etc/hosts,x}",
      "src/*.ts,/etc/*",
      "~/.claude/**",
      "\\/etc/hosts",
      `${dir}-sibling/*`,
      `${dir}/../k2/*`,
    ])
      expect([bad, glob(bad)]).toEqual([bad, expect.stringContaining("outside this key's workspace")]);
    expect(grep("*.{ts,js}")).toBeUndefined();
    expect(grep("*.ts /etc/*")).toContain("outside");
    expect(grep("../*")).toContain("outside");
    // Grep's `pattern` is a regex, not a path.
    expect(denyReason(policy, dir, "Grep", { pattern: "../../etc" })).toBeUndefined();
  });

  it("reads ~ as the agent's home, as Claude Code does, in every path field", async () => {
    const dir = await workspaceFor(tempRoot(), "k");
    const policy = parsePolicy({ HOME: dir, CC_ALLOWED_TOOLS: "Read,Glob,Grep,LSP" });
    const elsewhere = parsePolicy({ HOME: "/home/agent", CC_ALLOWED_TOOLS: "Read,Glob,Grep,LSP" });
    expect(denyReason(elsewhere, dir, "Glob", { pattern: "*", path: "~" })).toBe(
      "~ is outside this key's workspace",
    );
    expect(denyReason(elsewhere, dir, "Grep", { pattern: "x", path: "~/.claude" })).toContain("outside");
    expect(denyReason(elsewhere, dir, "LSP", { operation: "hover", filePath: "/etc/x.ts" })).toContain(
      "outside",
    );
    // A home inside the workspace is inside; `~user` is a literal name Claude Code does not expand.
    expect(denyReason(policy, dir, "Glob", { pattern: "*", path: "~" })).toBeUndefined();
    expect(denyReason(elsewhere, dir, "Read", { file_path: "~user/x" })).toBeUndefined();
  });
});

describe("context for a new session", () => {
  it("appends the client's system text, then the earlier turns as a transcript", () => {
    const out = appendedSystemPrompt("Be brief.", [
      { role: "user", content: "My name is Ada." },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "secret", signature: "s" },
          { type: "text", text: "Hi Ada." },
        ],
      },
    ]);
    expect(out?.startsWith("Be brief.\n\n<conversation_history>")).toBe(true);
    expect(out).toContain('<turn role="user">\nMy name is Ada.\n</turn>');
    expect(out).toContain('<turn role="assistant">\nHi Ada.\n</turn>');
    expect(out).not.toContain("secret");
    expect(appendedSystemPrompt("", [])).toBeUndefined();
  });
});

describe("tool lines", () => {
  it("names the tool and its main argument, workspace paths relative", () => {
    expect(callLine("Read", { file_path: "/ws/k/src/a.ts" }, "/ws/k")).toBe("→ Read src/a.ts");
    expect(callLine("Read", { file_path: "/etc/hosts" }, "/ws/k")).toBe("→ Read /etc/hosts");
    expect(callLine("Grep", { pattern: "TODO", path: "/ws/k/src" }, "/ws/k")).toBe('→ Grep "TODO" in src');
    expect(callLine("WebSearch", { query: "hono sse" }, "/ws/k")).toBe('→ WebSearch "hono sse"');
    expect(callLine("Bash", { command: "ls -la\nrm -rf /" }, "/ws/k")).toBe("→ Bash ls -la …");
    expect(callLine("mcp__github__search_issues", { q: "bug" }, "/ws/k")).toBe(
      '→ github.search_issues "bug"',
    );
    expect(callLine("Glob", {}, "/ws/k")).toBe("→ Glob");
    expect(
      callLine("WebFetch", { url: `https://example.com/${"x".repeat(200)}` }, "/ws/k").length,
    ).toBeLessThan(95);
  });

  it("summarises outcomes in a few words", () => {
    expect(successSummary("Read", { type: "text", file: { numLines: 3 } }, "")).toBe("3 lines");
    expect(successSummary("Glob", { numFiles: 1, filenames: ["a"] }, "")).toBe("1 file");
    expect(successSummary("Other", undefined, "a\nb\n")).toBe("2 lines");
    expect(successSummary("Other", undefined, "")).toBe("done");
    expect(errorSummary("<tool_use_error>Error: No such file\nmore</tool_use_error>")).toBe("No such file …");
  });
});

describe("agent error mapping", () => {
  it("maps the CLI's API errors onto statuses a client can act on", () => {
    expect(apiError("authentication_failed", "Invalid API key", 401).status).toBe(502);
    expect(apiError("authentication_failed", "Invalid API key", 401).message).toContain(
      "credential was refused",
    );
    expect(apiError(undefined, "Overloaded", 529).status).toBe(529);
    expect(apiError("rate_limit", "slow down", 429).status).toBe(429);
    expect(apiError("model_not_found", "no such model", 404).status).toBe(404);
    expect(apiError("invalid_request", "bad image", 400).status).toBe(400);
    expect(apiError("server_error", "boom", 500).status).toBe(502);
    expect(apiError("unknown", "", null).message).toContain("refused");
  });
});
