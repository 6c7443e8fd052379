import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  backgroundValues,
  capabilitiesOf,
  complexityValues,
  costFromUsage,
  describeModels,
  estimateCost,
  type ImageRequest,
  modelIds,
  MODELS,
  modelSchema,
  outputFormatValues,
  qualitySchema,
  qualityValues,
  requestWarnings,
  responsesEditCost,
  SHUT_DOWN,
  validateRequest,
} from "./models.ts";

const GEN: ImageRequest = { operation: "generate" };
const EDIT: ImageRequest = { operation: "edit" };
const ALIASES = MODELS.filter((row) => !row.snapshotOf).map((row) => row.id);

Deno.test("every row names its source and date, and no price is zero", () => {
  const ids = new Set<string>();
  for (const row of MODELS) {
    assert.ok(!ids.has(row.id), `duplicate ${row.id}`);
    ids.add(row.id);
    assert.ok(row.source.length > 10 && /^\d{4}-\d{2}-\d{2}$/.test(row.checked), row.id);
    assert.ok(row.prices.source.length > 5 && /^\d{4}-\d{2}/.test(row.prices.checked), row.id);
    for (const rate of Object.values(row.prices.tokens ?? {})) assert.ok(rate > 0, row.id);
    for (const pair of Object.values(row.prices.perImage)) {
      assert.ok(pair!.every((usd) => usd > 0), row.id);
    }
    if (row.snapshotOf) assert.ok(ids.has(row.snapshotOf), `${row.id} before its alias`);
    assert.ok(!(row.id in SHUT_DOWN), `${row.id} is both live and shut down`);
  }
});

Deno.test("the table lists each current model and its dated snapshots", () => {
  assert.deepEqual(modelIds(), [
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
  ]);
  assert.deepEqual(ALIASES, [
    "gpt-image-2",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-flare",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
  ]);
});

Deno.test("a snapshot has its alias's rules and prices", () => {
  for (const row of MODELS.filter((r) => r.snapshotOf)) {
    const alias = capabilitiesOf(row.snapshotOf!);
    const { id: _a, snapshotOf: _s, ...rules } = capabilitiesOf(row.id);
    const { id: _b, ...aliasRules } = alias;
    assert.deepEqual(rules, aliasRules, row.id);
  }
});

Deno.test("an unknown id gets gpt-image-2's rules, no prices, and known: false", () => {
  const caps = capabilitiesOf("gpt-image-9");
  const base = capabilitiesOf("gpt-image-2");
  assert.equal(caps.known, false);
  assert.equal(caps.id, "gpt-image-9");
  assert.deepEqual([caps.quality, caps.sizes, caps.background], [
    base.quality,
    base.sizes,
    base.background,
  ]);
  assert.equal(caps.prices.tokens, undefined);
  assert.deepEqual(caps.prices.perImage, {});
  assert.equal(capabilitiesOf("gpt-image-2").known, true);
});

Deno.test("schema enums are the union across models", () => {
  assert.deepEqual(qualityValues(), ["auto", "low", "medium", "high", "xhigh", "max"]);
  assert.deepEqual(backgroundValues(), ["auto", "opaque", "transparent"]);
  assert.deepEqual(outputFormatValues(), ["png", "jpeg", "webp", "gif", "svg"]);
  assert.deepEqual(complexityValues(), ["low", "medium", "high"]);
  assert.equal(qualitySchema().safeParse("max").success, true);
  assert.equal(qualitySchema().safeParse("ultra").success, false);
  for (const ok of ["gpt-image-2", "gpt-image-2.5-flare-2026-09-08", "ft:gpt-image-2:org:x"]) {
    assert.equal(modelSchema().safeParse(ok).success, true, ok);
  }
  for (const bad of ["", " gpt-image-2", "gpt image", "x".repeat(101), "a/b"]) {
    assert.equal(modelSchema().safeParse(bad).success, false, bad);
  }
});

Deno.test("tool descriptions name each alias with its qualities and extras", () => {
  const text = describeModels();
  const lines = text.split("\n");
  assert.deepEqual(lines, [
    "gpt-image-2: quality auto/low/medium/high, custom sizes; unverified: gif, svg",
    "gpt-image-2.5-sunburst: quality auto/low/medium/high/xhigh/max, transparent, markup, custom sizes; " +
    "unverified: gif, svg",
    "gpt-image-2.5-flare: quality auto/low/medium/high/xhigh/max, transparent, markup, custom sizes; " +
    "unverified: gif, svg",
    "gpt-image-2.6-sunburst: quality auto/low/medium/high, markup; with access: gif, svg; " +
    "unverified: quality xhigh/max, transparent, custom sizes",
    "gpt-image-2.6-flare: quality auto/low/medium/high, markup; with access: gif, svg; " +
    "unverified: quality xhigh/max, transparent, custom sizes",
  ]);
  assert.doesNotMatch(text, /2026-09-08/);
});

const VALID: [string, ImageRequest][] = [
  ["gpt-image-2", GEN],
  ["gpt-image-2", {
    ...GEN,
    n: 10,
    size: "3840x2160",
    quality: "high",
    output_format: "webp",
    output_compression: 80,
  }],
  ["gpt-image-2", { ...EDIT, mask: true, partial_images: 3, stream: true, size: "auto" }],
  ["gpt-image-2-2026-04-21", { ...GEN, quality: "low", background: "opaque", moderation: "low" }],
  ["gpt-image-2.5-sunburst", {
    ...GEN,
    quality: "max",
    background: "transparent",
    output_format: "png",
  }],
  ["gpt-image-2.5-flare", {
    ...GEN,
    quality: "xhigh",
    background: "transparent",
    output_format: "webp",
  }],
  ["gpt-image-2.5-flare-2026-09-08", { ...EDIT, markup: true, quality: "max" }],
  ["gpt-image-2.6-sunburst", {
    ...GEN,
    output_format: "gif",
    frame_count: 16,
    frame_duration_ms: 10,
  }],
  ["gpt-image-2.6-flare", {
    ...GEN,
    output_format: "gif",
    frame_count: 2,
    frame_duration_ms: 655_350,
  }],
  ["gpt-image-2.6-flare", { ...EDIT, output_format: "gif" }],
  ["gpt-image-2.6-sunburst", { ...GEN, output_format: "svg", n: 1, svg: { model: "gpt-5" } }],
  ["gpt-image-2.6-sunburst", { ...EDIT, markup: true, complexity: "high" }],
  ["gpt-image-2.6-sunburst", { ...GEN, quality: "max" }],
  ["gpt-image-9", { ...GEN, quality: "high", size: "1536x1024" }],
];

Deno.test("valid requests pass on the models that offer what they ask", () => {
  for (const [model, request] of VALID) {
    assert.deepEqual(validateRequest(model, request), [], `${model} ${JSON.stringify(request)}`);
  }
});

const REFUSED: [string, ImageRequest, RegExp][] = [
  [
    "gpt-image-2",
    { ...GEN, quality: "max" },
    /^quality: "max" is not offered by gpt-image-2; models that offer it: gpt-image-2\.5-sunburst, gpt-image-2\.5-flare$/,
  ],
  ["gpt-image-2-2026-04-21", { ...GEN, quality: "xhigh" }, /not offered by gpt-image-2-2026-04-21/],
  [
    "gpt-image-2",
    { ...GEN, quality: "ultra" },
    /^quality: "ultra" is not one of auto, low, medium, high, xhigh, max$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, background: "transparent" },
    /^background: "transparent" on gpt-image-2 is only a preview \(SDK types\), switched off again on some accounts; models that offer it: gpt-image-2\.5-sunburst, gpt-image-2\.5-flare$/,
  ],
  [
    "gpt-image-2.5-sunburst",
    { ...GEN, background: "transparent", output_format: "jpeg" },
    /^background: "transparent" needs output_format png or webp, got jpeg$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", frame_count: 17 },
    /^frame_count: must be an integer from 2 to 16, got 17$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", frame_count: 1 },
    /^frame_count: .* got 1$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", frame_count: 2.5 },
    /^frame_count: .* got 2\.5$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", frame_duration_ms: 5 },
    /^frame_duration_ms: .*10 to 655350/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, frame_count: 4 },
    /^frame_count: applies only to output_format gif, got png$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "webp", frame_duration_ms: 100 },
    /^frame_duration_ms: applies only to output_format gif, got webp$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", stream: true },
    /^stream: GIF output cannot be streamed$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", partial_images: 2 },
    /^partial_images: GIF output has no partial images, got 2$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...EDIT, output_format: "gif", mask: true },
    /^mask: GIF output cannot use a mask$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "gif", output_compression: 50 },
    /^output_compression: applies only to output_format jpeg or webp, got gif$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "svg", n: 2 },
    /^n: SVG output makes one image per call, got 2$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "svg", stream: true },
    /^stream: SVG output cannot be streamed$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "svg", partial_images: 1 },
    /^partial_images: SVG output has no partial images/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, output_format: "svg", output_compression: 90 },
    /^output_compression: .* got svg$/,
  ],
  [
    "gpt-image-2.6-sunburst",
    { ...GEN, svg: { model: "x" } },
    /^svg: applies only to output_format svg, got png$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, output_compression: 50 },
    /^output_compression: applies only to output_format jpeg or webp, got png$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, output_format: "jpeg", output_compression: 101 },
    /^output_compression: must be an integer from 0 to 100, got 101$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, output_format: "bmp" },
    /^output_format: "bmp" is not one of png, jpeg, webp, gif, svg$/,
  ],
  [
    "gpt-image-2",
    { ...EDIT, markup: true },
    /^markup: gpt-image-2 takes no markup image; models that do: gpt-image-2\.5-sunburst, gpt-image-2\.5-flare, gpt-image-2\.6-sunburst, gpt-image-2\.6-flare$/,
  ],
  [
    "gpt-image-2.5-sunburst",
    { ...EDIT, markup: true, mask: true },
    /^markup: cannot be combined with mask; send one of them$/,
  ],
  ["gpt-image-2.5-sunburst", { ...GEN, markup: true }, /^markup: only edits take a markup image$/],
  ["gpt-image-2", { ...GEN, mask: true }, /^mask: only edit_image takes a mask$/],
  ["gpt-image-2", { ...GEN, n: 0 }, /^n: must be an integer from 1 to 10, got 0$/],
  ["gpt-image-2", { ...GEN, n: 11 }, /^n: .* got 11$/],
  [
    "gpt-image-2",
    { ...GEN, partial_images: 4 },
    /^partial_images: must be an integer from 0 to 3, got 4$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, complexity: "extreme" },
    /^complexity: "extreme" is not one of low, medium, high$/,
  ],
  ["gpt-image-2", { ...GEN, moderation: "none" }, /^moderation: "none" is not one of auto, low$/],
  [
    "gpt-image-2",
    { ...GEN, size: "1000x1000" },
    /^size: 1000x1000 needs both edges to be multiples of 16$/,
  ],
  ["gpt-image-2", { ...GEN, size: "3856x1024" }, /^size: 3856x1024 has an edge over 3840 px/],
  [
    "gpt-image-2",
    { ...GEN, size: "3072x768" },
    /^size: 3072x768 is wider than the aspect ratios gpt-image-2 draws \(1:3 to 3:1\)$/,
  ],
  [
    "gpt-image-2",
    { ...GEN, size: "640x640" },
    /^size: 640x640 is 409,600 pixels; gpt-image-2 draws 655,360 to 8,294,400$/,
  ],
  ["gpt-image-2", { ...GEN, size: "3840x2176" }, /^size: 3840x2176 is 8,355,840 pixels/],
  [
    "gpt-image-2",
    { ...GEN, size: "1024*1024" },
    /^size: must be "auto" or WIDTHxHEIGHT such as "1536x1024", got "1024\*1024"$/,
  ],
  [
    "gpt-image-1",
    GEN,
    /^model: gpt-image-1 was shut down on 2026-10-23 .*use gpt-image-2\.5-sunburst or gpt-image-2\.5-flare instead$/,
  ],
  ["dall-e-3", GEN, /^model: dall-e-3 was shut down on 2026-05-12/],
  ["gpt-image-1.5", GEN, /^model: gpt-image-1\.5 was shut down on 2026-12-01/],
];

Deno.test("each broken rule gets one sentence naming the input and the rule", () => {
  for (const [model, request, expected] of REFUSED) {
    const errors = validateRequest(model, request, { now: new Date("2026-12-01T12:00:00Z") });
    assert.equal(errors.length, 1, `${model} ${JSON.stringify(request)}: ${errors.join(" | ")}`);
    assert.match(errors[0], expected);
  }
});

Deno.test("a shutdown still ahead is worded as ahead", () => {
  const [error] = validateRequest("gpt-image-1-mini", GEN, { now: new Date("2026-11-20") });
  assert.match(error, /^model: gpt-image-1-mini shuts down on 2026-12-01 /);
});

Deno.test("several broken rules are all reported", () => {
  const errors = validateRequest("gpt-image-2", {
    ...GEN,
    quality: "max",
    background: "transparent",
    output_format: "jpeg",
    n: 12,
  });
  assert.equal(errors.length, 4, errors.join("\n"));
  for (
    const prefix of [
      "n:",
      "quality:",
      'background: "transparent" on gpt-image-2 is only',
      'background: "transparent" needs',
    ]
  ) {
    assert.ok(errors.some((e) => e.startsWith(prefix)), prefix);
  }
});

const WARNED: [string, ImageRequest, RegExp[]][] = [
  ["gpt-image-9", GEN, [
    /^model: gpt-image-9 is not in this server's table .*gpt-image-2's rules, its price is unknown/,
  ]],
  ["gpt-image-2.6-sunburst", { ...GEN, quality: "max" }, [
    /^quality: "max" on gpt-image-2\.6-sunburst is unverified .*the API's answer decides$/,
  ]],
  ["gpt-image-2.6-flare", { ...GEN, output_format: "gif" }, [
    /^output_format: "gif" on gpt-image-2\.6-flare needs GIF preview access .*refuses the call$/,
  ]],
  ["gpt-image-2.6-flare", { ...GEN, output_format: "svg" }, [
    /^output_format: "svg" .* needs project access to SVG output/,
  ]],
  ["gpt-image-2", { ...GEN, output_format: "gif" }, [
    /^output_format: "gif" on gpt-image-2 is unverified/,
  ]],
  ["gpt-image-2", { ...GEN, complexity: "low" }, [
    /^complexity: "low" on gpt-image-2 is unverified/,
  ]],
  ["gpt-image-2", { ...GEN, size: "3840x2160" }, [
    /^size: 3840x2160 is above 2560x1440, which the API calls experimental$/,
  ]],
  ["gpt-image-2.6-sunburst", { ...GEN, size: "2048x1152" }, [
    /^size: custom sizes on gpt-image-2\.6-sunburst are unverified/,
  ]],
  ["gpt-image-2.6-sunburst", { ...GEN, background: "transparent" }, [
    /^background: "transparent" on gpt-image-2\.6-sunburst is unverified/,
  ]],
  ["gpt-image-2.5-sunburst", {
    ...GEN,
    quality: "max",
    background: "transparent",
    size: "2048x1152",
  }, []],
  ["gpt-image-2.6-sunburst", { ...GEN, complexity: "medium", size: "1536x1024" }, []],
];

Deno.test("warnings name unknown models, gated or unverified capabilities, and experimental sizes", () => {
  for (const [model, request, expected] of WARNED) {
    const warnings = requestWarnings(model, request);
    assert.equal(warnings.length, expected.length, `${model}: ${warnings.join(" | ")}`);
    expected.forEach((re, i) => assert.match(warnings[i], re));
  }
});

Deno.test("estimates use the model's published prices where the table has them", () => {
  const cases: [ImageRequest & { prompt?: string }, number][] = [
    [{ ...GEN, size: "1024x1024", quality: "low" }, 0.006],
    [{ ...GEN, size: "1536x1024", quality: "medium" }, 0.041],
    [{ ...GEN, size: "1024x1536", quality: "high", n: 2 }, 0.33],
    [{ ...GEN, size: "auto", quality: "auto" }, 0.211],
    [{ ...GEN, size: "2048x2048", quality: "high" }, 0.844],
    [{ ...GEN, size: "1024x1024", quality: "high", prompt: "x".repeat(4000) }, 0.216], // + 1000 text tokens at $5/M
    [{ ...GEN, size: "1024x1024", quality: "low", partial_images: 2, n: 1 }, 0.012], // + 200 output tokens at $30/M
  ];
  for (const [request, usd] of cases) {
    const estimate = estimateCost("gpt-image-2", request);
    assert.equal(estimate.known, true);
    assert.equal(estimate.usd, usd, JSON.stringify(request));
    assert.match(estimate.basis, /price list for gpt-image-2/);
  }
});

Deno.test("edit inputs add their image tokens at the model's input rate", () => {
  const plain = estimateCost("gpt-image-2", { ...EDIT, size: "1024x1024", quality: "low" });
  const edit = estimateCost("gpt-image-2", {
    ...EDIT,
    size: "1024x1024",
    quality: "low",
    inputs: [{ width: 1024, height: 1024 }],
  });
  // 85 + 170 * 4 tiles + 4096 = 4861 tokens at $8/M = 0.0389
  assert.equal(Math.round((edit.usd - plain.usd) * 10_000), 389);
});

Deno.test("gpt-image-2's published per-image prices, scaled by pixels, the dearest for auto", () => {
  const cases: [string, string, number][] = [
    ["1024x1024", "low", 0.006],
    ["1536x1024", "medium", 0.041],
    ["1024x1536", "high", 0.165],
    ["auto", "auto", 0.211],
    ["2048x2048", "high", 0.844],
    ["3840x2160", "high", 0.8702], // 0.165 * 8294400 / 1572864 = 0.87012, rounded up
  ];
  for (const [size, quality, usd] of cases) {
    const estimate = estimateCost("gpt-image-2", { operation: "generate", size, quality });
    assert.equal(Math.floor(estimate.usd * 1000), Math.floor(usd * 1000), `${size} ${quality}`);
    assert.equal(estimate.known, true);
  }
});

Deno.test("an unknown price estimates at the dearest price of the table, xhigh and max included", () => {
  const unknownModel = estimateCost("gpt-image-9", { ...GEN, size: "1024x1024", quality: "low" });
  assert.equal(unknownModel.known, false);
  assert.equal(unknownModel.usd, 0.844); // gpt-image-2 high (0.211) x4, the ceiling of max
  assert.match(unknownModel.basis, /^upper bound: price of gpt-image-9 unknown; .*quality max/);
  const max = estimateCost("gpt-image-2.5-sunburst", { ...GEN, size: "1024x1024", quality: "max" });
  assert.equal(max.known, false);
  assert.match(max.basis, /^upper bound: price of gpt-image-2\.5-sunburst at quality max unknown/);
  assert.equal(max.usd, 0.844);
  const xhigh = estimateCost("gpt-image-2.5-flare", {
    ...GEN,
    size: "1024x1024",
    quality: "xhigh",
  });
  assert.equal(xhigh.usd, 0.422);
  // Above every published price: an unknown price never passes a budget set for a known one.
  assert.ok(unknownModel.usd > estimateCost("gpt-image-2", { ...GEN, quality: "high" }).usd);
  const gif = estimateCost("gpt-image-2.6-flare", {
    ...GEN,
    size: "1024x1024",
    output_format: "gif",
    frame_count: 4,
  });
  assert.equal(gif.usd, 3.376); // 4 frames at the ceiling of max, which 2.6 offers
  assert.match(gif.basis, /price of GIF output \(4 frames counted as 4 images\)/);
  const svg = estimateCost("gpt-image-2", {
    ...GEN,
    size: "1024x1024",
    quality: "low",
    output_format: "svg",
  });
  assert.equal(svg.known, false);
  assert.match(svg.basis, /SVG authoring tokens \(not included\)/);
});

Deno.test("the Responses route prices host tokens, images and inputs from the same table", () => {
  const base = {
    usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 },
    images: 1,
    size: "1024x1024",
    inputs: [],
  };
  const known = responsesEditCost("gpt-image-2", { ...base, quality: "low" });
  assert.deepEqual([known.usd, known.known], [15.006, true]); // $5 + $10 per 1M, + 0.006
  const unknown = responsesEditCost("gpt-image-2.5-sunburst", { ...base, quality: "max" });
  assert.deepEqual([unknown.usd, unknown.known], [15.844, false]);
  assert.match(unknown.basis, /^upper bound: /);
  // A GIF's frames are each priced as an image, at the dearest known price: never as one image.
  const still = responsesEditCost("gpt-image-2", { ...base, quality: "high" });
  const gif = responsesEditCost("gpt-image-2", { ...base, quality: "high", frames: 9 });
  assert.equal(gif.known, false);
  assert.match(gif.basis, /GIF output is unknown \(9 frames counted as 9 images\)/);
  assert.ok(gif.usd - 15 >= 9 * (still.usd - 15) - 1e-9, `${gif.usd} vs ${still.usd}`);
});

const requests = fc.record({
  operation: fc.constantFrom("generate" as const, "edit" as const),
  n: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  size: fc.option(
    fc.oneof(
      fc.constantFrom("auto", "1024x1024", "1536x1024", "1024x1536"),
      fc.tuple(fc.integer({ min: 40, max: 240 }), fc.integer({ min: 40, max: 240 }))
        .map(([w, h]) => `${w * 16}x${h * 16}`),
    ),
    { nil: undefined },
  ),
  quality: fc.option(fc.constantFrom("auto", "low", "medium", "high", "xhigh", "max"), {
    nil: undefined,
  }),
  output_format: fc.option(fc.constantFrom("png", "jpeg", "webp", "gif", "svg"), {
    nil: undefined,
  }),
  frame_count: fc.option(fc.integer({ min: 2, max: 16 }), { nil: undefined }),
  partial_images: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  prompt: fc.string({ maxLength: 200 }),
});

Deno.test("property: no estimate is zero, and one marked unknown is never below a known one", () => {
  const known = ["gpt-image-2", "gpt-image-2-2026-04-21"];
  const unknown = ["gpt-image-9", "gpt-image-2.5-sunburst", "gpt-image-2.6-flare"];
  fc.assert(
    fc.property(requests, (request) => {
      const ceiling = Math.max(
        ...known.map((m) => estimateCost(m, { ...request, quality: "high" }).usd),
      );
      for (const model of [...known, ...unknown]) {
        const estimate = estimateCost(model, request);
        assert.ok(estimate.usd > 0, `${model} ${JSON.stringify(request)}`);
        if (!estimate.known) {
          assert.match(estimate.basis, /^upper bound: /);
          assert.ok(estimate.usd >= ceiling - 0.0001, `${model} ${estimate.usd} < ${ceiling}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: every error names an input of the request and stays one sentence", () => {
  const inputs = new Set([
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "stream",
    "partial_images",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "mask",
    "markup",
    "svg",
  ]);
  const wild = fc.record({
    operation: fc.constantFrom("generate" as const, "edit" as const),
    n: fc.option(fc.integer({ min: -2, max: 14 }), { nil: undefined }),
    size: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    quality: fc.option(fc.constantFrom("auto", "low", "xhigh", "max", "hd"), { nil: undefined }),
    background: fc.option(fc.constantFrom("auto", "opaque", "transparent", "clear"), {
      nil: undefined,
    }),
    output_format: fc.option(fc.constantFrom("png", "jpeg", "webp", "gif", "svg", "tiff"), {
      nil: undefined,
    }),
    output_compression: fc.option(fc.integer({ min: -5, max: 120 }), { nil: undefined }),
    stream: fc.option(fc.boolean(), { nil: undefined }),
    partial_images: fc.option(fc.integer({ min: -1, max: 5 }), { nil: undefined }),
    complexity: fc.option(fc.constantFrom("low", "high", "max"), { nil: undefined }),
    frame_count: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    frame_duration_ms: fc.option(fc.integer({ min: 0, max: 700_000 }), { nil: undefined }),
    mask: fc.option(fc.boolean(), { nil: undefined }),
    markup: fc.option(fc.boolean(), { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.constantFrom(...modelIds(), "gpt-image-9"), wild, (model, request) => {
      for (const error of validateRequest(model, request)) {
        const field = error.slice(0, error.indexOf(":"));
        assert.ok(inputs.has(field), error);
        // The caller's own text, quoted back, is not part of the sentence's shape.
        const own = request.size ? error.replaceAll(request.size, "") : error;
        assert.doesNotMatch(own, /\.\s+[A-Z]|\n/, error);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("cost from usage prices tokens at the model's rates, and unknown rates at the dearest", () => {
  const usage = {
    input_tokens: 50,
    output_tokens: 4160,
    input_tokens_details: { text_tokens: 50, image_tokens: 0 },
    output_tokens_details: { image_tokens: 4160, text_tokens: 0 },
  };
  assert.deepEqual(
    [costFromUsage("gpt-image-2", usage).usd, costFromUsage("gpt-image-2", usage).known],
    [0.1251, true],
  );
  assert.equal(costFromUsage("gpt-image-2.6-flare", usage).usd, 0.1251);
  const unknown = costFromUsage("gpt-image-9", usage);
  assert.equal(unknown.known, false);
  assert.equal(unknown.usd, 0.1251);
  assert.match(unknown.basis, /^upper bound: price of gpt-image-9 unknown/);
  assert.equal(costFromUsage("gpt-image-2", undefined).usd, 0);
});
