// One Claude Code run through the Agent SDK, with the operator's policy applied and the `claude`
// process under our control: spawned in its own process group so an interrupt, a timeout or the
// end of the run takes it and everything it started (tools, MCP servers) down. No orphans.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { homedir } from "node:os";
import type { Readable, Writable } from "node:stream";
import {
  BUILTIN_TOOL_NAMES,
  type EffortLevel,
  type HookCallback,
  type Options,
  type Query,
  query,
  type SDKUserMessage,
  type ThinkingConfig as SdkThinking,
} from "@anthropic-ai/claude-agent-sdk";
import type { ThinkingConfig } from "../shared/anthropic/types.ts";
import { guarded, trackRun } from "./orphans.ts";
import type { McpServer, Policy } from "./policy.ts";
import type { Block } from "./request.ts";
import { expandHome, globEscape, isInside } from "./workspace.ts";

export interface AgentStart {
  policy: Policy;
  cwd: string;
  model: string;
  prompt: Block[];
  /** Appended to Claude Code's system prompt (the client's system, earlier turns). */
  append: string | undefined;
  /** A session to continue; it is forked, so the original stays as it was for other branches. */
  resume: string | undefined;
  thinking: ThinkingConfig | undefined;
  effort: string | undefined;
  /** Called when the policy refuses a tool call, with the reason shown to the client. */
  onDenial: (toolUseId: string, reason: string) => void;
}

export interface AgentRun {
  query: Query;
  /** Stops the run now: the SDK is aborted and the process group terminated (killed after a grace). */
  interrupt(): void;
  /** Resolves once the `claude` process has exited (at once if it never started). */
  exited(): Promise<void>;
  pid(): number | undefined;
  /** The end of the CLI's stderr, for logs. */
  stderrTail(): string;
}

const KILL_GRACE_MS = 2_000;
const STDERR_MAX = 8_192;
const EFFORTS: ReadonlySet<string> = new Set(["low", "medium", "high", "xhigh", "max"]);
/** Input fields of built-in tools that name a file or directory (LSP says `filePath`). */
const PATH_FIELDS = ["file_path", "notebook_path", "path", "filePath"] as const;
/** Input fields that hold glob patterns: Glob's `pattern`, Grep's `glob` (its `pattern` is a regex). */
const GLOB_FIELDS: Readonly<Record<string, string>> = { Glob: "pattern", Grep: "glob" };

/** Whether the policy lets the agent use `name` at all (permission rules may still narrow it). */
export function toolAllowed(policy: Policy, name: string): boolean {
  if (policy.builtinTools.includes(name)) return true;
  if (!name.startsWith("mcp__")) return false;
  return policy.allowedTools.some((e) => e === name || name.startsWith(`${e}__`));
}

export function notAllowedReason(name: string): string {
  return `${name} is not allowed by this sidecar's policy`;
}

export function startAgent(opts: AgentStart): AgentRun {
  const { policy } = opts;
  const abort = new AbortController();
  let child: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";

  const killGroup = (signal: NodeJS.Signals) => {
    const pid = child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal); // the whole group: claude and whatever it spawned
    } catch {
      // already gone
    }
  };

  const spawnClaudeCodeProcess: Options["spawnClaudeCodeProcess"] = (o) => {
    const cmd = guarded(o.command, o.args);
    const proc = spawn(cmd.command, cmd.args, {
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      env: o.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // its own process group, so one kill reaches its children too
    });
    child = proc;
    const untrack = proc.pid === undefined ? () => {} : trackRun(policy.workspaceRoot, proc.pid);
    exited = new Promise<void>((resolve) => {
      const done = () => {
        killGroup("SIGKILL"); // sweep anything the CLI left behind in its group
        untrack();
        resolve();
      };
      proc.once("exit", done);
      proc.once("error", done);
    });
    proc.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-STDERR_MAX);
    });
    // The SDK's own forwarded abort (after its stdin-EOF grace): make sure it ends.
    o.signal.addEventListener("abort", () => killGroup("SIGKILL"), { once: true });
    return proc;
  };

  const preToolUse: HookCallback = async (input, toolUseId) => {
    if (input.hook_event_name !== "PreToolUse") return {};
    const reason = denyReason(policy, opts.cwd, input.tool_name, input.tool_input);
    if (reason === undefined) return {};
    opts.onDenial(toolUseId ?? input.tool_use_id, reason);
    return {
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        permissionDecision: "deny",
        permissionDecisionReason: reason,
      },
    };
  };

  const options: Options = {
    cwd: opts.cwd,
    model: opts.model,
    includePartialMessages: true,
    tools: [...policy.builtinTools],
    allowedTools: [...policy.allowedTools],
    disallowedTools: BUILTIN_TOOL_NAMES.filter((t) => !policy.builtinTools.includes(t)),
    permissionMode: policy.permissionMode,
    maxTurns: policy.maxTurns,
    // Only the operator's policy: no user/project settings, CLAUDE.md or .mcp.json from the workspace.
    settingSources: [],
    strictMcpConfig: true,
    mcpServers: usableMcpServers(policy),
    // A client's `/command` or `@path` is text, not a slash command or a file to attach.
    verbatimPrompts: true,
    env: { ...policy.agentEnv },
    abortController: abort,
    // Nobody is there to approve a prompt: whatever the mode and rules would ask about is denied.
    permissionPrompts: "none",
    hooks: { PreToolUse: [{ hooks: [preToolUse] }] },
    systemPrompt:
      opts.append === undefined
        ? { type: "preset", preset: "claude_code" }
        : { type: "preset", preset: "claude_code", append: opts.append },
    spawnClaudeCodeProcess,
  };
  if (Object.keys(options.mcpServers ?? {}).length > 0) options.mcpServersDelivery = "initialize"; // secrets off argv
  if (policy.permissionMode === "bypassPermissions") options.allowDangerouslySkipPermissions = true;
  if (policy.claudeExecutable !== null) options.pathToClaudeCodeExecutable = policy.claudeExecutable;
  if (opts.resume !== undefined) {
    options.resume = opts.resume;
    options.forkSession = true;
  }
  const thinking = sdkThinking(opts.thinking);
  if (thinking !== undefined) options.thinking = thinking;
  if (opts.effort !== undefined && EFFORTS.has(opts.effort)) options.effort = opts.effort as EffortLevel;

  const prompt = opts.prompt;
  async function* input(): AsyncGenerator<SDKUserMessage> {
    yield {
      type: "user",
      message: { role: "user", content: prompt as SDKUserMessage["message"]["content"] },
      parent_tool_use_id: null,
    };
  }
  const q = query({ prompt: input(), options });

  let interrupted = false;
  return {
    query: q,
    interrupt() {
      if (interrupted) return;
      interrupted = true;
      abort.abort();
      killGroup("SIGTERM");
      setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS).unref();
    },
    exited: () => exited,
    pid: () => child?.pid,
    stderrTail: () => stderr,
  };
}

/** The configured MCP servers that have a tool the policy allows; the others are not even started. */
function usableMcpServers(policy: Policy): Record<string, McpServer> {
  const out: Record<string, McpServer> = {};
  for (const [name, server] of Object.entries(policy.mcpServers)) {
    const prefix = `mcp__${name}`;
    if (policy.allowedTools.some((e) => e === prefix || e.startsWith(`${prefix}__`))) out[name] = server;
  }
  return out;
}

/**
 * Why the policy refuses this call, or undefined. Enforced in a hook, so it holds in every permission
 * mode. Built-in tools are confined to the key's workspace by their path fields and glob patterns
 * (MCP tools' fields mean whatever their server says, so they are not read as paths).
 */
export function denyReason(policy: Policy, cwd: string, name: string, input: unknown): string | undefined {
  if (!toolAllowed(policy, name)) return notAllowedReason(name);
  if (name.startsWith("mcp__") || typeof input !== "object" || input === null) return undefined;
  const fields = input as Record<string, unknown>;
  const home = policy.agentEnv.HOME ?? homedir();
  for (const field of PATH_FIELDS) {
    const p = fields[field];
    if (typeof p === "string" && p !== "" && !isInside(cwd, expandHome(p, home))) {
      return `${p} is outside this key's workspace`;
    }
  }
  const globField = GLOB_FIELDS[name];
  const pattern = globField === undefined ? undefined : fields[globField];
  if (typeof pattern === "string") return globEscape(cwd, pattern, home);
  return undefined;
}

function sdkThinking(t: ThinkingConfig | undefined): SdkThinking | undefined {
  if (t === undefined) return undefined;
  switch (t.type) {
    case "enabled":
      return typeof t.budget_tokens === "number"
        ? { type: "enabled", budgetTokens: t.budget_tokens }
        : { type: "enabled" };
    case "adaptive":
      return { type: "adaptive" };
    case "disabled":
      return { type: "disabled" };
    default:
      return undefined;
  }
}
