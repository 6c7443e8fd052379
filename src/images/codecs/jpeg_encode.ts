/**
 * A baseline JPEG encoder for inline previews: 4:2:0 chroma subsampling, the standard tables of
 * ITU T.81 Annex K, and the AAN floating-point DCT. Half the blocks of a 4:4:4 encoder (such as
 * jpeg-js, which it replaced), one typed array per macroblock and quantising while coding (most
 * coefficients round to zero and only lengthen a run) make it over three times as fast, in plain
 * TypeScript that `deno compile` embeds like any other module.
 *
 * @module
 */

// deno-fmt-ignore
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
  13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52,
  45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Annex K.1 quantisation tables, in natural (row-major) order. */
// deno-fmt-ignore
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
  92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
// deno-fmt-ignore
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
  47, 66, 99, 99, 99, 99, 99, 99, ...new Array(32).fill(99),
];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Annex K.3 Huffman tables: code counts per length 1-16, then the symbols in code order. */
const DC_LUMA = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: range(0, 11) };
const DC_CHROMA = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: range(0, 11) };
// deno-fmt-ignore
const AC_LUMA = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  values: [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
    0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, ...range(0x35, 0x3a), ...range(0x43, 0x4a),
    ...range(0x53, 0x5a), ...range(0x63, 0x6a), ...range(0x73, 0x7a), ...range(0x83, 0x8a),
    ...range(0x92, 0x9a), ...range(0xa2, 0xaa), ...range(0xb2, 0xba), ...range(0xc2, 0xca),
    ...range(0xd2, 0xda), ...range(0xe1, 0xea), ...range(0xf1, 0xfa),
  ],
};
// deno-fmt-ignore
const AC_CHROMA = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  values: [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
    0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
    0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, ...range(0x35, 0x3a), ...range(0x43, 0x4a),
    ...range(0x53, 0x5a), ...range(0x63, 0x6a), ...range(0x73, 0x7a), ...range(0x82, 0x8a),
    ...range(0x92, 0x9a), ...range(0xa2, 0xaa), ...range(0xb2, 0xba), ...range(0xc2, 0xca),
    ...range(0xd2, 0xda), ...range(0xe2, 0xea), ...range(0xf2, 0xfa),
  ],
};

type HuffmanSpec = { bits: number[]; values: number[] };

/** Canonical codes (Annex C): `code[symbol]` and `size[symbol]`. */
function huffmanCodes(spec: HuffmanSpec): { code: Uint16Array; size: Uint8Array } {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let next = 0, k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < spec.bits[length - 1]; i++, k++) {
      code[spec.values[k]] = next++;
      size[spec.values[k]] = length;
    }
    next <<= 1;
  }
  return { code, size };
}

/** AAN's per-frequency scale factors, folded into the quantisation divisors. */
const AAN = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/** IJG quality scaling of a base table; `table` and the reciprocal `divisors` in zigzag order. */
function quantisation(base: number[], quality: number) {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const table = new Uint8Array(64);
  const divisors = new Float64Array(64);
  for (let i = 0; i < 64; i++) {
    const natural = ZIGZAG[i];
    const value = Math.min(255, Math.max(1, Math.floor((base[natural] * scale + 50) / 100)));
    table[i] = value;
    divisors[i] = 1 / (value * AAN[natural >> 3] * AAN[natural & 7] * 8);
  }
  return { table, divisors };
}

/** Bits out, with 0xFF stuffing, into a growing buffer. */
class BitWriter {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  buffer = 0;
  count = 0;

  /** Makes room for `n` more bytes, so that `bits` need not check each one. */
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  raw(values: ArrayLike<number>): void {
    this.reserve(values.length);
    for (let i = 0; i < values.length; i++) this.bytes[this.length++] = values[i];
  }

  /** Appends the low `size` bits of `value` (size <= 23), stuffing a 0 after each 0xFF byte. */
  bits(value: number, size: number): void {
    const buffer = (this.buffer << size) | (value & ((1 << size) - 1));
    let count = this.count + size;
    while (count >= 8) {
      count -= 8;
      const out = (buffer >>> count) & 0xff;
      this.bytes[this.length++] = out;
      if (out === 0xff) this.bytes[this.length++] = 0;
    }
    this.buffer = buffer & ((1 << count) - 1);
    this.count = count;
  }

  /** Pads the last byte with 1-bits, as the standard asks. */
  flush(): void {
    this.reserve(2);
    if (this.count > 0) this.bits(0x7f, 8 - this.count);
  }
}

/** The most bytes one block can produce: 64 codes of at most 16 + 11 bits, each byte stuffed. */
const MAX_BLOCK_BYTES = 64 * 4 * 2;

/** The AAN forward DCT of one line of 8 samples, `step` apart from `o`, in place. */
function dctLine(d: Float64Array, o: number, step: number): void {
  const i1 = o + step, i2 = i1 + step, i3 = i2 + step, i4 = i3 + step;
  const i5 = i4 + step, i6 = i5 + step, i7 = i6 + step;
  const t0 = d[o] + d[i7], t7 = d[o] - d[i7];
  const t1 = d[i1] + d[i6], t6 = d[i1] - d[i6];
  const t2 = d[i2] + d[i5], t5 = d[i2] - d[i5];
  const t3 = d[i3] + d[i4], t4 = d[i3] - d[i4];
  const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
  d[o] = t10 + t11;
  d[i4] = t10 - t11;
  const z1 = (t12 + t13) * 0.707106781;
  d[i2] = t13 + z1;
  d[i6] = t13 - z1;
  const s10 = t4 + t5, s11 = t5 + t6, s12 = t6 + t7;
  const z5 = (s10 - s12) * 0.382683433;
  const z2 = 0.5411961 * s10 + z5;
  const z4 = 1.306562965 * s12 + z5;
  const z3 = s11 * 0.707106781;
  const z11 = t7 + z3, z13 = t7 - z3;
  d[i5] = z13 + z2;
  d[i3] = z13 - z2;
  d[i1] = z11 + z4;
  d[i7] = z11 - z4;
}

/** The AAN forward DCT of the 8x8 block at `base` in place (rows, then columns). */
function forwardDct(d: Float64Array, base: number): void {
  for (let o = base; o < base + 64; o += 8) dctLine(d, o, 1);
  for (let o = base; o < base + 8; o++) dctLine(d, o, 8);
}

interface Component {
  divisors: Float64Array;
  dc: { code: Uint16Array; size: Uint8Array };
  ac: { code: Uint16Array; size: Uint8Array };
  previousDc: number;
}

function bitLength(value: number): number {
  return value === 0 ? 0 : 32 - Math.clz32(value < 0 ? -value : value);
}

/** Transforms, quantises and entropy-codes the block at `base` of `blocks` (level-shifted). */
function encodeBlock(out: BitWriter, blocks: Float64Array, base: number, c: Component): void {
  forwardDct(blocks, base);
  out.reserve(MAX_BLOCK_BYTES);
  const divisors = c.divisors;
  const dcValue = blocks[base] * divisors[0];
  const dc = dcValue < 0 ? (dcValue - 0.5) | 0 : (dcValue + 0.5) | 0;
  const diff = dc - c.previousDc;
  c.previousDc = dc;
  const dcSize = bitLength(diff);
  out.bits(c.dc.code[dcSize], c.dc.size[dcSize]);
  if (dcSize) out.bits(diff < 0 ? diff - 1 : diff, dcSize);
  const acCode = c.ac.code, acSize = c.ac.size;
  let run = 0;
  // Quantised and coded in one pass: most coefficients round to zero and only count the run.
  for (let i = 1; i < 64; i++) {
    const v = blocks[base + ZIGZAG[i]] * divisors[i];
    if (v < 0.5 && v > -0.5) {
      run++;
      continue;
    }
    const value = v < 0 ? (v - 0.5) | 0 : (v + 0.5) | 0; // half away from zero, as libjpeg rounds
    while (run > 15) {
      out.bits(acCode[0xf0], acSize[0xf0]);
      run -= 16;
    }
    const size = bitLength(value);
    const symbol = (run << 4) | size;
    const codeSize = acSize[symbol];
    const bits = (value < 0 ? value - 1 : value) & ((1 << size) - 1);
    // One call for code and value when both fit the 32-bit accumulator (nearly always).
    if (codeSize + size <= 23) out.bits((acCode[symbol] << size) | bits, codeSize + size);
    else {
      out.bits(acCode[symbol], codeSize);
      out.bits(bits, size);
    }
    run = 0;
  }
  if (run > 0) out.bits(acCode[0], acSize[0]);
}

function segment(out: BitWriter, marker: number, body: number[]): void {
  out.raw([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}

function writeHeaders(
  out: BitWriter,
  width: number,
  height: number,
  tables: { luma: Uint8Array; chroma: Uint8Array },
): void {
  out.raw([0xff, 0xd8]);
  segment(out, 0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  segment(out, 0xdb, [0, ...tables.luma, 1, ...tables.chroma]);
  segment(out, 0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    ...[1, 0x22, 0],
    ...[2, 0x11, 1],
    ...[3, 0x11, 1],
  ]);
  const huffman = [[0x00, DC_LUMA], [0x10, AC_LUMA], [0x01, DC_CHROMA], [0x11, AC_CHROMA]] as const;
  segment(out, 0xc4, huffman.flatMap(([id, spec]) => [id, ...spec.bits, ...spec.values]));
  segment(out, 0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

/** Options of `encodeJpeg`. */
export interface JpegInput {
  /** RGB samples, row by row. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 1-100, as in libjpeg. */
  quality: number;
}

/** Encodes RGB pixels as a baseline JPEG with 4:2:0 chroma. */
export function encodeJpeg(input: JpegInput): Uint8Array {
  const { data, width, height } = input;
  const luma = quantisation(LUMA_QUANT, input.quality);
  const chroma = quantisation(CHROMA_QUANT, input.quality);
  const out = new BitWriter();
  writeHeaders(out, width, height, { luma: luma.table, chroma: chroma.table });
  const lumaCodes = { dc: huffmanCodes(DC_LUMA), ac: huffmanCodes(AC_LUMA) };
  const chromaCodes = { dc: huffmanCodes(DC_CHROMA), ac: huffmanCodes(AC_CHROMA) };
  const y: Component = { divisors: luma.divisors, ...lumaCodes, previousDc: 0 };
  const cb: Component = { divisors: chroma.divisors, ...chromaCodes, previousDc: 0 };
  const cr: Component = { divisors: chroma.divisors, ...chromaCodes, previousDc: 0 };
  // One macroblock: four luma blocks, then Cb, then Cr, 64 samples each.
  const mcu = new Float64Array(6 * 64);
  const lastX = width - 1, lastY = height - 1;
  for (let my = 0; my < height; my += 16) {
    for (let mx = 0; mx < width; mx += 16) {
      // Two by two source pixels at a time: four luma samples, one averaged chroma pair.
      for (let py = 0; py < 16; py += 2) {
        const row0 = Math.min(lastY, my + py) * width;
        const row1 = Math.min(lastY, my + py + 1) * width;
        for (let px = 0; px < 16; px += 2) {
          const x0 = Math.min(lastX, mx + px), x1 = Math.min(lastX, mx + px + 1);
          const a = (row0 + x0) * 3, b = (row0 + x1) * 3, c = (row1 + x0) * 3, d = (row1 + x1) * 3;
          const ra = data[a], ga = data[a + 1], ba = data[a + 2];
          const rb = data[b], gb = data[b + 1], bb = data[b + 2];
          const rc = data[c], gc = data[c + 1], bc = data[c + 2];
          const rd = data[d], gd = data[d + 1], bd = data[d + 2];
          const t = ((py >> 3) * 2 + (px >> 3)) * 64 + (py & 7) * 8 + (px & 7);
          mcu[t] = 0.299 * ra + 0.587 * ga + 0.114 * ba - 128;
          mcu[t + 1] = 0.299 * rb + 0.587 * gb + 0.114 * bb - 128;
          mcu[t + 8] = 0.299 * rc + 0.587 * gc + 0.114 * bc - 128;
          mcu[t + 9] = 0.299 * rd + 0.587 * gd + 0.114 * bd - 128;
          const r = ra + rb + rc + rd, g = ga + gb + gc + gd, bl = ba + bb + bc + bd;
          const k = 256 + (py >> 1) * 8 + (px >> 1);
          mcu[k] = (-0.168736 * r - 0.331264 * g + 0.5 * bl) * 0.25;
          mcu[k + 64] = (0.5 * r - 0.418688 * g - 0.081312 * bl) * 0.25;
        }
      }
      encodeBlock(out, mcu, 0, y);
      encodeBlock(out, mcu, 64, y);
      encodeBlock(out, mcu, 128, y);
      encodeBlock(out, mcu, 192, y);
      encodeBlock(out, mcu, 256, cb);
      encodeBlock(out, mcu, 320, cr);
    }
  }
  out.flush();
  out.raw([0xff, 0xd9]);
  return out.bytes.slice(0, out.length);
}
