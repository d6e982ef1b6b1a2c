// What a new Claude Code session is told besides the prompt: the client's `system`, then, when the
// request carries earlier turns that no session of ours continues, those turns as a transcript. Both
// go into the appended system prompt, so the last user turn stays the session's one real prompt.
import type { MessageParam } from "../shared/anthropic/types.ts";

/** Long earlier turns are cut to this many characters each; the whole transcript to HISTORY_MAX. */
const TURN_MAX = 20_000;
const HISTORY_MAX = 200_000;

export const HISTORY_INTRO =
  "This conversation began before this session. Its earlier turns, as the client sent them, are below; the user's latest message follows as the prompt. Continue the conversation from there.";

/** The `append` for Claude Code's system prompt, or undefined when there is nothing to add. */
export function appendedSystemPrompt(system: string, history: readonly MessageParam[]): string | undefined {
  const parts: string[] = [];
  if (system.trim() !== "") parts.push(system.trim());
  if (history.length > 0) parts.push(transcript(history));
  return parts.length === 0 ? undefined : parts.join("\n\n");
}

export function transcript(history: readonly MessageParam[]): string {
  const turns: string[] = [];
  let total = 0;
  // Newest turns matter most: walk back from the end and keep what fits.
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i];
    if (m === undefined) continue;
    let text = turnText(m);
    if (text.length > TURN_MAX) text = `${text.slice(0, TURN_MAX)} […]`;
    if (total + text.length > HISTORY_MAX) {
      turns.unshift("[earlier turns omitted]");
      break;
    }
    total += text.length;
    turns.unshift(`<turn role="${m.role}">\n${text}\n</turn>`);
  }
  return `<conversation_history>\n${HISTORY_INTRO}\n${turns.join("\n")}\n</conversation_history>`;
}

function turnText(m: MessageParam): string {
  if (typeof m.content === "string") return m.content.trim();
  const out: string[] = [];
  for (const b of m.content) {
    switch (b.type) {
      case "text":
        if (typeof b.text === "string" && b.text.trim() !== "") out.push(b.text.trim());
        break;
      case "image":
        out.push("[image]");
        break;
      case "document":
        out.push("[document]");
        break;
      case "tool_use":
        out.push(`[tool call ${String(b.name)}: ${JSON.stringify(b.input ?? {})}]`);
        break;
      case "tool_result":
        out.push(`[tool result: ${resultText(b.content)}]`);
        break;
      default:
        break; // thinking and server-tool blocks carry nothing the agent can use as context
    }
  }
  return out.join("\n");
}

function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((c: unknown) =>
      typeof c === "object" && c !== null && (c as { type?: unknown }).type === "text"
        ? String((c as { text?: unknown }).text ?? "")
        : "[non-text content]",
    )
    .join("\n");
}
