import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { parseSize, sizeProblem } from "./size.ts";

Deno.test("size rules accept the presets and the documented edges", () => {
  for (
    const ok of [
      "auto",
      "1024x1024",
      "1536x1024",
      "1024x1536",
      "3840x2160",
      "2160x3840",
      "1024x640",
      "2880x960",
    ]
  ) {
    assert.equal(sizeProblem(ok), undefined, ok);
  }
});

Deno.test("size rules refuse each broken rule with its own message", () => {
  assert.match(sizeProblem("1000x1000")!, /multiples of 16/);
  assert.match(sizeProblem("3856x1024")!, /longest edge must be at most 3840/);
  assert.match(sizeProblem("3072x768")!, /aspect ratio/);
  assert.match(sizeProblem("640x640")!, /total pixels .* got 409,600/);
  assert.match(sizeProblem("3840x2176")!, /total pixels/);
  assert.match(sizeProblem("1024*1024")!, /must be "auto" or WIDTHxHEIGHT/);
  assert.match(sizeProblem(" 1024x1024")!, /must be "auto"/);
});

Deno.test("property: sizeProblem never throws, and accepts exactly the sizes the rules allow", () => {
  fc.assert(fc.property(fc.string(), (s) => {
    const problem = sizeProblem(s);
    assert.ok(problem === undefined || typeof problem === "string");
  }));
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (w, h) => {
      const ok = w % 16 === 0 && h % 16 === 0 && Math.max(w, h) <= 3840 &&
        Math.max(w, h) <= 3 * Math.min(w, h) &&
        w * h >= 655_360 && w * h <= 8_294_400;
      assert.equal(sizeProblem(`${w}x${h}`) === undefined, ok, `${w}x${h}`);
      assert.deepEqual(parseSize(`${w}x${h}`), { width: w, height: h });
    }),
  );
});
