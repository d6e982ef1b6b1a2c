// The mock's token counts: a deterministic estimate (ceil(chars / 4)) so tests can predict them, and
// the same function behind usage.input_tokens and /v1/messages/count_tokens.

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Input tokens of a Messages request: the JSON of its system prompt, messages and tools. */
export function estimateInputTokens(body: Record<string, unknown>): number {
  let chars = 0;
  for (const key of ["system", "messages", "tools"] as const) {
    const value = body[key];
    if (value !== undefined) chars += JSON.stringify(value).length;
  }
  return Math.max(1, estimateTokens(chars));
}
