import assert from "node:assert/strict";
import { encode as encodePng } from "npm:fast-png@8.0.0";
import { GIF } from "npm:imagescript@1.3.1";
import {
  type ApiError,
  checkEditFiles,
  checkImageRequest,
  FAKE_MODELS,
  type FakeAccess,
  gifAnswer,
  insufficientQuota,
  modelAnswer,
  moderationBlocked,
  organizationNotVerified,
  rateLimited,
  svgAnswer,
  svgUsage,
} from "./models.ts";

const gen = (fields: Record<string, unknown>) => ({
  route: "generations" as const,
  fields: { prompt: "a cat", ...fields },
});
const edit = (
  fields: Record<string, unknown>,
  files: { mask?: boolean; markup?: boolean } = {},
) => ({
  route: "edits" as const,
  fields: { prompt: "a cat", ...fields },
  files: { images: 1, mask: files.mask ?? false, markup: files.markup ?? false },
});

/** Checks the shape every API error has, then returns it for the case's own expectations. */
function shaped(error: ApiError | undefined): ApiError {
  assert.ok(error, "expected the fake to refuse");
  assert.deepEqual(Object.keys(error.body.error), ["message", "type", "param", "code"]);
  assert.ok(error.body.error.message.length > 10);
  assert.ok([400, 403, 404, 429].includes(error.status));
  return error;
}

const ACCEPTED: [string, ReturnType<typeof gen> | ReturnType<typeof edit>, FakeAccess?][] = [
  ["gpt-image-2 at high", gen({ model: "gpt-image-2", quality: "high", size: "3840x2160" })],
  ["a dated snapshot", gen({ model: "gpt-image-2-2026-04-21", quality: "low" })],
  [
    "2.5 at max, transparent png",
    gen({ model: "gpt-image-2.5-sunburst", quality: "max", background: "transparent" }),
  ],
  [
    "2.5 flare xhigh, transparent webp",
    gen({
      model: "gpt-image-2.5-flare",
      quality: "xhigh",
      background: "transparent",
      output_format: "webp",
    }),
  ],
  [
    "2.6 GIF at the largest 9-frame size",
    gen({ model: "gpt-image-2.6-sunburst", output_format: "gif", size: "960x960" }),
  ],
  [
    "2.6 GIF, 12 frames of 816",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", frame_count: 12, size: "816x816" }),
  ],
  [
    "2.6 GIF, 16 frames of 720",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", frame_count: 16, size: "720x720" }),
  ],
  ["2.6 SVG", gen({ model: "gpt-image-2.6-sunburst", output_format: "svg", svg: { model: "x" } })],
  [
    "a multipart edit with markup",
    edit({ model: "gpt-image-2.5-sunburst", n: "2", stream: "true", partial_images: "2" }, {
      markup: true,
    }),
  ],
  [
    "an edit with a mask",
    edit({ model: "gpt-image-2", output_format: "jpeg", output_compression: "80" }, { mask: true }),
  ],
  ["complexity on any model", gen({ model: "gpt-image-2", complexity: "low" })],
  ["a model the fake was told about", gen({ model: "gpt-image-2.7-sunburst" }), {
    extraModels: { "gpt-image-2.7-sunburst": FAKE_MODELS["gpt-image-2.6-sunburst"] },
  }],
];

Deno.test("the fake accepts what each model offers", () => {
  for (const [name, request, access] of ACCEPTED) {
    assert.equal(checkImageRequest(request, access), undefined, name);
  }
});

const REFUSED: [
  string,
  ReturnType<typeof gen> | ReturnType<typeof edit>,
  [status: number, param: string | null, code: string | null, message: RegExp],
  FakeAccess?,
][] = [
  ["max on gpt-image-2", gen({ model: "gpt-image-2", quality: "max" }), [
    400,
    "quality",
    "invalid_value",
    /^Invalid value: 'max'\. Supported values are: 'low', 'medium', 'high', and 'auto'\.$/,
  ]],
  ["xhigh on the 2 snapshot", gen({ model: "gpt-image-2-2026-04-21", quality: "xhigh" }), [
    400,
    "quality",
    "invalid_value",
    /'xhigh'/,
  ]],
  ["transparent on gpt-image-2", gen({ model: "gpt-image-2", background: "transparent" }), [
    400,
    "background",
    "unsupported_value",
    /^Transparent background is not supported for this model\.$/,
  ]],
  [
    "transparent jpeg on 2.5",
    gen({ model: "gpt-image-2.5-sunburst", background: "transparent", output_format: "jpeg" }),
    [400, "background", "invalid_value", /requires output_format 'png' or 'webp'/],
  ],
  ["GIF on gpt-image-2", gen({ model: "gpt-image-2", output_format: "gif" }), [
    400,
    "output_format",
    "unsupported_value",
    /'gif' is not supported for model 'gpt-image-2'/,
  ]],
  ["SVG on 2.5", gen({ model: "gpt-image-2.5-flare", output_format: "svg" }), [
    400,
    "output_format",
    "unsupported_value",
    /'svg'/,
  ]],
  ["GIF without preview access", gen({ model: "gpt-image-2.6-flare", output_format: "gif" }), [
    403,
    "output_format",
    "permission_denied",
    /does not have access to GIF output/,
  ], { gif: false }],
  ["SVG without project access", gen({ model: "gpt-image-2.6-flare", output_format: "svg" }), [
    403,
    "output_format",
    "permission_denied",
    /SVG output/,
  ], { svg: false }],
  ["1 GIF frame", gen({ model: "gpt-image-2.6-flare", output_format: "gif", frame_count: 1 }), [
    400,
    "frame_count",
    "integer_below_min_value",
    /Expected a value >= 2, but got 1/,
  ]],
  ["17 GIF frames", gen({ model: "gpt-image-2.6-flare", output_format: "gif", frame_count: 17 }), [
    400,
    "frame_count",
    "integer_above_max_value",
    /<= 16/,
  ]],
  ["frames without GIF", gen({ model: "gpt-image-2.6-flare", frame_count: 4 }), [
    400,
    "frame_count",
    "unsupported_parameter",
    /only supported with output_format 'gif'/,
  ]],
  ["a frame duration without GIF", gen({ model: "gpt-image-2.6-flare", frame_duration_ms: 100 }), [
    400,
    "frame_duration_ms",
    "unsupported_parameter",
    /'frame_duration_ms'/,
  ]],
  ["a streamed GIF", gen({ model: "gpt-image-2.6-flare", output_format: "gif", stream: true }), [
    400,
    "stream",
    "unsupported_parameter",
    /GIF output does not support streaming/,
  ]],
  [
    "GIF partial images",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", partial_images: 1 }),
    [400, "partial_images", "unsupported_parameter", /partial images/],
  ],
  [
    "a GIF edit with a mask",
    edit({ model: "gpt-image-2.6-flare", output_format: "gif" }, { mask: true }),
    [400, "mask", "unsupported_parameter", /GIF output does not support masks/],
  ],
  [
    "GIF compression",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", output_compression: 50 }),
    [400, "output_compression", "unsupported_parameter", /only supported for 'jpeg' and 'webp'/],
  ],
  [
    "9 GIF frames over the sheet",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", size: "976x976" }),
    [400, "size", "invalid_value", /9 GIF frames of this size exceed/],
  ],
  [
    "12 GIF frames over the sheet",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", frame_count: 12, size: "832x832" }),
    [400, "size", "invalid_value", /12 GIF frames/],
  ],
  [
    "a GIF at a named still size",
    gen({ model: "gpt-image-2.6-flare", output_format: "gif", size: "1024x1024" }),
    [400, "size", "invalid_value", /exceed the model's GIF size limits/],
  ],
  ["two SVGs", gen({ model: "gpt-image-2.6-sunburst", output_format: "svg", n: 2 }), [
    400,
    "n",
    "invalid_value",
    /^SVG output requires n=1\.$/,
  ]],
  ["a streamed SVG", gen({ model: "gpt-image-2.6-sunburst", output_format: "svg", stream: true }), [
    400,
    "stream",
    "unsupported_parameter",
    /SVG output/,
  ]],
  [
    "SVG compression",
    gen({ model: "gpt-image-2.6-sunburst", output_format: "svg", output_compression: 90 }),
    [400, "output_compression", "unsupported_parameter", /jpeg/],
  ],
  ["svg settings on png", gen({ model: "gpt-image-2.6-sunburst", svg: { model: "x" } }), [
    400,
    "svg",
    "unsupported_parameter",
    /'svg' is only supported/,
  ]],
  ["markup with a mask", edit({ model: "gpt-image-2.5-sunburst" }, { mask: true, markup: true }), [
    400,
    "markup",
    "invalid_request",
    /^'markup' cannot be combined with 'mask'\.$/,
  ]],
  ["markup on gpt-image-2", edit({ model: "gpt-image-2" }, { markup: true }), [
    400,
    "markup",
    "unsupported_parameter",
    /not supported for model 'gpt-image-2'/,
  ]],
  ["png compression", gen({ model: "gpt-image-2", output_compression: 80 }), [
    400,
    "output_compression",
    "unsupported_parameter",
    /jpeg/,
  ]],
  ["11 images", gen({ model: "gpt-image-2", n: 11 }), [
    400,
    "n",
    "integer_above_max_value",
    /<= 10/,
  ]],
  ["multipart n of 0", edit({ model: "gpt-image-2", n: "0" }), [
    400,
    "n",
    "integer_below_min_value",
    />= 1/,
  ]],
  ["4 partial images", gen({ model: "gpt-image-2", partial_images: 4, stream: true }), [
    400,
    "partial_images",
    "integer_above_max_value",
    /<= 3/,
  ]],
  ["a size off the 16 grid", gen({ model: "gpt-image-2", size: "1000x1000" }), [
    400,
    "size",
    "invalid_value",
    /divisible by 16/,
  ]],
  ["a 4:1 size", gen({ model: "gpt-image-2", size: "3072x768" }), [
    400,
    "size",
    "invalid_value",
    /1:3 and 3:1/,
  ]],
  ["too few pixels", gen({ model: "gpt-image-2", size: "640x640" }), [
    400,
    "size",
    "invalid_value",
    /655,360/,
  ]],
  ["an unknown complexity", gen({ model: "gpt-image-2", complexity: "max" }), [
    400,
    "complexity",
    "invalid_value",
    /'max'/,
  ]],
  ["no prompt", gen({ model: "gpt-image-2", prompt: "" }), [
    400,
    "prompt",
    "missing_required_parameter",
    /'prompt'/,
  ]],
  ["a retired model", gen({ model: "gpt-image-1" }), [
    404,
    null,
    "model_not_found",
    /`gpt-image-1` has been deprecated/,
  ]],
  ["dall-e-3", gen({ model: "dall-e-3" }), [404, null, "model_not_found", /deprecated/]],
  ["an unknown model", gen({ model: "gpt-image-9" }), [
    400,
    "model",
    "invalid_value",
    /^Invalid value: 'gpt-image-9'\. Supported values are: 'gpt-image-2', .*'gpt-image-2\.6-flare'\.$/,
  ]],
];

Deno.test("the fake refuses what a model does not offer with the API's error body", () => {
  for (const [name, request, [status, param, code, message], access] of REFUSED) {
    const error = shaped(checkImageRequest(request, access));
    assert.deepEqual(
      [error.status, error.body.error.param, error.body.error.code, error.body.error.type],
      [status, param, code, "invalid_request_error"],
      name,
    );
    assert.match(error.body.error.message, message, name);
  }
});

function rgbaPng(width: number, height: number, alpha: (i: number) => number): Uint8Array {
  const data = new Uint8Array(width * height * 4).fill(200);
  for (let i = 0; i < width * height; i++) data[i * 4 + 3] = alpha(i);
  return encodePng({ width, height, data, channels: 4, depth: 8 });
}

Deno.test("edit files: masks need alpha and the image's size, markup needs transparent pixels", async () => {
  const first = rgbaPng(8, 8, () => 255);
  const rgb = encodePng({ width: 8, height: 8, data: new Uint8Array(192), channels: 3, depth: 8 });
  assert.equal(
    await checkEditFiles({ first, mask: rgbaPng(8, 8, (i) => i < 4 ? 0 : 255) }),
    undefined,
  );
  assert.equal(
    await checkEditFiles({ first, markup: rgbaPng(8, 8, (i) => i % 2 ? 0 : 255) }),
    undefined,
  );
  const cases: [Parameters<typeof checkEditFiles>[0], string, string, RegExp][] = [
    [
      { first, mask: rgb },
      "mask",
      "invalid_image_file",
      /mask image: it must be a PNG with an alpha channel/,
    ],
    [{ first, mask: new TextEncoder().encode("GIF89a no") }, "mask", "invalid_image_file", /PNG/],
    [
      { first, mask: rgbaPng(4, 8, () => 0) },
      "mask",
      "invalid_image_dimensions",
      /\(8x8\), got 4x8/,
    ],
    [
      { first, markup: rgbaPng(8, 8, () => 255) },
      "markup",
      "invalid_image_file",
      /must contain transparent pixels/,
    ],
    [{ first, markup: rgb }, "markup", "invalid_image_file", /markup image/],
  ];
  for (const [files, param, code, message] of cases) {
    const error = shaped(await checkEditFiles(files));
    assert.deepEqual([error.status, error.body.error.param, error.body.error.code], [
      400,
      param,
      code,
    ]);
    assert.match(error.body.error.message, message);
  }
});

Deno.test("refusals that are not about one field carry the API's own types and codes", () => {
  const moderation = shaped(moderationBlocked("req_123"));
  assert.deepEqual(
    [
      moderation.status,
      moderation.body.error.type,
      moderation.body.error.code,
      moderation.body.error.param,
    ],
    [400, "image_generation_user_error", "moderation_blocked", null],
  );
  assert.match(moderation.body.error.message, /rejected by the safety system.*req_123/);
  const quota = shaped(insufficientQuota());
  assert.deepEqual([quota.status, quota.body.error.type, quota.body.error.code, quota.headers], [
    429,
    "insufficient_quota",
    "insufficient_quota",
    undefined,
  ]);
  const limited = shaped(rateLimited(7));
  assert.deepEqual([limited.status, limited.body.error.code, limited.headers], [
    429,
    "rate_limit_exceeded",
    {
      "retry-after": "7",
    },
  ]);
  const verification = shaped(organizationNotVerified("gpt-image-2.5-sunburst"));
  assert.equal(verification.status, 403);
  assert.match(
    verification.body.error.message,
    /must be verified to use the model `gpt-image-2\.5-sunburst`/,
  );
});

Deno.test("GET /v1/models answers known models with their shutdown date, and 404 otherwise", () => {
  assert.deepEqual(modelAnswer("gpt-image-2.6-flare"), {
    status: 200,
    body: {
      id: "gpt-image-2.6-flare",
      object: "model",
      created: 1776729600,
      owned_by: "system",
      shutdown_date: null,
    },
  });
  const dated = modelAnswer("gpt-image-2", { shutdownDates: { "gpt-image-2": "2026-12-20" } });
  assert.equal((dated.body as { shutdown_date: string }).shutdown_date, "2026-12-20");
  const missing = modelAnswer("gpt-image-1");
  assert.equal(missing.status, 404);
  assert.deepEqual((missing.body as ApiError["body"]).error.code, "model_not_found");
});

Deno.test("GIF answers are real animated GIFs: frames, delays and size as asked", async () => {
  const bytes = gifAnswer({ size: "96x64", frames: 5, delayMs: 120 });
  assert.equal(gifAnswer({ size: "96x64", frames: 5, delayMs: 120 }), bytes, "cached");
  assert.equal(String.fromCharCode(...bytes.subarray(0, 6)), "GIF89a");
  const decoded = await GIF.decode(bytes);
  assert.deepEqual([decoded.length, decoded.width, decoded.height], [5, 96, 64]);
  assert.deepEqual(Array.from(decoded, (f) => f.duration), [120, 120, 120, 120, 120]);
  const [a, b] = decoded;
  assert.notDeepEqual(a.bitmap, b.bitmap, "the frames differ: it moves");
});

Deno.test("SVG answers are SVG documents of the asked size, and SVG usage adds up", () => {
  const svg = svgAnswer({ size: "1024x768", seed: 3 });
  assert.match(
    svg,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 1024 768" width="1024" height="768">/,
  );
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<circle /g)?.length, 6);
  const usage = svgUsage("a logo");
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
});
