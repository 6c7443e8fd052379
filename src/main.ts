/**
 * gpt-image-2-mcp: an MCP server that gives any MCP client OpenAI's gpt-image-2.
 *
 * Run it over stdio: `deno run --v8-flags=--optimize-for-size --no-prompt
 * --allow-net=api.openai.com --allow-env --allow-read
 * --allow-write=$HOME/.config/gpt-image-2-mcp jsr:@gpt-image-2/mcp`. `--help` lists the rest.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };
import { type Config, ConfigError, loadConfig, readEnv } from "./config.ts";
import { netScopeProblem } from "./permissions.ts";
import type { Transport } from "./deps.ts";
import { Logger } from "./log.ts";
// Static, not import(): Deno (2.9) uses no V8 code cache for an npm module first reached through
// a dynamic import, so the SDK's modules would be compiled afresh on every start.
import { serve } from "./server.ts";
import { DenoStdioTransport } from "./stdio_transport.ts";

/** The package version, read from `deno.json` at build time. */
export const VERSION: string = denoJson.version;

function keepStdoutForProtocol(): void {
  // Anything a dependency prints must not corrupt the JSON-RPC stream on stdout.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
}

function installGlobalHandlers(log: Logger): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error(`unhandled rejection: ${(event.reason as Error)?.stack ?? event.reason}`);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log.error(`uncaught error: ${(event.error as Error)?.stack ?? event.message}`);
  });
}

function warnAboutNetwork(config: Config, log: Logger): void {
  const host = new URL(config.baseURL).host;
  const net = netScopeProblem(host);
  if (net) log.warning(`API host ${host}: ${net}`);
}

/** The configuration, or the error that names what is wrong with it. */
function readConfig(): Config | ConfigError {
  try {
    return loadConfig({ cwd: Deno.cwd() });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/** Serves MCP on this process's stdio (or on `transport`) until the client goes away. */
export async function runServer(options: { transport?: Transport } = {}): Promise<void> {
  keepStdoutForProtocol();
  const config = readConfig();
  const broken = config instanceof ConfigError;
  const log = new Logger({
    debug: !broken && config.debug,
    secrets: [broken ? readEnv("OPENAI_API_KEY") : config.apiKey],
  });
  installGlobalHandlers(log);
  const transport = options.transport ?? new DenoStdioTransport();
  const serving = serve({ config, log, version: VERSION, transport });
  if (broken) {
    // The server still starts: a client that sees only "connection closed" cannot say why.
    log.error(
      `configuration error: ${config.message} Every tool call answers with this until it is fixed.`,
    );
  } else {
    log.debug(
      `gpt-image-2-mcp ${VERSION} ready on stdio (model ${config.model}, API ${config.baseURL})`,
    );
    if (!config.apiKey) {
      log.warning("OPENAI_API_KEY is not set: tools will answer with an error until it is.");
    }
    warnAboutNetwork(config, log);
  }
  await serving.done;
}

/** The flags of `serve`: `--http`, `--host H`, `--port P` (or `--host=H`, `--port=P`). */
export function parseServeArgs(
  args: readonly string[],
): { http: boolean; host?: string; port?: string } | string {
  const out: { http: boolean; host?: string; port?: string } = { http: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--http") {
      out.http = true;
      continue;
    }
    const match = /^--(host|port)(?:=(.*))?$/.exec(arg);
    if (!match) return `serve: unknown option "${arg}".`;
    const value = match[2] ?? args[++i];
    if (value === undefined || value === "") return `serve: --${match[1]} needs a value.`;
    out[match[1] as "host" | "port"] = value;
  }
  if (!out.http && (out.host !== undefined || out.port !== undefined)) {
    return "serve: --host and --port go with --http.";
  }
  return out;
}

/** Serves MCP over Streamable HTTP until SIGINT or SIGTERM; non-zero when it cannot start. */
export async function runHttpServer(flags: { host?: string; port?: string }): Promise<number> {
  const config = readConfig();
  const broken = config instanceof ConfigError;
  const { loadHttpConfig } = await import("./http/config.ts");
  let http;
  try {
    http = loadHttpConfig(readEnv, flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`gpt-image-2-mcp: cannot start the HTTP server: ${error.message}`);
    return 1;
  }
  const log = new Logger({
    debug: !broken && config.debug,
    secrets: [broken ? readEnv("OPENAI_API_KEY") : config.apiKey, http.token],
  });
  installGlobalHandlers(log);
  const { serveHttp } = await import("./http/serve.ts");
  let serving;
  try {
    serving = serveHttp({ config, http, log, version: VERSION });
  } catch (error) {
    console.error(
      `gpt-image-2-mcp: cannot listen on ${http.host}:${http.port}: ${(error as Error).message}`,
    );
    return 1;
  }
  const auth = http.oauth
    ? `OAuth (issuer ${http.oauth.issuer})${http.token ? " or the static token" : ""}`
    : http.token
    ? "the static token"
    : "no authentication (loopback only)";
  log.notice(`gpt-image-2-mcp ${VERSION} serving MCP at ${serving.url}; ${auth}`);
  if (broken) {
    log.error(
      `configuration error: ${config.message} Every tool call answers with this until it is fixed.`,
    );
  } else {
    if (!config.apiKey) {
      log.warning("OPENAI_API_KEY is not set: tools will answer with an error until it is.");
    }
    warnAboutNetwork(config, log);
  }
  const stop = () => serving.shutdown();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch {
      // Not every platform has every signal.
    }
  }
  await serving.finished;
  return 0;
}

/** Runs the command line: `--help`, `--version`, `doctor`, `serve`, or the stdio server. */
export async function main(args: readonly string[]): Promise<number> {
  const [command] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log((await import("./cli.ts")).HELP);
    return 0;
  }
  if (command === "--version" || command === "-V") {
    console.log(VERSION);
    return 0;
  }
  if (command === "doctor") {
    const { runDoctor } = await import("./cli.ts");
    return await runDoctor({ cwd: Deno.cwd(), version: VERSION, args: args.slice(1) });
  }
  if (command === "serve") {
    const flags = parseServeArgs(args.slice(1));
    if (typeof flags === "string") {
      console.error(`${flags} Run with --help for usage.`);
      return 2;
    }
    if (flags.http) return await runHttpServer(flags);
    await runServer();
    return 0;
  }
  if (command !== undefined) {
    console.error(`Unknown argument "${command}". Run with --help for usage.`);
    return 2;
  }
  await runServer();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
