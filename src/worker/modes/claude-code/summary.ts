// What a relayed Claude Code request used, for the usage ledger: the runner's summary from the
// sidecar's `res_end` trailer, or an empty one with how the stream ended otherwise.

import { emptyUsage, type TokenUsage } from "../../../shared/pricing.ts";
import type { StreamOutcome, Trailer } from "../../../shared/tunnel/index.ts";
import { applyUsage } from "../../../shared/usage.ts";

export interface SidecarSummary {
  usage: TokenUsage;
  costUsd: number | null;
  model: string | null;
  outcome: "complete" | "aborted" | "error";
}

/** `null`: the hub knows no such relay. A stream the client cancelled is "aborted"; the sidecar
 * then stops the run and sends no trailer, so what it had used is not known here. */
export function summarize(outcome: StreamOutcome | null): SidecarSummary {
  if (outcome === null) return empty("error");
  switch (outcome.kind) {
    case "end":
      return fromTrailer(outcome.trailer ?? {});
    case "cancelled":
      return empty(outcome.by === "local" ? "aborted" : "error");
    case "error":
    case "lost":
      return empty("error");
  }
}

/** The trailer is the runner's RunSummary as JSON (see README.md); read defensively. */
function fromTrailer(t: Trailer): SidecarSummary {
  const usage = emptyUsage();
  applyUsage(usage, t.usage);
  const cost = t.costUsd;
  return {
    usage,
    costUsd: typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : null,
    model: typeof t.model === "string" ? t.model : null,
    outcome: t.outcome === "aborted" || t.outcome === "error" ? t.outcome : "complete",
  };
}

function empty(outcome: SidecarSummary["outcome"]): SidecarSummary {
  return { usage: emptyUsage(), costUsd: null, model: null, outcome };
}
