// What the client is told when the agent fails: the SDK's API-error kinds, HTTP statuses and thrown
// errors mapped onto CCProxy's closed set of error codes (rendered in the route's format elsewhere).
//
// | agent reports                                            | code                 | status |
// | -------------------------------------------------------- | -------------------- | ------ |
// | CLI binary missing / cannot start                        | unavailable          | 503    |
// | authentication_failed, billing, account, credential kinds | upstream_unreachable | 502    |
// | rate_limit                                               | rate_limited         | 429    |
// | overloaded (after the CLI's own retries)                 | overloaded           | 529    |
// | invalid_request (e.g. an image the API refuses)          | invalid_request      | 400    |
// | model_not_found                                          | not_found            | 404    |
// | server_error, unknown, other statuses ≥ 500              | upstream_unreachable | 502    |
// | run exceeded CC_RUN_TIMEOUT_MS                           | timeout              | 504    |
// | anything else                                            | internal             | 500    |
//
// The sidecar's own credential being refused is a 502, not a 401: the client's CCProxy key was fine,
// and a 401 would tell it to fix the wrong thing.
import { type ErrorCode, ProxyError } from "../shared/errors.ts";

const CREDENTIAL_KINDS: ReadonlySet<string> = new Set([
  "authentication_failed",
  "oauth_org_not_allowed",
  "account_on_hold",
  "verification_required",
  "billing_error",
  "cloud_credential_error",
]);

export function apiErrorCode(kind: string | undefined, status: number | null | undefined): ErrorCode {
  if (kind !== undefined && CREDENTIAL_KINDS.has(kind)) return "upstream_unreachable";
  // The upstream's status says most; the CLI's kind fills in when there is none.
  switch (status) {
    case 400:
    case 413:
      return "invalid_request";
    case 404:
      return "not_found";
    case 429:
      return "rate_limited";
    case 529:
      return "overloaded";
    case 401:
    case 403:
      return "upstream_unreachable";
    default:
      break;
  }
  switch (kind) {
    case "rate_limit":
      return "rate_limited";
    case "overloaded":
      return "overloaded";
    case "invalid_request":
      return "invalid_request";
    case "model_not_found":
      return "not_found";
    default:
      return "upstream_unreachable"; // server_error, unknown, other 5xx
  }
}

/** An API error the agent ran into, with the agent's own wording (it is about the upstream, not us). */
export function apiError(
  kind: string | undefined,
  message: string,
  status: number | null | undefined,
): ProxyError {
  const code = apiErrorCode(kind, status);
  const text = message.trim() === "" ? "The Anthropic API refused the agent's request." : message.trim();
  const credential = (kind !== undefined && CREDENTIAL_KINDS.has(kind)) || status === 401 || status === 403;
  const prefix = credential ? "The sidecar's Claude Code credential was refused: " : "Claude Code: ";
  return new ProxyError(
    code,
    prefix + text,
    code === "overloaded" || code === "rate_limited" ? { retryAfter: 5 } : {},
  );
}

export function cliMissing(path: string | null): ProxyError {
  return new ProxyError(
    "unavailable",
    `Claude Code is not available on this sidecar${path === null ? "" : ` (no executable at CC_CLAUDE_PATH)`}.`,
  );
}

/** A thrown error from `query()` with no result to explain it. */
export function thrownError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/native binary not found|ENOENT|executable not found/i.test(message)) return cliMissing(null);
  return new ProxyError("internal", "The Claude Code agent stopped unexpectedly.");
}
