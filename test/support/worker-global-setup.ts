// Starts the mock Anthropic upstream on the port vitest.config.ts handed to the Worker as ANTHROPIC_BASE_URL.
import { type MockServer, startMock } from "../../src/mock/server.ts";

let mock: MockServer | undefined;

export async function setup(): Promise<void> {
  mock = await startMock({ port: Number(process.env.CCPROXY_TEST_MOCK_PORT), quiet: true });
}

export async function teardown(): Promise<void> {
  await mock?.close();
}
