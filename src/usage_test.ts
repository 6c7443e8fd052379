import assert from "node:assert/strict";
import { MAX_PLAUSIBLE_TOKENS, usageProblem } from "./usage.ts";

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
