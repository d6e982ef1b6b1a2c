// The command line: every option, which command takes which, and `ccproxy keys update ID --rpm 5` turned
// into a command name, its positionals and its option values — or a UsageError saying what is wrong.

import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

export const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  name: { type: "string" },
  modes: { type: "string" },
  models: { type: "string" },
  "all-models": { type: "boolean" },
  rpm: { type: "string" },
  "max-concurrent": { type: "string" },
  "budget-usd-day": { type: "string" },
  "budget-usd-month": { type: "string" },
  "tokens-per-day": { type: "string" },
  expires: { type: "string" },
  byo: { type: "boolean" },
  "no-byo": { type: "boolean" },
  all: { type: "boolean" },
  by: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  key: { type: "string" },
} as const;

export type OptionName = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parse>["values"];

const GLOBAL: readonly OptionName[] = ["url", "token", "json", "help"];
const KEY_FIELDS = [
  "name",
  "modes",
  "models",
  "rpm",
  "max-concurrent",
  "budget-usd-day",
  "budget-usd-month",
  "tokens-per-day",
  "expires",
  "byo",
] as const satisfies readonly OptionName[];

export const COMMANDS = {
  "keys create": { args: [], options: KEY_FIELDS },
  "keys list": { args: [], options: ["all"] },
  "keys show": { args: ["ID"], options: [] },
  "keys update": { args: ["ID"], options: [...KEY_FIELDS, "all-models", "no-byo"] },
  "keys revoke": { args: ["ID"], options: [] },
  usage: { args: [], options: ["by", "from", "to", "key"] },
} as const satisfies Record<string, { args: readonly string[]; options: readonly OptionName[] }>;

export type CommandName = keyof typeof COMMANDS;

/** What the user asked for: a command to run, or help on a topic ("" = everything). */
export type Invocation =
  | { kind: "run"; command: CommandName; args: string[]; values: Values }
  | { kind: "help"; topic: string };

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The command words typed before the first option, for a usage error's context when parsing fails. */
function guessCommand(argv: string[]): string {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith("-")) break;
    words.push(a);
  }
  const two = words.slice(0, 2).join(" ");
  if (isCommand(two)) return two;
  return words[0] === "keys" || words[0] === "usage" ? words[0] : "";
}

function parseError(err: unknown, argv: string[]): UsageError {
  const context = guessCommand(argv);
  const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
    return new UsageError(`unknown option ${flag}`, context);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /'(--?[\w-]+)/.exec(message)?.[1];
    if (message.includes("argument missing") || message.includes("ambiguous"))
      return new UsageError(
        `option ${flag ?? ""} needs a value (write --opt=-x for a value starting with a dash)`,
        context,
      );
    if (message.includes("does not take an argument"))
      return new UsageError(`option ${flag ?? ""} does not take a value`, context);
  }
  return new UsageError(message.split("\n")[0] ?? message, context);
}

export function parseCommandLine(argv: string[]): Invocation {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw parseError(err, argv);
  }
  const { values, positionals } = parsed;
  const [first, second] = positionals;
  if (first === undefined) {
    if (values.help) return { kind: "help", topic: "" };
    throw new UsageError("no command given");
  }
  if (first === "help") return { kind: "help", topic: positionals.slice(1).join(" ") };
  let command: CommandName;
  let rest: string[];
  if (first === "keys") {
    if (second === undefined) {
      if (values.help) return { kind: "help", topic: "keys" };
      throw new UsageError("keys needs a subcommand: create, list, show, update or revoke", "keys");
    }
    const name = `keys ${second}`;
    if (!isCommand(name)) throw new UsageError(`unknown command "keys ${second}"`, "keys");
    command = name;
    rest = positionals.slice(2);
  } else if (isCommand(first)) {
    command = first;
    rest = positionals.slice(1);
  } else {
    throw new UsageError(`unknown command "${first}"`);
  }
  if (values.help) return { kind: "help", topic: command };
  const spec = COMMANDS[command];
  const allowed = new Set<string>([...GLOBAL, ...spec.options]);
  for (const name of Object.keys(values))
    if (!allowed.has(name)) throw new UsageError(`${command} does not take --${name}`, command);
  if (rest.length < spec.args.length)
    throw new UsageError(`${command} needs ${spec.args.slice(rest.length).join(" ")}`, command);
  if (rest.length > spec.args.length)
    throw new UsageError(`unexpected argument "${rest[spec.args.length] ?? ""}"`, command);
  return { kind: "run", command, args: rest, values };
}
