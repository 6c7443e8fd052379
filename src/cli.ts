/** The command line's help text and the `doctor` self-check. */

import { dirname, join } from "node:path";
import { ConfigError, loadConfig } from "./config.ts";
import { randomHex } from "./fs_atomic.ts";
import { defaultProject, resolveOutputDir } from "./images/storage/output.ts";
import { netScopeProblem } from "./permissions.ts";
import { capabilitiesOf } from "./models.ts";
import { isModelNotFound, shutdownDateOf, shutdownWarning } from "./openai/api.ts";

/** `--help`. */
export const HELP = `gpt-image-2-mcp: an MCP server for OpenAI's gpt-image-2 (stdio).

Usage:
  gpt-image-2-mcp                 serve MCP over stdin/stdout (what an MCP client runs)
  gpt-image-2-mcp serve --http [--host 127.0.0.1] [--port 8787]
                                  serve MCP over Streamable HTTP at /mcp (docs/deploy.md)
  gpt-image-2-mcp doctor [--online]
                                  check key, output folder and permissions (changes nothing);
                                  --online also asks the API whether the key can use the model
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
  GPT_IMAGE_2_PROJECT_BUDGET_USD  cap on this project's spend (the budget covers the output root)
  GPT_IMAGE_2_MAX_RETRIES (2), GPT_IMAGE_2_TIMEOUT_MS (600000), GPT_IMAGE_2_RETRY_BASE_MS (1000)
  GPT_IMAGE_2_INPUT_TIMEOUT_MS (30000), GPT_IMAGE_2_ALLOW_HTTP_INPUTS (0),
  GPT_IMAGE_2_INPUT_HOST_ALLOWLIST (hosts exempt from the private-address rule)
  GPT_IMAGE_2_PROGRESS_INTERVAL_MS (5000), GPT_IMAGE_2_MCP_DEBUG (0)
  GPT_IMAGE_2_DETACH_AFTER_S      a call still running this long answers with a job (50; 0: never)
  GPT_IMAGE_2_HTTP_HOST, GPT_IMAGE_2_HTTP_PORT, GPT_IMAGE_2_HTTP_ALLOWED_HOSTS,
  GPT_IMAGE_2_HTTP_MAX_BODY_BYTES (serve --http), GPT_IMAGE_2_HTTP_TOKEN (static bearer token,
  required off loopback unless OAuth is set), GPT_IMAGE_2_OAUTH_ISSUER, GPT_IMAGE_2_OAUTH_AUDIENCE,
  GPT_IMAGE_2_OAUTH_SCOPE (OAuth 2.1 resource server), GPT_IMAGE_2_PRINCIPAL_BUDGET_USD

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

/** `doctor`'s usage line, printed with an unknown option. */
export const DOCTOR_USAGE = "Usage: gpt-image-2-mcp doctor [--online]";

/** The deepest folder of `path` (itself included) that exists, or undefined. */
async function deepestExisting(path: string): Promise<string | undefined> {
  for (let dir = path;; dir = dirname(dir)) {
    try {
      if ((await Deno.stat(dir)).isDirectory) return dir;
      return undefined; // a file where a folder must be
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether a file can be created in the existing folder `dir` (a probe file, removed at once). */
async function canCreateIn(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.doctor-${randomHex(4)}.tmp`);
  try {
    await Deno.writeTextFile(probe, "ok", { createNew: true });
    await Deno.remove(probe);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The fix for an API answer to `GET /models/{model}`. */
function apiFix(status: number, model: string): { text: string; fix: string } {
  if (status === 401) {
    return {
      text: "the API refused the key (401)",
      fix: "check OPENAI_API_KEY: copy a current key from the OpenAI dashboard",
    };
  }
  if (status === 403) {
    return {
      text: `the API refused access to ${model} (403)`,
      fix: "GPT Image models need API Organization Verification: verify the organization in " +
        "the OpenAI dashboard, or check OPENAI_ORG_ID/OPENAI_PROJECT_ID",
    };
  }
  if (status === 404) {
    return {
      text: `the API does not offer ${model} to this key (404)`,
      fix: `check GPT_IMAGE_2_MODEL ("${model}"): a typo, or a model this project has no access to`,
    };
  }
  return {
    text: `the API answered ${status} for ${model}`,
    fix: "try again later; check OPENAI_BASE_URL if it persists",
  };
}

/**
 * Checks the setup and prints one line per check; non-zero when anything needs fixing. It changes
 * nothing: a missing output folder is reported as what the first call would create.
 */
export async function runDoctor(
  options: { cwd: string; version: string; args: readonly string[] },
): Promise<number> {
  const unknown = options.args.find((a) => a !== "--online");
  if (unknown !== undefined) {
    console.error(`doctor: unknown option "${unknown}".\n${DOCTOR_USAGE}`);
    return 2;
  }
  const online = options.args.includes("--online");
  const lines: string[] = [`gpt-image-2-mcp ${options.version} doctor`];
  let problems = 0;
  const ok = (text: string) => lines.push(`ok    ${text}`);
  const skip = (text: string) => lines.push(`skip  ${text}`);
  const warn = (text: string) => lines.push(`warn  ${text}`);
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

  const source = config.outputDirOverride ? "GPT_IMAGE_2_OUTPUT_DIR" : "the default output folder";
  try {
    const dir = resolveOutputDir(config, { project: await defaultProject(config) });
    const existing = await deepestExisting(dir);
    // Only an existing output folder is probed: it lies inside the write scope, its parents may not.
    const problem = existing === undefined
      ? "no folder above it exists (a file stands in the way?)"
      : existing === dir
      ? await canCreateIn(dir)
      : undefined;
    if (problem) {
      fail(`output directory ${dir} (${source}): ${problem}`, "choose a folder you can write to");
    } else if (existing === dir) ok(`output directory ${dir} is writable`);
    else ok(`output directory ${dir} does not exist yet; the first call creates it`);
  } catch (error) {
    fail(
      `output directory (${source}): ${(error as Error).message}`,
      config.outputDirOverride
        ? "grant --allow-write for it, or change GPT_IMAGE_2_OUTPUT_DIR"
        : "grant --allow-write for it, or set GPT_IMAGE_2_OUTPUT_DIR to a folder inside the scope",
    );
  }

  const host = new URL(config.baseURL).host;
  const netProblem = netScopeProblem(host);
  if (netProblem) fail(`API host ${host} is not covered`, `add --allow-net=${host}`);
  else ok(`network permission covers the API host ${host}`);

  if (online && !config.apiKey) skip("API check: OPENAI_API_KEY is not set, so it was not tried");
  else if (online && netProblem) skip(`API check: ${host} is outside --allow-net`);
  else if (online) {
    try {
      const response = await fetch(`${config.baseURL}/models/${config.model}`, {
        headers: { authorization: `Bearer ${config.apiKey}` },
        signal: AbortSignal.timeout(15_000),
      });
      const answer = await response.json().catch(() => ({}));
      const code = (answer as { error?: { code?: unknown } })?.error?.code;
      if (response.status === 404 && !isModelNotFound(response.status, code)) {
        warn(
          `${host} has no GET /models/{id} route (404 without model_not_found), as some ` +
            `gateways do: access to ${config.model} is checked by the first call instead`,
        );
      } else if (response.ok) {
        ok(`the API answers and this key can use ${config.model}`);
        const shutdownDate = shutdownDateOf(answer);
        const warning = shutdownWarning(config.model, { shutdownDate });
        if (warning) warn(warning.replace(/^model: /, ""));
        if (!capabilitiesOf(config.model).known) {
          warn(
            `${config.model} is not in this server's model table: calls use gpt-image-2's ` +
              "rules, and its price is estimated at the dearest known one",
          );
        }
      } else {
        const { text, fix } = apiFix(response.status, config.model);
        fail(text, fix);
      }
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
