/** Starts `serve --http` under the documented HTTP permission profile and connects v2 clients. */

import { join } from "node:path";
import { ENV_VARS, V8_FLAGS } from "../src/config.ts";
import type { FakeOpenAI } from "./fake/api.ts";
import { DENO_DIR, networkEnv, REPO } from "./harness.ts";
import { Client, StreamableHTTPClientTransport } from "./mcp_client.ts";

/** The `deno run` flags of `deno task serve:http` for these hosts and this write scope. */
export function httpServerArgs(
  options: { netHosts: string[]; writeScope: string[]; serveArgs?: string[] },
): string[] {
  return [
    "run",
    `--v8-flags=${V8_FLAGS.join(",")}`,
    "--no-prompt",
    `--config=${join(REPO, "deno.json")}`,
    `--allow-net=${options.netHosts.join(",")}`,
    `--allow-env=${ENV_VARS.join(",")}`,
    "--allow-read",
    `--allow-write=${options.writeScope.join(",")}`,
    join(REPO, "src", "main.ts"),
    "serve",
    "--http",
    ...(options.serveArgs ?? []),
  ];
}

/** A free port on 127.0.0.1 (the audience of OAuth tokens names the port before the start). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running `serve --http`. */
export interface HttpHarness {
  url: string;
  port: number;
  home: string;
  /** The output root: `$HOME/.config/gpt-image-2-mcp`. */
  configRoot: string;
  stderr: () => string;
  /** The server's process id (for reading its memory use). */
  pid: number;
  /** A v2 client connected with `token` (or none), pinned to an era when asked. */
  connect(options?: { token?: string; protocol?: "2026-07-28" }): Promise<Client>;
  close(): Promise<void>;
}

/** Options of `startHttpServer`. */
export interface HttpHarnessOptions {
  fake: FakeOpenAI;
  env?: Record<string, string>;
  port?: number;
  /** Extra `--allow-net` hosts (the OAuth issuer). */
  allowNet?: string[];
  /** Arguments after `serve --http` (default `--port <port>`). */
  serveArgs?: string[];
}

/** Spawns the server and waits for the line that says where it listens. */
export async function startHttpServer(options: HttpHarnessOptions): Promise<HttpHarness> {
  const home = await Deno.makeTempDir({ prefix: "gi2-http-home-" });
  const configRoot = join(home, ".config", "gpt-image-2-mcp");
  const port = options.port ?? freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: httpServerArgs({
      netHosts: [options.fake.host, `127.0.0.1:${port}`, ...(options.allowNet ?? [])],
      writeScope: [configRoot],
      serveArgs: options.serveArgs ?? ["--port", String(port)],
    }),
    env: {
      ...networkEnv(),
      HOME: home,
      DENO_DIR,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_NO_UPDATE_CHECK: "1",
      OPENAI_API_KEY: options.fake.apiKey,
      OPENAI_BASE_URL: options.fake.baseURL,
      ...options.env,
    },
    clearEnv: true,
    cwd: home,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const { promise: url, resolve: listening } = Promise.withResolvers<string | undefined>();
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      const match = /serving MCP at (\S+);/.exec(stderr);
      if (match) listening(match[1]);
    }
    listening(undefined);
  })();
  const status = child.status;
  const at = await Promise.race([url, status.then(() => undefined)]);
  const clients: Client[] = [];
  const close = async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await status;
    await Deno.remove(home, { recursive: true }).catch(() => {});
  };
  if (!at) {
    await close();
    throw new Error(`serve --http did not start:\n${stderr}`);
  }
  return {
    url: at,
    port,
    home,
    configRoot,
    stderr: () => stderr,
    pid: child.pid,
    async connect(connectOptions = {}) {
      const transport = new StreamableHTTPClientTransport(new URL(at), {
        requestInit: connectOptions.token
          ? { headers: { authorization: `Bearer ${connectOptions.token}` } }
          : undefined,
      });
      const client = new Client(
        { name: "gpt-image-2-mcp-http-tests", version: "1.0.0" },
        connectOptions.protocol
          ? { versionNegotiation: { mode: { pin: connectOptions.protocol } } }
          : {},
      );
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    close,
  };
}

/** Runs `body` with a server, and always stops it. */
export async function withHttpServer(
  options: HttpHarnessOptions,
  body: (h: HttpHarness) => Promise<void>,
): Promise<void> {
  const h = await startHttpServer(options);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}
