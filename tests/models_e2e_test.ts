/**
 * The model table end to end, through an MCP client against the fake API (which enforces each
 * model's rules on its own): one call per model family and capability, masks as people draw
 * them, an unknown model id, an unknown price under a budget, and the refusals a person can act on.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "npm:fast-png@8.0.0";
import { readGif } from "../src/images/codecs/gif.ts";
import { sniffSvg } from "../src/images/codecs/svg.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import type { FakeOpenAI } from "./fake/api.ts";
import { MODERATION_TRIGGER } from "./fake/models.ts";
import { makePng } from "./fake/png.ts";
import { type Harness, listFiles, textOf, withServer } from "./harness.ts";

const FAST = { GPT_IMAGE_2_RETRY_BASE_MS: "5" };

function structured(result: { structuredContent?: unknown }): ImageJobResult {
  return result.structuredContent as ImageJobResult;
}

async function ok(h: Harness, tool: string, args: Record<string, unknown>) {
  const result = await h.call(tool, args);
  assert.equal(result.isError, undefined, textOf(result));
  return result;
}

async function refused(h: Harness, tool: string, args: Record<string, unknown>, why: RegExp) {
  const result = await h.call(tool, args);
  assert.equal(result.isError, true, JSON.stringify(args));
  assert.match(textOf(result), why);
  return textOf(result);
}

/** Requests that reached the image endpoints (the model probe is a GET of /v1/models). */
function imageCalls(fake: FakeOpenAI): number {
  return fake.calls("generations").length + fake.calls("edits").length;
}

/** A black-and-white PNG without alpha: a white square on black, as people draw masks. */
function blackAndWhiteMask(size: number): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  for (let y = size / 4; y < (3 * size) / 4; y++) {
    data.fill(255, (y * size + size / 4) * 3, (y * size + (3 * size) / 4) * 3);
  }
  return encodePng({ width: size, height: size, data, channels: 3, depth: 8 });
}

Deno.test("tools/list shows the table: models, xhigh/max, transparent, gif/svg, markup, mask_marks", async () => {
  await withServer({}, async (h) => {
    const { tools } = await h.client.listTools();
    const generate = tools.find((t) => t.name === "generate_image")!;
    const props = generate.inputSchema.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(props.quality.enum, ["auto", "low", "medium", "high", "xhigh", "max"]);
    assert.deepEqual(props.output_format.enum, ["png", "jpeg", "webp", "gif", "svg"]);
    assert.deepEqual(props.background.enum, ["auto", "opaque", "transparent"]);
    assert.deepEqual(props.complexity.enum, ["low", "medium", "high"]);
    const model = JSON.stringify(props.model);
    for (const id of ["gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.6-flare"]) {
      assert.ok(model.includes(`"${id}"`), `model lists ${id}`);
    }
    assert.match(String(props.model.description), /gpt-image-2\.5-sunburst: quality .*xhigh/);
    for (const name of ["edit_image", "start_edit_session", "continue_edit_session"]) {
      const spec = tools.find((t) => t.name === name)!;
      const keys = Object.keys(spec.inputSchema.properties ?? {});
      for (const key of ["model", "markup", "mask_marks", "safety_identifier"]) {
        assert.ok(keys.includes(key), `${name} has ${key}`);
      }
    }
  });
});

Deno.test("gpt-image-2.5: quality max with a transparent PNG; jpeg and gpt-image-2 refused with reasons", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    const result = await ok(h, "generate_image", {
      prompt: "A sticker of a fox",
      model: "gpt-image-2.5-sunburst",
      quality: "max",
      background: "transparent",
      size: "1024x1024",
    });
    const s = structured(result);
    assert.equal(s.model, "gpt-image-2.5-sunburst");
    assert.equal(s.applied.background, "transparent");
    const sent = fake.calls("generations")[0].json!;
    assert.deepEqual([sent.model, sent.quality, sent.background], [
      "gpt-image-2.5-sunburst",
      "max",
      "transparent",
    ]);
    assert.equal((await listFiles(s.images[0].file_path.replace(/\/[^/]+$/, ""))).length, 1);

    const before = imageCalls(fake);
    await refused(h, "generate_image", {
      prompt: "x",
      model: "gpt-image-2.5-flare",
      background: "transparent",
      output_format: "jpeg",
    }, /background: "transparent" needs output_format png or webp, got jpeg/);
    const text = await refused(h, "generate_image", {
      prompt: "x",
      background: "transparent",
    }, /background: "transparent" on gpt-image-2 /);
    assert.match(text, /gpt-image-2\.5-sunburst, .*gpt-image-2\.5-flare/);
    await refused(
      h,
      "generate_image",
      { prompt: "x", quality: "xhigh" },
      /quality: "xhigh" is not offered by gpt-image-2/,
    );
    assert.equal(imageCalls(fake), before, "nothing refused reached the API");
  });
});

Deno.test("gpt-image-2.6: a GIF keeps its frames on disk and previews its first frame; SVG is saved as text", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    const gif = await ok(h, "generate_image", {
      prompt: "A bouncing ball",
      model: "gpt-image-2.6-sunburst",
      output_format: "gif",
      frame_count: 4,
      frame_duration_ms: 120,
      complexity: "high",
    });
    const g = structured(gif);
    assert.match(g.images[0].file_path, /\.gif$/);
    assert.equal(g.images[0].mime_type, "image/gif");
    const info = readGif(await Deno.readFile(g.images[0].file_path));
    assert.equal(info.frames, 4);
    const inline = gif.content.find((c) => c.type === "image") as { mimeType: string };
    assert.equal(inline.mimeType, "image/jpeg", "the preview is a still of the first frame");
    assert.ok(g.warnings.some((w) => /first frame.*keeps the animation/.test(w)));
    const sent = fake.calls("generations")[0].json!;
    assert.deepEqual([sent.frame_count, sent.frame_duration_ms, sent.complexity], [4, 120, "high"]);
    assert.equal(sent.stream, undefined);

    const svg = await ok(h, "generate_image", {
      prompt: "A flat icon of a house",
      model: "gpt-image-2.6-flare",
      output_format: "svg",
    });
    const v = structured(svg);
    assert.match(v.images[0].file_path, /\.svg$/);
    assert.ok(sniffSvg(await Deno.readFile(v.images[0].file_path)), "the file is SVG text");
    const resource = svg.content.find((c) => c.type === "resource") as {
      resource: { uri: string; mimeType: string; text: string };
    };
    assert.equal(resource.resource.mimeType, "image/svg+xml");
    assert.match(resource.resource.text, /<svg /);
    assert.equal(resource.resource.text, await Deno.readTextFile(v.images[0].file_path));
    // The same URI as the result's link to the file, which resources/read serves.
    const link = svg.content.find((c) => c.type === "resource_link") as { uri: string };
    assert.equal(resource.resource.uri, link.uri);
    assert.ok(v.warnings.some((w) => /SVG .*embedded as a resource/.test(w)));

    const before = imageCalls(fake);
    await refused(h, "generate_image", {
      prompt: "x",
      model: "gpt-image-2.6-flare",
      output_format: "gif",
      partial_images: 2,
    }, /partial_images: GIF output has no partial images/);
    await refused(h, "generate_image", {
      prompt: "x",
      model: "gpt-image-2.6-flare",
      output_format: "svg",
      n: 2,
    }, /n: SVG output makes one image per call/);
    await refused(h, "generate_image", {
      prompt: "x",
      model: "gpt-image-2.6-flare",
      output_format: "svg",
      output_compression: 50,
    }, /output_compression/);
    assert.equal(imageCalls(fake), before);
  });
});

Deno.test("masks as people draw them: mask_marks converts a black-and-white mask, and without it the refusal gives both fixes", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "photo.png"), makePng(1024, 1024));
    await Deno.writeFile(join(h.cwd, "bw.png"), blackAndWhiteMask(1024));
    const text = await refused(h, "edit_image", {
      prompt: "Replace the square with a window",
      images: ["photo.png"],
      mask: "bw.png",
    }, /mask \(bw\.png\): the mask has no alpha channel/);
    assert.match(text, /mask_marks: "white" or "black"/);
    assert.match(text, /fully transparent \(alpha 0\)/);
    assert.equal(imageCalls(fake), 0);

    const result = await ok(h, "edit_image", {
      prompt: "Replace the square with a window",
      images: ["photo.png"],
      mask: "bw.png",
      mask_marks: "white",
    });
    const notes = structured(result).warnings.join("\n");
    assert.match(notes, /converted from black and white \(white marks the area to edit\)/);
    assert.match(notes, /262,144 of 1,048,576 pixels \(25\.0%\)/);
    // The fake checked the upload on its own: a PNG with an alpha channel of the image's size.
    const mask = fake.calls("edits")[0].files!.find((f) => f.field === "mask")!;
    assert.equal(mask.type, "image/png");

    // A session turn converts it too, and says so once.
    const started = await ok(h, "start_edit_session", { prompt: "Start", images: ["photo.png"] });
    const turn = await ok(h, "continue_edit_session", {
      session_id: structured(started).session_id,
      prompt: "Replace the square with a window",
      mask: "bw.png",
      mask_marks: "white",
    });
    const said = structured(turn).warnings.filter((w) => /converted from black and white/.test(w));
    assert.equal(said.length, 1, structured(turn).warnings.join("\n"));
  });
});

Deno.test("markup edits on gpt-image-2.5; markup with a mask, or on gpt-image-2, refused before any request", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "photo.png"), makePng(1024, 1024));
    const markup = makePng(1024, 1024, {
      alpha: true,
      transparentBox: { x: 0, y: 0, width: 1024, height: 900 },
    });
    await Deno.writeFile(join(h.cwd, "markup.png"), markup);
    await Deno.writeFile(join(h.cwd, "opaque.png"), makePng(1024, 1024, { alpha: true }));
    const result = await ok(h, "edit_image", {
      prompt: "Add a hat where I drew",
      images: ["photo.png"],
      markup: "markup.png",
      model: "gpt-image-2.5-flare",
    });
    assert.equal(structured(result).model, "gpt-image-2.5-flare");
    const files = fake.calls("edits")[0].files!;
    assert.ok(files.some((f) => f.field === "markup" && f.type === "image/png"));

    const before = imageCalls(fake);
    await refused(h, "edit_image", {
      prompt: "x",
      images: ["photo.png"],
      markup: "markup.png",
      mask: "markup.png",
      model: "gpt-image-2.5-flare",
    }, /markup: cannot be combined with mask/);
    const text = await refused(h, "edit_image", {
      prompt: "x",
      images: ["photo.png"],
      markup: "markup.png",
    }, /markup: gpt-image-2 takes no markup image; models that do: gpt-image-2\.5-sunburst/);
    assert.doesNotMatch(text, /gpt-image-2-2026/);
    await refused(h, "edit_image", {
      prompt: "x",
      images: ["photo.png"],
      markup: "opaque.png",
      model: "gpt-image-2.5-flare",
    }, /markup \(opaque\.png\): the markup image must be a transparent PNG/);
    assert.equal(imageCalls(fake), before);
  });
});

/** A model the server's table does not list, which the fake's project may use. */
const UNLISTED_MODEL_ACCESS = {
  extraModels: {
    "gpt-image-3-preview": {
      qualities: ["low", "medium", "high", "auto"],
      transparent: false,
      markup: false,
      formats: ["png", "jpeg", "webp"],
    },
  },
};

Deno.test("an unknown model id goes through with gpt-image-2's rules and a warning; the API decides", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    fake.access = UNLISTED_MODEL_ACCESS;
    const result = await ok(h, "generate_image", {
      prompt: "A kite",
      model: "gpt-image-3-preview",
      quality: "low",
    });
    const s = structured(result);
    assert.equal(s.model, "gpt-image-3-preview");
    assert.ok(s.warnings.some((w) => /gpt-image-3-preview is not in this server's table/.test(w)));
    assert.match(s.cost_basis, /^upper bound: /);
    assert.ok(fake.requests.some((r) => r.path === "/v1/models/gpt-image-3-preview"));

    // An id the API does not offer this key: its GET /v1/models answer decides, nothing is drawn.
    const before = imageCalls(fake);
    await refused(h, "generate_image", {
      prompt: "A kite",
      model: "gpt-image-9",
    }, /model: gpt-image-9 is not available to this key \(404\)/);
    assert.equal(imageCalls(fake), before);
  });
});

Deno.test("behind a gateway without GET /v1/models/{id}, calls go ahead and the route is asked once", async () => {
  await withServer({}, async (h, fake) => {
    fake.noModelRoute = true;
    for (const prompt of ["A kite", "A boat"]) {
      const result = await h.call("generate_image", { prompt, quality: "low" });
      assert.ok(!result.isError, JSON.stringify(result.content));
    }
    const probes = fake.requests.filter((r) => r.path.startsWith("/v1/models/"));
    assert.equal(probes.length, 1, "a missing route is not asked again");
    assert.equal(imageCalls(fake), 2);
  });
});

Deno.test("an unknown price never lets a budget pass: it is estimated at the dearest price, and says so", async () => {
  await withServer(
    { env: { ...FAST, GPT_IMAGE_2_MAX_COST_PER_CALL_USD: "0.5" } },
    async (h, fake) => {
      // gpt-image-2 at high (0.211) fits under 0.50.
      await ok(h, "generate_image", { prompt: "A kite", quality: "high", size: "1024x1024" });
      const before = imageCalls(fake);
      // 2.5 at max has no published price: its ceiling (4 x 0.211) is above the limit.
      const text = await refused(h, "generate_image", {
        prompt: "A kite",
        model: "gpt-image-2.5-sunburst",
        quality: "max",
        size: "1024x1024",
      }, /above GPT_IMAGE_2_MAX_COST_PER_CALL_USD=0\.5/);
      assert.match(text, /The estimate is an upper bound, since a price is unknown/);
      fake.access = UNLISTED_MODEL_ACCESS;
      await refused(h, "generate_image", {
        prompt: "A kite",
        model: "gpt-image-3-preview",
        quality: "low",
        size: "1024x1024",
      }, /upper bound.*price of gpt-image-3-preview unknown/);
      assert.equal(imageCalls(fake), before);
    },
  );
});

Deno.test("refusals a person can act on: moderation, organization verification, quota, shutdown dates", async () => {
  await withServer({ env: { ...FAST, GPT_IMAGE_2_MAX_RETRIES: "3" } }, async (h, fake) => {
    const moderation = await refused(h, "generate_image", {
      prompt: `A scene ${MODERATION_TRIGGER}`,
    }, /content policy \(moderation_blocked\)/);
    assert.match(moderation, /the prompt and any input images/);
    assert.match(moderation, /moderation: "low"/);
    assert.match(moderation, /rephrase the prompt/);
    assert.match(moderation, /not retried and nothing was billed/);
    assert.equal(fake.calls("generations").length, 1, "a moderation refusal is not retried");
    const ledger = JSON.parse(
      await Deno.readTextFile(join(h.configRoot, ".gpt-image-2-ledger.json")).catch(() =>
        '{"spent_usd":0}'
      ),
    );
    assert.equal(ledger.spent_usd ?? 0, 0, "nothing billed");

    fake.quotaExhausted = true;
    await refused(h, "generate_image", { prompt: "A kite" }, /out of quota \(429\).*Billing/);
    assert.equal(fake.calls("generations").length, 2, "insufficient_quota is never retried");
    fake.quotaExhausted = false;

    fake.unverifiedModels.add("gpt-image-2.5-flare");
    await refused(h, "generate_image", {
      prompt: "A kite",
      model: "gpt-image-2.5-flare",
    }, /may not use gpt-image-2\.5-flare \(403\).*Organization Verification/);
    assert.equal(fake.calls("generations").length, 2, "the probe refused before any image call");

    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    fake.shutdownDates["gpt-image-2.5-sunburst"] = soon;
    const result = await ok(h, "generate_image", {
      prompt: "A kite",
      model: "gpt-image-2.5-sunburst",
      quality: "low",
    });
    assert.ok(
      structured(result).warnings.some((w) =>
        w.includes(`gpt-image-2.5-sunburst shuts down on ${soon}`)
      ),
    );
  });
});

Deno.test("a session keeps its model between turns, and continue_edit_session can change it", async () => {
  await withServer({ env: FAST }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "photo.png"), makePng(1024, 1024));
    const first = await ok(h, "start_edit_session", {
      prompt: "Make it autumn",
      images: ["photo.png"],
      model: "gpt-image-2.5-sunburst",
      quality: "xhigh",
      background: "transparent",
    });
    const id = (first.structuredContent as { session_id: string }).session_id;
    const second = await ok(h, "continue_edit_session", { session_id: id, prompt: "More leaves" });
    assert.equal(structured(second).model, "gpt-image-2.5-sunburst");
    const third = await ok(h, "continue_edit_session", {
      session_id: id,
      prompt: "Now winter",
      model: "gpt-image-2",
      quality: "high",
      background: "opaque",
    });
    assert.equal(structured(third).model, "gpt-image-2");
    const models = fake.calls("edits").map((c) => [c.fields!.model[0], c.fields!.quality[0]]);
    assert.deepEqual(models, [
      ["gpt-image-2.5-sunburst", "xhigh"],
      ["gpt-image-2.5-sunburst", "xhigh"],
      ["gpt-image-2", "high"],
    ]);
  });
});
