// What every command gets: the connection, the parsed command line, the clock, and where output goes.

import type { CommandName, Values } from "../args.ts";
import type { Connection } from "../client.ts";

export interface Context {
  command: CommandName;
  conn: Connection;
  values: Values;
  /** Positionals after the command words (the key id). */
  args: string[];
  now: Date;
  /** Lines for stdout. */
  print: (lines: string[]) => void;
}

/** `--json`: the API's answer, indented, for scripts (`jq`, `JSON.parse`). */
export function printJson(ctx: Context, value: unknown): void {
  ctx.print([JSON.stringify(value, null, 2)]);
}
