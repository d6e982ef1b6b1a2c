// OpenAI `response_format` → Anthropic structured outputs (`output_config.format`, GA, no beta
// header). `json_schema` is enforced by constrained decoding; `json_object` ("any JSON object")
// cannot be: the grammar requires `additionalProperties: false` on every object, so an open object
// schema is a 400 upstream. It becomes a system instruction instead, which is also how OpenAI's own
// JSON mode works (it requires the prompt to ask for JSON).
import { z } from "zod";
import type { MessageCreateParams, TextBlock } from "../anthropic/types.ts";
import { strictSchema } from "./schema.ts";
import { invalid, parseAt } from "./validate.ts";

export const JSON_OBJECT_INSTRUCTION =
  "Respond with a single valid JSON object and nothing else: no prose before or after it, no Markdown code fences.";

const Format = z.looseObject({ type: z.string() }, { error: "expected an object with a 'type'" });
const JsonSchemaFormat = z.looseObject({
  type: z.literal("json_schema"),
  json_schema: z.looseObject({
    name: z.string().optional(),
    description: z.string().nullish(),
    schema: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

/**
 * Models without structured outputs (Opus 4.1 and older, see capabilities.ts) get the schema in
 * words: the same JSON-only instruction, with the schema the answer must follow.
 */
export function schemaInstruction(schema: Record<string, unknown>): string {
  return `${JSON_OBJECT_INSTRUCTION} It must conform to this JSON Schema:\n${JSON.stringify(schema)}`;
}

/** Applies `response_format`; `system` is the request's system block list, appended to when needed. */
export function applyResponseFormat(
  out: MessageCreateParams,
  system: TextBlock[],
  value: unknown,
  caps: { structuredOutputs: boolean },
): void {
  if (value === undefined || value === null) return;
  const f = parseAt(Format, value, "response_format");
  switch (f.type) {
    case "text":
      return;
    case "json_object":
      system.push({ type: "text", text: JSON_OBJECT_INSTRUCTION });
      return;
    case "json_schema": {
      const js = parseAt(JsonSchemaFormat, f, "response_format").json_schema;
      if (js.schema === undefined || js.schema === null) {
        system.push({ type: "text", text: JSON_OBJECT_INSTRUCTION }); // a schema-less json_schema is JSON mode
        return;
      }
      if (!caps.structuredOutputs) {
        const described =
          typeof js.description === "string" && js.schema.description === undefined
            ? { ...js.schema, description: js.description }
            : js.schema;
        system.push({ type: "text", text: schemaInstruction(described) });
        return;
      }
      const schema = strictSchema(js.schema);
      if (typeof js.description === "string" && schema.description === undefined)
        schema.description = js.description;
      out.output_config = { ...out.output_config, format: { type: "json_schema", schema } };
      return;
    }
    default:
      throw invalid("response_format.type", `response_format type '${f.type}' is not supported by Claude.`);
  }
}
