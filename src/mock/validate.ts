// Request validation with the real API's wording (pydantic-style `path: message`, union tags in
// paths such as `tools.0.custom.name`). It checks what the API rejects and nothing more: unknown
// fields are accepted because new API and beta fields appear all the time.
import { invalidRequest, type MockHttpError } from "./errors.ts";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Content block types the Messages API accepts in request messages. */
export const BLOCK_TYPES = [
  "text",
  "image",
  "document",
  "search_result",
  "thinking",
  "redacted_thinking",
  "tool_use",
  "tool_result",
  "server_tool_use",
  "web_search_tool_result",
  "web_fetch_tool_result",
  "code_execution_tool_result",
  "bash_code_execution_tool_result",
  "text_editor_code_execution_tool_result",
  "tool_search_tool_result",
  "mcp_tool_use",
  "mcp_tool_result",
  "container_upload",
  "compaction",
] as const;
const BLOCK_TYPE_SET: ReadonlySet<string> = new Set(BLOCK_TYPES);
const EXPECTED_BLOCK_TAGS = BLOCK_TYPES.map((t) => `'${t}'`).join(", ");

const ROLES: ReadonlySet<string> = new Set(["user", "assistant", "system"]);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const THINKING_DOC =
  "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size";
/** The API's words when a tool loop continues without the thinking block it started with. */
const THINKING_FIRST =
  "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking";

/** Required fields per block type: [field, expected kind]. */
const REQUIRED: Readonly<Record<string, ReadonlyArray<readonly [string, "string" | "object" | "any"]>>> = {
  text: [["text", "string"]],
  image: [["source", "object"]],
  document: [["source", "object"]],
  tool_use: [
    ["id", "string"],
    ["name", "string"],
    ["input", "object"],
  ],
  server_tool_use: [
    ["id", "string"],
    ["name", "string"],
    ["input", "object"],
  ],
  tool_result: [["tool_use_id", "string"]],
  thinking: [
    ["thinking", "string"],
    ["signature", "string"],
  ],
  redacted_thinking: [["data", "string"]],
};

/** Parses a request body as the API does; a syntax error is a 400 in the API's words. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidRequest(`The request body is not valid JSON: ${describeJsonError(text, err)}`);
  }
}

function describeJsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  let pos = 0;
  let reason = "unexpected character";
  const at = /position (\d+)/.exec(message);
  if (at?.[1] !== undefined) pos = Number(at[1]);
  if (text.trim() === "") {
    pos = text.length;
    reason = "expected value";
  } else if (/end of JSON input/i.test(message) || pos >= text.length) {
    pos = text.length;
    reason = "unexpected end of data";
  }
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${reason}: line ${line} column ${column} (char ${pos})`;
}

/** Validates a POST /v1/messages body (or, with `countTokens`, a count_tokens body). */
export function validateMessagesBody(body: unknown, opts: { countTokens?: boolean } = {}): Json {
  const error = findError(body, opts.countTokens === true);
  if (error) throw error;
  return body as Json;
}

function findError(body: unknown, countTokens: boolean): MockHttpError | undefined {
  if (!isObject(body)) return invalidRequest("Input should be a valid dictionary");
  if (!("model" in body)) return invalidRequest("model: Field required");
  if (typeof body.model !== "string") return invalidRequest("model: Input should be a valid string");
  if (!countTokens) {
    if (!("max_tokens" in body)) return invalidRequest("max_tokens: Field required");
    if (!isInt(body.max_tokens)) return invalidRequest("max_tokens: Input should be a valid integer");
    if (body.max_tokens < 1) return invalidRequest("max_tokens: Input should be greater than or equal to 1");
  }
  const messagesError = checkMessages(body.messages, "messages" in body);
  if (messagesError) return invalidRequest(messagesError);
  const other =
    checkSystem(body.system) ??
    checkTemperature(body.temperature) ??
    checkStream(body.stream, countTokens) ??
    checkStopSequences(body.stop_sequences) ??
    checkTools(body.tools) ??
    checkThinking(body.thinking, countTokens ? undefined : (body.max_tokens as number)) ??
    checkThinkingTurns(body.thinking, body.messages as unknown[]);
  return other === undefined ? undefined : invalidRequest(other);
}

const firstBlockType = (message: Json | undefined): string | undefined => {
  const content = message?.content;
  if (typeof content === "string") return "text";
  if (!Array.isArray(content)) return undefined;
  const first: unknown = content[0];
  return isObject(first) && typeof first.type === "string" ? first.type : undefined;
};

/**
 * Thinking and the turns around it, as the API checks them (its messages, reported by users):
 * with budget thinking on, a tool loop's assistant turn must start with its thinking block
 * ("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`…");
 * with thinking off, a final assistant prefill cannot carry thinking. Adaptive thinking may skip
 * thinking on any step, so a turn without a thinking block is valid history there.
 */
function checkThinkingTurns(thinking: unknown, messages: unknown[]): string | undefined {
  const type = isObject(thinking) ? thinking.type : undefined;
  const last = messages.length - 1;
  const final = messages[last] as Json;
  const content = Array.isArray(final.content) ? (final.content as unknown[]) : [];
  if (type === "enabled" && final.role === "user") {
    if (!content.some((b) => isObject(b) && b.type === "tool_result")) return undefined;
    let a = last - 1;
    while (a >= 0 && (messages[a] as Json).role !== "assistant") a--;
    const found = a < 0 ? undefined : firstBlockType(messages[a] as Json);
    if (found === undefined || found === "thinking" || found === "redacted_thinking") return undefined;
    return `messages.${a}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${found}\`. ${THINKING_FIRST}`;
  }
  if ((type === undefined || type === "disabled") && final.role === "assistant") {
    const at = content.findIndex(
      (b) => isObject(b) && (b.type === "thinking" || b.type === "redacted_thinking"),
    );
    if (at !== -1) {
      return `messages.${last}.content.${at}: When thinking is disabled, an \`assistant\` message in the final position cannot contain \`thinking\`. To use thinking blocks, enable \`thinking\` in your request.`;
    }
  }
  return undefined;
}

function checkMessages(messages: unknown, present: boolean): string | undefined {
  if (!present) return "messages: Field required";
  if (!Array.isArray(messages)) return "messages: Input should be a valid list";
  if (messages.length === 0) return "messages: at least one message is required";
  for (let m = 0; m < messages.length; m++) {
    const message: unknown = messages[m];
    const at = `messages.${m}`;
    if (!isObject(message)) return `${at}: Input should be a valid dictionary`;
    if (!("role" in message)) return `${at}.role: Field required`;
    if (typeof message.role !== "string" || !ROLES.has(message.role)) {
      return `${at}.role: Input should be 'user' or 'assistant'`;
    }
    if (!("content" in message)) return `${at}.content: Field required`;
    const content = message.content;
    const isFinalAssistant = m === messages.length - 1 && message.role === "assistant";
    if (typeof content === "string") {
      if (content === "" && !isFinalAssistant) {
        return `${at}: all messages must have non-empty content except for the optional final assistant message`;
      }
      continue;
    }
    if (!Array.isArray(content)) return `${at}.content: Input should be a valid list`;
    if (content.length === 0 && !isFinalAssistant) {
      return `${at}: all messages must have non-empty content except for the optional final assistant message`;
    }
    for (let b = 0; b < content.length; b++) {
      const error = checkBlock(content[b], `${at}.content.${b}`);
      if (error) return error;
    }
  }
  return undefined;
}

function checkBlock(block: unknown, at: string): string | undefined {
  if (!isObject(block)) return `${at}: Input should be a valid dictionary`;
  const type = block.type;
  if (typeof type !== "string") return `${at}: Unable to extract tag using discriminator 'type'`;
  if (!BLOCK_TYPE_SET.has(type)) {
    return `${at}: Input tag '${type}' found using 'type' does not match any of the expected tags: ${EXPECTED_BLOCK_TAGS}`;
  }
  for (const [field, kind] of REQUIRED[type] ?? []) {
    if (!(field in block)) return `${at}.${type}.${field}: Field required`;
    const value = block[field];
    if (kind === "string" && typeof value !== "string")
      return `${at}.${type}.${field}: Input should be a valid string`;
    if (kind === "object" && !isObject(value))
      return `${at}.${type}.${field}: Input should be a valid dictionary`;
  }
  if (type === "text") {
    const text = block.text as string;
    if (text === "") return "messages: text content blocks must be non-empty";
    if (text.trim() === "") return "messages: text content blocks must contain non-whitespace text";
  }
  return undefined;
}

function checkSystem(system: unknown): string | undefined {
  if (system === undefined || typeof system === "string") return undefined;
  if (!Array.isArray(system)) return "system: Input should be a valid string";
  for (let i = 0; i < system.length; i++) {
    const block: unknown = system[i];
    if (!isObject(block)) return `system.${i}: Input should be a valid dictionary`;
    if (block.type !== "text") {
      return `system.${i}.type: Input should be 'text'`;
    }
    if (typeof block.text !== "string") return `system.${i}.text: Field required`;
  }
  return undefined;
}

function checkTemperature(t: unknown): string | undefined {
  if (t === undefined || t === null) return undefined;
  if (typeof t !== "number" || !Number.isFinite(t)) return "temperature: Input should be a valid number";
  if (t > 1) return "temperature: Input should be less than or equal to 1";
  if (t < 0) return "temperature: Input should be greater than or equal to 0";
  return undefined;
}

function checkStream(stream: unknown, countTokens: boolean): string | undefined {
  if (countTokens || stream === undefined || typeof stream === "boolean") return undefined;
  return "stream: Input should be a valid boolean";
}

function checkStopSequences(stops: unknown): string | undefined {
  if (stops === undefined || stops === null) return undefined;
  if (!Array.isArray(stops)) return "stop_sequences: Input should be a valid list";
  const bad = stops.findIndex((s) => typeof s !== "string");
  return bad === -1 ? undefined : `stop_sequences.${bad}: Input should be a valid string`;
}

function checkTools(tools: unknown): string | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return "tools: Input should be a valid list";
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isObject(tool)) return `tools.${i}: Input should be a valid dictionary`;
    // Custom tools carry no type (or "custom"); server tools are tagged with their versioned type.
    const tag = typeof tool.type === "string" && tool.type !== "custom" ? tool.type : "custom";
    const at = `tools.${i}.${tag}`;
    if (!("name" in tool)) return `${at}.name: Field required`;
    if (typeof tool.name !== "string") return `${at}.name: Input should be a valid string`;
    if (tag !== "custom") continue;
    if (!TOOL_NAME.test(tool.name)) return `${at}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
    // The API also requires input_schema; the mock only checks one that is there, because the
    // recorded Claude Code requests it must accept abbreviate tool definitions to their names.
    if ("input_schema" in tool && !isObject(tool.input_schema)) {
      return `${at}.input_schema: Input should be a valid dictionary`;
    }
  }
  return undefined;
}

function checkThinking(thinking: unknown, maxTokens: number | undefined): string | undefined {
  if (thinking === undefined || thinking === null) return undefined;
  if (!isObject(thinking)) return "thinking: Input should be a valid dictionary";
  const type = thinking.type;
  if (typeof type !== "string") return "thinking: Unable to extract tag using discriminator 'type'";
  if (type === "disabled" || type === "adaptive") return undefined;
  if (type !== "enabled") {
    return `thinking: Input tag '${type}' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'`;
  }
  const budget = thinking.budget_tokens;
  if (budget === undefined) return "thinking.enabled.budget_tokens: Field required";
  if (!isInt(budget)) return "thinking.enabled.budget_tokens: Input should be a valid integer";
  if (budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
  if (maxTokens !== undefined && budget >= maxTokens) {
    return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${THINKING_DOC}`;
  }
  return undefined;
}
