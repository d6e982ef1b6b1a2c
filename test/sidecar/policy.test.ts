// The operator's policy: defaults that are safe (read-only tools, no bypass), readable failures for
// bad values, MCP config validation, and an agent environment that never carries the tunnel secret.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/sidecar/policy.ts";

const base = { HOME: "/home/op", PATH: "/usr/bin" };

describe("parsePolicy", () => {
  it("defaults to read-only tools, permission mode default, bounded turns and concurrency", () => {
    const p = parsePolicy(base);
    expect(p.allowedTools).toEqual(["Read", "Glob", "Grep", "WebSearch", "WebFetch"]);
    expect(p.builtinTools).toEqual(["Read", "Glob", "Grep", "WebSearch", "WebFetch"]);
    expect(p.permissionMode).toBe("default");
    expect(p.maxTurns).toBe(10);
    expect(p.maxConcurrent).toBe(4);
    expect(p.queueSize).toBe(8);
    expect(p.workspaceRoot).toBe("/home/op/.ccproxy/workspaces");
    expect(p.claudeExecutable).toBeNull();
    expect(p.mcpServers).toEqual({});
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.allowedTools)).toBe(true);
  });

  it("reads every setting", () => {
    const p = parsePolicy({
      ...base,
      CC_ALLOWED_TOOLS: " Read , Bash(git log:*), mcp__github ",
      CC_PERMISSION_MODE: "bypassPermissions",
      CC_MAX_TURNS: "3",
      CC_MAX_CONCURRENT: "2",
      CC_QUEUE: "0",
      CC_QUEUE_WAIT_MS: "250",
      CC_WORKSPACE_ROOT: "/srv/ws/",
      CC_CLAUDE_PATH: "/opt/claude",
      CC_MODEL_ALIASES: '{"house":"claude-haiku-5-5"}',
    });
    expect(p.allowedTools).toEqual(["Read", "Bash(git log:*)", "mcp__github"]);
    expect(p.builtinTools).toEqual(["Read", "Bash"]);
    expect(p.permissionMode).toBe("bypassPermissions"); // only because it was asked for
    expect([p.maxTurns, p.maxConcurrent, p.queueSize, p.queueWaitMs]).toEqual([3, 2, 0, 250]);
    expect(p.workspaceRoot).toBe("/srv/ws");
    expect(p.claudeExecutable).toBe("/opt/claude");
    expect(p.modelAliases.exact.get("house")).toBe("claude-haiku-5-5");
    expect(parsePolicy({ ...base, CC_ALLOWED_TOOLS: "none" }).allowedTools).toEqual([]);
  });

  it("fails fast with a message naming the variable", () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ CC_ALLOWED_TOOLS: "Read,Raed" }, /CC_ALLOWED_TOOLS: unknown tool "Raed"/],
      [{ CC_ALLOWED_TOOLS: "Bash(git" }, /CC_ALLOWED_TOOLS/],
      [{ CC_PERMISSION_MODE: "yolo" }, /CC_PERMISSION_MODE must be one of/],
      [{ CC_MAX_TURNS: "ten" }, /CC_MAX_TURNS must be a whole number/],
      [{ CC_MAX_CONCURRENT: "0" }, /CC_MAX_CONCURRENT must be between 1/],
      [{ CC_WORKSPACE_ROOT: "relative/dir" }, /CC_WORKSPACE_ROOT must be an absolute path/],
      [{ CC_WORKSPACE_ROOT: "/" }, /filesystem root/],
      [{ CC_CLAUDE_PATH: "claude" }, /CC_CLAUDE_PATH must be an absolute path/],
      [{ CC_MODEL_ALIASES: "{" }, /CC_MODEL_ALIASES is not valid JSON/],
      [{ MODEL_ALIASES: '{"a b":"x"}' }, /^MODEL_ALIASES/],
      [{ CC_MCP_CONFIG: "/nonexistent/mcp.json" }, /CC_MCP_CONFIG: cannot read/],
    ];
    for (const [env, message] of bad) expect(() => parsePolicy({ ...base, ...env })).toThrow(message);
  });

  it("validates the MCP config file (Claude Code's .mcp.json shape or a bare map)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ccproxy-mcp-"));
    const good = join(dir, "good.json");
    writeFileSync(
      good,
      JSON.stringify({
        mcpServers: {
          github: { type: "http", url: "https://mcp.example.com/", headers: { authorization: "Bearer x" } },
          files: { command: "node", args: ["server.js"], env: { A: "1" } },
        },
      }),
    );
    expect(Object.keys(parsePolicy({ ...base, CC_MCP_CONFIG: good }).mcpServers)).toEqual([
      "github",
      "files",
    ]);
    const cases: Array<[unknown, RegExp]> = [
      [{ "bad name": { command: "x" } }, /server name/],
      [{ s: { type: "http", url: "not a url" } }, /s\.url|Invalid/],
      [{ s: { command: "x", extra: true } }, /CC_MCP_CONFIG/],
      [[1, 2], /CC_MCP_CONFIG/],
    ];
    for (const [content, message] of cases) {
      const f = join(dir, "bad.json");
      writeFileSync(f, JSON.stringify(content));
      expect(() => parsePolicy({ ...base, CC_MCP_CONFIG: f })).toThrow(message);
    }
    writeFileSync(join(dir, "broken.json"), "{");
    expect(() => parsePolicy({ ...base, CC_MCP_CONFIG: join(dir, "broken.json") })).toThrow(/not valid JSON/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the agent Claude Code's auth and settings, never the sidecar's secrets", () => {
    const p = parsePolicy({
      ...base,
      ANTHROPIC_API_KEY: "sk-ant-x",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      CLAUDE_CODE_OAUTH_TOKEN: "oat",
      CLAUDE_CONFIG_DIR: "/cfg",
      LC_ALL: "C",
      TUNNEL_SECRET: "s3cret",
      CCPROXY_URL: "https://proxy",
      CCPROXY_KEY: "ccp_personalsidecarownerkey0123456",
      ADMIN_TOKEN: "adm",
      CC_ALLOWED_TOOLS: "Read",
      AWS_SECRET_ACCESS_KEY: "aws", // Bedrock auth for Claude Code
    });
    expect(p.agentEnv).toMatchObject({
      HOME: "/home/op",
      PATH: "/usr/bin",
      ANTHROPIC_API_KEY: "sk-ant-x",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      CLAUDE_CODE_OAUTH_TOKEN: "oat",
      CLAUDE_CONFIG_DIR: "/cfg",
      LC_ALL: "C",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    });
    for (const secret of ["TUNNEL_SECRET", "CCPROXY_URL", "CCPROXY_KEY", "ADMIN_TOKEN", "CC_ALLOWED_TOOLS"]) {
      expect(p.agentEnv).not.toHaveProperty(secret);
    }
    const optIn = parsePolicy({ ...base, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "0" });
    expect(optIn.agentEnv.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe("0");
  });
});
