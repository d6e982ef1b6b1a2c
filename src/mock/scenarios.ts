// Chooses what the mock answers to one Messages request: the scenario named by the `x-mock-scenario`
// header or a `[[mock:…]]` marker in the latest user turn (the header wins), else an answer to the
// tool results just received, else plain text. The result is a Plan: an answer, an error or a
// fixture replay, plus delivery faults (delays, a dropped connection, a mid-stream error).
import type { StopReason } from "../shared/anthropic/types.ts";
import type { Answer, BlockPlan, ToolUseBlockPlan } from "./answer.ts";
import {
  declaredTools,
  isObject,
  latestUserMessage,
  messageTexts,
  sampleFromSchema,
  type ToolView,
  toolResults,
} from "./conversation.ts";
import { defaultErrorMessage, errorTypeFor } from "./errors.ts";
import { newSignature, newToolUseId } from "./ids.ts";
import type { MidstreamError } from "./render.ts";
import {
  findMarker,
  flagParam,
  intParam,
  parseSpec,
  type ScenarioSpec,
  SpecError,
  stringParam,
  stripMarkers,
} from "./spec.ts";

type Json = Record<string, unknown>;

export interface Delivery {
  /** Delay before the response headers. */
  ttfbMs: number;
  /** Delay before each stream event. */
  delayMs: number;
  /** Destroy the connection after this many events (streams) or before any response (non-streaming). */
  dropAfter: number | undefined;
  midstreamError: MidstreamError | undefined;
  cacheRead: number;
  cacheWrite: number;
}

export type Plan = { scenario: string; delivery: Delivery } & (
  | { kind: "answer"; answer: Answer }
  | ({ kind: "error" } & ErrorPlan)
  | { kind: "replay"; file: string }
);

export const SCENARIOS = [
  "text",
  "default",
  "tool",
  "parallel",
  "tool_result",
  "thinking",
  "replay",
  "error",
  "midstream_error",
  "drop",
  "slow",
  "long",
  "max_tokens",
  "refusal",
  "pause_turn",
  "stop_sequence",
  "cache",
  "echo",
] as const;
const KNOWN: ReadonlySet<string> = new Set(SCENARIOS);

const ERROR_STATUSES: ReadonlySet<number> = new Set([400, 401, 402, 403, 404, 405, 413, 429, 500, 504, 529]);

/** The spec in force for a request: the header's, else the latest user turn's marker. */
export function scenarioSpec(body: Json, header: string | undefined): ScenarioSpec | undefined {
  if (header !== undefined && header.trim() !== "") return parseSpec(header);
  for (const text of messageTexts(latestUserMessage(body))) {
    const spec = findMarker(text);
    if (spec) return spec;
  }
  return undefined;
}

export function planFor(body: Json, header: string | undefined, rawBody: Buffer): Plan {
  const spec = scenarioSpec(body, header);
  const last = latestUserMessage(body);
  const results = toolResults(last);
  const name = spec?.name ?? (results.length > 0 ? "tool_result" : "text");
  const params = spec?.params ?? {};
  if (!KNOWN.has(name)) throw new SpecError(`unknown scenario "${name}" (known: ${SCENARIOS.join(", ")})`);

  const delivery: Delivery = {
    ttfbMs: intParam(params, "ttfb", 0),
    delayMs: intParam(params, "delay", name === "slow" ? 100 : 0),
    dropAfter: name === "drop" ? intParam(params, "after", 3) : undefined,
    midstreamError:
      name === "midstream_error"
        ? {
            after: intParam(params, "after", 2),
            type: stringParam(params, "type") ?? "overloaded_error",
            message: stringParam(params, "message") ?? "Overloaded",
          }
        : undefined,
    cacheRead: intParam(params, "read", 0),
    cacheWrite: intParam(params, "write", 0),
  };
  const base = { scenario: name, delivery };

  if (name === "error") return { ...base, kind: "error", ...errorFromParams(params) };
  if (name === "replay") {
    const file = stringParam(params, "file");
    if (file === undefined || file === "") throw new SpecError("replay needs file=<name>");
    return { ...base, kind: "replay", file };
  }
  return { ...base, kind: "answer", answer: answerFor(name, params, body, rawBody) };
}

export interface ErrorPlan {
  status: number;
  type: string;
  message: string;
  retryAfter: number | undefined;
}

/** `error status=… [type=…] [message="…"] [retry_after=S]`; usable on any endpoint. */
export function errorFromParams(params: Json): ErrorPlan {
  const status = intParam(params, "status", 500);
  if (!ERROR_STATUSES.has(status))
    throw new SpecError(`status must be one of ${[...ERROR_STATUSES].join(", ")}`);
  const retryDefault = status === 429 || status === 529 ? 1 : undefined;
  return {
    status,
    type: stringParam(params, "type") ?? errorTypeFor(status),
    message: stringParam(params, "message") ?? defaultErrorMessage(status),
    retryAfter: params.retry_after === undefined ? retryDefault : intParam(params, "retry_after", 1),
  };
}

function answerFor(name: string, params: Json, body: Json, rawBody: Buffer): Answer {
  const textParam = stringParam(params, "text");
  const reply = textParam ?? defaultReply(body);
  const text = (t: string): BlockPlan => ({ type: "text", text: t });
  const end = (blocks: BlockPlan[], stopReason: StopReason = "end_turn"): Answer => ({
    blocks,
    stopReason,
    stopSequence: null,
  });
  switch (name) {
    case "tool":
      return toolAnswer(params, body, textParam);
    case "parallel":
      return parallelAnswer(params, body, textParam);
    case "tool_result":
      return end([text(textParam ?? toolResultReply(body))]);
    case "thinking":
      return end([
        {
          type: "thinking",
          thinking: stringParam(params, "thinking") ?? thinkingText(body),
          signature: newSignature(),
        },
        text(reply),
      ]);
    case "long": {
      const count = intParam(params, "count", 1000, 1);
      const words = Array.from({ length: count }, (_, i) => LONG_WORDS[i % LONG_WORDS.length]);
      return end([{ type: "text", text: words.join(" "), wordsPerDelta: 1 }]);
    }
    case "max_tokens": {
      const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 1;
      return end([text(reply.slice(0, Math.max(1, maxTokens * 4)))], "max_tokens");
    }
    case "refusal":
      return {
        blocks: [text(textParam ?? "I can't help with that request.")],
        stopReason: "refusal",
        stopSequence: null,
        stopDetails: {
          type: "refusal",
          category: "cyber",
          explanation: "This request was refused due to policy.",
        },
      };
    case "pause_turn":
      return end([text(reply)], "pause_turn");
    case "stop_sequence": {
      const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
      const seq = stringParam(params, "sequence") ?? (typeof stops[0] === "string" ? stops[0] : undefined);
      if (seq === undefined) return end([text(reply)]);
      return { blocks: [text(reply)], stopReason: "stop_sequence", stopSequence: seq };
    }
    case "echo":
      return end([text(rawBody.toString("utf8"))]);
    default:
      // text, default, cache, slow, drop, midstream_error: a plain text answer.
      return end([text(reply)]);
  }
}

function toolAnswer(params: Json, body: Json, textParam: string | undefined): Answer {
  const tools = declaredTools(body);
  const name = stringParam(params, "name") ?? tools[0]?.name;
  if (name === undefined) {
    return { blocks: [{ type: "text", text: NO_TOOLS }], stopReason: "end_turn", stopSequence: null };
  }
  const tool = tools.find((t) => t.name === name);
  const block = toolUse(name, params.input, tool);
  const blocks: BlockPlan[] = [];
  if (!flagParam(params, "notext")) blocks.push({ type: "text", text: textParam ?? `I'll use ${name}.` });
  blocks.push(block);
  return { blocks, stopReason: "tool_use", stopSequence: null };
}

function parallelAnswer(params: Json, body: Json, textParam: string | undefined): Answer {
  const tools = declaredTools(body);
  let calls: ToolUseBlockPlan[];
  if (params.calls !== undefined) {
    if (!Array.isArray(params.calls)) throw new SpecError("calls must be a JSON array of {name, input}");
    calls = params.calls.map((call: unknown, i) => {
      if (typeof call !== "object" || call === null || typeof (call as Json).name !== "string") {
        throw new SpecError(`calls[${i}] needs a "name"`);
      }
      const { name, input } = call as { name: string; input?: unknown };
      return toolUse(
        name,
        input,
        tools.find((t) => t.name === name),
      );
    });
  } else {
    if (tools.length === 0) {
      return { blocks: [{ type: "text", text: NO_TOOLS }], stopReason: "end_turn", stopSequence: null };
    }
    const count = intParam(params, "count", 2, 1);
    calls = Array.from({ length: count }, (_, i) => {
      const tool = tools[i % tools.length] as ToolView;
      return toolUse(tool.name, undefined, tool);
    });
  }
  const blocks: BlockPlan[] = [];
  if (!flagParam(params, "notext")) {
    blocks.push({ type: "text", text: textParam ?? `I'll use ${calls.map((c) => c.name).join(" and ")}.` });
  }
  blocks.push(...calls);
  return { blocks, stopReason: "tool_use", stopSequence: null };
}

function toolUse(name: string, input: unknown, tool: ToolView | undefined): ToolUseBlockPlan {
  let value = input;
  if (value === undefined) value = tool?.inputSchema ? sampleFromSchema(tool.inputSchema) : {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SpecError("input must be a JSON object");
  }
  return { type: "tool_use", id: newToolUseId(), name, input: value as Json };
}

const NO_TOOLS = "I would use a tool here, but this request declares no tools.";

const LONG_WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];

/** The user's latest words, markers removed, squeezed and shortened for the echo. */
function userEcho(body: Json): string {
  const texts = messageTexts(latestUserMessage(body));
  const last = texts.length > 0 ? (texts[texts.length - 1] as string) : "";
  const squeezed = stripMarkers(last).replace(/\s+/g, " ").trim();
  return squeezed.length > 80 ? `${squeezed.slice(0, 80)}…` : squeezed;
}

/**
 * The default text answer: with structured outputs (`output_config.format` json_schema) a JSON
 * document valid for the schema, as the API guarantees; otherwise a fixed sentence echoing the
 * latest user text (markers removed).
 */
export function defaultReply(body: Json): string {
  const format = isObject(body.output_config) ? body.output_config.format : undefined;
  if (isObject(format) && format.type === "json_schema")
    return JSON.stringify(sampleFromSchema(format.schema));
  const echo = userEcho(body);
  return echo === ""
    ? "Hello from the mock Anthropic upstream."
    : `Hello from the mock Anthropic upstream. You said: "${echo}"`;
}

function thinkingText(body: Json): string {
  const echo = userEcho(body);
  return `The user wrote ${echo === "" ? "nothing in particular" : `"${echo}"`}. This is a mock, so I will answer briefly and deterministically. Let me write the reply.`;
}

function toolResultReply(body: Json): string {
  const results = toolResults(latestUserMessage(body));
  return results.map((r) => `${r.isError ? "Tool error" : "Tool result"}: ${r.text}`).join("\n");
}
