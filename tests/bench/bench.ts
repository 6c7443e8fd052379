/**
 * `deno task bench`: the server's own cost against the fake API on loopback. Prints a table,
 * writes JSON (default dist/bench.json, or the first argument), and never fails on a time.
 * Rows marked [before] come from the checkout at BENCH_BEFORE (default /work/main), measured in
 * the same rounds as this tree's: see docs/performance.md.
 */

import { join } from "node:path";
import { concatBytes } from "../../src/bytes.ts";
import { decodeBase64 } from "../../src/images/codecs/base64.ts";
import { FakeOpenAI } from "../fake/api.ts";
import { makePng } from "../fake/png.ts";
import { V8_FLAGS } from "../../src/config.ts";
import { DENO_DIR, networkEnv, REPO, serverArgs } from "../harness.ts";

type Json = Record<string, unknown>;
const NEWLINE = 0x0a;

/** A minimal JSON-RPC client over the server's stdio: no SDK, so no client-side schema work. */
class RawClient {
  #next = 1;
  #pending = new Map<number, (message: Json) => void>();
  /** When the last byte of each answer arrived, before the client parsed it. */
  readonly arrivedAt = new Map<number, number>();
  /** Time spent parsing answers, which is the client's own cost. */
  parseMs = 0;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly ready: Promise<number>;

  private constructor(readonly child: Deno.ChildProcess, started: number) {
    this.#writer = child.stdin.getWriter();
    this.#read();
    this.ready = this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "bench", version: "1" },
    }).then(() => performance.now() - started);
  }

  static spawn(
    command: string,
    args: string[],
    env: Record<string, string>,
    cwd: string,
  ): RawClient {
    const started = performance.now();
    const child = new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    return new RawClient(child, started);
  }

  async #read() {
    // Bytes until the newline, then one decode and one parse: what a lean client does.
    const decoder = new TextDecoder();
    let parts: Uint8Array[] = [];
    for await (const chunk of this.child.stdout) {
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        parts.push(chunk.subarray(start, end));
        const arrived = performance.now();
        const message = JSON.parse(decoder.decode(concatBytes(parts)));
        this.parseMs += performance.now() - arrived;
        this.arrivedAt.set(message.id, arrived);
        parts = [];
        start = end + 1;
        this.#pending.get(message.id)?.(message);
        this.#pending.delete(message.id);
      }
      if (start < chunk.length) parts.push(chunk.subarray(start));
    }
  }

  /** The id the next request will get. */
  get nextId(): number {
    return this.#next;
  }

  request(method: string, params: Json = {}): Promise<Json> {
    const id = this.#next++;
    const answer = new Promise<Json>((resolve) => this.#pending.set(id, resolve));
    this.#writer.write(
      new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n"),
    );
    return answer;
  }

  async call(name: string, args: Json): Promise<Json> {
    const answer = await this.request("tools/call", { name, arguments: args });
    const result = answer.result as Json;
    if (!result || result.isError) {
      throw new Error(`${name} failed: ${JSON.stringify(answer).slice(0, 300)}`);
    }
    return result;
  }

  /** Peak (`VmHWM`) or current (`VmRSS`) resident size of the server. */
  rssMb(field: "VmHWM" | "VmRSS"): number {
    const status = Deno.readTextFileSync(`/proc/${this.child.pid}/status`);
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
  }

  /** Resets the server's `VmHWM` to its current size; false where Linux does not allow it. */
  resetPeak(): boolean {
    try {
      Deno.writeTextFileSync(`/proc/${this.child.pid}/clear_refs`, "5");
      return true;
    } catch {
      return false;
    }
  }

  async close() {
    await this.#writer.close();
    await this.child.status;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function medianOf(n: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const times = [];
  for (let i = 0; i < n; i++) times.push(await timed(fn));
  return median(times);
}

const fake = FakeOpenAI.start();
// BENCH_DIR on a tmpfs takes the disk's noise (which hits the floor and the server alike) out.
const work = await Deno.makeTempDir({ prefix: "gi2-bench-", dir: Deno.env.get("BENCH_DIR") });
const out = join(work, "out");
const env = {
  ...networkEnv(),
  HOME: work,
  DENO_DIR,
  OPENAI_API_KEY: fake.apiKey,
  OPENAI_BASE_URL: fake.baseURL,
  GPT_IMAGE_2_OUTPUT_DIR: out,
  PATH: Deno.env.get("PATH") ?? "",
};
const args = serverArgs({ netHosts: [fake.host], writeScope: [work] });
const binary = Deno.env.get("GPT_IMAGE_2_MCP_BIN");
const rows: { name: string; value: number; unit: string; budget?: number; note?: string }[] = [];
const record = (name: string, value: number, unit: string, budget?: number, note?: string) => {
  rows.push({ name, value: Math.round(value * 100) / 100, unit, budget, note });
  console.error(`  ${name}: ${value.toFixed(2)} ${unit}`);
};

/**
 * Before and after, in this one run: the server of the checkout at BENCH_BEFORE (default
 * /work/main, the code before the SDK v2 move), this tree's, and this tree's on the SDK's own
 * stdio transport instead of ours. Rounds interleave the servers, so drift hits them alike.
 */
const before = Deno.env.get("BENCH_BEFORE") ?? "/work/main";
function argsAt(root: string, entry: string): string[] {
  const list = [...args];
  list[list.findIndex((a) => a.startsWith("--config="))] = `--config=${join(root, "deno.json")}`;
  list[list.length - 1] = join(root, entry);
  return list;
}
const hasBefore = await Deno.stat(join(before, "src", "main.ts")).then(() => true, () => false);
const variants = [
  ...(hasBefore ? [{ label: "before (main)", args: argsAt(before, "src/main.ts") }] : []),
  { label: "after", args },
  { label: "after, SDK stdio transport", args: argsAt(REPO, "tests/bench/sdk_stdio_server.ts") },
];
if (!hasBefore) console.error(`  before: no checkout at ${before}; set BENCH_BEFORE to compare`);
{
  const starts: Record<string, number[]> = {};
  for (let round = 0; round < 11; round++) {
    for (const variant of variants) {
      const client = RawClient.spawn(Deno.execPath(), variant.args, env, work);
      const ms = await client.ready;
      await client.close();
      if (round > 0) (starts[variant.label] ??= []).push(ms);
    }
  }
  for (const variant of variants) {
    record(
      `[${variant.label}] cold start to initialize reply, median of 10`,
      median(starts[variant.label]),
      "ms",
    );
  }
  const servers = [];
  for (const variant of variants) {
    const server = RawClient.spawn(Deno.execPath(), variant.args, env, work);
    await server.ready;
    server.request("notifications/initialized");
    await server.request("tools/list");
    await new Promise((r) => setTimeout(r, 500)); // what loads in the background settles
    const idle = server.rssMb("VmRSS");
    record(`[${variant.label}] RSS after initialize and tools/list`, idle, "MB");
    record(
      `[${variant.label}] tools/list round trip, median of 50`,
      await medianOf(50, () => server.request("tools/list")),
      "ms",
    );
    // The first image call of a fresh server, a 4K one: the peak it reaches from idle.
    if (server.resetPeak()) {
      await server.call("generate_image", {
        prompt: "bench",
        size: "3840x2160",
        quality: "low",
        inline: "preview",
      });
      record(
        `[${variant.label}] peak RSS of a fresh server's first call, 3840x2160 inline preview`,
        server.rssMb("VmHWM"),
        "MB",
        undefined,
        `from ${idle.toFixed(1)} MB idle`,
      );
    }
    servers.push({ variant, server });
  }
  // 16 calls at once with a realistic API delay, from the peak of the first call.
  const size = "1024x1024";
  await fake.image(size, "png");
  fake.delayMs = 1000;
  for (const { variant, server } of servers) {
    const call = { prompt: "bench", size, quality: "low", inline: "preview" };
    await Promise.all(Array.from({ length: 16 }, () => server.call("generate_image", call)));
    record(
      `[${variant.label}] peak RSS with the first call and then 16 at once (VmHWM)`,
      server.rssMb("VmHWM"),
      "MB",
    );
  }
  fake.delayMs = 0;
  for (const inline of ["full", "preview"]) {
    const { overheads } = await pairedOverheads(
      15,
      () => floor(size),
      Object.fromEntries(servers.map(({ variant, server }) => [
        variant.label,
        () => callTime(server, "generate_image", { prompt: "bench", size, quality: "low", inline }),
      ])),
    );
    for (const [label, overhead] of Object.entries(overheads)) {
      record(
        `[${label}] generate_image overhead above floor, ${size}, inline ${inline}`,
        overhead,
        "ms",
      );
    }
  }
  // One full-inline call's own peak: its image's base64 travels through the whole path.
  for (const { variant, server } of servers) {
    const from = server.rssMb("VmRSS");
    if (!server.resetPeak()) break;
    await server.call("generate_image", { prompt: "bench", size, quality: "low", inline: "full" });
    record(
      `[${variant.label}] peak RSS of one ${size} inline full call (VmHWM)`,
      server.rssMb("VmHWM"),
      "MB",
      undefined,
      `from ${from.toFixed(1)} MB`,
    );
  }
  for (const { server } of servers) await server.close();
}

// Cold start: spawn to the initialize reply, with the module cache warm.
for (
  const [label, command, commandArgs] of [
    ["deno run", Deno.execPath(), args],
    ...(binary ? [["compiled binary", binary, []] as const] : []),
  ] as const
) {
  const times = [];
  for (let i = 0; i < 11; i++) {
    const client = RawClient.spawn(command, [...commandArgs], env, work);
    const ms = await client.ready;
    await client.close();
    if (i > 0) times.push(ms);
  }
  record(`cold start to initialize reply (${label}), median of 10`, median(times), "ms", 100);
}
if (!binary) {
  console.error(
    "  compiled binary: not built here (denort cannot be downloaded); set GPT_IMAGE_2_MCP_BIN to include it",
  );
}

const client = RawClient.spawn(Deno.execPath(), args, env, work);
await client.ready;
client.request("notifications/initialized");
record(
  "tools/list latency, median of 50",
  await medianOf(50, () => client.request("tools/list")),
  "ms",
  1,
);

/** The floor: the same request made directly, decoded and written to disk, no MCP in between. */
async function floor(size: string): Promise<void> {
  const response = await fetch(`${fake.baseURL}/images/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-image-2", prompt: "bench", size, quality: "low", n: 1 }),
  });
  const body = await response.json();
  await Deno.writeFile(
    join(work, `floor-${crypto.randomUUID()}.png`),
    decodeBase64(body.data[0].b64_json),
  );
}

/** A tool call's time from sending it to the last byte of its answer (the client's parse excluded). */
async function callTime(server: RawClient, name: string, args: Json): Promise<number> {
  const id = server.nextId;
  const start = performance.now();
  await server.call(name, args);
  const ms = server.arrivedAt.get(id)! - start;
  server.arrivedAt.delete(id);
  return ms;
}

/**
 * Overheads above the floor from interleaved rounds (floor, then each variant), as the median of
 * per-round differences: the machine's drift and noise hit both sides of each difference alike.
 */
async function pairedOverheads(
  runs: number,
  floorOf: () => Promise<void>,
  variants: Record<string, () => Promise<number>>,
): Promise<{ floor: number; overheads: Record<string, number> }> {
  const floors: number[] = [];
  const diffs: Record<string, number[]> = {};
  for (let round = -1; round < runs; round++) {
    const base = await timed(floorOf);
    if (round >= 0) floors.push(base);
    for (const [name, variant] of Object.entries(variants)) {
      const ms = await variant();
      if (round >= 0) (diffs[name] ??= []).push(ms - base);
    }
  }
  const overheads = Object.fromEntries(Object.entries(diffs).map(([k, v]) => [k, median(v)]));
  return { floor: median(floors), overheads };
}

for (const [size, runs, budget] of [["1024x1024", 21, 3], ["3840x2160", 7, 15]] as const) {
  await fake.image(size, "png");
  const parseBefore = client.parseMs;
  const { floor: base, overheads } = await pairedOverheads(
    runs,
    () => floor(size),
    Object.fromEntries(
      ["full", "preview", "none"].map((inline) => [
        inline,
        () => callTime(client, "generate_image", { prompt: "bench", size, quality: "low", inline }),
      ]),
    ),
  );
  record(`floor: direct request + decode + write, ${size}`, base, "ms");
  for (const [inline, overhead] of Object.entries(overheads)) {
    record(
      `generate_image overhead above floor, ${size}, inline ${inline}`,
      overhead,
      "ms",
      inline === "full" ? budget : undefined,
    );
  }
  record(
    `client's own JSON.parse of the answers, ${size}, per call (not counted above)`,
    (client.parseMs - parseBefore) / ((runs + 1) * 3),
    "ms",
  );
}

/** Records an edit's call time minus its floor, with a 1024x1024 input and no inline image. */
async function recordEditOverhead(route: string, server: RawClient, floorOf: () => Promise<void>) {
  const { overheads } = await pairedOverheads(15, floorOf, {
    edit: () =>
      callTime(server, "edit_image", {
        prompt: "bench",
        images: [join(work, "in.png")],
        quality: "low",
        size: "1024x1024",
        inline: "none",
      }),
  });
  record(`edit_image overhead above floor, ${route} route, 1024x1024 input`, overheads.edit, "ms");
}

await Deno.writeFile(join(work, "in.png"), makePng(1024, 1024));
const input = await Deno.readFile(join(work, "in.png"));
async function editFloor(): Promise<void> {
  const form = new FormData();
  for (
    const [k, v] of Object.entries({
      model: "gpt-image-2",
      prompt: "bench",
      quality: "low",
      size: "1024x1024",
    })
  ) {
    form.append(k, v);
  }
  form.append("image[]", new File([input], "image-1.png", { type: "image/png" }));
  const response = await fetch(`${fake.baseURL}/images/edits`, {
    method: "POST",
    headers: { authorization: `Bearer ${fake.apiKey}` },
    body: form,
  });
  const body = await response.json();
  await Deno.writeFile(
    join(work, `floor-${crypto.randomUUID()}.png`),
    decodeBase64(body.data[0].b64_json),
  );
}
await recordEditOverhead("direct", client, editFloor);
await client.close();

const responsesClient = RawClient.spawn(Deno.execPath(), args, {
  ...env,
  GPT_IMAGE_2_EDIT_ROUTE: "responses",
}, work);
await responsesClient.ready;
async function responsesFloor(): Promise<void> {
  const auth = { authorization: `Bearer ${fake.apiKey}` };
  const form = new FormData();
  form.append("purpose", "vision");
  form.append("file", new File([input], "image-1.png", { type: "image/png" }));
  const file =
    await (await fetch(`${fake.baseURL}/files`, { method: "POST", headers: auth, body: form }))
      .json();
  const response = await fetch(`${fake.baseURL}/responses`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      model: "gpt-4.1-mini",
      input: [{
        role: "user",
        content: [{ type: "input_text", text: "bench" }, { type: "input_image", file_id: file.id }],
      }],
      tools: [{
        type: "image_generation",
        model: "gpt-image-2",
        action: "edit",
        quality: "low",
        size: "1024x1024",
      }],
      tool_choice: { type: "image_generation" },
    }),
  });
  const body = await response.json();
  await (await fetch(`${fake.baseURL}/files/${file.id}`, { method: "DELETE", headers: auth })).body
    ?.cancel();
  const result =
    body.output.find((o: { type: string }) => o.type === "image_generation_call").result;
  await Deno.writeFile(join(work, `floor-${crypto.randomUUID()}.png`), decodeBase64(result));
}
await recordEditOverhead("Responses", responsesClient, responsesFloor);
await responsesClient.close();

// Edits upload copies V8 barely counts (Blob parts, fetch's copy of the body); this shows whether
// they are collected as the calls go or pile up.
const editor = RawClient.spawn(Deno.execPath(), args, env, work);
await editor.ready;
const edit = { prompt: "bench", images: [join(work, "in.png")], size: "1024x1024", inline: "none" };
await editor.call("edit_image", edit);
const afterOne = editor.rssMb("VmRSS");
for (let i = 1; i < 30; i++) await editor.call("edit_image", edit);
record(
  "RSS after 30 edits in a row, 1024x1024 input (fresh server)",
  editor.rssMb("VmRSS"),
  "MB",
  undefined,
  `${afterOne.toFixed(1)} MB after the first`,
);
await editor.close();

// Throughput and peak memory: a fresh server, a realistic API delay, then 4K images.
const loaded = RawClient.spawn(Deno.execPath(), args, env, work);
await loaded.ready;
await loaded.request("tools/list");
record("RSS when idle, after initialize and tools/list", loaded.rssMb("VmRSS"), "MB");
// What bounds the peak from below: the memory of the runtime and of the stack the server is
// built on, loaded in a process of their own that does nothing else.
for (const stack of ["bare", "stack"]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--v8-flags=${V8_FLAGS.join(",")}`,
      join(REPO, "tests/bench/stack_floor.ts"),
      stack,
    ],
    env: { DENO_DIR },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // "ready"
  const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
  await child.stdin.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  record(
    stack === "bare"
      ? "floor: peak RSS of a bare Deno process (VmHWM)"
      : "floor: peak RSS with only the MCP SDK, zod and openai loaded (VmHWM)",
    Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024,
    "MB",
  );
}
fake.delayMs = 1000;
for (const inline of ["none", "preview"]) {
  const call = { prompt: "bench", size: "1024x1024", quality: "low", inline };
  await loaded.call("generate_image", call); // warm-up
  const singles = [];
  for (let i = 0; i < 5; i++) singles.push(await timed(() => loaded.call("generate_image", call)));
  const parallel = await timed(() =>
    Promise.all(Array.from({ length: 16 }, () => loaded.call("generate_image", call)))
  );
  // The budget's wording: against the slowest single call. The median is the stricter reading.
  record(
    `16 parallel calls / slowest of 5 single calls (API delay 1 s), inline ${inline}`,
    parallel / Math.max(...singles),
    "x",
    1.5,
  );
  record(
    `16 parallel calls / median of those single calls, inline ${inline}`,
    parallel / median(singles),
    "x",
  );
}
fake.delayMs = 0;
// Where the peak comes from: what the 1024x1024 calls alone reached, then each 4K call.
let peakRss = loaded.rssMb("VmHWM");
record("peak RSS before any 4K image (VmHWM)", peakRss, "MB");
for (const inline of ["full", "preview", "none"]) {
  const resettable = loaded.resetPeak();
  const before = loaded.rssMb("VmRSS");
  await loaded.call("generate_image", {
    prompt: "bench",
    size: "3840x2160",
    quality: "low",
    inline,
  });
  const hwm = loaded.rssMb("VmHWM");
  peakRss = Math.max(peakRss, hwm);
  if (resettable) {
    const label = `peak RSS during a 3840x2160 call, inline ${inline} (VmHWM)`;
    record(label, hwm, "MB", undefined, `from ${before.toFixed(1)} MB before the call`);
  }
}
record("peak RSS after the run (VmHWM, includes 4K images)", peakRss, "MB", 110);
await loaded.close();

// The inline preview codec, and the candidate it was chosen over.
const { makePreview } = await import("../../src/images/preview.ts");
const { sniffImage } = await import("../../src/images/codecs/sniff.ts");
const { ImagePayload } = await import("../../src/images/storage/received.ts");
for (const size of ["1024x1024", "3840x2160"]) {
  const bytes = await fake.image(size, "png");
  const source = { image: ImagePayload.inMemory(bytes), info: sniffImage(bytes)! };
  const ms = await medianOf(3, () => makePreview(source, 600_000));
  const preview = await makePreview(source, 600_000);
  record(
    `preview codec (streaming PNG decode + own 4:2:0 JPEG), ${size}`,
    ms,
    "ms",
    undefined,
    `${preview!.width}x${preview!.height}, ${preview!.bytes} bytes`,
  );
  const { Image } = await import("npm:imagescript@1.3.1");
  const candidate = await medianOf(3, async () => {
    const image = await Image.decode(bytes);
    const scale = Math.min(1, 1568 / Math.max(image.width, image.height));
    if (scale < 1) image.resize(Math.round(image.width * scale), Math.round(image.height * scale));
    return image.encodeJPEG(82);
  });
  record(`candidate imagescript (needs a native addon from npm), ${size}`, candidate, "ms");
}

// What bounds full inline: the same number of bytes through a pipe between two processes.
const PIPE_SENDER = `const n = Number(Deno.args[0]); const line = new Uint8Array(n).fill(65);
line[n - 1] = 10; const w = Deno.stdout.writable.getWriter();
for await (const _ of Deno.stdin.readable) await w.write(line);`;
for (const [label, bytes] of [["1024x1024", 3_500_000], ["3840x2160", 23_100_000]] as const) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", PIPE_SENDER, String(bytes)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const ms = await medianOf(15, async () => {
    await writer.write(new Uint8Array([10]));
    for (let got = 0; got < bytes;) got += (await reader.read()).value!.length;
  });
  record(
    `pipe floor: ${(bytes / 1e6).toFixed(1)} MB (a ${label} full-inline answer) between processes`,
    ms,
    "ms",
  );
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
}

await fake.close();
await Deno.remove(work, { recursive: true });

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ??
  "unknown CPU";
const machine =
  `${cpu}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, ${Deno.build.os}, files in ${
    Deno.env.get("BENCH_DIR") ?? "the system temp folder"
  }`;
const lines = [
  `machine: ${machine}`,
  "| measure | value | budget | verdict |",
  "|---|---|---|---|",
  ...rows.map((r) => {
    const verdict = r.budget === undefined
      ? (r.note ?? "")
      : r.value <= r.budget
      ? "within budget"
      : `over by ${(r.value - r.budget).toFixed(2)} ${r.unit} (${
        (r.value / r.budget).toFixed(1)
      }x)`;
    return `| ${r.name} | ${r.value} ${r.unit} | ${r.budget ?? ""}${
      r.budget !== undefined ? ` ${r.unit}` : ""
    } | ${verdict} |`;
  }),
];
console.log(lines.join("\n"));
const target = Deno.args[0] ?? join(REPO, "dist", "bench.json");
await Deno.mkdir(join(target, ".."), { recursive: true });
await Deno.writeTextFile(
  target,
  JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2) + "\n",
);
console.log(`\nwritten to ${target}`);
