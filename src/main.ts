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
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { defaultOutputDir, projectFolderName } from "./images/output.ts";
import { netScopeProblem, writeScopeProblem } from "./permissions.ts";
import { Logger } from "./log.ts";
import { HELP, runDoctor } from "./cli.ts";

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

async function warnAboutPermissions(config: Config, cwd: string, log: Logger): Promise<void> {
  const host = new URL(config.baseURL).host;
  const net = netScopeProblem(host);
  if (net) log.warning(`API host ${host}: ${net}`);
  try {
    const dir = config.outputDirOverride ??
      defaultOutputDir(config, await projectFolderName(cwd));
    const write = writeScopeProblem(dir);
    if (write) log.warning(`default output directory ${dir}: ${write}`);
  } catch (error) {
    log.warning((error as Error).message);
  }
}

async function serve(): Promise<void> {
  keepStdoutForProtocol();
  const cwd = Deno.cwd();
  const config = loadConfig({ cwd });
  const log = new Logger({ debug: config.debug, secrets: [config.apiKey] });
  installGlobalHandlers(log);
  const [{ createServer }, { DenoStdioTransport }] = await Promise.all([
    import("./server.ts"),
    import("./stdio_transport.ts"),
  ]);
  const server = createServer({ config, log, cwd, version: VERSION });
  server.onclose = () => Deno.exit(0);
  await server.connect(new DenoStdioTransport());
  log.debug(
    `gpt-image-2-mcp ${VERSION} ready on stdio (model ${config.model}, API ${config.baseURL})`,
  );
  if (!config.apiKey) {
    log.warning("OPENAI_API_KEY is not set: tools will answer with an error until it is.");
  }
  await warnAboutPermissions(config, cwd, log);
}

/** Runs the command line: `--help`, `--version`, `doctor`, or the stdio server. */
export async function main(args: readonly string[]): Promise<number> {
  const [command] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return 0;
  }
  if (command === "--version" || command === "-V") {
    console.log(VERSION);
    return 0;
  }
  try {
    if (command === "doctor") return await runDoctor({ cwd: Deno.cwd(), version: VERSION });
    if (command !== undefined) {
      console.error(`Unknown argument "${command}". Run with --help for usage.`);
      return 2;
    }
    await serve();
    return -1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`gpt-image-2-mcp: configuration error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  if (code >= 0) Deno.exit(code);
}
