import assert from "node:assert/strict";
import {
  costFromUsage,
  estimateCost,
  imagePrice,
  MAX_PLAUSIBLE_TOKENS,
  textCostFromUsage,
  usageProblem,
} from "./cost.ts";

Deno.test("cost from usage uses the published token prices", () => {
  const usage = {
    input_tokens: 50,
    output_tokens: 4160,
    total_tokens: 4210,
    input_tokens_details: { text_tokens: 50, image_tokens: 0 },
    output_tokens_details: { image_tokens: 4160, text_tokens: 0 },
  };
  assert.equal(costFromUsage(usage), 0.1251); // 50 * $5/M + 4160 * $30/M = 0.12505
  assert.equal(costFromUsage({ input_tokens_details: { image_tokens: 1_000_000 } }), 8);
  assert.equal(costFromUsage(undefined), 0);
  assert.equal(textCostFromUsage({ input_tokens: 1_000_000, output_tokens: 1_000_000 }), 15);
});

Deno.test("image prices follow the table, scale custom sizes by pixels, and assume the dearest for auto", () => {
  assert.equal(imagePrice("1024x1024", "low"), 0.006);
  assert.equal(imagePrice("1536x1024", "medium"), 0.041);
  assert.equal(imagePrice("1024x1536", "high"), 0.165);
  assert.equal(imagePrice("auto", "auto"), 0.211);
  assert.equal(imagePrice("2048x2048", "high"), 0.844);
  assert.equal(imagePrice("3840x2160", "high"), 0.8701); // 0.165 * 8294400 / 1572864 = 0.87012
});

Deno.test("estimates cover n, prompt, partial images and edit inputs", () => {
  const one = estimateCost({ prompt: "x", size: "1024x1024", quality: "high", n: 1 });
  const three = estimateCost({ prompt: "x", size: "1024x1024", quality: "high", n: 3 });
  assert.ok(Math.abs(three - 3 * one) < 0.0003);
  const withInputs = estimateCost({
    prompt: "x",
    size: "1024x1024",
    quality: "high",
    n: 1,
    inputs: [{ width: 1024, height: 1024 }, { width: 1024, height: 1024 }],
  });
  assert.ok(withInputs - one > 0.07 && withInputs - one < 0.12, `inputs add ${withInputs - one}`);
  assert.ok(
    estimateCost({ prompt: "x", size: "1024x1024", quality: "low", n: 1, partialImages: 3 }) >
      0.006,
  );
});

Deno.test("usage a call cannot have used is named, and real usage passes", () => {
  const real = {
    input_tokens: 50,
    output_tokens: 4160,
    total_tokens: 4210,
    input_tokens_details: { text_tokens: 50, image_tokens: 0, cached_tokens: null },
    output_tokens_details: { image_tokens: 4160, text_tokens: 0 },
  };
  const cases: [string, unknown, RegExp | undefined][] = [
    ["real usage", real, undefined],
    ["text tokens only (the Responses route)", { input_tokens: 120, output_tokens: 40 }, undefined],
    ["no usage", undefined, /^the answer reported no usage$/],
    ["null usage", null, /^the answer reported no usage$/],
    ["a string", "lots", /^its usage is not an object$/],
    ["an array", [1, 2], /^its usage is not an object$/],
    ["a negative count", { ...real, output_tokens: -3_000_000 }, /^output_tokens is -3000000$/],
    [
      "a negative detail",
      { ...real, output_tokens_details: { image_tokens: -3_000_000 } },
      /^output_tokens_details\.image_tokens is -3000000$/,
    ],
    ["a numeric string", { ...real, input_tokens: "50" }, /^input_tokens is "50"$/],
    ["a boolean", { ...real, total_tokens: true }, /^total_tokens is true$/],
    [
      "infinity (JSON 1e400)",
      JSON.parse('{"output_tokens": 1e400}'),
      /^output_tokens is Infinity$/,
    ],
    ["a fraction", { ...real, output_tokens: 0.5 }, /^output_tokens is 0\.5$/],
    [
      "an absurd count",
      { ...real, output_tokens: MAX_PLAUSIBLE_TOKENS + 1 },
      /^output_tokens is 1000001, more than any call can use$/,
    ],
    [
      "details that are not an object",
      { ...real, input_tokens_details: "many" },
      /^input_tokens_details is not an object$/,
    ],
  ];
  for (const [name, usage, expected] of cases) {
    const problem = usageProblem(usage);
    if (expected) assert.match(problem ?? "(none)", expected, name);
    else assert.equal(problem, undefined, name);
  }
});
