// Validation at the OpenAI request boundary: zod schemas checked at a known position, failures
// turned into 400s whose message and `param` name the field the way OpenAI does (`messages[2].content`).
import type { z } from "zod";
import { ProxyError } from "../errors.ts";

/** `messages` + [2, "content"] → `messages[2].content`. */
export function paramPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** A 400 naming the offending field. */
export function invalid(param: string, message: string): ProxyError {
  return new ProxyError("invalid_request", message, param === "" ? {} : { param });
}

/** Parses `value` (found at `param`) or throws a 400 for the first issue. */
export function parseAt<S extends z.ZodType>(schema: S, value: unknown, param: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw invalid(param, `Invalid value for '${param}'.`);
  const where = paramPath(param, issue.path);
  throw invalid(where, describe(issue, where));
}

function describe(issue: z.core.$ZodIssue, where: string): string {
  const name = where === "" ? "the request body" : `'${where}'`;
  if (issue.code === "invalid_type") {
    if (issue.message.endsWith("received undefined")) return `Missing required parameter: ${name}.`;
    return `Invalid type for ${name}: expected ${issue.expected}.`;
  }
  if (issue.code === "invalid_union") return `Invalid type for ${name}: ${issue.message}.`;
  return `Invalid value for ${name}: ${issue.message}.`;
}
