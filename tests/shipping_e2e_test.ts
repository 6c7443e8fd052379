/** Permissions as Deno enforces them, the CLI, `deno run <url>`, and the compiled binary. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI } from "./fake/api.ts";
import { DENO_DIR, networkEnv, REPO, serverArgs, startServer, textOf, waitFor } from "./harness.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";

async function run(args: string[], env: Record<string, string> = {}, cwd = REPO) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: {
      ...networkEnv(),
      DENO_DIR,
      HOME: env.HOME ?? "/nonexistent",
      PATH: Deno.env.get("PATH") ?? "",
      ...env,
    },
    clearEnv: true,
    cwd,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("under the documented flags Deno itself refuses writes outside the root, other hosts, and more", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  const args = serverArgs({ netHosts: ["127.0.0.1:9"], writeScope: [root] });
  args[args.length - 1] = join(REPO, "tests", "fixtures", "permission_probe.ts");
  const { code, stdout, stderr } = await run([...args, root, outside, "127.0.0.2:8080"]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), {
    "write inside the output root": "allowed",
    "write outside the output root": "denied",
    "connect to another host": "denied",
    "run a subprocess": "denied",
    "read system info": "denied",
    "load a native library": "denied",
    "read an unlisted variable": "denied",
  });
  assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was written outside");
  await Deno.remove(root, { recursive: true });
  await Deno.remove(outside, { recursive: true });
});

Deno.test("an API host outside --allow-net is explained at start and at each call, and nothing is sent", async () => {
  const fake = FakeOpenAI.start();
  const other = FakeOpenAI.start();
  const h = await startServer({ fake, env: { OPENAI_BASE_URL: other.baseURL } });
  try {
    assert.match(
      h.stderr(),
      new RegExp(`warning: API host ${other.host}: .*Add --allow-net=${other.host}`),
    );
    const result = await h.call("generate_image", { prompt: "x" });
    assert.equal(result.isError, true);
    assert.match(
      textOf(result),
      new RegExp(`OPENAI_BASE_URL \\(${other.host}\\): .*Add --allow-net=${other.host}`),
    );
    assert.equal(other.requests.length + fake.requests.length, 0);
    const again = await h.call("list_edit_sessions", {});
    assert.equal(again.isError, undefined, "the process carries on");
  } finally {
    await h.close();
    await fake.close();
    await other.close();
  }
});

Deno.test("an output folder outside --allow-write is explained to the client once it is initialized", async () => {
  const fake = FakeOpenAI.start();
  const outside = await Deno.makeTempDir({ prefix: "gi2-outside-" });
  const h = await startServer({ fake, env: { GPT_IMAGE_2_OUTPUT_DIR: outside } });
  try {
    const warning = new RegExp(
      `default output directory ${outside}: .*Add --allow-write=${outside}`,
    );
    assert.ok(await waitFor(() => h.logs.some((l) => warning.test(String(l.data)))), "in the log");
    assert.match(h.stderr(), warning);
  } finally {
    await h.close();
    await fake.close();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("--help, --version and doctor explain themselves", async () => {
  const main = join(REPO, "src", "main.ts");
  const help = await run(["run", "--no-prompt", "--allow-env", "--allow-read", main, "--help"]);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /Usage:[\s\S]*Environment:[\s\S]*OPENAI_API_KEY[\s\S]*Permissions \(deno run\):[\s\S]*--allow-write=/,
  );
  const version = await run(["run", "--no-prompt", "--allow-read", main, "--version"]);
  const { version: expected } = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  assert.equal(version.stdout.trim(), expected);

  const home = await Deno.makeTempDir();
  const writeRoot = join(home, ".config", "gpt-image-2-mcp");
  const flags = ["run", "--no-prompt", "--allow-env", "--allow-read", "--allow-net=api.openai.com"];
  const bad = await run([...flags, main, "doctor"], { HOME: home }, home);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /FAIL {2}OPENAI_API_KEY is not set\n {6}fix: add it to the env block/);
  assert.match(
    bad.stdout,
    /FAIL {2}output directory \(the default output folder\): .*Add --allow-write=/,
  );
  assert.match(bad.stdout, /ok {4}network permission covers the API host api\.openai\.com/);
  const good = await run([...flags, `--allow-write=${writeRoot}`, main, "doctor"], {
    HOME: home,
    OPENAI_API_KEY: "sk-test-doctor-0000",
  }, home);
  assert.equal(good.code, 0, good.stdout);
  assert.match(
    good.stdout,
    /ok {4}output directory .* does not exist yet; the first call creates it\nok {4}network permission covers/,
  );
  assert.match(good.stdout, /All checks passed\./);
  assert.ok(!good.stdout.includes("sk-test-doctor-0000"));
  const fake = FakeOpenAI.start();
  const online = (env: Record<string, string>) =>
    run([
      ...flags.filter((f) => !f.startsWith("--allow-net")),
      `--allow-net=${fake.host}`,
      `--allow-write=${writeRoot}`,
      main,
      "doctor",
      "--online",
    ], {
      HOME: home,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.baseURL,
      ...env,
    }, home);
  try {
    const reached = await online({});
    assert.equal(reached.code, 0, reached.stdout);
    assert.match(reached.stdout, /ok {4}the API answers and this key can use gpt-image-2/);
    const unknownModel = await online({ GPT_IMAGE_2_MODEL: "gpt-image-9" });
    assert.equal(unknownModel.code, 1);
    assert.match(
      unknownModel.stdout,
      /FAIL {2}the API does not offer gpt-image-9 to this key \(404\)\n {6}fix: check GPT_IMAGE_2_MODEL/,
    );
    const wrongKey = await online({ OPENAI_API_KEY: "sk-wrong-key-0000" });
    assert.match(
      wrongKey.stdout,
      /FAIL {2}the API refused the key \(401\)\n {6}fix: check OPENAI_API_KEY/,
    );
    assert.ok(!wrongKey.stdout.includes("sk-wrong-key-0000"));
  } finally {
    await fake.close();
  }
  const unknown = await run(["run", "--allow-read", main, "serve-http"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown argument "serve-http"/);
  await Deno.remove(home, { recursive: true });
});

Deno.test("deno run <url>/src/main.ts works with no local deno.json, importing only from that address", async () => {
  const files = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("..") || !/^\/(src\/.*\.ts|deno\.json)$/.test(path)) {
      return new Response("no", { status: 404 });
    }
    try {
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(await Deno.readFile(join(REPO, path)), {
        headers: { "content-type": type },
      });
    } catch {
      return new Response("no", { status: 404 });
    }
  });
  const origin = `127.0.0.1:${files.addr.port}`;
  const fake = FakeOpenAI.start();
  const cwd = await Deno.makeTempDir({ prefix: "gi2-url-" });
  const args = serverArgs({ netHosts: [fake.host], writeScope: [cwd] }).filter((a) =>
    !a.startsWith("--config")
  );
  args.splice(
    args.length - 1,
    1,
    "--no-config",
    `--allow-import=${origin}`,
    `http://${origin}/src/main.ts`,
  );
  const h = await startServer({
    fake,
    cwd,
    env: { GPT_IMAGE_2_OUTPUT_DIR: join(cwd, "out") },
    command: { command: Deno.execPath(), args },
  });
  try {
    assert.equal((await h.client.listTools()).tools.length, 9);
    // The viewer's page comes from the same address, as a module like the others.
    const viewer = await h.client.readResource({ uri: "ui://gpt-image-2/viewer" });
    assert.match((viewer.contents[0] as { text: string }).text, /^<!doctype html>/i);
    const result = await h.call("generate_image", {
      prompt: "from a URL",
      quality: "low",
      inline: "none",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const [image] = (result.structuredContent as ImageJobResult).images;
    assert.ok(image.file_path.startsWith(join(cwd, "out")));
  } finally {
    await h.close();
    await fake.close();
    await files.shutdown();
    await Deno.remove(cwd, { recursive: true });
  }
});

/** Builds the binary with the release flags plus the loopback API host, if denort can be had. */
async function buildBinary(): Promise<{ path?: string; reason?: string }> {
  const existing = Deno.env.get("GPT_IMAGE_2_MCP_BIN");
  if (existing) return { path: existing };
  const out = join(await Deno.makeTempDir(), "gpt-image-2-mcp");
  const env: Record<string, string> = {
    ...networkEnv(),
    EXTRA_NET: "127.0.0.1",
    OUTPUT: out,
    PATH: Deno.env.get("PATH") ?? "",
  };
  for (const name of ["DENORT_BIN", "DENO_DIR", "HOME"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  const build = await new Deno.Command("bash", {
    args: [join(REPO, ".ci", "compile")],
    env,
    clearEnv: true,
  })
    .output();
  if (build.code === 0) return { path: out };
  const lines = new TextDecoder().decode(build.stderr).split("\n");
  const error = lines.find((l) => /error sending request/.test(l)) ??
    lines.find((l) => /error/i.test(l));
  return { reason: error?.trim() ?? `deno compile exited ${build.code}` };
}

const binary = await buildBinary();
if (!binary.path) {
  console.log(
    `compiled binary NOT tested: deno compile could not get its denort runtime (${binary.reason}). ` +
      `Set DENORT_BIN=/path/to/denort (or GPT_IMAGE_2_MCP_BIN=/path/to/binary) to test it.`,
  );
}

Deno.test({
  name:
    "the compiled binary: nine tools, the viewer, a real image, a session across restarts, clear errors",
  ignore: !binary.path,
  fn: async () => {
    const fake = FakeOpenAI.start();
    const cwd = await Deno.makeTempDir({ prefix: "gi2-bin-" });
    const home = await Deno.makeTempDir({ prefix: "gi2-bin-home-" });
    const command = { command: binary.path!, args: [] };
    try {
      let h = await startServer({ fake, cwd, command, env: { HOME: home } });
      assert.equal((await h.client.listTools()).tools.length, 9);
      // The viewer's page is embedded in the binary.
      const viewer = await h.client.readResource({ uri: "ui://gpt-image-2/viewer" });
      assert.match((viewer.contents[0] as { text: string }).text, /^<!doctype html>/i);
      assert.match(
        textOf(await h.call("generate_image", { prompt: "x", size: "1000x1000" })),
        /multiples of 16/,
      );
      await Deno.writeFile(join(cwd, "in.png"), await fake.image("1024x1024", "png"));
      const started = await h.call("start_edit_session", {
        prompt: "x",
        images: ["in.png"],
        quality: "low",
      });
      assert.equal(started.isError, undefined, textOf(started));
      await h.close();
      h = await startServer({ fake, cwd, command, env: { HOME: home } });
      const id = (started.structuredContent as { session_id: string }).session_id;
      const next = await h.call("continue_edit_session", { session_id: id, prompt: "more" });
      assert.equal((next.structuredContent as { turn: number }).turn, 2, textOf(next));
      await h.close();
    } finally {
      await fake.close();
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(home, { recursive: true });
    }
  },
});
