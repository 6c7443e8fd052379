/** `doctor` tells the truth about a setup and changes nothing on the way. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI } from "./fake/api.ts";
import { DENO_DIR, networkEnv, REPO } from "./harness.ts";
import { listFiles, textOf, withServer } from "./harness.ts";

const MAIN = join(REPO, "src", "main.ts");

async function doctor(
  options: {
    args?: string[];
    env?: Record<string, string>;
    write?: string;
    cwd: string;
    net?: string;
  },
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-env",
      "--allow-read",
      `--allow-net=${options.net ?? "api.openai.com"}`,
      ...(options.write ? [`--allow-write=${options.write}`] : []),
      MAIN,
      "doctor",
      ...(options.args ?? []),
    ],
    env: {
      ...networkEnv(),
      DENO_DIR,
      PATH: Deno.env.get("PATH") ?? "",
      HOME: options.cwd,
      ...options.env,
    },
    clearEnv: true,
    cwd: options.cwd,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("doctor refuses an unknown option with its usage", async () => {
  const home = await Deno.makeTempDir();
  const { code, stdout, stderr } = await doctor({ args: ["--bogus"], cwd: home });
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /doctor: unknown option "--bogus"\.\nUsage: gpt-image-2-mcp doctor \[--online\]/,
  );
  await Deno.remove(home, { recursive: true });
});

Deno.test("doctor creates no folder and says the first call will", async () => {
  const home = await Deno.makeTempDir();
  const { code, stdout } = await doctor({
    cwd: home,
    write: join(home, ".config", "gpt-image-2-mcp"),
    env: { OPENAI_API_KEY: "sk-test-doctor-0000" },
  });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /ok {4}output directory .*gpt-image-2-mcp\/output\/.* does not exist yet/);
  assert.deepEqual(await listFiles(home), [], "nothing was created");
  await Deno.remove(home, { recursive: true });
});

Deno.test("doctor --online without a key says the API check was skipped and why", async () => {
  const home = await Deno.makeTempDir();
  const { code, stdout } = await doctor({ args: ["--online"], cwd: home, write: home });
  assert.equal(code, 1);
  assert.match(stdout, /skip {2}API check: OPENAI_API_KEY is not set, so it was not tried/);
  await Deno.remove(home, { recursive: true });
});

Deno.test("doctor names GPT_IMAGE_2_OUTPUT_DIR when that is the folder at fault", async () => {
  const home = await Deno.makeTempDir();
  const elsewhere = join(home, "elsewhere");
  const { code, stdout } = await doctor({
    cwd: home,
    write: join(home, "scope"),
    env: { OPENAI_API_KEY: "sk-test-doctor-0000", GPT_IMAGE_2_OUTPUT_DIR: elsewhere },
  });
  assert.equal(code, 1);
  assert.match(stdout, /FAIL {2}output directory \(GPT_IMAGE_2_OUTPUT_DIR\): /);
  assert.match(stdout, /fix: grant --allow-write for it, or change GPT_IMAGE_2_OUTPUT_DIR/);
  assert.doesNotMatch(stdout, /or set GPT_IMAGE_2_OUTPUT_DIR/);
  await Deno.remove(home, { recursive: true });
});

Deno.test("a call whose default folder is GPT_IMAGE_2_OUTPUT_DIR blames that variable, not output_dir", async () => {
  const outside = await Deno.makeTempDir({ prefix: "gi2-outside-" });
  await withServer({ env: { GPT_IMAGE_2_OUTPUT_DIR: outside } }, async (h, fake) => {
    const result = await h.call("generate_image", { prompt: "a kite" });
    assert.equal(result.isError, true);
    assert.match(
      textOf(result),
      /^GPT_IMAGE_2_OUTPUT_DIR ".*gi2-outside-.*": .*Add --allow-write=/,
    );
    assert.doesNotMatch(textOf(result), /output_dir/);
    assert.equal(fake.requests.length, 0);
  });
  await Deno.remove(outside, { recursive: true });
});

Deno.test("doctor --online asks the API about GPT_IMAGE_2_MODEL: a fix for each refusal, a warning for a near shutdown", async () => {
  const fake = FakeOpenAI.start();
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  fake.unverifiedModels.add("gpt-image-2.5-flare");
  fake.shutdownDates["gpt-image-2.5-sunburst"] = soon;
  const cases: { model: string; key?: string; gateway?: boolean; code: number; line: RegExp }[] = [
    {
      model: "gpt-image-2",
      code: 0,
      line: /ok {4}the API answers and this key can use gpt-image-2/,
    },
    {
      model: "gpt-image-2.5-flare",
      code: 1,
      line:
        /FAIL {2}the API refused access to gpt-image-2\.5-flare \(403\)\n {6}fix: .*Organization Verification/,
    },
    {
      model: "gpt-image-9-nonexistent",
      code: 1,
      line:
        /FAIL {2}the API does not offer gpt-image-9-nonexistent to this key \(404\)\n {6}fix: check GPT_IMAGE_2_MODEL/,
    },
    {
      model: "gpt-image-2",
      key: "sk-wrong-key-0000000000",
      code: 1,
      line: /FAIL {2}the API refused the key \(401\)\n {6}fix: check OPENAI_API_KEY/,
    },
    {
      model: "gpt-image-2.5-sunburst",
      code: 0,
      line: new RegExp(`gpt-image-2\\.5-sunburst .*${soon}`),
    },
    {
      model: "gpt-image-2",
      gateway: true,
      code: 0,
      line: /warn {2}.* has no GET \/models\/\{id\} route .*checked by the first call instead/,
    },
  ];
  try {
    for (const { model, key, gateway, code, line } of cases) {
      fake.noModelRoute = gateway ?? false;
      const home = await Deno.makeTempDir();
      const out = await doctor({
        args: ["--online"],
        cwd: home,
        write: home,
        net: fake.host,
        env: {
          OPENAI_API_KEY: key ?? fake.apiKey,
          OPENAI_BASE_URL: fake.baseURL,
          GPT_IMAGE_2_MODEL: model,
        },
      });
      assert.match(out.stdout, line, `${model}: ${out.stdout}`);
      assert.equal(out.code, code, `${model}: ${out.stdout}`);
      assert.ok(!out.stdout.includes(fake.apiKey), "the key never shows");
      await Deno.remove(home, { recursive: true });
    }
  } finally {
    await fake.close();
  }
});
