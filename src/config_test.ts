import assert from "node:assert/strict";
import { ConfigError, ENV_VARS, loadConfig, readEnv, V8_FLAGS } from "./config.ts";

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
    [
      { GPT_IMAGE_2_PROJECT_BUDGET_USD: "0" },
      /^GPT_IMAGE_2_PROJECT_BUDGET_USD must be a positive amount/,
    ],
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
  // The last --allow-env: the first belongs to the helper that lists the network hosts.
  const granted = [...denoJson.tasks.start.matchAll(/--allow-env=(\S+)/g)].at(-1)?.[1].split(",");
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

Deno.test("readEnv reads an unsubstituted bundle setting as unset", () => {
  const cases: [string, string | undefined][] = [
    ["${user_config.budget_usd}", undefined],
    ["  ${user_config.output_dir} ", undefined],
    ["", undefined],
    ["2.5", "2.5"],
    ["${HOME}/x", "${HOME}/x"],
  ];
  for (const [raw, expected] of cases) {
    Deno.env.set("GPT_IMAGE_2_BUDGET_USD", raw);
    assert.equal(readEnv("GPT_IMAGE_2_BUDGET_USD"), expected, JSON.stringify(raw));
  }
  Deno.env.delete("GPT_IMAGE_2_BUDGET_USD");
});

Deno.test("a configuration error never echoes a value that may be a secret", () => {
  const key = "gw-live-4f8a9c2e7b1d3a6f5e0c9b8a7d6e5f4c";
  const cases: { env: Record<string, string>; secret: string; rule: RegExp }[] = [
    {
      env: { OPENAI_API_KEY: key, GPT_IMAGE_2_MAX_RETRIES: key },
      secret: key,
      rule:
        /^GPT_IMAGE_2_MAX_RETRIES must be a whole number from 0 to 10, got a value that looks like a secret \(not shown\)\.$/,
    },
    {
      env: { OPENAI_API_KEY: key, GPT_IMAGE_2_BUDGET_USD: key.slice(0, 14) },
      secret: key.slice(0, 14),
      rule:
        /^GPT_IMAGE_2_BUDGET_USD must be a positive amount in US dollars, got a value that looks/,
    },
    {
      env: { GPT_IMAGE_2_INLINE: "sk-proj-AbCdEf123456" },
      secret: "AbCdEf123456",
      rule: /^GPT_IMAGE_2_INLINE must be one of preview, full, none, got a value that looks/,
    },
    {
      env: { GPT_IMAGE_2_MCP_DEBUG: "Xy7kQ2mN9pR4sT6vW8zA1bC3" },
      secret: "Xy7kQ2mN9pR4sT6vW8zA1bC3",
      rule: /^GPT_IMAGE_2_MCP_DEBUG must be 1 or 0, got a value that looks like a secret/,
    },
    {
      env: { OPENAI_BASE_URL: "https://me:hunter2-pass@gateway.example/v1" },
      secret: "hunter2-pass",
      rule: /^OPENAI_BASE_URL must not contain credentials \(user:password@\)/,
    },
    {
      env: { OPENAI_BASE_URL: "https://me:hunter2-pass@" },
      secret: "hunter2-pass",
      rule: /^OPENAI_BASE_URL must (be an absolute|not contain credentials)/,
    },
    {
      env: { OPENAI_BASE_URL: "//me:hunter2-pass@gateway.example" },
      secret: "hunter2-pass",
      rule:
        /^OPENAI_BASE_URL must be an absolute http\(s\) URL, got a value with an @ \(not shown\)/,
    },
  ];
  for (const { env, secret, rule } of cases) {
    assert.throws(
      () => load(env),
      (e) => e instanceof ConfigError && rule.test(e.message) && !e.message.includes(secret),
      JSON.stringify(env),
    );
  }
  // Ordinary mistakes are still quoted, so the user sees what was read.
  assert.throws(() => load({ GPT_IMAGE_2_INLINE: "banana" }), /got "banana"\.$/);
  assert.throws(() => load({ GPT_IMAGE_2_MCP_DEBUG: "Verbose" }), /got "Verbose"\.$/);
});
