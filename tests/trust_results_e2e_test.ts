/**
 * A paid image is never turned into an error, answers are held to what was asked for, and the
 * API's errors and secrets reach the client bounded and redacted. Each runs through the SDK
 * client against the fake API.
 */

import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { echoKey, FakeOpenAI, type Fault, type KeyEcho } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import {
  type Harness,
  listFiles,
  memoryMb,
  resetPeakMemory,
  startServer,
  textOf,
  waitFor,
  withServer,
} from "./harness.ts";
import type { CallToolResult } from "./mcp_client.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";

function structured(result: CallToolResult): ImageJobResult {
  return result.structuredContent as ImageJobResult;
}

/** The saved files the result's resource links stand for. */
function links(result: CallToolResult): string[] {
  const linked = result.content.filter((c) => c.type === "resource_link").length;
  return structured(result).images.slice(0, linked).map((f) => f.file_path);
}

/** Image files (no ledger, no session records) below `root`. */
async function images(root: string): Promise<string[]> {
  return (await listFiles(root)).filter((f) => /\.(png|jpeg|webp)$/.test(f));
}

Deno.test("a preview that fails after the image is saved and billed is a warning; the call succeeds with the file", () =>
  withServer({ env: { GPT_IMAGE_2_BUDGET_USD: "5" } }, async (h, fake) => {
    const rows: { name: string; fault: Fault; format: string; warning: RegExp }[] = [
      {
        name: "corrupt pixel data under an honest PNG header",
        fault: { kind: "bad-pixels" },
        format: "png",
        warning: /^image 1 is not shown inline: its preview failed \(.+\); the file is saved/,
      },
      {
        name: "a JPEG header claiming 16000x16000",
        fault: { kind: "bad-pixels", width: 16000, height: 16000 },
        format: "jpeg",
        warning: /^image 1 is not shown inline: its header claims 16000x16000, beyond the 8192 px/,
      },
    ];
    let spent = 0;
    for (const row of rows) {
      fake.inject("generations", row.fault);
      const result = await h.call("generate_image", {
        prompt: row.name,
        quality: "low",
        output_format: row.format,
      });
      assert.equal(result.isError, undefined, `${row.name}: ${textOf(result)}`);
      const [file] = links(result);
      assert.ok(file, `${row.name}: a resource_link to the saved file`);
      assert.equal((await Deno.stat(file)).size, structured(result).images[0].size_bytes);
      assert.deepEqual(structured(result).inline.images, [], row.name);
      assert.ok(structured(result).warnings.some((w) => row.warning.test(w)), row.name);
      assert.match(textOf(result), /\nNote: image 1 is not shown inline: /, row.name);
      const now = structured(result).spend.spent_usd;
      assert.ok(now !== undefined && now > spent, `${row.name}: the spend is recorded`);
      spent = now;
    }
  }));

Deno.test("a PNG header claiming 2147483647x1 is refused for preview before any allocation; the call returns at once", () =>
  withServer({}, async (h, fake) => {
    fake.inject("generations", { kind: "bad-pixels", width: 2147483647, height: 1 });
    const started = performance.now();
    const result = await h.call("generate_image", { prompt: "liar", quality: "low" }, {
      timeout: 30_000,
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.isError, undefined, textOf(result));
    assert.ok(seconds < 10, `answered in ${seconds.toFixed(1)} s`);
    assert.match(
      structured(result).warnings.join("\n"),
      /image 1 is not shown inline: its header claims 2147483647x1, beyond the 8192 px edge/,
    );
    assert.equal(links(result).length, 1);
    assert.ok(memoryMb(h.pid()!, "VmHWM") < 1024, "no gigabyte buffer was filled");
    const next = await h.call("generate_image", { prompt: "after", quality: "low" });
    assert.equal(next.isError, undefined, "the server still answers");
  }));

Deno.test("inline full of a 3840x2160 image falls back to a preview with a warning; the connection stays up", () =>
  withServer({}, async (h) => {
    const result = await h.call("generate_image", {
      prompt: "4K",
      size: "3840x2160",
      quality: "low",
      inline: "full",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const blocks = result.content.filter((c) => c.type === "image");
    assert.equal(blocks.length, 1);
    assert.equal(structured(result).inline.images[0].kind, "preview");
    assert.equal(structured(result).inline.images[0].mime_type, "image/jpeg");
    assert.match(
      structured(result).warnings.join("\n"),
      /image 1 is shown as a preview, not in full: its \d+\.\d MB of base64 is over the 5\.2 MB one inline image may take/,
    );
    assert.equal((await Deno.stat(links(result)[0])).size, structured(result).images[0].size_bytes);
    const second = await h.call("generate_image", { prompt: "again", quality: "low" });
    assert.equal(second.isError, undefined, "a second call works on the same connection");
    const three = await h.call("generate_image", {
      prompt: "three",
      n: 3,
      size: "1024x1024",
      quality: "low",
      inline: "full",
    });
    assert.equal(three.isError, undefined, textOf(three));
    assert.deepEqual(structured(three).inline.images.map((i) => i.kind), [
      "original",
      "original",
      "preview",
    ]);
    assert.match(
      structured(three).warnings.join("\n"),
      /image 3 is shown as a preview, not in full: it would take the call's inline images past 8\.4 MB of base64/,
    );
    const listed = await h.client.listTools();
    const inline = (listed.tools.find((t) => t.name === "generate_image")!.inputSchema
      .properties as Record<string, { description?: string }>).inline;
    assert.match(
      inline.description ?? "",
      /Full falls back to the preview for an image over 5 MB of base64, or past 8 MB for the call/,
    );
  }));

Deno.test("a session turn whose partial-image stream is cut is retried; the failed attempt's partials go", () =>
  withServer({ env: { GPT_IMAGE_2_RETRY_BASE_MS: "5" } }, async (h, fake) => {
    const input = join(h.cwd, "in.png");
    await Deno.writeFile(input, makePng(1024, 1024));
    fake.inject("edits", { kind: "cut-stream", after: 1 });
    const result = await h.call("start_edit_session", {
      prompt: "add a moon",
      images: [input],
      quality: "low",
      partial_images: 2,
      inline: "none",
    });
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(fake.calls("edits").length, 2, "the cut attempt was retried");
    const id = String(structured(result).session_id);
    const files = (await images(h.configRoot)).map((f) => basename(f)).sort();
    assert.deepEqual(files, [
      `session-${id}-turn1-partial1-attempt2.png`,
      `session-${id}-turn1-partial2-attempt2.png`,
      `session-${id}-turn1.png`,
    ]);
    assert.deepEqual((await listFiles(h.configRoot)).filter((f) => f.endsWith(".tmp")), []);
    const next = await h.call("continue_edit_session", {
      session_id: id,
      prompt: "and stars",
      quality: "low",
      partial_images: 1,
      inline: "none",
    });
    assert.equal(next.isError, undefined, textOf(next));
  }));

Deno.test("an answer holding more images than n keeps n, says so, and saves no other", () =>
  withServer({}, async (h, fake) => {
    for (const partials of [0, 1]) {
      const before = await images(h.configRoot);
      fake.inject("generations", { kind: "extra-images", count: 40 });
      const result = await h.call("generate_image", {
        prompt: "one please",
        quality: "low",
        n: 1,
        inline: "none",
        partial_images: partials,
      });
      assert.equal(result.isError, undefined, textOf(result));
      assert.equal(structured(result).images.length, 1);
      assert.match(
        structured(result).warnings.join("\n"),
        /OpenAI returned 40 images for n=1; the 39 beyond what was asked for were dropped and not saved/,
      );
      const added = (await images(h.configRoot)).filter((f) => !before.includes(f));
      assert.equal(added.filter((f) => !f.includes("-partial")).length, 1, `partials ${partials}`);
      assert.equal(added.length, 1 + partials, `partials ${partials}: ${added}`);
      assert.deepEqual((await listFiles(h.configRoot)).filter((f) => f.endsWith(".tmp")), []);
    }
  }));

Deno.test("a 50 MB HTML 502 is a short error with status and request id; memory stays bounded and a call in flight survives", async () => {
  const fake = FakeOpenAI.start();
  const h = await startServer({ fake, env: { GPT_IMAGE_2_RETRY_BASE_MS: "5" } });
  try {
    // Warm up: the SDK is loaded and one image went through, so the baseline is the steady one.
    await h.call("generate_image", { prompt: "warm", quality: "low", inline: "none" });
    fake.delayMs = 3000;
    const inFlight = h.call("generate_image", { prompt: "slow", quality: "low", inline: "none" })
      .catch((error: Error) => error);
    assert.ok(await waitFor(() => fake.calls("generations").length === 2));
    const pid = h.pid()!;
    const peakReset = resetPeakMemory(pid);
    const before = memoryMb(pid, "VmRSS");
    const faults = [1, 2, 3].map((i): Fault => ({
      kind: "html-error",
      status: 502,
      bytes: 50 << 20,
      requestId: `req_gateway${i}`,
    }));
    fake.inject("generations", ...faults);
    const failed = await h.call("generate_image", { prompt: "x", quality: "low", inline: "none" });
    const text = textOf(failed);
    assert.equal(failed.isError, true);
    assert.match(
      text,
      /^OpenAI server error \(502\) after 3 attempt\(s\): 502 Bad Gateway 502 Bad Gateway The upstream server did not answer\. upstream trace line .*… Try again shortly\. \(request id req_gateway3\)$/,
    );
    assert.ok(!/[<>]/.test(text), "no markup");
    assert.ok(JSON.stringify(failed).length < 2000, `${JSON.stringify(failed).length} characters`);
    for (const call of fake.calls("generations").slice(2)) {
      assert.ok(call.bodyBytesSent! < 16 << 20, `the fake made ${call.bodyBytesSent} bytes`);
    }
    const sent = fake.calls("generations").slice(2).map((c) => c.bodyBytesSent);
    console.log(`error pages: ${sent.join(", ")} bytes made of 3 x ${50 << 20}`);
    if (peakReset) {
      const growth = memoryMb(pid, "VmHWM") - before;
      console.log(`server peak grew by ${growth.toFixed(1)} MB during the 502s`);
      assert.ok(growth < 64, `peak grew by ${growth.toFixed(0)} MB`);
    }
    const survived = await inFlight;
    assert.ok(!(survived instanceof Error), `the call in flight failed: ${survived}`);
    assert.equal(survived.isError, undefined, textOf(survived));
  } finally {
    await h.close();
    await fake.close();
  }
});

const GATEWAY_KEY = "gw-live-4f8a9c2e7b1d3a6f5e0c9b8a7d6e5f4c";

Deno.test("a key a gateway echoes back in any encoding reaches neither the result nor stderr", async () => {
  const fake = FakeOpenAI.start({ apiKey: GATEWAY_KEY });
  const h = await startServer({ fake, env: { GPT_IMAGE_2_MCP_DEBUG: "1" } });
  const forms: KeyEcho[] = ["raw", "url", "json", "base64", "truncated"];
  const leaks = (text: string) =>
    forms.map((form) => echoKey(GATEWAY_KEY, form)).filter((echo) => text.includes(echo))
      .concat(text.includes(GATEWAY_KEY.slice(0, 12)) ? [GATEWAY_KEY.slice(0, 12)] : []);
  try {
    for (const form of forms) {
      fake.inject("generations", { kind: "echo-key", form });
      const result = await h.call("generate_image", { prompt: form, quality: "low" });
      assert.equal(result.isError, true, form);
      assert.match(
        textOf(result),
        /^OpenAI rejected the API key \(401\): Gateway: upstream refused the credential \S*\[redacted\]/,
        form,
      );
      assert.deepEqual(leaks(JSON.stringify(result)), [], form);
    }
    const failures = () => h.stderr().split("generate_image failed: ").length - 1;
    assert.ok(await waitFor(() => failures() === forms.length), "each failure was logged");
    assert.deepEqual(leaks(h.stderr()), [], "stderr");
    assert.deepEqual(leaks(JSON.stringify(h.logs)), [], "notifications/message");
  } finally {
    await h.close();
    await fake.close();
  }
});

/**
 * What a user sees of a server started with `env`: the start-up failure (with stderr), or, when
 * it starts, a tool call's answer and stderr.
 */
async function seen(fake: FakeOpenAI, env: Record<string, string>): Promise<string> {
  let h: Harness;
  try {
    h = await startServer({ fake, env: { GPT_IMAGE_2_MCP_DEBUG: "1", ...env } });
  } catch (error) {
    return (error as Error).message;
  }
  try {
    const result = await h.call("generate_image", { prompt: "x", quality: "low" });
    await waitFor(() => h.stderr().includes("generate"), 2000); // its log lines, if any
    return `${JSON.stringify(result)}\n${h.stderr()}`;
  } finally {
    await h.close();
  }
}

Deno.test("configuration errors name the variable without echoing a key or a URL's password", async () => {
  const fake = FakeOpenAI.start({ apiKey: GATEWAY_KEY });
  try {
    const pasted = await seen(fake, { GPT_IMAGE_2_MAX_RETRIES: GATEWAY_KEY });
    assert.match(
      pasted,
      /GPT_IMAGE_2_MAX_RETRIES must be a whole number from 0 to 10, got a value that looks like a secret \(not shown\)/,
    );
    assert.ok(!pasted.includes(GATEWAY_KEY.slice(0, 12)), pasted);
    const url = new URL(fake.baseURL);
    url.username = "me";
    url.password = "hunter2-gateway-pass";
    const credentials = await seen(fake, { OPENAI_BASE_URL: url.href });
    assert.match(credentials, /OPENAI_BASE_URL must not contain credentials \(user:password@\)/);
    assert.ok(!credentials.includes("hunter2-gateway-pass"), credentials);
  } finally {
    await fake.close();
  }
});
