// The CLI's two kinds of failure: a usage mistake (exit 2, with usage text) and anything else (exit 1).

/** Something went wrong talking to CCProxy or in its answer: one clear line, exit 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** The command line itself is wrong: the message, then the relevant usage text, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose usage text to show ("keys create"); empty for the top level. */
  readonly command: string;

  constructor(message: string, command = "") {
    super(message);
    this.command = command;
  }
}

export const EXIT = { ok: 0, error: 1, usage: 2 } as const;
