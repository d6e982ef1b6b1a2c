// The sidecar's configuration, read once from its environment into a frozen object: where the Worker
// is, how it proves itself (TUNNEL_SECRET, or its owner's CCProxy key for a personal sidecar), which
// keys it serves, its name and id, plus the operator's run policy (policy.ts). Fails fast with a
// message naming the variable, never a secret.

import { createHash } from "node:crypto";
import { hostname } from "node:os";
import pkg from "../../package.json" with { type: "json" };
import { isUsableSecret, MAX_CONCURRENT, MAX_SERVE_KEYS, MIN_SECRET_LENGTH } from "../shared/tunnel/index.ts";
import { type Policy, parsePolicy } from "./policy.ts";

export interface SidecarConfig {
  /** `ws(s)://<worker>/tunnel`, from CCPROXY_URL. */
  readonly tunnelUrl: string;
  /** The Worker's HTTP base from CCPROXY_URL, no trailing slash (`GET <workerUrl>/v1/me`). */
  readonly workerUrl: string;
  /**
   * TUNNEL_SECRET (the operator's: shared or personal sidecars), or CCPROXY_KEY: a personal sidecar
   * that proves its owner's CCProxy key and serves that key only, without the team's tunnel secret.
   */
  readonly credential:
    | { readonly kind: "tunnel"; readonly secret: string }
    | { readonly kind: "key"; readonly key: string };
  /** CC_SERVE_KEYS: the key ids this personal sidecar serves exclusively; undefined = shared. */
  readonly serveKeys: readonly string[] | undefined;
  /** CC_SIDECAR_NAME (default: the host name), for logs on both sides. */
  readonly name: string;
  /** CC_SIDECAR_ID, else derived from host, name and workspace root: stable across restarts, so the
   * Worker replaces this install's stale connection at once and keeps its key bindings. */
  readonly sidecarId: string;
  readonly version: string;
  /** Requests the Worker may send at once: the runner's concurrency plus its queue. */
  readonly maxStreams: number;
  /** CC_DRAIN_TIMEOUT_MS: how long SIGTERM waits for running requests (default 30 s). */
  readonly drainTimeoutMs: number;
  readonly policy: Policy;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SIDECAR_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function loadSidecarConfig(env: Record<string, string | undefined>): SidecarConfig {
  const { http: workerUrl, tunnel: tunnelUrl } = parseWorkerUrl(env.CCPROXY_URL);
  const credential = parseCredential(env);
  let policy: Policy;
  try {
    policy = parsePolicy(env);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  const name = (nonEmpty(env.CC_SIDECAR_NAME) ?? hostname()).slice(0, 128) || "sidecar";
  const serveKeys = parseServeKeys(env.CC_SERVE_KEYS);
  if (credential.kind === "key" && serveKeys !== undefined)
    throw new ConfigError(
      "CC_SERVE_KEYS is not used with CCPROXY_KEY: such a sidecar serves exactly the key it was given",
    );
  return Object.freeze({
    tunnelUrl,
    workerUrl,
    credential: Object.freeze(credential),
    serveKeys: serveKeys === undefined ? undefined : Object.freeze(serveKeys),
    name,
    sidecarId: parseSidecarId(env.CC_SIDECAR_ID, name, policy.workspaceRoot),
    version: pkg.version,
    maxStreams: Math.min(MAX_CONCURRENT, policy.maxConcurrent + policy.queueSize),
    drainTimeoutMs: parseMs(env.CC_DRAIN_TIMEOUT_MS, "CC_DRAIN_TIMEOUT_MS", 30_000),
    policy,
  });
}

/** CCPROXY_URL (`https://ccproxy.example.workers.dev`) → `wss://ccproxy.example.workers.dev/tunnel`. */
export function parseUrl(raw: string | undefined): string {
  return parseWorkerUrl(raw).tunnel;
}

/** CCPROXY_URL → the Worker's HTTP base (no trailing slash) and its tunnel's WebSocket URL. */
function parseWorkerUrl(raw: string | undefined): { http: string; tunnel: string } {
  const value = nonEmpty(raw);
  if (value === undefined)
    throw new ConfigError(
      "CCPROXY_URL is not set (the Worker's URL, e.g. https://ccproxy.<you>.workers.dev).",
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`CCPROXY_URL is not a URL: ${JSON.stringify(value)}`);
  }
  const secure = { "https:": true, "wss:": true, "http:": false, "ws:": false }[url.protocol];
  if (secure === undefined) throw new ConfigError(`CCPROXY_URL must be an http(s) URL, got ${url.protocol}`);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "")
    throw new ConfigError("CCPROXY_URL must have no query, fragment or credentials");
  const base = url.pathname.replace(/\/+$/, "").replace(/\/tunnel$/, "");
  return {
    http: `${secure ? "https" : "http"}://${url.host}${base}`,
    tunnel: `${secure ? "wss" : "ws"}://${url.host}${base}/tunnel`,
  };
}

function parseCredential(env: Record<string, string | undefined>): SidecarConfig["credential"] {
  const secret = nonEmpty(env.TUNNEL_SECRET);
  const key = nonEmpty(env.CCPROXY_KEY);
  if (secret !== undefined && key !== undefined)
    throw new ConfigError(
      "set TUNNEL_SECRET (an operator's sidecar) or CCPROXY_KEY (a personal sidecar for your own key), not both",
    );
  if (key !== undefined) {
    if (!/^ccp_[A-Za-z0-9]{16,128}$/.test(key))
      throw new ConfigError(
        "CCPROXY_KEY must be a CCProxy key (ccp_…), as `npx ccproxy keys create` printed it",
      );
    return { kind: "key", key };
  }
  if (secret === undefined)
    throw new ConfigError(
      "TUNNEL_SECRET is not set (the Worker's TUNNEL_SECRET secret); or set CCPROXY_KEY to run a personal sidecar for your own key",
    );
  if (!isUsableSecret(secret))
    throw new ConfigError(
      `TUNNEL_SECRET must be at least ${MIN_SECRET_LENGTH} characters (generate one with \`openssl rand -base64 32\`).`,
    );
  return { kind: "tunnel", secret };
}

function parseServeKeys(raw: string | undefined): string[] | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  const keys = [
    ...new Set(
      value
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    ),
  ];
  if (keys.length === 0) return undefined;
  for (const k of keys)
    if (!KEY_ID.test(k))
      throw new ConfigError(
        `CC_SERVE_KEYS: ${JSON.stringify(k.slice(0, 40))} is not a key id (key_…, as \`npx ccproxy keys list\` shows; not the ccp_ secret)`,
      );
  if (keys.length > MAX_SERVE_KEYS) throw new ConfigError(`CC_SERVE_KEYS: at most ${MAX_SERVE_KEYS} key ids`);
  return keys;
}

function parseSidecarId(raw: string | undefined, name: string, workspaceRoot: string): string {
  const value = nonEmpty(raw);
  if (value !== undefined) {
    if (!SIDECAR_ID.test(value))
      throw new ConfigError("CC_SIDECAR_ID must be 1-128 characters of letters, digits, _ . : -");
    return value;
  }
  const digest = createHash("sha256")
    .update(JSON.stringify([hostname(), name, workspaceRoot]))
    .digest("hex");
  return `sc_${digest.slice(0, 24)}`;
}

function parseMs(raw: string | undefined, name: string, fallback: number): number {
  const value = nonEmpty(raw);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number of milliseconds`);
  return Number(value);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}
