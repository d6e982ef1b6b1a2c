// Talking to the admin API: the URL and token from flags or the environment, one request helper, and
// every way it can fail turned into one clear sentence. The token is sent, never printed.

import { errorMessage, isCcproxyHealth } from "./api.ts";
import { CliError } from "./errors.ts";

export interface Connection {
  /** The CCProxy base URL, without a trailing slash. */
  base: URL;
  token: string;
  /** Where the token came from, for the hint on a 401. */
  tokenSource: "--token" | "CCPROXY_ADMIN_TOKEN";
  /** Where the URL came from, for the hint when it is not a CCProxy. */
  urlSource: "--url" | "CCPROXY_URL";
  fetch: typeof fetch;
  timeoutMs: number;
}

export interface Settings {
  url: string | undefined;
  token: string | undefined;
  tokenFromFlag: boolean;
  urlFromFlag?: boolean;
}

/** The URL as it is safe to print: no user or password, no trailing slash. */
export function shownUrl(u: URL): string {
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

export function connect(settings: Settings, fetchImpl: typeof fetch, timeoutMs = 30_000): Connection {
  const raw = settings.url?.trim();
  if (!raw) throw new CliError("no CCProxy URL: set CCPROXY_URL or pass --url (e.g. http://127.0.0.1:8787)");
  if (!/^https?:\/\//i.test(raw))
    throw new CliError(`the CCProxy URL must start with http:// or https:// (got "${raw}")`);
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new CliError(`the CCProxy URL is not a valid URL: "${raw}"`);
  }
  const token = settings.token?.trim();
  if (!token) throw new CliError("no admin token: set CCPROXY_ADMIN_TOKEN or pass --token");
  const tokenSource = settings.tokenFromFlag ? "--token" : "CCPROXY_ADMIN_TOKEN";
  const urlSource = settings.urlFromFlag ? "--url" : "CCPROXY_URL";
  return { base, token, tokenSource, urlSource, fetch: fetchImpl, timeoutMs };
}

export interface ApiRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Under `/admin`, e.g. `/keys/key_123`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Set when the path names a key, so a 404 can say "no key with id …". */
  keyId?: string;
}

function endpoint(conn: Connection, req: ApiRequest): URL {
  const u = new URL(`${conn.base.pathname.replace(/\/+$/, "")}/admin${req.path}`, conn.base);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
  u.username = "";
  u.password = "";
  return u;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS lookup failed)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "the connection closed unexpectedly",
};

/** Why a fetch failed, in a few words: `connection refused`, `host not found`, a TLS problem… */
export function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  const code =
    typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
      ? cause.code
      : undefined;
  if (code !== undefined) {
    const known = NETWORK_REASONS[code];
    if (known !== undefined) return known;
    if (code.includes("CERT") || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL"))
      return `TLS error (${code})`;
  }
  if (cause instanceof Error && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether the server answers `GET /health` as CCProxy does: its version, or null for anything else
 * (another API, a web page, nothing). Asked only when an admin call failed in a way a foreign server
 * would fail, so a wrong URL is named as such instead of blamed on the token or the version.
 */
async function ccproxyVersion(conn: Connection): Promise<string | null> {
  const u = new URL(`${conn.base.pathname.replace(/\/+$/, "")}/health`, conn.base);
  u.username = "";
  u.password = "";
  try {
    const res = await conn.fetch(u, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(conn.timeoutMs),
    });
    const body: unknown = await res.json();
    return isCcproxyHealth(body) ? body.version : null;
  } catch {
    return null;
  }
}

/** One line for a URL that answers, but not as CCProxy. */
function notCcproxy(conn: Connection, req: ApiRequest, answer: string): CliError {
  return new CliError(
    `${shownUrl(conn.base)} is not a CCProxy: ${req.method} /admin${req.path} answered ${answer}, ` +
      `and /health does not answer as CCProxy; check ${conn.urlSource}`,
  );
}

/** CCProxy's own admin 401 (it names ADMIN_TOKEN), as opposed to some other server's. */
const CCPROXY_ADMIN_401 = /ADMIN_TOKEN/;

async function refusal(
  conn: Connection,
  req: ApiRequest,
  status: number,
  body: unknown,
  text: string,
): Promise<CliError> {
  const message = errorMessage(body);
  const where = shownUrl(conn.base);
  const answered = `HTTP ${status}${message ? ` (${message})` : ""}`;
  if (status === 401) {
    if (message?.includes("disabled"))
      return new CliError(
        `the admin API is disabled on ${where}: set the Worker's ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)`,
      );
    if (!CCPROXY_ADMIN_401.test(message ?? "") && (await ccproxyVersion(conn)) === null)
      return notCcproxy(conn, req, answered);
    return new CliError(`the admin token was refused; check ${conn.tokenSource}`);
  }
  if (status === 404) {
    if (req.keyId !== undefined && message === "no such key")
      return new CliError(`no key with id "${req.keyId}" (ccproxy keys list --all shows every key)`);
    const version = await ccproxyVersion(conn);
    if (version === null) return notCcproxy(conn, req, answered);
    return new CliError(
      `the CCProxy at ${where} (version ${version}) has no ${req.method} /admin${req.path}: update it to match this CLI`,
    );
  }
  if (status === 400 || status === 422)
    return new CliError(message ?? `the request was refused (HTTP ${status})`);
  const detail = message ?? (text.trim().slice(0, 200) || "no details");
  return new CliError(`CCProxy answered HTTP ${status}: ${detail}`);
}

/** Sends one admin request; the parsed JSON of a 2xx answer, or a CliError saying what went wrong. */
export async function call(conn: Connection, req: ApiRequest): Promise<unknown> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${conn.token}`,
    accept: "application/json",
  };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  let text: string;
  try {
    res = await conn.fetch(endpoint(conn, req), {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: AbortSignal.timeout(conn.timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    throw new CliError(
      `cannot reach CCProxy at ${shownUrl(conn.base)}: ${networkReason(err, conn.timeoutMs)}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) throw await refusal(conn, req, res.status, body, text);
  if (body === undefined) {
    const type = res.headers.get("content-type") ?? "no content-type";
    const answer = `HTTP ${res.status} with ${type}, not JSON`;
    if ((await ccproxyVersion(conn)) === null) throw notCcproxy(conn, req, answer);
    throw new CliError(
      `the CCProxy at ${shownUrl(conn.base)} answered ${req.method} /admin${req.path} with ${answer}: is something (a login page, a proxy) in front of its admin API?`,
    );
  }
  return body;
}

/** An answer that is JSON but not the expected shape. */
export function unexpected(conn: Connection, what: string): CliError {
  return new CliError(
    `unexpected answer from ${shownUrl(conn.base)} to ${what}: is it an up-to-date CCProxy?`,
  );
}
