// Which request headers reach the upstream and which response headers reach the client.

/** RFC 9110 §7.6.1 connection-specific headers, never forwarded by a proxy. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Set by the client's network path or the runtime, or carrying the client's credentials to us. */
const REQUEST_DROP = new Set([
  "host",
  "cookie",
  "content-length",
  "accept-encoding",
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "authorization",
  "x-api-key",
]);

const REQUEST_DROP_PREFIXES = ["cf-", "x-forwarded-", "x-ccproxy-"];

/**
 * The header names a `Connection` header lists (hop-by-hop by declaration, RFC 9110 §7.6.1). Only
 * useful where the runtime lets the Worker see `Connection`: raw workerd does; wrangler dev's proxy
 * in front of the Worker drops it first, so there the headers it named arrive as ordinary ones and
 * are forwarded. (On the way out, workerd's fetch drops `Connection`, `Keep-Alive`, `TE`, `Trailer`
 * and `Upgrade` itself and sets `Host` to the upstream's; miniflare adds `CF-Worker`.)
 */
function connectionTokens(headers: Headers): Set<string> {
  const value = headers.get("connection");
  if (!value) return new Set();
  return new Set(
    value
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The client's headers as the upstream should see them: everything except hop-by-hop, network and
 * auth headers. `anthropic-version`, `anthropic-beta` and unknown headers pass unchanged.
 */
export function upstreamRequestHeaders(client: Headers): Headers {
  const named = connectionTokens(client);
  const out = new Headers();
  client.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || REQUEST_DROP.has(name) || named.has(name)) return;
    for (const p of REQUEST_DROP_PREFIXES) if (name.startsWith(p)) return;
    out.append(name, value);
  });
  return out;
}

/** The upstream's response headers as the client should see them. */
export function clientResponseHeaders(upstream: Headers): Headers {
  const named = connectionTokens(upstream);
  const out = new Headers();
  upstream.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || named.has(name) || name === "set-cookie" || name === "content-length") return;
    out.append(name, value);
  });
  return out;
}
