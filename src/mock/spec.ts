// The scenario spec language: `name key=value key=value…`, read from the `x-mock-scenario` header or
// from a `[[mock:<spec>]]` marker in the latest user turn. Values are bare tokens, double-quoted
// strings (JSON escapes) or a JSON object/array; a key without `=` is a flag (true).

export interface ScenarioSpec {
  name: string;
  params: Record<string, unknown>;
}

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecError";
  }
}

const MARKER_OPEN = "[[mock:";
const MARKER_CLOSE = "]]";
const KEY = /[A-Za-z_][\w.-]*/y;

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

/**
 * Parses a spec starting at `start`. With a `terminator`, parsing stops at its first occurrence
 * outside a value (so JSON values may contain `]]`) and it is an error if it never comes.
 */
export function parseSpecAt(
  input: string,
  start: number,
  terminator?: string,
): ScenarioSpec & { end: number } {
  const params: Record<string, unknown> = {};
  let name: string | undefined;
  let i = start;
  for (;;) {
    while (isSpace(input[i])) i++;
    if (terminator !== undefined && input.startsWith(terminator, i)) {
      return { name: name ?? "text", params, end: i + terminator.length };
    }
    if (i >= input.length) {
      if (terminator !== undefined) throw new SpecError(`unterminated marker: missing "${terminator}"`);
      return { name: name ?? "text", params, end: i };
    }
    KEY.lastIndex = i;
    const key = KEY.exec(input)?.[0];
    if (key === undefined)
      throw new SpecError(`unexpected character ${JSON.stringify(input[i])} at ${i - start}`);
    i += key.length;
    if (input[i] !== "=") {
      if (!isSpace(input[i]) && i < input.length && !(terminator && input.startsWith(terminator, i))) {
        throw new SpecError(`unexpected character ${JSON.stringify(input[i])} after "${key}"`);
      }
      // The first bare word names the scenario; later ones are flags.
      if (name === undefined && Object.keys(params).length === 0) name = key;
      else params[key] = true;
      continue;
    }
    i++;
    const [value, next] = readValue(input, i, terminator);
    params[key] = value;
    i = next;
  }
}

function readValue(input: string, i: number, terminator: string | undefined): [unknown, number] {
  const c = input[i];
  if (c === '"') {
    const end = scanString(input, i);
    return [parseJson(input.slice(i, end), "string"), end];
  }
  if (c === "{" || c === "[") {
    const end = scanJson(input, i);
    return [parseJson(input.slice(i, end), c === "{" ? "object" : "array"), end];
  }
  let j = i;
  while (j < input.length && !isSpace(input[j]) && !(terminator && input.startsWith(terminator, j))) j++;
  if (j === i) throw new SpecError("missing value after '='");
  return [input.slice(i, j), j];
}

/** Index just past the closing quote of the string starting at `i`. */
function scanString(input: string, i: number): number {
  let j = i + 1;
  while (j < input.length) {
    const c = input[j];
    if (c === "\\") j += 2;
    else if (c === '"') return j + 1;
    else j++;
  }
  throw new SpecError("unterminated string");
}

/** Index just past the bracket that closes the one at `i`, skipping brackets inside strings. */
function scanJson(input: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < input.length) {
    const c = input[j];
    if (c === '"') {
      j = scanString(input, j);
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  throw new SpecError("unbalanced JSON value");
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SpecError(`invalid JSON ${what}: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`);
  }
}

/** Parses a whole spec (the header form). */
export function parseSpec(input: string): ScenarioSpec {
  const { name, params } = parseSpecAt(input, 0);
  return { name, params };
}

/** The first `[[mock:…]]` marker in a text, or undefined. */
export function findMarker(text: string): ScenarioSpec | undefined {
  const at = text.indexOf(MARKER_OPEN);
  if (at === -1) return undefined;
  const { name, params } = parseSpecAt(text, at + MARKER_OPEN.length, MARKER_CLOSE);
  return { name, params };
}

/** The text with its markers removed (markers that do not parse are left in place). */
export function stripMarkers(text: string): string {
  let out = "";
  let from = 0;
  for (;;) {
    const at = text.indexOf(MARKER_OPEN, from);
    if (at === -1) return out + text.slice(from);
    try {
      const { end } = parseSpecAt(text, at + MARKER_OPEN.length, MARKER_CLOSE);
      out += text.slice(from, at);
      from = end;
    } catch {
      return out + text.slice(from);
    }
  }
}

// Typed accessors for scenario parameters: a bad value is the test author's mistake, reported as 400.

export function intParam(params: Record<string, unknown>, key: string, fallback: number, min = 0): number {
  const raw = params[key];
  if (raw === undefined) return fallback;
  const n =
    typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new SpecError(`${key} must be an integer >= ${min}`);
  return n;
}

export function stringParam(params: Record<string, unknown>, key: string): string | undefined {
  const raw = params[key];
  if (raw === undefined) return undefined;
  if (typeof raw === "string") return raw;
  if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
  throw new SpecError(`${key} must be a string`);
}

export const flagParam = (params: Record<string, unknown>, key: string): boolean =>
  params[key] === true || params[key] === "true";
