// Reading a Messages request the way the scenarios need it: the latest user turn's text (where
// markers live), its tool_result blocks (the second half of an agent loop) and the declared tools.

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export interface ToolResultView {
  toolUseId: string;
  text: string;
  isError: boolean;
}

export interface ToolView {
  name: string;
  inputSchema: Json | undefined;
}

/** The last message with role "user" (Claude Code interleaves role "system" turns; they are skipped). */
export function latestUserMessage(body: Json): Json | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m: unknown = messages[i];
    if (isObject(m) && m.role === "user") return m;
  }
  return undefined;
}

/** The text blocks of a message, in order (a string content is one text). */
export function messageTexts(message: Json | undefined): string[] {
  const content = message?.content;
  if (typeof content === "string") return [content];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const block of content) {
    if (isObject(block) && block.type === "text" && typeof block.text === "string") out.push(block.text);
  }
  return out;
}

export function toolResults(message: Json | undefined): ToolResultView[] {
  const content = message?.content;
  if (!Array.isArray(content)) return [];
  const out: ToolResultView[] = [];
  for (const block of content) {
    if (!isObject(block) || block.type !== "tool_result") continue;
    out.push({
      toolUseId: typeof block.tool_use_id === "string" ? block.tool_use_id : "",
      text: resultText(block.content),
      isError: block.is_error === true,
    });
  }
  return out;
}

function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((b: unknown) => (isObject(b) && b.type === "text" && typeof b.text === "string" ? b.text : ""))
    .filter((t) => t !== "")
    .join("\n");
}

export function declaredTools(body: Json): ToolView[] {
  if (!Array.isArray(body.tools)) return [];
  const out: ToolView[] = [];
  for (const tool of body.tools) {
    if (!isObject(tool) || typeof tool.name !== "string") continue;
    out.push({ name: tool.name, inputSchema: isObject(tool.input_schema) ? tool.input_schema : undefined });
  }
  return out;
}

/** A plausible value for a JSON Schema: enum/const/default first, then one per type; objects get their required properties. */
export function sampleFromSchema(schema: unknown, depth = 0): unknown {
  if (!isObject(schema) || depth > 8) return {};
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ("default" in schema) return schema.default;
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants) && variants.length > 0) return sampleFromSchema(variants[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string":
      return "example";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    case "array":
      return [];
    case "null":
      return null;
    default: {
      const out: Json = {};
      const props = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const key of required) {
        if (typeof key === "string") out[key] = sampleFromSchema(props[key], depth + 1);
      }
      return out;
    }
  }
}
