/**
 * Area-averaging downscale, fed one source row at a time: each output pixel is the mean of the
 * box of source pixels it covers. Used by the streaming PNG decoder and for any other pixels.
 *
 * Everything it allocates is sized by the output, never by the source: a source size comes from
 * a file's header, which may claim 2147483647 columns that never arrive.
 *
 * @module
 */

/** Where each output box starts along one axis (scale <= 1), and one more entry: `from`. */
function boxStarts(from: number, to: number): Float64Array {
  const starts = new Float64Array(to + 1);
  // Integer products first: o * (from / to) can land a hair below a whole number.
  for (let o = 0; o < to; o++) starts[o] = Math.floor((o * from) / to);
  starts[to] = from;
  return starts;
}

/** Sizes of a downscale: the source's and the output's. */
export interface BoxScaleSizes {
  from: { width: number; height: number };
  to: { width: number; height: number };
}

/** Downscales rows of 1-4 channel pixels into `out`, RGB (alpha dropped: previews are JPEGs). */
export class BoxScaler {
  readonly #columns: Float64Array;
  /** Per output column and channel; doubles, so no box is large enough to overflow them. */
  readonly #sums: Float64Array;
  /** The next source row, the output row it adds to, and the source rows of that output row. */
  #y = 0;
  #oy = 0;
  #rowStart = 0;
  #rowEnd: number;

  constructor(readonly sizes: BoxScaleSizes, readonly out: Uint8Array) {
    const { from, to } = sizes;
    if (!(to.width >= 1 && to.height >= 1 && to.width <= from.width && to.height <= from.height)) {
      throw new RangeError(
        `A box scale goes from ${from.width}x${from.height} down to at least 1x1, not to ${to.width}x${to.height}`,
      );
    }
    if (out.length < to.width * to.height * 3) {
      throw new RangeError(`The output holds ${out.length} bytes, not ${to.width}x${to.height}x3`);
    }
    this.#columns = boxStarts(from.width, to.width);
    this.#sums = new Float64Array(to.width * 3);
    this.#rowEnd = to.height === 1 ? from.height : Math.floor(from.height / to.height);
  }

  /** Adds the next source row (`channels` samples per pixel: grey, grey+alpha, RGB, RGBA). */
  addRow(row: Uint8Array, channels: number): void {
    const { from, to } = this.sizes;
    if (this.#y >= from.height) throw new RangeError(`More than ${from.height} rows`);
    if (row.length < from.width * channels) {
      throw new RangeError(`A row of ${row.length} samples, not ${from.width}x${channels}`);
    }
    const sums = this.#sums, starts = this.#columns;
    const g = channels >= 3 ? 1 : 0, b = channels >= 3 ? 2 : 0;
    for (let ox = 0, x = 0, i = 0; ox < to.width; ox++) {
      let r0 = 0, g0 = 0, b0 = 0;
      for (const end = starts[ox + 1]; x < end; x++, i += channels) {
        r0 += row[i];
        g0 += row[i + g];
        b0 += row[i + b];
      }
      sums[ox * 3] += r0;
      sums[ox * 3 + 1] += g0;
      sums[ox * 3 + 2] += b0;
    }
    if (++this.#y < this.#rowEnd) return;
    const rows = this.#rowEnd - this.#rowStart;
    const oy = this.#oy;
    for (let ox = 0; ox < to.width; ox++) {
      const n = (starts[ox + 1] - starts[ox]) * rows;
      const o = (oy * to.width + ox) * 3;
      this.out[o] = sums[ox * 3] / n + 0.5;
      this.out[o + 1] = sums[ox * 3 + 1] / n + 0.5;
      this.out[o + 2] = sums[ox * 3 + 2] / n + 0.5;
    }
    sums.fill(0);
    this.#oy = oy + 1;
    this.#rowStart = this.#rowEnd;
    this.#rowEnd = this.#oy === to.height - 1
      ? from.height
      : Math.floor(((this.#oy + 1) * from.height) / to.height);
  }
}
