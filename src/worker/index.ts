// Worker entry: the Hono app as the fetch handler, and the Durable Object classes wrangler binds.

import { buildApp } from "./app.ts";

export { KeyGuard } from "./limits/key-guard.ts";
export { TunnelHub } from "./modes/claude-code/hub.ts";

export default buildApp() satisfies ExportedHandler<Env>;
