// Server-sent events encoding: Anthropic's named events and OpenAI's data-only lines.

const encoder = new TextEncoder();

/** `event: <name>\ndata: <json>\n\n` as Anthropic frames every stream event. */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** `data: <json>\n\n` as OpenAI frames chat completion chunks. */
export function sseData(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
} as const;
