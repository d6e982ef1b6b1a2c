// How a tunnel stream that did not complete reads to the client: the sidecar's own error as it sent
// it, a lost link as "sidecar unreachable". Used before the head (an error response, by the Worker)
// and after it (an in-stream error, by the hub's relay).

import { ProxyError } from "../../../shared/errors.ts";
import type { StreamFailure } from "../../../shared/tunnel/index.ts";

export function failureError(failure: StreamFailure): ProxyError {
  switch (failure.kind) {
    case "error":
      return new ProxyError(
        failure.code,
        failure.message,
        failure.retryAfter === undefined ? {} : { retryAfter: failure.retryAfter },
      );
    case "lost":
      return new ProxyError(
        "upstream_unreachable",
        "The Claude Code sidecar disconnected before the response was complete.",
      );
    case "cancelled":
      return failure.by === "peer"
        ? new ProxyError("upstream_unreachable", "The Claude Code sidecar abandoned the request.")
        : new ProxyError("internal", "The request was cancelled.");
  }
}
