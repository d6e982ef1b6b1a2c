// Rules of Claude Code mode requests that hold on both sides of the tunnel: the Worker applies them
// before it looks for a sidecar (so the client gets its 400 even when none is connected), and the
// sidecar applies them again to whatever reaches it.
import { invalid } from "./convert/validate.ts";
import type { WireFormat } from "./errors.ts";

/**
 * Client-defined function calling does not exist in this mode (the agent runs its own tools): a
 * non-empty `tools` (OpenAI also `functions`) is a 400 naming the field and the API-mode route.
 */
export function refuseClientTools(format: WireFormat, body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  const b = body as Record<string, unknown>;
  for (const field of format === "openai" ? ["tools", "functions"] : ["tools"]) {
    const v = b[field];
    if (Array.isArray(v) && v.length > 0) {
      const route = format === "openai" ? "/api/v1/chat/completions" : "/api/v1/messages";
      throw invalid(
        field,
        `Client-defined tools are not available in Claude Code mode, where the agent uses the tools its sidecar's operator allows. Send requests with '${field}' to API mode: ${route}.`,
      );
    }
  }
}
