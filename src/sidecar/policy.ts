// The operator's policy for Claude Code runs, read once from the sidecar's environment into a frozen
// object: tools, permission mode, turns, concurrency, workspaces, MCP servers, model aliases and the
// environment the agent gets. Nothing in a request body can change any of it.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import {
  BUILTIN_TOOL_NAMES,
  type McpHttpServerConfig,
  type McpSSEServerConfig,
  type McpStdioServerConfig,
  type PermissionMode,
} from "@anthropic-ai/claude-agent-sdk";
import { z } from "zod";
import { type ModelAliasTable, parseModelAliases } from "../shared/models.ts";

/** The MCP servers an operator can configure: processes the CLI runs or URLs it connects to. */
export type McpServer = McpStdioServerConfig | McpSSEServerConfig | McpHttpServerConfig;

export interface Policy {
  /** Each key works in `<workspaceRoot>/<keyId>`. */
  readonly workspaceRoot: string;
  /** `CC_ALLOWED_TOOLS` as given: tool names, permission rules (`Bash(git log:*)`), `mcp__server[__tool]`. */
  readonly allowedTools: readonly string[];
  /** The built-in tools the model is offered (the base names of `allowedTools`). */
  readonly builtinTools: readonly string[];
  readonly permissionMode: PermissionMode;
  readonly maxTurns: number;
  readonly maxConcurrent: number;
  /** Requests that may wait for a free slot; beyond it, 429. */
  readonly queueSize: number;
  /** How long a queued request waits before a 529. */
  readonly queueWaitMs: number;
  /** Hard bound on one run, after which it is interrupted. */
  readonly runTimeoutMs: number;
  readonly mcpServers: Readonly<Record<string, McpServer>>;
  readonly modelAliases: ModelAliasTable;
  /** `CC_CLAUDE_PATH`; null means the binary bundled with the Agent SDK. */
  readonly claudeExecutable: string | null;
  /** The whole environment of the `claude` process (never the tunnel secret). */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** `max_tokens` for the OpenAI conversion when a client sends none (not used by the agent). */
  readonly defaultMaxTokens: number;
}

/** Read-only by default: the agent can look, not touch. */
export const DEFAULT_ALLOWED_TOOLS = ["Read", "Glob", "Grep", "WebSearch", "WebFetch"] as const;

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_TOOL_NAMES);
const MODES: ReadonlySet<string> = new Set([
  "default",
  "acceptEdits",
  "bypassPermissions",
  "plan",
  "dontAsk",
  "auto",
]);

/** Passed to the agent as is; everything else (TUNNEL_SECRET, CCPROXY_*, CC_*, …) is withheld. */
const ENV_NAMES: ReadonlySet<string> = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "IS_SANDBOX",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "XDG_CACHE_HOME",
  "XDG_RUNTIME_DIR",
  "CLOUD_ML_REGION",
  "GOOGLE_APPLICATION_CREDENTIALS",
]);
/** Claude Code's own settings and auth (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_BASE_URL, …), Bedrock/Vertex. */
const ENV_PREFIXES = ["ANTHROPIC_", "CLAUDE_", "LC_", "AWS_", "VERTEX_"] as const;

const McpServer = z.union([
  z.strictObject({
    type: z.literal("stdio").optional(),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    timeout: z.number().int().positive().optional(),
  }),
  z.strictObject({
    type: z.enum(["sse", "http"]),
    url: z.url(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout: z.number().int().positive().optional(),
  }),
]);
const McpFile = z.record(
  z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a server name of [A-Za-z0-9_-]"),
  McpServer,
);

export function parsePolicy(env: Record<string, string | undefined>): Policy {
  const allowedTools = parseTools(env.CC_ALLOWED_TOOLS);
  const builtinTools = [...new Set(allowedTools.filter((t) => !t.startsWith("mcp__")).map(baseName))];
  let modelAliases: ModelAliasTable;
  try {
    modelAliases = parseModelAliases(env.CC_MODEL_ALIASES ?? env.MODEL_ALIASES);
  } catch (err) {
    throw new Error(`${env.CC_MODEL_ALIASES !== undefined ? "CC_" : ""}${(err as Error).message}`);
  }
  const home = nonEmpty(env.HOME) ?? homedir();
  return Object.freeze({
    workspaceRoot: parseRoot(env.CC_WORKSPACE_ROOT, home),
    allowedTools: Object.freeze(allowedTools),
    builtinTools: Object.freeze(builtinTools),
    permissionMode: parseMode(env.CC_PERMISSION_MODE),
    maxTurns: int(env, "CC_MAX_TURNS", 10, 1, 1000),
    maxConcurrent: int(env, "CC_MAX_CONCURRENT", 4, 1, 256),
    queueSize: int(env, "CC_QUEUE", 8, 0, 10_000),
    queueWaitMs: int(env, "CC_QUEUE_WAIT_MS", 5_000, 0, 600_000),
    runTimeoutMs: int(env, "CC_RUN_TIMEOUT_MS", 600_000, 1_000, 86_400_000),
    mcpServers: parseMcp(env.CC_MCP_CONFIG),
    modelAliases,
    claudeExecutable: parseExecutable(env.CC_CLAUDE_PATH),
    agentEnv: agentEnv(env),
    defaultMaxTokens: int(env, "DEFAULT_MAX_TOKENS", 4096, 1, 10_000_000),
  });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(env: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number) {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** The tool a rule is about: `Bash(git log:*)` → `Bash`. */
export function baseName(entry: string): string {
  const paren = entry.indexOf("(");
  return paren === -1 ? entry : entry.slice(0, paren);
}

function parseTools(raw: string | undefined): string[] {
  const value = nonEmpty(raw);
  if (value === undefined) return [...DEFAULT_ALLOWED_TOOLS];
  if (value.toLowerCase() === "none") return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const base = baseName(entry);
    const isMcp = /^mcp__[A-Za-z0-9_-]+$/.test(base);
    if (!isMcp && !BUILTIN.has(base)) {
      throw new Error(
        `CC_ALLOWED_TOOLS: unknown tool ${JSON.stringify(base)} (a Claude Code tool such as Read, Grep, Bash, or mcp__<server>[__<tool>])`,
      );
    }
    if (entry !== base && !/^[^()]+\([^()]*\)$/.test(entry)) {
      throw new Error(`CC_ALLOWED_TOOLS: malformed rule ${JSON.stringify(entry)} (expected Tool(specifier))`);
    }
    if (!out.includes(entry)) out.push(entry);
  }
  return out;
}

function parseMode(raw: string | undefined): PermissionMode {
  const value = nonEmpty(raw) ?? "default";
  if (!MODES.has(value)) {
    throw new Error(
      `CC_PERMISSION_MODE must be one of ${[...MODES].join(", ")}; got ${JSON.stringify(value)}`,
    );
  }
  return value as PermissionMode;
}

function parseRoot(raw: string | undefined, home: string): string {
  const value = nonEmpty(raw);
  if (value === undefined) return join(home, ".ccproxy", "workspaces");
  if (!isAbsolute(value))
    throw new Error(`CC_WORKSPACE_ROOT must be an absolute path, got ${JSON.stringify(value)}`);
  const root = resolve(value);
  if (root === "/") throw new Error("CC_WORKSPACE_ROOT must not be the filesystem root");
  return root;
}

function parseExecutable(raw: string | undefined): string | null {
  const value = nonEmpty(raw);
  if (value === undefined) return null;
  if (!isAbsolute(value))
    throw new Error(`CC_CLAUDE_PATH must be an absolute path, got ${JSON.stringify(value)}`);
  return value;
}

/** `CC_MCP_CONFIG`: a JSON file, either Claude Code's `.mcp.json` shape (`{"mcpServers": {…}}`) or the map itself. */
function parseMcp(raw: string | undefined): Readonly<Record<string, McpServer>> {
  const file = nonEmpty(raw);
  if (file === undefined) return Object.freeze({});
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(
      `CC_MCP_CONFIG: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`CC_MCP_CONFIG: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const servers =
    typeof json === "object" && json !== null && "mcpServers" in json
      ? (json as { mcpServers: unknown }).mcpServers
      : json;
  const parsed = McpFile.safeParse(servers);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue === undefined || issue.path.length === 0) {
      throw new Error(`CC_MCP_CONFIG: ${file}: expected {"mcpServers": {"<name>": {…}}} or {"<name>": {…}}`);
    }
    const what = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    throw new Error(`CC_MCP_CONFIG: ${file}: ${issue.path.map(String).join(".")}: ${what}`);
  }
  const out: Record<string, McpServer> = {};
  for (const [name, server] of Object.entries(parsed.data)) {
    out[name] = JSON.parse(JSON.stringify(server)) as McpServer;
  }
  return Object.freeze(out);
}

function agentEnv(env: Record<string, string | undefined>): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (ENV_NAMES.has(name) || ENV_PREFIXES.some((p) => name.startsWith(p))) out[name] = value;
  }
  // A shared sidecar should not send telemetry or spend tokens on session titles; the operator may say otherwise.
  out.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC ??= "1";
  out.CLAUDE_AGENT_SDK_CLIENT_APP ??= "ccproxy-sidecar";
  return Object.freeze(out);
}
