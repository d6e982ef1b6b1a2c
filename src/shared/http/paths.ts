// The request paths CCProxy accepts and the only upstream paths it will build: clean `/v1/...`
// paths, nothing a URL parser could reinterpret.

/** A path segment: the characters Anthropic's ids and route names use, no encodings, no dots-only. */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * The path of a request URL exactly as it arrived, before a URL parser resolves `..`, `%2e` or `\`.
 * (workerd hands the Worker the request target as sent; `new URL()` would normalize it. wrangler
 * dev's proxy in front of the Worker already resolves those, so locally they never arrive.)
 */
export function rawPath(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return "/";
  let end = url.length;
  for (const mark of ["?", "#"]) {
    const at = url.indexOf(mark, start);
    if (at !== -1 && at < end) end = at;
  }
  return url.slice(start, end);
}

/**
 * Why a request path is refused outright on every route, or null when it may be routed: dot
 * segments, encoded dots, slashes or backslashes, backslashes, empty segments (`//`), NUL and
 * control characters. No client of CCProxy's routes sends these; a proxy that let a parser
 * reinterpret them could be steered to another route or upstream path.
 */
export function pathProblem(path: string): string | null {
  if (path.includes("\\")) return "a backslash";
  if (/%(2f|5c)/i.test(path)) return "an encoded slash or backslash";
  if (/%2e/i.test(path)) return "an encoded dot";
  if (/(^|\/)\.\.?(\/|$)/.test(path)) return "a dot segment (. or ..)";
  if (path.includes("//")) return "an empty segment (//)";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/%00|[\x00-\x1f\x7f]/i.test(path)) return "a control character";
  return null;
}

/**
 * Returns the path unchanged when it is `/v1` followed by clean segments, else null. Refused: empty
 * segments (`//`), `.`/`..`, percent-encodings (`%2e`, `%2f`, `%5c` …), backslashes, anything else.
 */
export function cleanUpstreamPath(path: string): string | null {
  if (!path.startsWith("/v1/") && path !== "/v1") return null;
  const segments = path.slice(1).split("/");
  for (const s of segments) if (!SEGMENT.test(s)) return null;
  return path;
}

/** Joins the configured base URL and a clean path, and proves the result stayed on the base. */
export function upstreamUrl(base: URL, path: string, search: string): string {
  const prefix = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname;
  const url = new URL(base.origin + prefix + path + search);
  if (url.origin !== base.origin || url.pathname !== prefix + path) {
    throw new Error("upstream URL escaped its base");
  }
  return url.toString();
}
