/**
 * The server's capability table against the fake API's own rules, written apart: whatever the
 * table refuses, the API refuses too (no valid call is blocked), and whatever the table calls
 * documented and unconditional, the API accepts.
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { type ImageRequest, modelIds, requestWarnings, validateRequest } from "../src/models.ts";
import { checkImageRequest } from "./fake/models.ts";

function fakeVerdict(model: string, request: ImageRequest) {
  const { operation, mask, markup, ...fields } = request;
  return checkImageRequest({
    route: operation === "edit" ? "edits" : "generations",
    fields: { model, prompt: "a lighthouse at dusk", ...fields },
    files: operation === "edit"
      ? { images: 1, mask: mask ?? false, markup: markup ?? false }
      : { images: 0, mask: mask ?? false, markup: markup ?? false },
  });
}

const field = <K extends keyof ImageRequest>(key: K, values: ImageRequest[K][]) =>
  fc.constantFrom(...values).map((value) => [key, value] as const);

/** Requests setting up to four fields, so that valid ones are as common as broken ones. */
const requests: fc.Arbitrary<ImageRequest> = fc.record({
  operation: fc.constantFrom("generate" as const, "edit" as const),
  fields: fc.array(
    fc.oneof(
      field("n", [0, 1, 2, 10, 11]),
      // GIF frames have sheet limits the table leaves to the API, so sizes stay with stills.
      field("size", ["auto", "1024x1024", "1536x1024", "2048x1152", "1000x1000", "640x640"]),
      field("quality", ["auto", "low", "medium", "high", "xhigh", "max"]),
      field("background", ["auto", "opaque", "transparent"]),
      field("output_format", ["png", "jpeg", "webp", "gif", "svg"]),
      field("output_compression", [0, 80, 100]),
      field("stream", [true, false]),
      field("partial_images", [0, 1, 3, 4]),
      field("complexity", ["low", "medium", "high"]),
      field("frame_count", [1, 2, 9, 16, 17]),
      field("frame_duration_ms", [10, 200, 1000]),
      field("moderation", ["auto", "low"]),
      field("mask", [true, false]),
      field("markup", [true, false]),
    ),
    { maxLength: 4 },
  ),
}).map(({ operation, fields }) => {
  const request: ImageRequest = { operation, ...Object.fromEntries(fields) };
  return request.output_format === "gif" ? { ...request, size: undefined } : request;
});

Deno.test("property: the table refuses only what the API refuses, and what it documents the API accepts", () => {
  fc.assert(
    fc.property(fc.constantFrom(...modelIds()), requests, (model, request) => {
      const errors = validateRequest(model, request);
      const api = fakeVerdict(model, request);
      const what = `${model} ${JSON.stringify(request)}`;
      if (errors.length > 0) {
        assert.ok(api, `the table refuses but the API accepts: ${what}: ${errors.join(" | ")}`);
      } else if (requestWarnings(model, request).length === 0) {
        assert.equal(
          api,
          undefined,
          `the table allows but the API refuses: ${what}: ${api?.body.error.message}`,
        );
      }
    }),
    { numRuns: 3000 },
  );
});

Deno.test("each model family's headline capability is accepted by both, and refused by both elsewhere", () => {
  const cases: [string, ImageRequest, boolean][] = [
    [
      "gpt-image-2.5-sunburst",
      { operation: "generate", quality: "max", background: "transparent" },
      true,
    ],
    ["gpt-image-2", { operation: "generate", quality: "max" }, false],
    ["gpt-image-2", { operation: "generate", background: "transparent" }, false],
    ["gpt-image-2.5-flare", { operation: "edit", markup: true }, true],
    ["gpt-image-2", { operation: "edit", markup: true }, false],
    ["gpt-image-2.5-flare", { operation: "edit", markup: true, mask: true }, false],
    [
      "gpt-image-2.6-sunburst",
      { operation: "generate", output_format: "gif", frame_count: 4 },
      true,
    ],
    [
      "gpt-image-2.6-sunburst",
      { operation: "generate", output_format: "gif", stream: true },
      false,
    ],
    ["gpt-image-2.6-flare", { operation: "generate", output_format: "svg" }, true],
    ["gpt-image-2.6-flare", { operation: "generate", output_format: "svg", n: 2 }, false],
  ];
  for (const [model, request, ok] of cases) {
    assert.equal(
      validateRequest(model, request).length === 0,
      ok,
      `table: ${model} ${JSON.stringify(request)}`,
    );
    assert.equal(
      fakeVerdict(model, request) === undefined,
      ok,
      `fake: ${model} ${JSON.stringify(request)}`,
    );
  }
});
