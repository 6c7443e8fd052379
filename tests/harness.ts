/** Starts the server as an MCP client would, under its documented permissions, and connects to it. */

import {
  type CallToolResult,
  Client,
  type ClientCapabilities,
  type LoggingMessageNotification,
  StdioClientTransport,
  StdioClientTransportV1,
} from "./mcp_client.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV_VARS, V8_FLAGS } from "../src/config.ts";
import { FakeOpenAI } from "./fake/api.ts";

export const REPO = fileURLToPath(new URL("..", import.meta.url));

/** Every tool the server lists, sorted by name. */
export const TOOL_NAMES = [
  "cancel_image_job",
  "continue_edit_session",
  "edit_image",
  "end_edit_session",
  "generate_image",
  "get_image_job",
  "get_session_images",
  "list_edit_sessions",
  "start_edit_session",
];

/** The Deno cache of the test process, so that a server with another HOME still finds its modules. */
export const DENO_DIR = Deno.env.get("DENO_DIR") ??
  join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");

/**
 * Variables a spawned Deno needs to reach the npm registry the way this process does: custom CAs
 * (Deno honours NODE_EXTRA_CA_CERTS for npm downloads), proxies, the registry. A test that
 * spawns Deno with a clean environment on a machine with a cold cache fails without them.
 */
export function networkEnv(): Record<string, string> {
  const names = [
    "NODE_EXTRA_CA_CERTS",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "SSL_CERT_FILE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "NPM_CONFIG_REGISTRY",
  ];
  return Object.fromEntries(names.flatMap((n) => (Deno.env.get(n) ? [[n, Deno.env.get(n)!]] : [])));
}

/** How to start the server under test. */
export interface HarnessOptions {
  fake?: FakeOpenAI;
  env?: Record<string, string>;
  /** Working directory of the server (default: a fresh temporary folder). */
  cwd?: string;
  /** HOME of the server (default: a fresh temporary folder); given, it is left in place on close. */
  home?: string;
  /**
   * The `--allow-write` scope (default: the temporary HOME's config folder and the work folder);
   * an empty list gives an unscoped `--allow-write`, as the release binaries bake it.
   */
  allowWrite?: string[];
  /** Extra `--allow-net` hosts besides the fake. */
  allowNet?: string[];
  /** Extra V8 flags besides the documented ones (e.g. `--expose-gc`). */
  v8Flags?: string[];
  /** Replaces the whole command (e.g. a compiled binary, or `deno run <url>`). */
  command?: { command: string; args: string[] };
  /**
   * The protocol revision the client pins: `2026-07-28` opens with `server/discover`; by default
   * the client opens with `initialize` at the latest 2025 revision.
   */
  protocol?: "2026-07-28";
  /** Capabilities the client declares beyond the SDK's own (e.g. the tasks extension). */
  clientCapabilities?: ClientCapabilities;
}

/** How to spawn the server under test, and the folders made for it. */
export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  home: string;
  /** Default output folder root: `$HOME/.config/gpt-image-2-mcp`. */
  configRoot: string;
  /** Removes the folders made for this launch. */
  cleanup: () => Promise<void>;
}

/** A connected client with the server's surroundings. */
export interface Harness {
  client: Client;
  home: string;
  cwd: string;
  /** Default output folder root: `$HOME/.config/gpt-image-2-mcp`. */
  configRoot: string;
  stderr: () => string;
  /** The server process id (for reading its memory use). */
  pid: () => number | null;
  logs: LoggingMessageNotification["params"][];
  call: (
    name: string,
    args: Record<string, unknown>,
    options?: CallOptions,
  ) => Promise<CallToolResult>;
  close: () => Promise<void>;
}

/** Options for one tool call. */
export interface CallOptions {
  onprogress?: (p: { progress: number; message?: string }) => void;
  signal?: AbortSignal;
  timeout?: number;
  /** Extra `_meta` of the request (e.g. a 2026-07-28 per-request log level). */
  _meta?: Record<string, unknown>;
}

/** The documented `deno run` flags for a given API host and write scope. */
export function serverArgs(
  options: { netHosts: string[]; writeScope: string[]; v8Flags?: string[] },
): string[] {
  return [
    "run",
    `--v8-flags=${[...V8_FLAGS, ...(options.v8Flags ?? [])].join(",")}`,
    "--no-prompt",
    `--config=${join(REPO, "deno.json")}`,
    `--allow-net=${options.netHosts.join(",")}`,
    `--allow-env=${ENV_VARS.join(",")}`,
    "--allow-read",
    options.writeScope.length ? `--allow-write=${options.writeScope.join(",")}` : "--allow-write",
    join(REPO, "src", "main.ts"),
  ];
}

/** The command, environment and folders of a server under `options`, for any client to spawn. */
export async function launchFor(options: HarnessOptions = {}): Promise<ServerLaunch> {
  const home = options.home ?? await Deno.makeTempDir({ prefix: "gi2-home-" });
  const cwd = options.cwd ?? await Deno.makeTempDir({ prefix: "gi2-cwd-" });
  const configRoot = join(home, ".config", "gpt-image-2-mcp");
  const env: Record<string, string> = {
    ...networkEnv(),
    HOME: home,
    DENO_DIR,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_NO_UPDATE_CHECK: "1",
    ...(options.fake
      ? { OPENAI_API_KEY: options.fake.apiKey, OPENAI_BASE_URL: options.fake.baseURL }
      : {}),
    ...options.env,
  };
  const netHosts = [
    ...(options.fake ? [options.fake.host] : ["api.openai.com"]),
    ...(options.allowNet ?? []),
  ];
  const command = options.command ?? {
    command: Deno.execPath(),
    args: serverArgs({
      netHosts,
      writeScope: options.allowWrite ?? [configRoot, cwd],
      v8Flags: options.v8Flags,
    }),
  };
  return {
    ...command,
    env,
    cwd,
    home,
    configRoot,
    cleanup: async () => {
      if (!options.home) await Deno.remove(home, { recursive: true }).catch(() => {});
      if (!options.cwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}

/** A stdio transport of the v1 SDK's client (many clients in the field still ship it) to `launch`. */
export function v1Transport(launch: ServerLaunch): StdioClientTransportV1 {
  const { command, args, env, cwd } = launch;
  return new StdioClientTransportV1({ command, args, env, cwd, stderr: "pipe" });
}

/** Starts the server and connects an MCP client to it over stdio. */
export async function startServer(options: HarnessOptions = {}): Promise<Harness> {
  const launch = await launchFor(options);
  const { command, args, env, cwd, home, configRoot } = launch;
  const transport = new StdioClientTransport({ command, args, env, cwd, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
  const client = new Client(
    { name: "gpt-image-2-mcp-tests", version: "1.0.0" },
    {
      ...(options.protocol ? { versionNegotiation: { mode: { pin: options.protocol } } } : {}),
      ...(options.clientCapabilities ? { capabilities: options.clientCapabilities } : {}),
    },
  );
  const logs: LoggingMessageNotification["params"][] = [];
  client.setNotificationHandler("notifications/message", (n) => {
    logs.push(n.params);
  });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`server did not start: ${(error as Error).message}\nstderr:\n${stderr}`);
  }
  return {
    client,
    home,
    cwd,
    configRoot,
    stderr: () => stderr,
    pid: () => transport.pid,
    logs,
    call: async (name, args, callOptions = {}) =>
      await client.callTool({ name, arguments: args, _meta: callOptions._meta }, {
        timeout: callOptions.timeout ?? 120_000,
        onprogress: callOptions.onprogress,
        signal: callOptions.signal,
        resetTimeoutOnProgress: true,
      }),
    close: async () => {
      await client.close();
      await launch.cleanup();
    },
  };
}

/** The text of a result's text blocks. */
export function textOf(result: CallToolResult): string {
  return result.content.filter((c) => c.type === "text").map((c) => (c as { text: string }).text)
    .join("\n");
}

/** Every file below `dir`, relative, sorted; missing folders are empty. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(current: string, prefix: string) {
    try {
      for await (const entry of Deno.readDir(current)) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory) await walk(join(current, entry.name), rel);
        else out.push(rel);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  await walk(dir, "");
  return out.sort();
}

/** Polls `condition` (sync or async) every 20 ms until it holds or `ms` pass; says if it held. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  ms = 5000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Starts a fake API and a server connected to it, runs `body`, and always stops both. */
export async function withServer(
  options: Omit<HarnessOptions, "fake">,
  body: (h: Harness, fake: FakeOpenAI) => Promise<void>,
): Promise<void> {
  const fake = FakeOpenAI.start();
  const h = await startServer({ ...options, fake }).catch(async (error) => {
    await fake.close();
    throw error;
  });
  try {
    await body(h, fake);
  } finally {
    await h.close();
    await fake.close();
  }
}

/** A Linux process's resident size (`VmRSS`) or its peak (`VmHWM`), in MB. */
export function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
}

/** Resets a Linux process's `VmHWM` to its current size; false where that is not allowed. */
export function resetPeakMemory(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}
