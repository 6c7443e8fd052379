/** Concurrency, stdout purity, secrets, and a 200-call soak with injected faults. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI, type Fault } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import {
  DENO_DIR,
  listFiles,
  memoryMb,
  networkEnv,
  REPO,
  resetPeakMemory,
  serverArgs,
  startServer,
  textOf,
  waitFor,
  withServer,
} from "./harness.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { spawnRaw, withRawServer } from "./raw_wire.ts";

function files(result: { structuredContent?: unknown }): ImageJobResult["images"] {
  return (result.structuredContent as ImageJobResult).images;
}

Deno.test("16 parallel calls give 16 distinct complete files; tools/list answers meanwhile", () =>
  withServer({}, async (h, fake) => {
    fake.delayMs = 1500;
    let settled = 0;
    const calls = Array.from(
      { length: 16 },
      (_, i) =>
        h.call("generate_image", {
          prompt: `parallel ${i}`,
          quality: "low",
          size: "1024x1024",
          inline: "none",
        }).finally(() => settled++),
    );
    assert.ok(
      await waitFor(() => fake.calls("generations").length > 0),
      "the calls reached the API",
    );
    const { tools } = await h.client.listTools();
    assert.equal(tools.length, 9);
    assert.equal(settled, 0, "tools/list answered while the 16 calls were in flight");
    const results = await Promise.all(calls);
    const paths = results.flatMap((r) => {
      assert.equal(r.isError, undefined, textOf(r));
      return files(r).map((f) => f.file_path);
    });
    assert.equal(new Set(paths).size, 16);
    const expected = await fake.image("1024x1024", "png");
    for (const path of paths) assert.deepEqual(await Deno.readFile(path), expected);
  }));

const INITIALIZE = [
  {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  },
  { jsonrpc: "2.0", method: "notifications/initialized" },
];

/**
 * Writes `messages` to the server one by one, waiting for each request's answer, then closes
 * stdin; gives every stdout line, stderr and the exit status.
 */
async function exchange(child: Deno.ChildProcess, messages: Record<string, unknown>[]) {
  const stderrText = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (const message of messages) {
    await writer.write(encoder.encode(JSON.stringify(message) + "\n"));
    if (!("id" in message)) continue;
    while (!lines.some((l) => l.includes(`"id":${message.id}`))) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts.filter((l) => l.length));
    }
  }
  await writer.close();
  for (let next = await reader.read(); !next.done; next = await reader.read()) buffer += next.value;
  lines.push(...buffer.split("\n").filter((l) => l.length));
  const status = await child.status;
  for (const line of lines) {
    assert.equal(JSON.parse(line).jsonrpc, "2.0", `not JSON-RPC: ${line.slice(0, 120)}`);
  }
  const byId = new Map(
    lines.map((l) => JSON.parse(l)).filter((m) => "id" in m).map((m) => [m.id, m]),
  );
  return { lines, byId, stderr: await stderrText, status };
}

Deno.test("stdout carries only JSON-RPC, even in debug mode and after failures; the key never shows", async () => {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir();
  const child = spawnRaw(fake, home, {
    env: { GPT_IMAGE_2_MCP_DEBUG: "1", GPT_IMAGE_2_RETRY_BASE_MS: "5" },
  });
  fake.inject("generations", { kind: "status", status: 500 }, { kind: "bad-json" });
  const messages = [
    ...INITIALIZE,
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
    {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "generate_image", arguments: { prompt: "x", quality: "low" } },
    },
    {
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: { name: "generate_image", arguments: { prompt: 7 } },
    },
    {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "no_such_tool", arguments: {} },
    },
    {
      jsonrpc: "2.0",
      id: 6,
      method: "tools/call",
      params: {
        name: "generate_image",
        arguments: { prompt: "ok", quality: "low", inline: "none" },
      },
    },
  ];
  try {
    const { lines, byId, stderr: err, status } = await exchange(child, messages);
    assert.equal(byId.get(3).result.isError, true, "the retried 500 then bad JSON is a tool error");
    assert.equal(byId.get(4).result.isError, true);
    assert.equal(byId.get(5).error.code, -32602);
    assert.equal(byId.get(6).result.isError, undefined);
    assert.match(err, /debug: images\.generate: attempt 1 of 3/, "debug lines went to stderr");
    assert.equal(status.code, 0, "closing stdin ends the server cleanly");
    assert.ok(!err.includes(fake.apiKey) && !lines.join().includes(fake.apiKey), "no key anywhere");
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a dependency that prints, throws and leaves a rejection unhandled cannot touch stdout or stop the server", async () => {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir();
  const child = spawnRaw(fake, home, { entry: join(REPO, "tests", "fixtures", "noisy_server.ts") });
  const generate = (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: {
      name: "generate_image",
      arguments: { prompt: "after", quality: "low", inline: "none" },
    },
  });
  try {
    // The fixture misbehaves on the first call, before the server answers it.
    const { byId, stderr, status } = await exchange(child, [
      ...INITIALIZE,
      generate(2),
      generate(3),
    ]);
    for (const method of ["log", "info", "debug"]) {
      assert.match(stderr, new RegExp(`noise: console\\.${method}`), `console.${method} on stderr`);
    }
    assert.match(stderr, /unhandled rejection: Error: noise: a rejection nobody handles/);
    assert.match(stderr, /uncaught error: Error: noise: thrown from a timer/);
    assert.equal(byId.get(2).result.isError, undefined, "the call under the noise succeeds");
    assert.equal(byId.get(3).result.isError, undefined, "and so does the next one");
    assert.equal(status.code, 0, "closing stdin still ends the server cleanly");
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true });
  }
});

function lastMemory(stderr: string): number {
  const all = [
    ...stderr.matchAll(/memory: rss [\d.]+ MB, heap ([\d.]+) MB, external ([\d.]+) MB/g),
  ];
  const [, heap, external] = all[all.length - 1];
  return Math.round(Number(heap) + Number(external));
}

Deno.test({
  name:
    "soak: 200 calls with injected faults; memory settles; every success has its file; nothing left over",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const fake = FakeOpenAI.start();
    const h = await startServer({
      fake,
      v8Flags: ["--expose-gc"],
      env: {
        GPT_IMAGE_2_RETRY_BASE_MS: "2",
        GPT_IMAGE_2_MCP_DEBUG: "1",
        // The README's recommended allocator settings: glibc otherwise keeps freed image buffers.
        MALLOC_ARENA_MAX: "2",
        MALLOC_MMAP_THRESHOLD_: "131072",
      },
    });
    const faults: Fault[] = [
      { kind: "status", status: 500 },
      { kind: "status", status: 400, param: "prompt", message: "bad prompt" },
      { kind: "bad-json" },
      { kind: "drop" },
      { kind: "wrong-format" },
    ];
    try {
      await Deno.writeFile(join(h.cwd, "in.png"), makePng(1024, 640));
      let successes = 0;
      let failures = 0;
      let rssAfterWarmup = 0;
      const live: number[] = [];
      for (let round = 0; round < 25; round++) {
        if (round === 5) rssAfterWarmup = memoryMb(h.pid()!, "VmRSS");
        const batch = Array.from({ length: 8 }, async (_, i) => {
          const n = round * 8 + i;
          if (n % 5 === 0) {
            fake.inject(n % 10 === 0 ? "edits" : "generations", faults[(n / 5) % faults.length]);
          }
          const result = n % 10 === 0 || n % 7 === 0
            ? await h.call("edit_image", {
              prompt: `soak ${n}`,
              images: ["in.png"],
              inline: "none",
            })
            : await h.call("generate_image", {
              prompt: `soak ${n}`,
              size: "1024x640",
              quality: "low",
              inline: n % 4 === 0 ? "preview" : "none",
            });
          if (result.isError) return failures++;
          successes++;
          for (const f of files(result)) {
            assert.equal((await Deno.stat(f.file_path)).size, f.size_bytes);
            await Deno.remove(f.file_path);
          }
        });
        await Promise.all(batch);
        // A quiet moment: this call's memory line (taken after a full GC) is the live set.
        const probe = await h.call("list_edit_sessions", {});
        assert.equal(probe.isError, undefined);
        live.push(lastMemory(h.stderr()));
      }
      const rssEnd = memoryMb(h.pid()!, "VmRSS");
      console.log(
        `soak: ${successes} ok, ${failures} failed; RSS ${
          rssAfterWarmup.toFixed(0)
        } MB after 40 calls, ` +
          `${rssEnd.toFixed(0)} MB after 200 (allocator-dependent, reported only); ` +
          `live heap+external after each round: ${live.join(", ")} MB`,
      );
      assert.equal(successes + failures, 200);
      assert.ok(failures >= 20 && successes >= 150, `${successes} ok / ${failures} failed`);
      assert.equal(live.length, 25);
      const settled = Math.max(...live.slice(3, 8));
      assert.ok(Math.max(...live.slice(-5)) - settled < 8, `live memory grew: ${live.join(", ")}`);
      const left = (await listFiles(h.configRoot)).filter((f) =>
        !f.includes(".gpt-image-2-ledger.")
      );
      assert.deepEqual(left, [], "no temporary or partial file left");
      assert.equal(fake.uploaded.size, 0, "no uploaded file left");
    } finally {
      await h.close();
      await fake.close();
    }
  },
});

Deno.test("a bad configuration value leaves the server up: it lists the tools, and every call names the variable and its rule", async () => {
  const fake = FakeOpenAI.start();
  const env = { GPT_IMAGE_2_INLINE: "banana" };
  const h = await startServer({ fake, env });
  try {
    const { tools } = await h.client.listTools();
    assert.equal(tools.length, 9);
    const rule = 'GPT_IMAGE_2_INLINE must be one of preview, full, none, got "banana".';
    const calls: [string, Record<string, unknown>][] = [
      ["generate_image", { prompt: "x" }],
      ["list_edit_sessions", {}],
    ];
    for (const [tool, args] of calls) {
      const result = await h.call(tool, args);
      assert.equal(result.isError, true, tool);
      assert.match(textOf(result), /^Configuration error: GPT_IMAGE_2_INLINE must be one of/);
      assert.ok(textOf(result).includes(rule), textOf(result));
    }
    assert.equal(fake.requests.length, 0, "nothing was sent to the API");
    assert.ok(h.stderr().includes(`configuration error: ${rule}`), h.stderr());
    assert.ok(!h.stderr().includes("    at "), "no stack trace");
  } finally {
    await h.close();
  }
  const home = await Deno.makeTempDir();
  const doctor = await new Deno.Command(Deno.execPath(), {
    args: [...serverArgs({ netHosts: [fake.host], writeScope: [home] }), "doctor"],
    env: { ...networkEnv(), HOME: home, DENO_DIR, ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  await fake.close();
  await Deno.remove(home, { recursive: true });
  assert.equal(doctor.code, 1, "doctor still fails on it");
  assert.match(
    new TextDecoder().decode(doctor.stdout),
    /FAIL +configuration: GPT_IMAGE_2_INLINE must be one of preview, full, none/,
  );
});

Deno.test("malformed JSON-RPC gets its error by the book: -32700, -32600 and -32602 with the id, in one sentence", () =>
  withRawServer(async ({ wire }) => {
    for (const message of INITIALIZE) await wire.write(JSON.stringify(message));
    await wire.answer(1);
    const cases: [line: string, id: number | null, code: number, message: RegExp][] = [
      ['{"jsonrpc":"2.0","id":2,"method":"tools/list"', null, -32700, /^Parse error/],
      ['{"jsonrpc":"1.0","id":3,"method":"tools/list"}', 3, -32600, /"jsonrpc" must be "2\.0"/],
      [
        '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":null}',
        4,
        -32600,
        /"params" of tools\/call must be an object, got null/,
      ],
      [
        '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"generate_image","arguments":[1]}}',
        5,
        -32602,
        /^Invalid params for tools\/call: params\.arguments: /,
      ],
      [
        '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}',
        6,
        -32602,
        /no_such_tool/,
      ],
      [
        '{"jsonrpc":"2.0","id":7,"method":"logging/setLevel","params":{"level":"loud"}}',
        7,
        -32602,
        /^Invalid params for logging\/setLevel: params\.level: /,
      ],
    ];
    for (const [line, id, code, message] of cases) {
      await wire.write(line);
      const { error } = await wire.answer(id);
      assert.equal(error?.code, code, line);
      assert.match(error!.message, message, line);
      assert.ok(!error!.message.includes("\n") && !error!.message.includes('"code"'), "one line");
      assert.ok(!error!.message.startsWith("MCP error"), error!.message);
    }
    await wire.write('{"jsonrpc":"2.0","id":8,"method":"ping"}');
    assert.deepEqual((await wire.answer(8)).result, {}, "the server carries on");
  }));

Deno.test({
  name: "a line over 16 MB is refused as it arrives, without being held whole",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withRawServer(async ({ wire, child }) => {
      for (const message of INITIALIZE) await wire.write(JSON.stringify(message));
      await wire.answer(1);
      const resettable = resetPeakMemory(child.pid);
      const before = memoryMb(child.pid, "VmRSS");
      const head = '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"edit_image",' +
        '"arguments":{"prompt":"x","images":["data:image/png;base64,';
      await wire.write(new TextEncoder().encode(head));
      const piece = new Uint8Array(1 << 20).fill(0x41);
      for (let mb = 0; mb < 48; mb++) await wire.write(piece);
      await wire.write('"]}}}');
      const refusal = await wire.answer(null);
      assert.equal(refusal.error?.code, -32600);
      assert.match(refusal.error!.message, /at most 16 MB; send large images as file paths/);
      await wire.write('{"jsonrpc":"2.0","id":3,"method":"ping"}');
      assert.deepEqual((await wire.answer(3)).result, {}, "the next line is served");
      assert.ok(!wire.lines.some((l) => l.id === 2), "the long request itself is never answered");
      if (resettable) {
        const growth = memoryMb(child.pid, "VmHWM") - before;
        assert.ok(growth < 40, `a 48 MB line raised the peak by ${growth.toFixed(1)} MB`);
      }
    }),
});

Deno.test("a client that writes its requests and closes stdin at once still gets every quick answer", () =>
  withRawServer(async ({ child, wire }) => {
    // As `printf '...' | gpt-image-2-mcp` does: the requests, then the end of input, unwaited.
    for (const message of INITIALIZE) await wire.write(JSON.stringify(message));
    await wire.write(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
    await wire.write(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "resources/list" }));
    await wire.close(); // returns once stdout has ended, that is once the server has exited
    assert.equal((await child.status).code, 0);
    const ids = wire.lines.filter((l) => "id" in l).map((l) => l.id);
    assert.deepEqual(ids, [1, 2, 3]);
    const tools = wire.lines.find((l) => l.id === 2) as { result: { tools: unknown[] } };
    assert.ok(tools.result.tools.length > 0);
  }));

Deno.test("closing stdin mid-call aborts the call and removes its temporary file before the server exits", () =>
  withRawServer(async ({ fake, home, child, wire, stderr }) => {
    const out = join(home, "out");
    // A 4K answer goes to a temporary file as it arrives; this one stalls after 8 MB.
    fake.inject("generations", { kind: "stall", at: 8 << 20 });
    for (const message of INITIALIZE) await wire.write(JSON.stringify(message));
    await wire.answer(1);
    await wire.write(JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: {
        name: "generate_image",
        arguments: { prompt: "4K", size: "3840x2160", quality: "low", inline: "none" },
      },
    }));
    const temporary = async () => (await listFiles(out)).filter((f) => f.endsWith(".tmp"));
    assert.ok(
      await waitFor(async () => (await temporary()).length === 1, 60_000),
      "the answer is being written to a temporary file",
    );
    await wire.close();
    // The stalled answer never ends, so the exit itself shows the call was not waited for; the
    // file being gone shows the call wound down before the exit, not cut off by the grace.
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.deepEqual(await temporary(), [], "no temporary file left");
    assert.ok(
      await waitFor(() => fake.calls("generations")[0].aborted),
      "the API request was aborted",
    );
    assert.match(await stderr, /the client closed the connection; winding down 1 call\(s\)/);
  }));

Deno.test("at start, temporary files older than an hour leave the output root; fresh ones and other files stay", async () => {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: "gi2-sweep-home-" });
  const root = join(home, ".config", "gpt-image-2-mcp");
  const project = join(root, "output", "some-project-0badc0de");
  await Deno.mkdir(join(project, ".sessions"), { recursive: true });
  const stale = [join(project, ".0123abcd.tmp"), join(project, ".sessions", ".89abcdef.tmp")];
  const kept = [join(project, ".fedcba98.tmp"), join(project, "image.png")];
  const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
  for (const path of [...stale, ...kept]) await Deno.writeTextFile(path, "x");
  for (const path of [...stale, kept[1]]) await Deno.utime(path, hoursAgo, hoursAgo);
  const h = await startServer({ fake, env: { HOME: home }, allowWrite: [root] });
  try {
    const exists = (path: string) => Deno.statSync(path) && true;
    const gone = (path: string) => {
      try {
        return !exists(path);
      } catch {
        return true;
      }
    };
    assert.ok(await waitFor(() => stale.every(gone)), "the stale temporary files are removed");
    assert.ok(kept.every(exists), "the fresh one and the image stay");
    // The line is written once the sweep is done, a moment after the files went.
    assert.ok(
      await waitFor(() => /removed 2 stale temporary file\(s\)/.test(h.stderr())),
      h.stderr(),
    );
  } finally {
    await h.close();
    await fake.close();
    await Deno.remove(home, { recursive: true });
  }
});

async function mountTinyDisk(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  const dir = await Deno.makeTempDir({ prefix: "gi2-full-disk-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir],
    stderr: "piped",
  })
    .output().catch(() => undefined);
  if (mount?.code === 0) return dir;
  await Deno.remove(dir);
  console.log("full-disk test NOT run: mounting a 1 MB tmpfs needs root");
  return undefined;
}

const tinyDisk = await mountTinyDisk();

Deno.test({
  name: "a full disk gives a clear error and leaves no partial file",
  ignore: !tinyDisk,
  fn: async () => {
    const fake = FakeOpenAI.start();
    const h = await startServer({
      fake,
      allowWrite: [tinyDisk!],
      env: { GPT_IMAGE_2_OUTPUT_DIR: tinyDisk! },
    });
    try {
      const result = await h.call("generate_image", {
        prompt: "x",
        size: "1024x1024",
        quality: "low",
      });
      assert.equal(result.isError, true);
      assert.match(
        textOf(result),
        new RegExp(`Could not save the image in ${tinyDisk}: the disk is full\\.`),
      );
      // The spend ledger and its lock may be there (the call was billed; it fits when the image does not).
      assert.deepEqual(
        [...Deno.readDirSync(tinyDisk!)].map((e) => e.name)
          .filter((name) => !name.startsWith(".gpt-image-2-ledger.")),
        [],
        "no temporary or partial file",
      );
      const after = await h.call("list_edit_sessions", {});
      assert.equal(after.isError, undefined, "the server carries on");
    } finally {
      await h.close();
      await fake.close();
      await new Deno.Command("umount", { args: [tinyDisk!] }).output();
      await Deno.remove(tinyDisk!);
    }
  },
});
