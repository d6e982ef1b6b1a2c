// The only upstream paths CCProxy will build: clean `/v1/...` paths, nothing a URL parser could reinterpret.

/** A path segment: the characters Anthropic's ids and route names use, no encodings, no dots-only. */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * Returns the path unchanged when it is `/v1` followed by clean segments, else null. Refused: empty
 * segments (`//`), `.`/`..`, percent-encodings (`%2e`, `%2f`, `%5c` …), backslashes, anything else.
 * (Literal `..` never arrives: the runtime resolves dot segments before the Worker sees the URL.)
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
