/** generate_image end to end: MCP client -> server (narrow permissions) -> fake API -> disk. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI } from "./fake/api.ts";
import { listFiles, startServer, textOf, TOOL_NAMES, withServer } from "./harness.ts";
import { sniffImage } from "../src/images/codecs/sniff.ts";
import type { ImageJobResult as ImageResult } from "../src/tools/image_job.ts";

Deno.test("lists nine tools without an API key, and a call without one names the variable", async () => {
  const fake = FakeOpenAI.start();
  const h = await startServer({ env: {}, allowNet: [fake.host] });
  try {
    const { tools } = await h.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
    const generate = tools.find((t) => t.name === "generate_image")!;
    assert.deepEqual(generate.inputSchema.required, ["prompt"]);
    assert.ok(generate.outputSchema, "generate_image declares an outputSchema");
    const result = await h.call("generate_image", { prompt: "a lighthouse" });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /OPENAI_API_KEY is not set/);
    assert.equal(fake.requests.length, 0);
  } finally {
    await h.close();
    await fake.close();
  }
});

Deno.test("generate_image writes a real PNG to the default per-project folder and returns it", () =>
  withServer({}, async (h, fake) => {
    const result = await h.call("generate_image", {
      prompt: "A coastal lighthouse at dawn",
      size: "1536x1024",
      quality: "high",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const s = result.structuredContent as unknown as ImageResult;
    assert.equal(s.model, "gpt-image-2");
    assert.deepEqual(s.requested, { size: "1536x1024", quality: "high", n: 1, format: "png" });
    assert.deepEqual(s.applied, {
      size: "1536x1024",
      quality: "high",
      background: "opaque",
      output_format: "png",
    });
    assert.equal(s.images.length, 1);
    const file = s.images[0];
    assert.match(file.filename, /^image-\d{8}-\d{6}-[0-9a-f]{6}\.png$/);
    const written = await listFiles(join(h.configRoot, "output"));
    assert.equal(written.length, 1, written.join());
    assert.match(written[0], /^gi2-cwd-[^/]+-[0-9a-f]{8}\/image-.*\.png$/);
    assert.equal(join(h.configRoot, "output", written[0]), file.file_path);
    // The spend ledger is the output root's, with this project's line in it.
    const ledger = JSON.parse(
      await Deno.readTextFile(join(h.configRoot, ".gpt-image-2-ledger.json")),
    );
    assert.deepEqual(Object.keys(ledger.projects), [written[0].split("/")[0]]);
    const bytes = await Deno.readFile(file.file_path);
    assert.equal(bytes.length, file.size_bytes);
    assert.deepEqual(bytes, await fake.image("1536x1024", "png"));
    const info = sniffImage(bytes)!;
    assert.deepEqual([info.format, info.width, info.height], ["png", 1536, 1024]);
    const textTokens = Math.ceil("A coastal lighthouse at dawn".length / 4);
    assert.equal(s.usage?.output_tokens, 5500);
    // Rounded up to a hundredth of a cent, so rounding never lowers a cost.
    assert.equal(s.cost_usd_estimated, Math.ceil((textTokens * 5 + 5500 * 30) / 100) / 10_000);
    assert.ok(result.content.some((c) => c.type === "image"), "an inline image block");
    assert.match(textOf(result), /Saved: .*image-.*\.png/);
    assert.match(textOf(result), /Estimated cost: \$0\.\d{4}/);
    const sent = fake.calls("generations")[0].json!;
    assert.deepEqual(
      { model: sent.model, prompt: sent.prompt, size: sent.size, quality: sent.quality, n: sent.n },
      {
        model: "gpt-image-2",
        prompt: "A coastal lighthouse at dawn",
        size: "1536x1024",
        quality: "high",
        n: 1,
      },
    );
  }));

Deno.test("n=3 gives three distinct files; prefix is sanitised; output_dir and user are honoured", () =>
  withServer({}, async (h, fake) => {
    const out = join(h.cwd, "renders");
    const result = await h.call("generate_image", {
      prompt: "three cats",
      n: 3,
      size: "1024x1024",
      quality: "low",
      output_dir: "renders",
      filename_prefix: "hero banner!",
      user: "end-user-42",
    });
    assert.equal(result.isError, undefined, textOf(result));
    // The deprecated `user` goes out as `safety_identifier`, which supersedes it.
    assert.equal(fake.calls("generations")[0].json!.safety_identifier, "end-user-42");
    assert.equal(fake.calls("generations")[0].json!.user, undefined);
    const files = await listFiles(out);
    assert.equal(files.length, 3);
    assert.equal(new Set(files).size, 3);
    for (const f of files) assert.match(f, /^image-\d{8}-\d{6}-[0-9a-f]{6}-hero-banner\.png$/);
  }));

Deno.test("invalid sizes and transparent backgrounds are refused before any request", () =>
  withServer({}, async (h, fake) => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ size: "1000x1000" }, /size: size 1000x1000: both edges must be multiples of 16/],
      [{ size: "4096x1024" }, /longest edge must be at most 3840/],
      [{ size: "3072x768" }, /aspect ratio must be within 1:3 and 3:1/],
      [{ size: "512x512" }, /total pixels must be between 655,360 and 8,294,400/],
      [{ size: "big" }, /size must be "auto" or WIDTHxHEIGHT/],
      [
        { background: "transparent" },
        /background: "transparent" on gpt-image-2 is only .*models that offer it: gpt-image-2\.5-sunburst/,
      ],
      [{ n: 11 }, /^Input validation error: Invalid arguments for tool generate_image: n: /],
      [
        { output_compression: 50 },
        /output_compression applies only to output_format "jpeg" or "webp"/,
      ],
    ];
    for (const [args, expected] of cases) {
      const result = await h.call("generate_image", { prompt: "x", ...args });
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match(textOf(result), expected);
    }
    assert.equal(fake.requests.length, 0);
    assert.deepEqual(await listFiles(h.configRoot), []);
  }));
