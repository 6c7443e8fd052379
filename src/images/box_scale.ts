/**
 * Area-averaging downscale, fed one source row at a time: each output pixel is the mean of the
 * box of source pixels it covers. Used by the streaming PNG decoder and for any other pixels.
 *
 * @module
 */

/** For each source index, the output index whose box holds it (scale <= 1). */
function boxes(from: number, to: number): { of: Int32Array; count: Uint32Array } {
  const of = new Int32Array(from);
  const count = new Uint32Array(to);
  for (let o = 0; o < to; o++) {
    // Integer products first: o * (from / to) can land a hair below a whole number.
    const start = Math.floor((o * from) / to);
    const end = o === to - 1 ? from : Math.max(start + 1, Math.floor(((o + 1) * from) / to));
    for (let s = start; s < end; s++) of[s] = o;
    count[o] = end - start;
  }
  return { of, count };
}

/** Sizes of a downscale: the source's and the output's. */
export interface BoxScaleSizes {
  from: { width: number; height: number };
  to: { width: number; height: number };
}

/** Downscales rows of 1-4 channel pixels into `out`, RGB (alpha dropped: previews are JPEGs). */
export class BoxScaler {
  readonly #columns: { of: Int32Array; count: Uint32Array };
  readonly #rows: { of: Int32Array; count: Uint32Array };
  readonly #sums: Uint32Array;
  #y = 0;

  constructor(readonly sizes: BoxScaleSizes, readonly out: Uint8Array) {
    this.#columns = boxes(sizes.from.width, sizes.to.width);
    this.#rows = boxes(sizes.from.height, sizes.to.height);
    this.#sums = new Uint32Array(sizes.to.width * 3);
  }

  /** Adds the next source row (`channels` samples per pixel: grey, grey+alpha, RGB, RGBA). */
  addRow(row: Uint8Array, channels: number): void {
    const { from, to } = this.sizes;
    const sums = this.#sums, of = this.#columns.of;
    const g = channels >= 3 ? 1 : 0, b = channels >= 3 ? 2 : 0;
    for (let x = 0, i = 0; x < from.width; x++, i += channels) {
      const o = of[x] * 3;
      sums[o] += row[i];
      sums[o + 1] += row[i + g];
      sums[o + 2] += row[i + b];
    }
    const y = this.#y++;
    const oy = this.#rows.of[y];
    if (y < from.height - 1 && this.#rows.of[y + 1] === oy) return;
    for (let ox = 0; ox < to.width; ox++) {
      const n = this.#columns.count[ox] * this.#rows.count[oy];
      const o = (oy * to.width + ox) * 3;
      this.out[o] = sums[ox * 3] / n + 0.5;
      this.out[o + 1] = sums[ox * 3 + 1] / n + 0.5;
      this.out[o + 2] = sums[ox * 3 + 2] / n + 0.5;
    }
    sums.fill(0);
  }
}
