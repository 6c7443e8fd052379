import assert from "node:assert/strict";
import { BoxScaler } from "./box_scale.ts";

/** Scales a `width` x `height` RGB picture whose samples are `sample(x, y, c)`. */
function scale(
  from: { width: number; height: number },
  to: { width: number; height: number },
  sample: (x: number, y: number, c: number) => number,
): number[] {
  const out = new Uint8Array(to.width * to.height * 3);
  const scaler = new BoxScaler({ from, to }, out);
  for (let y = 0; y < from.height; y++) {
    const row = new Uint8Array(from.width * 3).map((_, i) => sample(Math.floor(i / 3), y, i % 3));
    scaler.addRow(row, 3);
  }
  return [...out];
}

Deno.test("each output pixel is the rounded mean of the source box it covers", () => {
  const cases: {
    name: string;
    from: [number, number];
    to: [number, number];
    sample: (x: number, y: number, c: number) => number;
    expected: number[];
  }[] = [
    {
      name: "2x2 to 1x1",
      from: [2, 2],
      to: [1, 1],
      sample: (x, y) => (x + 2 * y) * 10,
      expected: [15, 15, 15],
    },
    {
      name: "3x1 to 2x1: boxes of 1 and 2 columns",
      from: [3, 1],
      to: [2, 1],
      sample: (x) => [10, 20, 31][x],
      expected: [10, 10, 10, 26, 26, 26],
    },
    {
      name: "1x3 to 1x2: boxes of 1 and 2 rows",
      from: [1, 3],
      to: [1, 2],
      sample: (_x, y) => [0, 100, 201][y],
      expected: [0, 0, 0, 151, 151, 151],
    },
    {
      name: "identity keeps every pixel and channel",
      from: [2, 1],
      to: [2, 1],
      sample: (x, _y, c) => x * 100 + c,
      expected: [0, 1, 2, 100, 101, 102],
    },
  ];
  for (const c of cases) {
    const [fw, fh] = c.from, [tw, th] = c.to;
    assert.deepEqual(
      scale({ width: fw, height: fh }, { width: tw, height: th }, c.sample),
      c.expected,
      c.name,
    );
  }
});

Deno.test("grey and grey+alpha rows are spread to RGB, alpha dropped", () => {
  const out = new Uint8Array(3);
  new BoxScaler({ from: { width: 2, height: 1 }, to: { width: 1, height: 1 } }, out)
    .addRow(new Uint8Array([10, 255, 30, 0]), 2);
  assert.deepEqual([...out], [20, 20, 20]);
});

Deno.test("a source claiming 2147483647 columns allocates only what the output needs", () => {
  const before = Deno.memoryUsage().rss;
  const started = performance.now();
  const out = new Uint8Array(1568 * 3);
  const scaler = new BoxScaler(
    { from: { width: 2147483647, height: 1 }, to: { width: 1568, height: 1 } },
    out,
  );
  assert.ok(performance.now() - started < 50, "built at once");
  assert.ok(Deno.memoryUsage().rss - before < 8 << 20, "no per-column table");
  assert.throws(() => scaler.addRow(new Uint8Array(12), 3), /A row of 12 samples/);
});

Deno.test("upscaling, a short output buffer and rows beyond the height are refused", () => {
  const to = { width: 2, height: 2 };
  assert.throws(
    () => new BoxScaler({ from: { width: 1, height: 4 }, to }, new Uint8Array(12)),
    /down to at least 1x1, not to 2x2/,
  );
  assert.throws(
    () => new BoxScaler({ from: { width: 4, height: 4 }, to }, new Uint8Array(11)),
    /holds 11 bytes/,
  );
  const scaler = new BoxScaler(
    { from: { width: 2, height: 1 }, to: { width: 1, height: 1 } },
    new Uint8Array(3),
  );
  scaler.addRow(new Uint8Array(6), 3);
  assert.throws(() => scaler.addRow(new Uint8Array(6), 3), /More than 1 rows/);
});
