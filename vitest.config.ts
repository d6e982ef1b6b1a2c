// Three test layers, split by runtime: shared logic, the mock and the sidecar under Node; the Worker
// inside workerd with real D1 and Durable Objects; end to end with the real clients against
// `wrangler dev`. Only the upstream network is faked, by the mock Anthropic API on 127.0.0.1.
import { createServer } from "node:net";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** A port free right now, for the mock upstream the Worker tests talk to (started by their globalSetup). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const mockPort = Number(process.env.CCPROXY_TEST_MOCK_PORT ?? (await freePort()));
process.env.CCPROXY_TEST_MOCK_PORT = String(mockPort);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: [
            "test/shared/**/*.test.ts",
            "test/mock/**/*.test.ts",
            "test/sidecar/**/*.test.ts",
            "test/cli/**/*.test.ts",
          ],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ANTHROPIC_BASE_URL: `http://127.0.0.1:${mockPort}`,
                ANTHROPIC_API_KEY: "sk-ant-team-test-key",
                ADMIN_TOKEN: "test-admin-token",
                TUNNEL_SECRET: "test-tunnel-secret-at-least-32-characters",
                SIDECAR_WAIT_MS: "300",
                MAX_BODY_BYTES: "1048576",
                TEST_MIGRATIONS: await readD1Migrations("src/worker/storage/migrations"),
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["test/worker/setup.ts"],
          globalSetup: ["test/support/worker-global-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
