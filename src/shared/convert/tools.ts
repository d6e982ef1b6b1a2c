// OpenAI `tools`/`functions`, `tool_choice`/`function_call` and `parallel_tool_calls` → Anthropic
// `tools` and `tool_choice`.
import { z } from "zod";
import type { Tool, ToolChoice } from "../anthropic/types.ts";
import { strictSchema } from "./schema.ts";
import { invalid, parseAt } from "./validate.ts";

const FunctionDef = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
const ChatTool = z.looseObject({ type: z.string(), function: z.unknown().optional() });
const NamedChoice = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: z.string().min(1) }),
});

export interface ToolInput {
  tools?: unknown[] | null | undefined;
  functions?: unknown[] | null | undefined;
  tool_choice?: unknown;
  function_call?: unknown;
  parallel_tool_calls?: boolean | null | undefined;
}

export interface ConvertedTools {
  tools?: Tool[];
  tool_choice?: ToolChoice;
  /** For the system prompt: the forcing choice the model cannot take, said in words. */
  instruction?: string;
}

/** What the target model takes (see capabilities.ts). */
export interface ToolCapabilities {
  structuredOutputs: boolean;
  forcedToolChoice: boolean;
}

export function convertTools(req: ToolInput, caps: ToolCapabilities): ConvertedTools {
  const tools: Tool[] = [];
  const list = req.tools ?? [];
  for (let i = 0; i < list.length; i++) {
    const t = parseAt(ChatTool, list[i], `tools[${i}]`);
    if (t.type !== "function") {
      throw invalid(`tools[${i}].type`, `Tool type '${t.type}' is not supported by Claude; only 'function'.`);
    }
    tools.push(toolFrom(parseAt(FunctionDef, t.function, `tools[${i}].function`), caps));
  }
  const fns = req.functions ?? [];
  for (let i = 0; i < fns.length; i++)
    tools.push(toolFrom(parseAt(FunctionDef, fns[i], `functions[${i}]`), caps));

  const hasChoice = req.tool_choice !== undefined && req.tool_choice !== null;
  let choice = hasChoice
    ? toolChoice(req.tool_choice, "tool_choice")
    : legacyChoice(req.function_call, "function_call");
  if (tools.length === 0) {
    // Without tools only "no tool" choices make sense; OpenAI refuses the others too.
    if (choice !== undefined && choice.type !== "auto" && choice.type !== "none") {
      throw invalid(
        hasChoice ? "tool_choice" : "function_call",
        "A tool choice that forces a tool needs 'tools'.",
      );
    }
    return {};
  }
  let instruction: string | undefined;
  if (!caps.forcedToolChoice && (choice?.type === "any" || choice?.type === "tool")) {
    // The model answers 400 to a forcing choice: it is asked in words instead, with `auto`.
    instruction =
      choice.type === "tool"
        ? `You must call the tool \`${choice.name}\` in this response.`
        : "You must call at least one of the available tools in this response.";
    choice =
      choice.disable_parallel_tool_use === true
        ? { type: "auto", disable_parallel_tool_use: true }
        : { type: "auto" };
  }
  if (req.parallel_tool_calls === false && choice?.type !== "none") {
    choice = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  }
  const out: ConvertedTools = choice === undefined ? { tools } : { tools, tool_choice: choice };
  if (instruction !== undefined) out.instruction = instruction;
  return out;
}

function toolFrom(fn: z.output<typeof FunctionDef>, caps: ToolCapabilities): Tool {
  const params = fn.parameters ?? { type: "object", properties: {} };
  // input_schema must be an object schema; a bare `{}` or a schema without `type` means "object".
  const schema = params.type === undefined ? { type: "object", ...params } : params;
  // Anthropic's strict tool use (schema-valid inputs guaranteed) where the model has it; elsewhere
  // the tool goes as a plain one, its schema untouched.
  const strict = fn.strict === true && caps.structuredOutputs;
  const tool: Tool = { name: fn.name, input_schema: strict ? strictSchema(schema) : schema };
  if (typeof fn.description === "string") tool.description = fn.description;
  if (strict) tool.strict = true;
  return tool;
}

function toolChoice(value: unknown, param: string): ToolChoice {
  switch (value) {
    case "auto":
      return { type: "auto" };
    case "required":
      return { type: "any" };
    case "none":
      return { type: "none" };
  }
  if (typeof value === "object" && value !== null && (value as { type?: unknown }).type === "function") {
    return { type: "tool", name: parseAt(NamedChoice, value, param).function.name };
  }
  throw invalid(
    param,
    `Invalid value for '${param}': use "auto", "required", "none" or {"type":"function","function":{"name":…}}.`,
  );
}

function legacyChoice(value: unknown, param: string): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "auto") return { type: "auto" };
  if (value === "none") return { type: "none" };
  if (typeof value === "object" && typeof (value as { name?: unknown }).name === "string") {
    return { type: "tool", name: (value as { name: string }).name };
  }
  throw invalid(param, `Invalid value for '${param}': use "auto", "none" or {"name": …}.`);
}
