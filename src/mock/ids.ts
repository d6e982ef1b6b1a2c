// Anthropic-style identifiers (req_011C…, msg_01…, toolu_01…): a fixed prefix plus random base62,
// the same lengths as the real API's, so clients that pattern-match ids see nothing unusual.
import { randomFillSync } from "node:crypto";
import { randomBase62 } from "../shared/ids.ts";

export const newRequestId = (): string => `req_011C${randomBase62(20)}`;
export const newMessageId = (): string => `msg_01${randomBase62(22)}`;
export const newToolUseId = (): string => `toolu_01${randomBase62(22)}`;
export const newBatchId = (): string => `msgbatch_01${randomBase62(22)}`;
export const newFileId = (): string => `file_011C${randomBase62(20)}`;

/** An opaque base64 blob shaped like a thinking-block signature. */
export function newSignature(): string {
  const bytes = Buffer.alloc(144);
  randomFillSync(bytes);
  return `Eq${bytes.toString("base64")}`;
}
