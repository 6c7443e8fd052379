/** The command line's help text and the `doctor` self-check. */

import { join } from "node:path";
import { ConfigError, loadConfig } from "./config.ts";
import { randomHex } from "./fs_atomic.ts";
import { defaultProject, resolveOutputDir } from "./images/output.ts";
import { netScopeProblem } from "./permissions.ts";

/** `--help`. */
export const HELP = `gpt-image-2-mcp: an MCP server for OpenAI's gpt-image-2 (stdio).

Usage:
  gpt-image-2-mcp                 serve MCP over stdin/stdout (what an MCP client runs)
  gpt-image-2-mcp doctor [--online]
                                  check key, output folder and permissions; --online also calls the API
  gpt-image-2-mcp --version       print the version
  gpt-image-2-mcp --help          this text

Environment:
  OPENAI_API_KEY                  required for tool calls (the server starts without it)
  OPENAI_BASE_URL                 API base, default https://api.openai.com/v1
  OPENAI_ORG_ID, OPENAI_PROJECT_ID
  OPENAI_RESPONSES_EDIT_MODEL     host model of the Responses edit route (gpt-4.1-mini)
  GPT_IMAGE_2_MODEL               image model (gpt-image-2)
  GPT_IMAGE_2_OUTPUT_DIR          where images go (default <config dir>/gpt-image-2-mcp/output/<project>-<hash>)
  GPT_IMAGE_2_EDIT_ROUTE          auto | direct | responses (auto)
  GPT_IMAGE_2_SESSION_TTL_MS      idle time before an edit session expires (86400000)
  GPT_IMAGE_2_SESSION_MAX         most sessions kept (50)
  GPT_IMAGE_2_PARTIAL_IMAGES      default partial images streamed as progress, 0-3 (0)
  GPT_IMAGE_2_INLINE              preview | full | none (preview)
  GPT_IMAGE_2_INLINE_MAX_BYTES    inline image budget per result (600000)
  GPT_IMAGE_2_MAX_COST_PER_CALL_USD, GPT_IMAGE_2_BUDGET_USD   spend limits
  GPT_IMAGE_2_MAX_RETRIES (2), GPT_IMAGE_2_TIMEOUT_MS (600000), GPT_IMAGE_2_RETRY_BASE_MS (1000)
  GPT_IMAGE_2_INPUT_TIMEOUT_MS (30000), GPT_IMAGE_2_ALLOW_HTTP_INPUTS (0),
  GPT_IMAGE_2_INPUT_HOST_ALLOWLIST (hosts exempt from the private-address rule)
  GPT_IMAGE_2_PROGRESS_INTERVAL_MS (5000), GPT_IMAGE_2_MCP_DEBUG (0)
  GPT_IMAGE_2_DETACH_AFTER_S      a call still running this long answers with a job (50; 0: never)

Permissions (deno run):
  --allow-net=api.openai.com      the API host (the host of OPENAI_BASE_URL when set), plus
                                  any host you give https:// image inputs from
  --allow-env                     the variables above
  --allow-read                    input images, the git root lookup, session records
  --allow-write=<output root>     e.g. $HOME/.config/gpt-image-2-mcp, or GPT_IMAGE_2_OUTPUT_DIR
  --no-prompt                     a denied operation fails with a message instead of waiting

Memory (deno run):
  --v8-flags=--optimize-for-size  collects garbage sooner: lower peak memory, edits ~14 ms slower
`;

/** Checks the setup and prints one line per check; non-zero when anything needs fixing. */
export async function runDoctor(options: { cwd: string; version: string }): Promise<number> {
  const online = Deno.args.includes("--online");
  const lines: string[] = [`gpt-image-2-mcp ${options.version} doctor`];
  let problems = 0;
  const ok = (text: string) => lines.push(`ok    ${text}`);
  const fail = (text: string, fix: string) => {
    problems++;
    lines.push(`FAIL  ${text}\n      fix: ${fix}`);
  };
  let config;
  try {
    config = loadConfig({ cwd: options.cwd });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.log(`FAIL  configuration: ${error.message}`);
    return 1;
  }
  if (config.apiKey) ok("OPENAI_API_KEY is set");
  else {fail(
      "OPENAI_API_KEY is not set",
      "add it to the env block of this server in your MCP client config",
    );}

  try {
    const dir = resolveOutputDir(config, { project: await defaultProject(config) });
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.doctor-${randomHex(4)}.tmp`);
    await Deno.writeTextFile(probe, "ok", { createNew: true });
    await Deno.remove(probe);
    ok(`output directory ${dir} is writable`);
  } catch (error) {
    fail(
      `output directory: ${(error as Error).message}`,
      "grant --allow-write for it or set GPT_IMAGE_2_OUTPUT_DIR",
    );
  }

  const host = new URL(config.baseURL).host;
  const netProblem = netScopeProblem(host);
  if (netProblem) fail(`API host ${host} is not covered`, `add --allow-net=${host}`);
  else ok(`network permission covers the API host ${host}`);

  if (online && config.apiKey && !netProblem) {
    try {
      const response = await fetch(`${config.baseURL}/models/${config.model}`, {
        headers: { authorization: `Bearer ${config.apiKey}` },
        signal: AbortSignal.timeout(15_000),
      });
      await response.body?.cancel();
      if (response.ok) ok(`the API answers and knows ${config.model}`);
      else {fail(
          `the API answered ${response.status} for ${config.model}`,
          "check the key, organization verification and model access",
        );}
    } catch (error) {
      fail(
        `could not reach ${host}: ${(error as Error).message}`,
        "check the network and OPENAI_BASE_URL",
      );
    }
  }
  lines.push(problems ? `${problems} problem(s) found.` : "All checks passed.");
  console.log(lines.join("\n"));
  return problems ? 1 : 0;
}
