// Command line entry of the mock upstream:
//   node src/mock/main.ts --port N [--host H] [--api-key K …] [--models a,b] [--fixtures DIR] [--quiet]
// Prints one line with its URL and stops cleanly on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { type MockOptions, startMock } from "./server.ts";

const USAGE =
  "usage: node src/mock/main.ts --port N [--host H] [--api-key K ...] [--models a,b] [--fixtures DIR] [--quiet]";

function options(argv: string[]): MockOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string" },
      "api-key": { type: "string", multiple: true },
      models: { type: "string" },
      fixtures: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: not a port number: ${values.port}`);
  const out: MockOptions = { port, quiet: values.quiet };
  if (values.host !== undefined) out.host = values.host;
  if (values["api-key"] !== undefined) out.apiKeys = values["api-key"];
  if (values.models !== undefined)
    out.models = values.models
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean);
  if (values.fixtures !== undefined) out.fixturesDir = values.fixtures;
  return out;
}

async function main(): Promise<void> {
  let opts: MockOptions;
  try {
    opts = options(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
  const mock = await startMock(opts);
  console.log(`mock Anthropic upstream listening on ${mock.url}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    mock.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

await main();
