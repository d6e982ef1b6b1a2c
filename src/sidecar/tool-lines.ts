// The agent's tool activity as short readable lines inside the answer's text: `→ Read hello.txt` when
// a tool is called, `  ✓ 3 lines` / `  ✗ denied: …` / `  ✗ <error>` for its outcome. Plain text on
// purpose: a client must never see a tool_use block it would try to run itself.
import { isAbsolute, relative, sep } from "node:path";

const ARG_MAX = 80;
const ERROR_MAX = 160;

type Input = Record<string, unknown>;

/** `→ Read notes/todo.md`, `→ Grep "TODO" in src`, `→ WebFetch https://…`, `→ github.search_issues "bug"`. */
export function callLine(name: string, input: unknown, workspace: string): string {
  const arg = mainArgument(
    name,
    typeof input === "object" && input !== null ? (input as Input) : {},
    workspace,
  );
  return `→ ${displayName(name)}${arg === "" ? "" : ` ${arg}`}`;
}

/** `mcp__github__search_issues` → `github.search_issues`; built-in names unchanged. */
export function displayName(name: string): string {
  const m = /^mcp__([^_].*?)__(.+)$/.exec(name);
  return m ? `${m[1]}.${m[2]}` : name;
}

function mainArgument(name: string, input: Input, workspace: string): string {
  const str = (k: string) => (typeof input[k] === "string" ? (input[k] as string) : undefined);
  switch (name) {
    case "Read":
    case "Write":
    case "Edit":
    case "NotebookEdit": {
      const p = str("file_path") ?? str("notebook_path");
      return p === undefined ? "" : shortPath(p, workspace);
    }
    case "Glob":
    case "Grep": {
      const pattern = str("pattern");
      const where = str("path");
      const head = pattern === undefined ? "" : quote(pattern);
      return where === undefined ? head : `${head} in ${shortPath(where, workspace)}`;
    }
    case "WebFetch":
      return clip(str("url") ?? "");
    case "WebSearch":
      return quote(str("query") ?? "");
    case "Bash":
      return clip(oneLine(str("command") ?? ""));
    case "Agent":
    case "Task":
      return clip(str("description") ?? "");
    default: {
      const first = Object.values(input).find((v) => typeof v === "string" && v !== "");
      return typeof first === "string" ? quote(first) : "";
    }
  }
}

/** Paths inside the key's workspace are shown relative to it (the client never sees the host's layout). */
function shortPath(p: string, workspace: string): string {
  if (!isAbsolute(p)) return clip(p);
  const rel = relative(workspace, p);
  if (rel === "") return ".";
  if (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel)) return clip(rel);
  return clip(p);
}

function oneLine(s: string): string {
  const line = s.split("\n", 1)[0] ?? "";
  return s.includes("\n") ? `${line} …` : line;
}

function clip(s: string, max = ARG_MAX): string {
  const t = oneLine(s).trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function quote(s: string): string {
  return s === "" ? "" : JSON.stringify(clip(s));
}

/** What a successful tool run produced, in a few words. */
export function successSummary(name: string, structured: unknown, text: string): string {
  const s = typeof structured === "object" && structured !== null ? (structured as Input) : {};
  const file = typeof s.file === "object" && s.file !== null ? (s.file as Input) : undefined;
  if (name === "Read" && typeof file?.numLines === "number") return plural(file.numLines, "line");
  if ((name === "Glob" || name === "Grep") && typeof s.numFiles === "number" && s.mode !== "content") {
    return plural(s.numFiles, "file");
  }
  if (name === "Grep" && typeof s.numLines === "number") return plural(s.numLines, "line");
  if (name === "WebFetch" && typeof s.code === "number") {
    return typeof s.bytes === "number" ? `HTTP ${s.code}, ${plural(s.bytes, "byte")}` : `HTTP ${s.code}`;
  }
  const lines = text.replace(/\s+$/, "");
  if (lines === "") return "done";
  return plural(lines.split("\n").length, "line");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The first line of an error, without Claude Code's `<tool_use_error>` wrapping. */
export function errorSummary(text: string): string {
  const clean = text
    .replace(/<\/?tool_use_error>/g, "")
    .replace(/^Error:\s*/, "")
    .trim();
  return clip(clean === "" ? "failed" : clean, ERROR_MAX);
}

export function okLine(summary: string, label?: string): string {
  return `  ✓ ${label === undefined ? "" : `${label}: `}${summary}`;
}

export function failLine(summary: string, label?: string): string {
  return `  ✗ ${label === undefined ? "" : `${label}: `}${summary}`;
}

export function deniedLine(reason: string, label?: string): string {
  return failLine(`denied: ${clip(reason, ERROR_MAX)}`, label);
}
