// The CLI as a function: arguments, environment and I/O in, an exit code out (0 done, 1 failed,
// 2 wrong command line). Errors become one line on stderr, never a stack trace; the token is never shown.

import { type CommandName, parseCommandLine } from "./args.ts";
import { connect } from "./client.ts";
import type { Context } from "./commands/context.ts";
import { createKey, listKeys, revokeKey, showKey, updateKey } from "./commands/keys.ts";
import { usage } from "./commands/usage.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { helpText } from "./help.ts";

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch: typeof fetch;
  now: () => Date;
}

export type Env = Record<string, string | undefined>;

const HANDLERS: Record<CommandName, (ctx: Context) => Promise<void>> = {
  "keys create": createKey,
  "keys list": listKeys,
  "keys show": showKey,
  "keys update": updateKey,
  "keys revoke": revokeKey,
  usage,
};

async function execute(argv: string[], env: Env, io: Io, secrets: string[]): Promise<void> {
  const inv = parseCommandLine(argv);
  if (inv.kind === "help") {
    const text = helpText(inv.topic);
    if (text === undefined) throw new UsageError(`no help for "${inv.topic}": no such command`);
    io.stdout(`${text}\n`);
    return;
  }
  const { values } = inv;
  const token = values.token ?? env.CCPROXY_ADMIN_TOKEN;
  if (token) secrets.push(token.trim());
  const conn = connect(
    {
      url: values.url ?? env.CCPROXY_URL,
      token,
      tokenFromFlag: values.token !== undefined,
      urlFromFlag: values.url !== undefined,
    },
    io.fetch,
  );
  await HANDLERS[inv.command]({
    command: inv.command,
    conn,
    values,
    args: inv.args,
    now: io.now(),
    print: (lines) => io.stdout(`${lines.join("\n")}\n`),
  });
}

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: string[], env: Env, io: Io): Promise<number> {
  const secrets: string[] = [];
  // Belt and braces: whatever ends up on stderr, the admin token is not in it.
  const stderr = (text: string) =>
    io.stderr(secrets.reduce((t, s) => (s.length >= 4 ? t.replaceAll(s, "***") : t), text));
  try {
    await execute(argv, env, io, secrets);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`ccproxy: ${err.message}\n\n${helpText(err.command) ?? helpText("")}\n`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      stderr(`ccproxy: ${err.message}\n`);
      return EXIT.error;
    }
    const detail = err instanceof Error ? err.message : String(err);
    stderr(`ccproxy: unexpected error: ${detail}\n`);
    if (env.CCPROXY_DEBUG && err instanceof Error && err.stack) stderr(`${err.stack}\n`);
    return EXIT.error;
  }
}
