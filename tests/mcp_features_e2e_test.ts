/** Progress, partial images, cancellation, logging, resource links, inline previews and spend limits. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeBase64 } from "../src/images/codecs/base64.ts";
import { makePreview } from "../src/images/preview.ts";
import { sniffImage } from "../src/images/codecs/sniff.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import {
  listFiles,
  memoryMb,
  resetPeakMemory,
  startServer,
  textOf,
  waitFor,
  withServer,
} from "./harness.ts";

function structured(result: { structuredContent?: unknown }): ImageJobResult {
  return result.structuredContent as ImageJobResult;
}

function imageBlocks(result: { content: unknown[] }): { data: string; mimeType: string }[] {
  return result.content.filter((c) => (c as { type: string }).type === "image") as {
    data: string;
    mimeType: string;
  }[];
}

Deno.test("progress arrives at each stage and as a heartbeat during a slow call", () =>
  withServer({ env: { GPT_IMAGE_2_PROGRESS_INTERVAL_MS: "200" } }, async (h, fake) => {
    fake.delayMs = 1200;
    const seen: { progress: number; message?: string }[] = [];
    const result = await h.call("generate_image", { prompt: "slow", quality: "low" }, {
      onprogress: (p) => seen.push(p),
    });
    assert.equal(result.isError, undefined, textOf(result));
    const messages = seen.map((p) => p.message ?? "");
    assert.match(messages[0], /^Request sent to OpenAI \(gpt-image-2, estimated \$0\.\d{4}\)$/);
    const beats = messages.filter((m) => /^Request sent to OpenAI .*\(\d+ s\)$/.test(m));
    assert.ok(beats.length >= 3, `heartbeats: ${messages.join(" | ")}`);
    assert.ok(messages.includes("Saving"));
    const values = seen.map((p) => p.progress);
    assert.deepEqual(values, [...values].sort((a, b) => a - b), "progress only increases");
  }));

Deno.test("partial images are streamed over SSE, saved, and reported as progress", () =>
  withServer({}, async (h, fake) => {
    const seen: string[] = [];
    const result = await h.call("generate_image", {
      prompt: "streamed",
      partial_images: 2,
      size: "1024x1024",
    }, {
      onprogress: (p) => seen.push(p.message ?? ""),
    });
    assert.equal(result.isError, undefined, textOf(result));
    const body = fake.calls("generations")[0].json!;
    assert.equal(body.stream, true);
    assert.equal(body.partial_images, 2);
    const partials = seen.filter((m) => m.startsWith("Partial image"));
    assert.equal(partials.length, 2);
    for (const message of partials) {
      const path = /saved: (.*)$/.exec(message)![1];
      const info = sniffImage(await Deno.readFile(path))!;
      assert.deepEqual([info.format, info.width, info.height], ["png", 1024, 1024]);
    }
    assert.equal(structured(result).images.length, 1);
    assert.ok((structured(result).usage?.output_tokens ?? 0) > 0, "usage from the completed event");
  }));

Deno.test("edit_image streams partial images too (image_edit.* events over multipart)", () =>
  withServer({}, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const seen: string[] = [];
    const result = await h.call(
      "edit_image",
      { prompt: "x", images: ["a.png"], partial_images: 1 },
      {
        onprogress: (p) => seen.push(p.message ?? ""),
      },
    );
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(fake.calls("edits")[0].fields!.partial_images[0], "1");
    assert.deepEqual(seen.filter((m) => m.startsWith("Reading") || m.startsWith("Uploading")), [
      "Reading input images",
      "Uploading 1 input file(s)",
    ]);
    const partial = seen.find((m) => m.startsWith("Partial image 1 of 1 saved: "))!;
    assert.ok(await Deno.stat(partial.slice("Partial image 1 of 1 saved: ".length)));
  }));

Deno.test("cancelling a call closes the API connection, writes nothing, and the server carries on", () =>
  withServer({ env: { GPT_IMAGE_2_EDIT_ROUTE: "responses" } }, async (h, fake) => {
    fake.delayMs = 30_000;
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    for (
      const [tool, args] of [
        ["generate_image", { prompt: "never finishes", partial_images: 1 }],
        ["edit_image", { prompt: "never finishes", images: ["a.png"] }],
      ] as const
    ) {
      const controller = new AbortController();
      const call = h.call(tool, args, { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 700));
      controller.abort();
      await assert.rejects(call);
    }
    assert.ok(
      await waitFor(() => fake.calls("generations")[0]?.aborted),
      "the generation request was aborted",
    );
    assert.ok(
      await waitFor(() => fake.calls("responses")[0]?.aborted),
      "the responses request was aborted",
    );
    assert.ok(await waitFor(() => fake.uploaded.size === 0), "uploads deleted after the cancel");
    assert.deepEqual(
      (await listFiles(h.configRoot)).filter((f) => !f.includes(".gpt-image-2-ledger.")),
      [],
    );
    fake.delayMs = 0;
    const next = await h.call("generate_image", { prompt: "after the cancel", quality: "low" });
    assert.equal(next.isError, undefined, textOf(next));
  }));

Deno.test("logging/setLevel changes which log notifications arrive; no secret in any", () =>
  withServer({}, async (h, fake) => {
    await h.client.setLoggingLevel("error");
    await h.call("generate_image", { prompt: "quiet", quality: "low" });
    assert.equal(h.logs.length, 0, "nothing below error was sent");
    await h.client.setLoggingLevel("info");
    await h.call("generate_image", { prompt: "loud", quality: "low" });
    const data = h.logs.map((l) => `${l.level}: ${l.data}`);
    assert.ok(
      data.includes("info: request sent to OpenAI: generate 1 image, size auto, quality low"),
      data.join("\n"),
    );
    assert.ok(data.some((d) => /^info: saved .*\.png/.test(d)));
    assert.ok(data.some((d) => /^info: cost: \$0\.\d{4}/.test(d)));
    assert.ok(h.logs.every((l) => l.level !== "debug"));
    assert.ok(!JSON.stringify(h.logs).includes(fake.apiKey));
    assert.ok(!h.stderr().includes(fake.apiKey));
  }));

Deno.test("resource links point at the saved files; inline modes full and none", () =>
  withServer({}, async (h) => {
    const full = await h.call("generate_image", {
      prompt: "x",
      n: 2,
      inline: "full",
      size: "1024x1024",
    });
    const links = full.content.filter((c) => c.type === "resource_link") as {
      uri: string;
      name: string;
      mimeType: string;
      size: number;
    }[];
    assert.equal(links.length, 2);
    for (const [i, link] of links.entries()) {
      const bytes = await Deno.readFile(structured(full).images[i].file_path);
      assert.equal(bytes.length, link.size);
      assert.equal(link.mimeType, "image/png");
      assert.equal(link.name, structured(full).images[i].filename);
      assert.deepEqual(
        decodeBase64(imageBlocks(full)[i].data),
        bytes,
        "full inline is the file itself",
      );
    }
    const streamed = await h.call("generate_image", {
      prompt: "x",
      inline: "full",
      quality: "low",
      partial_images: 1,
    });
    assert.deepEqual(
      decodeBase64(imageBlocks(streamed)[0].data),
      await Deno.readFile(structured(streamed).images[0].file_path),
      "full inline of a streamed answer is the file itself",
    );
    const none = await h.call("generate_image", { prompt: "x", inline: "none", quality: "low" });
    assert.equal(imageBlocks(none).length, 0);
    assert.equal(none.content.filter((c) => c.type === "resource_link").length, 1);
  }));

Deno.test("the inline preview of a 3840x2160 image fits the byte budget and decodes at 1568 px", () =>
  withServer({}, async (h) => {
    const result = await h.call("generate_image", {
      prompt: "4K",
      size: "3840x2160",
      quality: "low",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const [preview] = imageBlocks(result);
    assert.equal(preview.mimeType, "image/jpeg");
    const bytes = decodeBase64(preview.data);
    assert.ok(bytes.length <= 600_000, `preview is ${bytes.length} bytes`);
    const info = sniffImage(bytes)!;
    assert.deepEqual([info.format, info.width, info.height], ["jpeg", 1568, 882]);
    assert.ok(
      JSON.stringify(result).length < 1_048_576,
      "the whole result fits Claude Desktop's limit",
    );
    const onDisk = sniffImage(await Deno.readFile(structured(result).images[0].file_path))!;
    assert.deepEqual(
      [onDisk.format, onDisk.width, onDisk.height],
      ["png", 3840, 2160],
      "the file is the full original",
    );
    assert.match(textOf(result), /Inline: 1568x882 JPEG preview/);
  }));

Deno.test("4K images go to disk as they arrive; the saved file and the preview are exact", () =>
  withServer({}, async (h, fake) => {
    const original = await fake.image("3840x2160", "png");
    const expected = await makePreview(
      { image: original, info: sniffImage(original)! },
      600_000,
    );
    for (const chunked of [false, true]) {
      fake.chunked = chunked; // no Content-Length: the server finds out the size as it reads
      const how = chunked ? "length unknown" : "length known";
      const result = await h.call("generate_image", { prompt: "4K", size: "3840x2160" });
      assert.equal(result.isError, undefined, textOf(result));
      const file = await Deno.readFile(structured(result).images[0].file_path);
      assert.deepEqual(file, original, `${how}: the saved file is the answer's image`);
      assert.deepEqual(
        decodeBase64(imageBlocks(result)[0].data),
        decodeBase64(expected!.data),
        `${how}: the preview, made from the file, is the one made from memory`,
      );
    }
    const temporary = (await listFiles(h.configRoot)).filter((f) => f.endsWith(".tmp"));
    assert.deepEqual(temporary, [], "no temporary file stays");
    // Held in memory, the 17 MB image alone would raise the server's peak by 17 MB.
    fake.chunked = false;
    if (resetPeakMemory(h.pid()!)) {
      const before = memoryMb(h.pid()!, "VmRSS");
      const result = await h.call("generate_image", {
        prompt: "4K",
        size: "3840x2160",
        inline: "none",
      });
      assert.equal(result.isError, undefined, textOf(result));
      const growth = memoryMb(h.pid()!, "VmHWM") - before;
      assert.ok(growth < 8, `a 4K call raised the peak by ${growth.toFixed(1)} MB`);
    }
  }));

Deno.test("spend limits refuse before any request, and the ledger survives a restart", async () => {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: "gi2-budget-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "gi2-budget-cwd-" });
  const env = {
    HOME: home,
    GPT_IMAGE_2_BUDGET_USD: "0.5",
    GPT_IMAGE_2_MAX_COST_PER_CALL_USD: "0.3",
  };
  const allowWrite = [join(home, ".config", "gpt-image-2-mcp")];
  try {
    let h = await startServer({ fake, cwd, env, allowWrite });
    const tooDear = await h.call("generate_image", {
      prompt: "x",
      quality: "high",
      n: 2,
      size: "1024x1024",
    });
    assert.equal(tooDear.isError, true);
    assert.match(
      textOf(tooDear),
      /estimated cost \$0\.42\d\d is above GPT_IMAGE_2_MAX_COST_PER_CALL_USD=0\.3/,
    );
    const custom = await h.call("generate_image", {
      prompt: "x",
      quality: "high",
      size: "2048x2048",
    });
    assert.match(
      textOf(custom),
      /estimated cost \$0\.84\d\d is above/,
      "custom sizes scale by pixels",
    );
    assert.equal(fake.requests.length, 0);
    const first = await h.call("generate_image", {
      prompt: "x",
      quality: "high",
      size: "1024x1024",
    });
    assert.match(textOf(first), /spent so far \$0\.21\d\d of \$0\.5 budget, \$0\.28\d\d remaining/);
    await h.close();

    h = await startServer({ fake, cwd, env, allowWrite });
    const second = await h.call("generate_image", {
      prompt: "y",
      quality: "high",
      size: "1024x1024",
    });
    assert.equal(second.isError, undefined, textOf(second));
    assert.equal(structured(second).spend.remaining_usd! < 0.08, true);
    const third = await h.call("generate_image", {
      prompt: "z",
      quality: "high",
      size: "1024x1024",
    });
    assert.equal(third.isError, true);
    assert.match(
      textOf(third),
      /would cross GPT_IMAGE_2_BUDGET_USD=0\.5 \(spent \$0\.42\d\d, remaining \$0\.07\d\d\)/,
    );
    assert.equal(fake.calls("generations").length, 2);
    await h.close();
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});
