import assert from "node:assert/strict";
import { ConfigError, ENV_VARS, loadConfig, V8_FLAGS } from "./config.ts";

function load(env: Record<string, string>) {
  return loadConfig({ cwd: "/work", env: (n) => env[n] });
}

Deno.test("defaults match the reference", () => {
  const c = load({ HOME: "/h" });
  assert.equal(c.baseURL, "https://api.openai.com/v1");
  assert.equal(c.model, "gpt-image-2");
  assert.equal(c.responsesEditModel, "gpt-4.1-mini");
  assert.equal(c.editRoute, "auto");
  assert.equal(c.configDir, "/h/.config");
  assert.equal(c.maxRetries, 2);
  assert.equal(c.apiKey, undefined);
  assert.equal(c.detachAfterMs, 50_000);
});

Deno.test("GPT_IMAGE_2_DETACH_AFTER_S takes seconds, fractions too, and 0 for never", () => {
  const cases: [string, number][] = [["0", 0], ["2", 2_000], ["0.5", 500], ["3600", 3_600_000]];
  for (const [raw, ms] of cases) {
    assert.equal(load({ GPT_IMAGE_2_DETACH_AFTER_S: raw }).detachAfterMs, ms, raw);
  }
});

Deno.test("bad values are one-line ConfigErrors naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ OPENAI_BASE_URL: "not a url" }, /^OPENAI_BASE_URL must be an absolute http\(s\) URL/],
    [{ OPENAI_BASE_URL: "ftp://x" }, /^OPENAI_BASE_URL must use https:\/\/ or http:\/\//],
    [
      { GPT_IMAGE_2_EDIT_ROUTE: "sideways" },
      /^GPT_IMAGE_2_EDIT_ROUTE must be one of auto, direct, responses/,
    ],
    [
      { GPT_IMAGE_2_MAX_RETRIES: "-1" },
      /^GPT_IMAGE_2_MAX_RETRIES must be a whole number from 0 to 10/,
    ],
    [{ GPT_IMAGE_2_BUDGET_USD: "free" }, /^GPT_IMAGE_2_BUDGET_USD must be a positive amount/],
    [{ GPT_IMAGE_2_MCP_DEBUG: "verbose" }, /^GPT_IMAGE_2_MCP_DEBUG must be 1 or 0/],
    [
      { GPT_IMAGE_2_PARTIAL_IMAGES: "4" },
      /^GPT_IMAGE_2_PARTIAL_IMAGES must be a whole number from 0 to 3/,
    ],
    ...["-1", "soon", "3601", "Infinity"].map((raw): [Record<string, string>, RegExp] => [
      { GPT_IMAGE_2_DETACH_AFTER_S: raw },
      new RegExp(
        `^GPT_IMAGE_2_DETACH_AFTER_S must be a number of seconds from 0 to 3600, got "${raw}"`,
      ),
    ]),
  ];
  for (const [env, expected] of cases) {
    assert.throws(() => load(env), (e) => e instanceof ConfigError && expected.test(e.message));
  }
});

Deno.test("deno task start grants exactly the variables the server reads, with the V8 flags", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const granted = /--allow-env=(\S+)/.exec(denoJson.tasks.start)?.[1].split(",");
  assert.deepEqual(granted, [...ENV_VARS]);
  for (const task of [denoJson.tasks.start, denoJson.tasks.inspect]) {
    assert.match(task, new RegExp(` --v8-flags=${V8_FLAGS.join(",")} `));
  }
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const flag = `--v8-flags=${V8_FLAGS.join(",")}`;
  const commands = readme.match(/deno run --[^\n]*/g) ?? [];
  const configs = readme.match(/"run",\s*"[^"]*"/g) ?? [];
  assert.ok(commands.length >= 3 && configs.length >= 2, "the README's launch examples");
  for (const line of [...commands, ...configs]) assert.ok(line.includes(flag), line);
});
