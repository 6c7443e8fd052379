/** edit_image end to end: every input kind, mask rules, both routes, fallback and cleanup. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { encodeBase64 } from "../src/images/codecs/base64.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { type Harness, listFiles, startServer, textOf } from "./harness.ts";
import { InputServer, TEST_CA } from "./inputs_server.ts";

/** Runs `body` with a fake API, an https input server and a connected server. */
async function withServer(
  env: Record<string, string>,
  body: (h: Harness, fake: FakeOpenAI, inputs: InputServer) => Promise<void>,
  configure?: (fake: FakeOpenAI) => void,
): Promise<void> {
  const fake = FakeOpenAI.start();
  configure?.(fake);
  const inputs = new InputServer();
  const h = await startServer({
    fake,
    allowNet: [inputs.host],
    env: {
      DENO_CERT: TEST_CA,
      GPT_IMAGE_2_INPUT_HOST_ALLOWLIST: inputs.host,
      GPT_IMAGE_2_RETRY_BASE_MS: "5",
      ...env,
    },
  });
  try {
    await body(h, fake, inputs);
  } finally {
    await h.close();
    await inputs.close();
    await fake.close();
  }
}

function structured(result: { structuredContent?: unknown }): ImageJobResult {
  return result.structuredContent as ImageJobResult;
}

Deno.test("edit_image accepts every input kind and sends one multipart request to /v1/images/edits", async () => {
  await withServer({}, async (h, fake, inputs) => {
    const png = makePng(1024, 1024, { seed: 11 });
    const jpeg = await fake.image("1024x1024", "jpeg", 12);
    const webp = await fake.image("1024x1024", "webp", 13);
    await Deno.writeFile(join(h.cwd, "relative.png"), png);
    await Deno.writeFile(join(h.cwd, "absolute.jpg"), jpeg);
    await Deno.writeFile(join(h.cwd, "by-url.webp"), webp);
    inputs.files.set("remote.png", makePng(1024, 1024, { seed: 14 }));
    const images = [
      "./relative.png",
      join(h.cwd, "absolute.jpg"),
      pathToFileURL(join(h.cwd, "by-url.webp")).href,
      `${inputs.origin}/f/remote.png`,
      `data:image/png;base64,${encodeBase64(makePng(1024, 1024, { seed: 15 }))}`,
    ];
    const result = await h.call("edit_image", {
      prompt: "Combine these into one poster",
      images,
      n: 2,
    });
    assert.equal(result.isError, undefined, textOf(result));
    const s = structured(result);
    assert.equal(s.route, "direct");
    assert.equal(s.images.length, 2);
    const edits = fake.calls("edits");
    assert.equal(edits.length, 1);
    assert.equal(fake.calls("files").length, 0);
    const sent = edits[0].files!.filter((f) => f.field === "image[]");
    assert.deepEqual(sent.map((f) => f.type), [
      "image/png",
      "image/jpeg",
      "image/webp",
      "image/png",
      "image/png",
    ]);
    assert.equal(sent[0].size, png.length);
    assert.equal(sent[1].size, jpeg.length);
    assert.equal(edits[0].fields!.model[0], "gpt-image-2");
    assert.equal(edits[0].fields!.n[0], "2");
    assert.match(s.cost_basis, /^from API usage at OpenAI price list for gpt-image-2/);
    assert.ok(s.usage!.input_tokens_details, "full usage on the direct route");
    assert.deepEqual(inputs.hits, ["/f/remote.png"]);
  });
});

Deno.test("bad inputs are refused by the bytes, before anything is uploaded", async () => {
  await withServer({}, async (h, fake, inputs) => {
    await Deno.writeTextFile(join(h.cwd, "notes.png"), "this is a text file, not a picture\n");
    const img = makePng(1024, 1024);
    await Deno.writeFile(join(h.cwd, "a.png"), img);
    await Deno.writeFile(join(h.cwd, "small-mask.png"), makePng(512, 512, { alpha: true }));
    await Deno.writeFile(join(h.cwd, "opaque-mask.png"), makePng(1024, 1024));
    await Deno.writeFile(join(h.cwd, "mask.jpg"), await fake.image("1024x1024", "jpeg"));
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { images: ["./notes.png"] },
        /images\[0\] \(\.\/notes\.png\): not a PNG, JPEG or WebP image \(it looks like a text file\)/,
      ],
      [{ images: ["./a.png", "./missing.png"] }, /images\[1\] \(\.\/missing\.png\): no such file/],
      [{ images: Array(9).fill("./a.png") }, /images: .*\b8\b/],
      [{ images: [] }, /images: .*\b1\b/],
      [
        { images: ["./a.png"], mask: "./small-mask.png" },
        /mask \(\.\/small-mask\.png\): the mask is 512x512 but images\[0\] is 1024x1024/,
      ],
      [
        { images: ["./a.png"], mask: "./opaque-mask.png" },
        /mask \(\.\/opaque-mask\.png\): the mask has no alpha channel.*mask_marks/,
      ],
      [
        { images: ["./a.png"], mask: "./mask.jpg" },
        /mask \(\.\/mask\.jpg\): the mask must be a PNG, not jpeg/,
      ],
      [
        { images: ["data:image/png;base64,@@@@"] },
        /images\[0\] \(data:image\/png;base64,@@@@\.\.\.\): the data URL's payload is not valid base64/,
      ],
      [
        { images: ["data:text/plain;base64,aGVsbG8="] },
        /a data URL must look like data:image\/png;base64/,
      ],
      [{ images: ["ftp://example.com/a.png"] }, /unsupported scheme/],
      [
        { images: ["http://example.com/a.png"] },
        /only https:\/\/ URLs are accepted; set GPT_IMAGE_2_ALLOW_HTTP_INPUTS=1/,
      ],
      [
        { images: [`${inputs.origin}/huge-declared`] },
        /the server declares 62914560 bytes, over the 52428800-byte limit/,
      ],
      [
        { images: [`${inputs.origin}/huge-streamed`] },
        /the download passed the 52428800-byte limit; stopped reading/,
      ],
      [
        { images: ["https://cdn.example.com/a.png"] },
        /network permission does not cover cdn\.example\.com\. Add --allow-net=cdn\.example\.com/,
      ],
      [{ images: ["https://127.0.0.2/a.png"] }, /127\.0\.0\.2 is an internal address/],
      [
        { images: ["https://169.254.169.254/latest/meta-data"] },
        /169\.254\.169\.254 is an internal address/,
      ],
      [{ images: ["https://localhost:1/a.png"] }, /"localhost" names an internal host/],
      [
        { images: [`${inputs.origin}/redirect?to=https://169.254.169.254/x`] },
        /169\.254\.169\.254 is an internal address/,
      ],
    ];
    for (const [args, expected] of cases) {
      const result = await h.call("edit_image", { prompt: "edit", ...args });
      assert.equal(result.isError, true, JSON.stringify(args).slice(0, 200));
      assert.match(textOf(result), expected);
    }
    assert.equal(fake.requests.length, 0, "nothing reached the API");
    assert.deepEqual(await listFiles(h.configRoot), []);
  });
});

Deno.test("the Responses route uploads, edits with the mask, deletes the uploads, and prices the image", async () => {
  await withServer({ GPT_IMAGE_2_EDIT_ROUTE: "responses" }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    await Deno.writeFile(join(h.cwd, "b.png"), makePng(1024, 1024, { seed: 3 }));
    await Deno.writeFile(
      join(h.cwd, "mask.png"),
      makePng(1024, 1024, {
        alpha: true,
        transparentBox: { x: 100, y: 100, width: 200, height: 200 },
      }),
    );
    const result = await h.call("edit_image", {
      prompt: "Put a boat in the box",
      images: ["a.png", "b.png"],
      mask: "mask.png",
      quality: "high",
      size: "1024x1024",
      n: 3,
      inline: "full",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const s = structured(result);
    assert.equal(s.route, "responses");
    assert.equal(s.images.length, 1);
    const [block] = result.content.filter((c) => c.type === "image") as { data: string }[];
    assert.equal(block.data, encodeBase64(await Deno.readFile(s.images[0].file_path)));
    assert.match(s.warnings.join(), /n=3 was lowered to 1/);
    assert.equal(fake.calls("files").length, 3);
    assert.equal(fake.calls("edits").length, 0);
    const body = fake.calls("responses")[0].json as unknown as {
      model: string;
      tool_choice: unknown;
      tools: { action: string; model: string; input_image_mask: { file_id: string } }[];
      input: { content: { type: string }[] }[];
    };
    assert.equal(body.model, "gpt-4.1-mini");
    assert.deepEqual(body.tool_choice, { type: "image_generation" });
    const tool = body.tools[0];
    assert.equal(tool.action, "edit");
    assert.equal(tool.model, "gpt-image-2");
    assert.match(tool.input_image_mask.file_id, /^file-/);
    assert.equal(
      body.input[0].content.filter((c) => c.type === "input_image").length,
      2,
    );
    assert.equal(fake.uploaded.size, 0, "every uploaded file was deleted");
    assert.equal(fake.requests.filter((r) => r.method === "DELETE").length, 3);
    assert.ok(s.cost_usd_estimated > 0.211, `image price included: ${s.cost_usd_estimated}`);
    assert.match(s.cost_basis, /^estimated: host-model tokens .* per-image price/);
  });
});

Deno.test("the Responses route's image tool carries complexity and moderation as asked", async () => {
  await withServer({ GPT_IMAGE_2_EDIT_ROUTE: "responses" }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const result = await h.call("edit_image", {
      prompt: "Make it dusk",
      images: ["a.png"],
      complexity: "high",
      moderation: "low",
      safety_identifier: "user-42",
    });
    assert.equal(result.isError, undefined, textOf(result));
    const body = fake.calls("responses")[0].json as unknown as {
      safety_identifier: string;
      tools: { complexity: string; moderation: string; quality: string }[];
    };
    assert.equal(body.tools[0].complexity, "high");
    assert.equal(body.tools[0].moderation, "low");
    assert.equal(body.tools[0].quality, "auto");
    assert.equal(body.safety_identifier, "user-42");
  });
});

Deno.test("uploaded files are deleted when the Responses call fails or returns no image", async () => {
  await withServer(
    { GPT_IMAGE_2_EDIT_ROUTE: "responses", GPT_IMAGE_2_MAX_RETRIES: "0" },
    async (h, fake) => {
      await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
      fake.inject(
        "responses",
        { kind: "status", status: 500, message: "The server had an error" },
        { kind: "no-image-call" },
      );
      const failed = await h.call("edit_image", { prompt: "x", images: ["a.png"] });
      assert.equal(failed.isError, true);
      assert.match(textOf(failed), /OpenAI server error \(500\) after 1 attempt/);
      const refused = await h.call("edit_image", { prompt: "x", images: ["a.png"] });
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /OpenAI returned no image; the model answered: I can't help/);
      assert.equal(fake.calls("files").length, 2);
      assert.equal(fake.uploaded.size, 0);
      assert.deepEqual(
        (await listFiles(h.configRoot)).filter((f) => !f.includes(".gpt-image-2-ledger.")),
        [],
      );
    },
  );
});

Deno.test("auto route falls back once on the launch-time 400 and remembers it", async () => {
  await withServer({}, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const first = await h.call("edit_image", { prompt: "x", images: ["a.png"] });
    assert.equal(first.isError, undefined, textOf(first));
    assert.equal(structured(first).route, "responses");
    assert.match(structured(first).warnings.join(), /rejected the model/);
    const second = await h.call("edit_image", { prompt: "y", images: ["a.png"] });
    assert.equal(structured(second).route, "responses");
    assert.equal(fake.calls("edits").length, 1, "the direct endpoint was tried once only");
    assert.equal(fake.calls("responses").length, 2);
    assert.ok(
      h.logs.some((l) => /rejected gpt-image-2; using the Responses route/.test(String(l.data))),
    );
  }, (fake) => (fake.rejectModelOnEdits = true));
});

Deno.test("GPT_IMAGE_2_EDIT_ROUTE=direct does not fall back", async () => {
  await withServer({ GPT_IMAGE_2_EDIT_ROUTE: "direct" }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const result = await h.call("edit_image", { prompt: "x", images: ["a.png"] });
    assert.equal(result.isError, true);
    assert.match(
      textOf(result),
      /OpenAI rejected the parameter "model" \(400\): Invalid value: 'gpt-image-2'/,
    );
    assert.equal(fake.calls("responses").length, 0);
  }, (fake) => (fake.rejectModelOnEdits = true));
});

Deno.test("remote inputs: download timeout, at most 3 redirects, plain http only when allowed", async () => {
  const plain = new InputServer({ tls: false });
  plain.files.set("a.png", makePng(1024, 1024));
  try {
    await withServer(
      { GPT_IMAGE_2_INPUT_TIMEOUT_MS: "500", GPT_IMAGE_2_INPUT_HOST_ALLOWLIST: "" },
      async (h, fake, inputs) => {
        const refused = await h.call("edit_image", {
          prompt: "x",
          images: [`${inputs.origin}/f/a.png`],
        });
        assert.match(
          textOf(refused),
          /127\.0\.0\.1 is an internal address/,
          "private hosts need the allowlist",
        );
        assert.deepEqual(inputs.hits, [], "refused before connecting");
        assert.equal(fake.requests.length, 0);
      },
    );
    await withServer({ GPT_IMAGE_2_INPUT_TIMEOUT_MS: "500" }, async (h, fake, inputs) => {
      inputs.files.set("a.png", makePng(1024, 1024));
      const slow = await h.call("edit_image", { prompt: "x", images: [`${inputs.origin}/hang`] });
      assert.match(
        textOf(slow),
        /images\[0\] .*: the download timed out after 500 ms \(GPT_IMAGE_2_INPUT_TIMEOUT_MS\)/,
      );
      let url = `${inputs.origin}/f/a.png`;
      for (let i = 0; i < 4; i++) url = `${inputs.origin}/redirect?to=${encodeURIComponent(url)}`;
      const tooMany = await h.call("edit_image", { prompt: "x", images: [url] });
      assert.match(textOf(tooMany), /more than 3 redirects/);
      const threeHops = url.slice(url.indexOf("to=") + 3);
      const ok = await h.call("edit_image", {
        prompt: "x",
        images: [decodeURIComponent(threeHops)],
        inline: "none",
      });
      assert.equal(ok.isError, undefined, textOf(ok));
      const downgrade = await h.call("edit_image", {
        prompt: "x",
        images: [`${inputs.origin}/redirect?to=${encodeURIComponent(`${plain.origin}/f/a.png`)}`],
      });
      assert.match(
        textOf(downgrade),
        /only https:\/\/ URLs are accepted \(also after a redirect\)/,
      );
      assert.equal(fake.calls("edits").length, 1, "only the good call reached the API");
    });
    const fake = FakeOpenAI.start();
    const h = await startServer({
      fake,
      allowNet: [plain.host],
      env: { GPT_IMAGE_2_ALLOW_HTTP_INPUTS: "1", GPT_IMAGE_2_INPUT_HOST_ALLOWLIST: plain.host },
    });
    try {
      const result = await h.call("edit_image", {
        prompt: "x",
        images: [`${plain.origin}/f/a.png`],
        inline: "none",
      });
      assert.equal(result.isError, undefined, textOf(result));
    } finally {
      await h.close();
      await fake.close();
    }
  } finally {
    await plain.close();
  }
});
