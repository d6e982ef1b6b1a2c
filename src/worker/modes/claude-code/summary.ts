// What a relayed Claude Code request used, for the usage ledger: the runner's summary from the
// sidecar's `res_end` trailer (or, after a cancel, its `summary` frame), or, when none could come,
// an empty summary that says whether the run may have used something nobody reported.

import { emptyUsage, type TokenUsage } from "../../../shared/pricing.ts";
import type { StreamOutcome, Trailer } from "../../../shared/tunnel/index.ts";
import { applyUsage } from "../../../shared/usage.ts";

export interface SidecarSummary {
  usage: TokenUsage;
  costUsd: number | null;
  model: string | null;
  outcome: "complete" | "aborted" | "error";
  /**
   * False when a sidecar ran the request and what it used never arrived (the link dropped, or an
   * older sidecar sends no summary after a cancel): the usage above is then not the truth, and the
   * request is charged what was reserved for it.
   */
  usageKnown: boolean;
  /** Part of the usage is the sidecar's estimate of a model call cut off before it reported. */
  estimated: boolean;
}

/**
 * `outcome`: how the tunnel stream ended (`null`: no sidecar ran the request). `trailer`: the
 * run's summary, from `res_end` or the `summary` frame that follows a cancel or a failure.
 */
export function summarize(outcome: StreamOutcome | null, trailer?: Trailer): SidecarSummary {
  if (outcome === null) return empty("error", true);
  switch (outcome.kind) {
    case "end":
      return fromTrailer(outcome.trailer ?? trailer ?? {});
    case "cancelled": {
      const how = outcome.by === "local" ? "aborted" : "error";
      return trailer === undefined ? empty(how, false) : { ...fromTrailer(trailer), outcome: how };
    }
    case "error":
      // Before the head the sidecar refused or failed before running anything.
      if (trailer !== undefined) return { ...fromTrailer(trailer), outcome: "error" };
      return empty("error", !outcome.headersSent);
    case "lost":
      return empty("error", false);
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
    usageKnown: true,
    estimated: t.estimated === true,
  };
}

function empty(outcome: SidecarSummary["outcome"], usageKnown: boolean): SidecarSummary {
  return { usage: emptyUsage(), costUsd: null, model: null, outcome, usageKnown, estimated: false };
}
