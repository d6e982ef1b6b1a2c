// The agent's run (SDK messages, several model turns) → ONE Anthropic assistant message as stream
// events: message_start, content blocks numbered 0.. in order, message_delta, message_stop. Text and
// thinking stream as they arrive (from `stream_event`s); tool calls and their outcomes become short
// lines inside text blocks. Consecutive text stays in one block, so `content[0].text` readers get it all.
import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import type { StreamEvent, Usage } from "../shared/anthropic/types.ts";
import { tokensForChars } from "../shared/estimate.ts";
import { emptyUsage, type TokenUsage } from "../shared/pricing.ts";
import { applyUsage } from "../shared/usage.ts";
import {
  callLine,
  deniedLine,
  displayName,
  errorSummary,
  failLine,
  okLine,
  successSummary,
} from "./tool-lines.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface RenderOptions {
  messageId: string;
  /** The model named in message_start. */
  model: string;
  /** The key's workspace: paths inside it are shown relative. */
  workspace: string;
}

/** An API error the agent reported as a synthetic assistant message (`error` set). */
export interface AgentApiError {
  kind: string;
  message: string;
}

interface ToolCall {
  name: string;
  line: string;
}

export const RETRY_NOTE =
  "[The model's answer broke off and the agent asked again, so part of the text above may repeat.]";

const TEXT = 1;
const THINKING = 2;
const OTHER = 3;

export class AgentRenderer {
  readonly #opts: RenderOptions;
  #started = false;
  #index = -1;
  #open: typeof TEXT | typeof THINKING | null = null;
  /** Everything written into text blocks, for the session digest. */
  #text = "";
  #afterTool = false;
  #lastCallId: string | null = null;
  /** Block kinds of the upstream turn being streamed, by its block index. */
  #upstream = new Map<number, number>();
  #signature = "";
  #streamed = new Set<string>();
  #calls = new Map<string, ToolCall>();
  #denials = new Map<string, string>();
  #turnUsage = new Map<string, TokenUsage>();
  /** Characters each turn streamed (text, thinking, tool input), for a turn cut off before its usage. */
  #turnChars = new Map<string, number>();
  /** Turns whose final usage (message_delta) arrived. */
  #turnsDone = new Set<string>();
  #currentTurn = "";
  /** Length of #text when the current upstream turn began. */
  #turnTextStart = 0;
  #firstUsage: Obj | undefined;
  #lastStopReason: string | null = null;
  #apiError: AgentApiError | undefined;

  constructor(opts: RenderOptions) {
    this.#opts = opts;
  }

  /** True once message_start went out. */
  get started(): boolean {
    return this.#started;
  }

  get text(): string {
    return this.#text;
  }

  get apiError(): AgentApiError | undefined {
    return this.#apiError;
  }

  /** The stop reason of the agent's last model turn. */
  get lastStopReason(): string | null {
    return this.#lastStopReason;
  }

  /**
   * Usage summed over the turns seen in the stream: what an interrupted run reports (no result
   * arrives). A turn cut off before its message_delta counts at least what it streamed.
   */
  get streamedUsage(): TokenUsage {
    const sum = emptyUsage();
    for (const [turn, u] of this.#turnUsage) {
      if (this.#turnsDone.has(turn)) addUsage(sum, u);
      else
        addUsage(sum, {
          ...u,
          output_tokens: Math.max(u.output_tokens, tokensForChars(this.#turnChars.get(turn) ?? 0)),
        });
    }
    return sum;
  }

  /** Whether streamedUsage holds an estimate: a turn was cut off before it reported its usage. */
  get usageEstimated(): boolean {
    for (const turn of this.#turnUsage.keys()) if (!this.#turnsDone.has(turn)) return true;
    return false;
  }

  /** A denial decided by the sidecar's policy (canUseTool / the PreToolUse hook), shown with its reason. */
  noteDenial(toolUseId: string, reason: string): void {
    this.#denials.set(toolUseId, reason);
  }

  /** message_start, if not sent yet. */
  begin(): StreamEvent[] {
    if (this.#started) return [];
    this.#started = true;
    const usage: Usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    if (this.#firstUsage) {
      for (const k of ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] as const) {
        const v = this.#firstUsage[k];
        if (typeof v === "number") usage[k] = v;
      }
    }
    return [
      {
        type: "message_start",
        message: {
          id: this.#opts.messageId,
          type: "message",
          role: "assistant",
          model: this.#opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage,
        },
      },
    ];
  }

  push(m: SDKMessage): StreamEvent[] {
    switch (m.type) {
      case "stream_event": {
        if (m.parent_tool_use_id !== null) return [];
        const out = this.#streamEvent(m.event as unknown as Obj);
        // The model's stream broke off and the CLI asked again (non-streaming): what was shown of the
        // abandoned turn cannot be taken back, so say that it may repeat.
        if ((m as unknown as Obj).abandoned_blocks !== undefined && this.#text.length > this.#turnTextStart) {
          out.push(...this.#writeText(`${this.#separator(true)}${RETRY_NOTE}\n\n`));
          this.#afterTool = false;
        }
        return out;
      }
      case "assistant":
        return m.parent_tool_use_id === null ? this.#assistant(m as unknown as Obj) : [];
      case "user":
        return m.parent_tool_use_id === null ? this.#user(m as unknown as Obj) : [];
      case "system":
        // A call the permission mode or rules refused: nobody answers prompts here. (The CLI's own
        // message is a paragraph written for the model; the client gets the gist.)
        if (m.subtype === "permission_denied" && !this.#denials.has(m.tool_use_id)) {
          this.#denials.set(m.tool_use_id, "needs approval, which this sidecar does not give");
        }
        return [];
      default:
        return [];
    }
  }

  /** Closes the answer: an optional note, the open block, message_delta with the run's usage, message_stop. */
  finish(stopReason: string, usage: TokenUsage, note?: string): StreamEvent[] {
    const out = this.begin();
    if (note !== undefined) out.push(...this.#writeText(`${this.#separator(true)}${note}`));
    if (this.#index === -1) out.push(...this.#openText()); // an empty answer still has a text block
    out.push(...this.#close());
    out.push({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: apiUsage(usage),
    });
    out.push({ type: "message_stop" });
    return out;
  }

  /** Closes the open block before an in-stream error. */
  fail(): StreamEvent[] {
    return this.#close();
  }

  #streamEvent(ev: Obj): StreamEvent[] {
    switch (ev.type) {
      case "message_start": {
        const msg = isObj(ev.message) ? ev.message : {};
        this.#currentTurn = typeof msg.id === "string" ? msg.id : `turn_${this.#turnUsage.size}`;
        this.#streamed.add(this.#currentTurn);
        const u = emptyUsage();
        applyUsage(u, msg.usage);
        this.#turnUsage.set(this.#currentTurn, u);
        this.#firstUsage ??= isObj(msg.usage) ? msg.usage : undefined;
        this.#upstream.clear();
        this.#turnTextStart = this.#text.length;
        return this.begin();
      }
      case "message_delta": {
        const u = this.#turnUsage.get(this.#currentTurn);
        if (u) applyUsage(u, ev.usage);
        if (isObj(ev.usage)) this.#turnsDone.add(this.#currentTurn);
        if (isObj(ev.delta) && typeof ev.delta.stop_reason === "string")
          this.#lastStopReason = ev.delta.stop_reason;
        return [];
      }
      case "content_block_start":
        return this.#blockStart(ev);
      case "content_block_delta":
        return this.#blockDelta(ev);
      case "content_block_stop": {
        const kind = typeof ev.index === "number" ? this.#upstream.get(ev.index) : undefined;
        if (kind !== THINKING || this.#open !== THINKING) return [];
        const out: StreamEvent[] = [];
        if (this.#signature !== "") {
          out.push({
            type: "content_block_delta",
            index: this.#index,
            delta: { type: "signature_delta", signature: this.#signature },
          });
        }
        return out.concat(this.#close());
      }
      default:
        return []; // message_stop of a turn, ping
    }
  }

  #blockStart(ev: Obj): StreamEvent[] {
    const block = isObj(ev.content_block) ? ev.content_block : {};
    if (typeof ev.index !== "number") return [];
    if (block.type === "text") {
      this.#upstream.set(ev.index, TEXT);
      return typeof block.text === "string" && block.text !== "" ? this.#agentText(block.text) : [];
    }
    if (block.type === "thinking") {
      this.#upstream.set(ev.index, THINKING);
      this.#signature = "";
      const out = this.#openThinking();
      if (typeof block.thinking === "string" && block.thinking !== "")
        out.push(...this.#thinking(block.thinking));
      return out;
    }
    this.#upstream.set(ev.index, OTHER); // tool_use (rendered from the whole assistant message), redacted thinking
    return [];
  }

  #blockDelta(ev: Obj): StreamEvent[] {
    const kind = typeof ev.index === "number" ? this.#upstream.get(ev.index) : undefined;
    const d = isObj(ev.delta) ? ev.delta : {};
    const piece = d.text ?? d.thinking ?? d.partial_json;
    if (typeof piece === "string")
      this.#turnChars.set(this.#currentTurn, (this.#turnChars.get(this.#currentTurn) ?? 0) + piece.length);
    if (kind === TEXT && d.type === "text_delta" && typeof d.text === "string" && d.text !== "") {
      return this.#agentText(d.text);
    }
    if (
      kind === THINKING &&
      d.type === "thinking_delta" &&
      typeof d.thinking === "string" &&
      d.thinking !== ""
    ) {
      return this.#open === THINKING ? this.#thinking(d.thinking) : [];
    }
    if (kind === THINKING && d.type === "signature_delta" && typeof d.signature === "string") {
      this.#signature += d.signature;
    }
    return [];
  }

  #assistant(m: Obj): StreamEvent[] {
    const msg = isObj(m.message) ? m.message : {};
    if (typeof m.error === "string") {
      const content = Array.isArray(msg.content) ? msg.content : [];
      const text = content
        .map((b: unknown) => (isObj(b) && typeof b.text === "string" ? b.text : ""))
        .join("")
        .trim();
      this.#apiError = { kind: m.error, message: text };
      return [];
    }
    if (msg.model === "<synthetic>" || !Array.isArray(msg.content)) return [];
    const streamed = typeof msg.id === "string" && this.#streamed.has(msg.id);
    const out: StreamEvent[] = [];
    for (const b of msg.content as unknown[]) {
      if (!isObj(b)) continue;
      if (b.type === "tool_use" && typeof b.id === "string" && typeof b.name === "string") {
        out.push(...this.begin(), ...this.#toolCall(b.id, b.name, b.input));
      } else if (!streamed && b.type === "text" && typeof b.text === "string" && b.text !== "") {
        out.push(...this.begin(), ...this.#agentText(b.text)); // a turn that came without stream events
      }
    }
    return out;
  }

  #user(m: Obj): StreamEvent[] {
    const msg = isObj(m.message) ? m.message : {};
    if (!Array.isArray(msg.content)) return [];
    const rejected = new Set<string>();
    if (Array.isArray(m.tool_result_meta)) {
      for (const meta of m.tool_result_meta as unknown[]) {
        if (isObj(meta) && typeof meta.id === "string" && isObj(meta.permission_decision)) {
          if (meta.permission_decision.decision === "reject") rejected.add(meta.id);
        }
      }
    }
    const out: StreamEvent[] = [];
    for (const b of msg.content as unknown[]) {
      if (!isObj(b) || b.type !== "tool_result" || typeof b.tool_use_id !== "string") continue;
      const call = this.#calls.get(b.tool_use_id);
      if (call === undefined) continue;
      const label = this.#lastCallId === b.tool_use_id ? undefined : call.line.slice(2);
      const text = resultText(b.content);
      let line: string;
      const denial = this.#denials.get(b.tool_use_id);
      if (denial !== undefined) line = deniedLine(denial, label);
      else if (/No such tool available/.test(text))
        line = deniedLine(`${displayName(call.name)} is not enabled on this sidecar`, label);
      else if (rejected.has(b.tool_use_id)) line = deniedLine(errorSummary(text), label);
      else if (b.is_error === true) line = failLine(errorSummary(text), label);
      else line = okLine(successSummary(call.name, m.tool_use_result, text), label);
      out.push(...this.#writeText(`${line}\n`));
      this.#lastCallId = null;
      this.#afterTool = true;
    }
    return out;
  }

  #toolCall(id: string, name: string, input: unknown): StreamEvent[] {
    const line = callLine(name, input, this.#opts.workspace);
    this.#calls.set(id, { name, line });
    const out = this.#writeText(`${this.#separator(false)}${line}\n`);
    this.#lastCallId = id;
    this.#afterTool = true;
    return out;
  }

  /** Newlines so a tool line or a note starts its own paragraph after prose (not after another tool line). */
  #separator(note: boolean): string {
    if (this.#text === "") return "";
    if (this.#afterTool && !note) return "";
    if (this.#text.endsWith("\n\n")) return "";
    return this.#text.endsWith("\n") ? "\n" : "\n\n";
  }

  #agentText(text: string): StreamEvent[] {
    const lead = this.#afterTool ? "\n" : "";
    this.#afterTool = false;
    this.#lastCallId = null;
    return this.#writeText(lead + text);
  }

  #writeText(text: string): StreamEvent[] {
    const out = this.begin();
    if (this.#open !== TEXT) out.push(...this.#close(), ...this.#openText());
    this.#text += text;
    out.push({ type: "content_block_delta", index: this.#index, delta: { type: "text_delta", text } });
    return out;
  }

  #openText(): StreamEvent[] {
    this.#open = TEXT;
    this.#index++;
    return [{ type: "content_block_start", index: this.#index, content_block: { type: "text", text: "" } }];
  }

  #openThinking(): StreamEvent[] {
    const out = [...this.begin(), ...this.#close()];
    this.#open = THINKING;
    this.#index++;
    out.push({
      type: "content_block_start",
      index: this.#index,
      content_block: { type: "thinking", thinking: "", signature: "" },
    });
    return out;
  }

  #thinking(text: string): StreamEvent[] {
    return [
      { type: "content_block_delta", index: this.#index, delta: { type: "thinking_delta", thinking: text } },
    ];
  }

  #close(): StreamEvent[] {
    if (this.#open === null) return [];
    this.#open = null;
    return [{ type: "content_block_stop", index: this.#index }];
  }
}

function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((c: unknown) => (isObj(c) && typeof c.text === "string" ? c.text : "")).join("\n");
}

export function addUsage(into: TokenUsage, u: TokenUsage): void {
  into.input_tokens += u.input_tokens;
  into.output_tokens += u.output_tokens;
  into.cache_creation_input_tokens += u.cache_creation_input_tokens;
  into.cache_read_input_tokens += u.cache_read_input_tokens;
  if (u.cache_creation_5m !== undefined)
    into.cache_creation_5m = (into.cache_creation_5m ?? 0) + u.cache_creation_5m;
  if (u.cache_creation_1h !== undefined)
    into.cache_creation_1h = (into.cache_creation_1h ?? 0) + u.cache_creation_1h;
  if (u.web_search_requests !== undefined)
    into.web_search_requests = (into.web_search_requests ?? 0) + u.web_search_requests;
}

/** TokenUsage in the API's shape, for message_delta and the JSON `usage`. */
export function apiUsage(u: TokenUsage): Usage {
  const out: Usage = {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
  };
  if (u.cache_creation_5m !== undefined || u.cache_creation_1h !== undefined) {
    out.cache_creation = {
      ephemeral_5m_input_tokens: u.cache_creation_5m ?? 0,
      ephemeral_1h_input_tokens: u.cache_creation_1h ?? 0,
    };
  }
  if (u.web_search_requests !== undefined)
    out.server_tool_use = { web_search_requests: u.web_search_requests };
  return out;
}
