/**
 * GIF files for the fake API and for tests, encoded here from the GIF89a specification (LZW
 * with variable code sizes, colour tables, interlacing, transparency, the looping extension).
 * Written apart from src/images/codecs/gif.ts so that a shared misreading of the format cannot hide.
 */

/** One frame: colour indices row by row, placed at `left`, `top` on the logical screen. */
export interface GifFrameSpec {
  width: number;
  height: number;
  left?: number;
  top?: number;
  indices: Uint8Array;
  /** Local colour table, RGB triples; the global one applies when absent. */
  palette?: Uint8Array;
  transparentIndex?: number;
  delayMs?: number;
  interlaced?: boolean;
  /** Disposal method 0..3 (GIF89a graphic control extension). */
  disposal?: number;
}

/** A whole file. */
export interface GifSpec {
  width: number;
  height: number;
  /** Global colour table, RGB triples. */
  palette?: Uint8Array;
  background?: number;
  /** Adds the NETSCAPE2.0 looping extension; 0 loops forever. */
  loop?: number;
  frames: GifFrameSpec[];
  /** GIF87a has no extensions: no delays, transparency or looping. */
  version?: "87a" | "89a";
}

class ByteWriter {
  #bytes = new Uint8Array(1024);
  length = 0;

  byte(value: number): void {
    if (this.length === this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes[this.length++] = value & 0xff;
  }

  u16(value: number): void {
    this.byte(value);
    this.byte(value >> 8);
  }

  bytes(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.byte(values[i]);
  }

  ascii(text: string): void {
    for (const c of text) this.byte(c.charCodeAt(0));
  }

  result(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice(0, this.length);
  }
}

/** Bits of a colour table holding `colors` entries: 2^(bits) >= colors, at least 1. */
function tableBits(colors: number): number {
  let bits = 1;
  while (1 << bits < colors) bits++;
  return bits;
}

function writeTable(out: ByteWriter, palette: Uint8Array): void {
  const size = 1 << tableBits(palette.length / 3);
  out.bytes(palette);
  for (let i = palette.length; i < size * 3; i++) out.byte(0);
}

/** LZW-compresses colour indices the way GIF does: codes LSB first, clear code at 4096. */
export function lzwCompress(indices: Uint8Array, minCodeSize: number): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  let next = end + 1;
  let size = minCodeSize + 1;
  let acc = 0;
  let bits = 0;
  const emit = (code: number) => {
    acc |= code << bits;
    bits += size;
    while (bits >= 8) {
      out.byte(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  // The dictionary maps (prefix code, next index) to a code; a stamp per entry empties it at once.
  const stamp = new Int32Array(1 << 20);
  const codes = new Uint16Array(1 << 20);
  let generation = 1;
  emit(clear);
  let firstAfterClear = true;
  if (indices.length === 0) {
    emit(end);
  } else {
    let prefix = indices[0];
    for (let i = 1; i < indices.length; i++) {
      const k = indices[i];
      const key = (prefix << 8) | k;
      if (stamp[key] === generation) {
        prefix = codes[key];
        continue;
      }
      emit(prefix);
      firstAfterClear = false;
      if (next === 4096) {
        emit(clear);
        next = end + 1;
        size = minCodeSize + 1;
        generation++;
        firstAfterClear = true;
      } else {
        if (next >= 1 << size) size++;
        stamp[key] = generation;
        codes[key] = next++;
      }
      prefix = k;
    }
    emit(prefix);
    // The decoder adds one more entry on reading that last code, and may widen its codes then.
    if (!firstAfterClear && next === 1 << size && size < 12) size++;
    emit(end);
  }
  if (bits > 0) out.byte(acc & 0xff);
  return out.result();
}

function writeSubBlocks(out: ByteWriter, data: Uint8Array): void {
  for (let at = 0; at < data.length; at += 255) {
    const piece = data.subarray(at, at + 255);
    out.byte(piece.length);
    out.bytes(piece);
  }
  out.byte(0);
}

/** Rows in the order an interlaced frame stores them. */
function interlace(indices: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(indices.length);
  let row = 0;
  for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]]) {
    for (let y = start; y < height; y += step) {
      out.set(indices.subarray(y * width, (y + 1) * width), row++ * width);
    }
  }
  return out;
}

/** Encodes `spec` as a GIF file. */
export function encodeGif(spec: GifSpec): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  const version = spec.version ?? "89a";
  out.ascii(`GIF${version}`);
  out.u16(spec.width);
  out.u16(spec.height);
  const global = spec.palette;
  out.byte(global ? 0x80 | 0x70 | (tableBits(global.length / 3) - 1) : 0x70);
  out.byte(spec.background ?? 0);
  out.byte(0);
  if (global) writeTable(out, global);
  if (spec.loop !== undefined && version === "89a") {
    out.bytes([0x21, 0xff, 0x0b]);
    out.ascii("NETSCAPE2.0");
    out.bytes([3, 1]);
    out.u16(spec.loop);
    out.byte(0);
  }
  for (const frame of spec.frames) {
    if (version === "89a") {
      const transparent = frame.transparentIndex !== undefined;
      out.bytes([0x21, 0xf9, 4, ((frame.disposal ?? 0) << 2) | (transparent ? 1 : 0)]);
      out.u16(Math.round((frame.delayMs ?? 0) / 10));
      out.byte(frame.transparentIndex ?? 0);
      out.byte(0);
    }
    out.byte(0x2c);
    out.u16(frame.left ?? 0);
    out.u16(frame.top ?? 0);
    out.u16(frame.width);
    out.u16(frame.height);
    const local = frame.palette;
    out.byte(
      (local ? 0x80 | (tableBits(local.length / 3) - 1) : 0) | (frame.interlaced ? 0x40 : 0),
    );
    if (local) writeTable(out, local);
    const table = local ?? global;
    if (!table) throw new Error("a GIF frame needs a local or a global colour table");
    const minCodeSize = Math.max(2, tableBits(table.length / 3));
    out.byte(minCodeSize);
    const rows = frame.interlaced
      ? interlace(frame.indices, frame.width, frame.height)
      : frame.indices;
    writeSubBlocks(out, lzwCompress(rows, minCodeSize));
  }
  out.byte(0x3b);
  return out.result();
}

/** 256 colours: a 6x6x6 cube, then a grey ramp. */
export function webPalette(): Uint8Array<ArrayBuffer> {
  const palette = new Uint8Array(256 * 3);
  let i = 0;
  for (let r = 0; r < 6; r++) {
    for (let g = 0; g < 6; g++) {
      for (let b = 0; b < 6; b++) palette.set([r * 51, g * 51, b * 51], 3 * i++);
    }
  }
  for (let g = 0; i < 256; i++, g++) palette.set([g * 6 + 8, g * 6 + 8, g * 6 + 8], 3 * i);
  return palette;
}

/**
 * An animated GIF like the API's: `frames` full frames of a ball moving over a gradient, a
 * global 256-colour table, `delayMs` per frame, looping forever.
 */
export function makeAnimatedGif(
  options: { width: number; height: number; frames?: number; delayMs?: number; seed?: number },
): Uint8Array<ArrayBuffer> {
  const { width, height } = options;
  const count = options.frames ?? 9;
  const seed = options.seed ?? 1;
  const frames: GifFrameSpec[] = [];
  const radius = Math.max(2, Math.min(width, height) / 8);
  for (let f = 0; f < count; f++) {
    const indices = new Uint8Array(width * height);
    const cx = ((f + 0.5) / count) * width;
    const cy = height / 2 + Math.sin((f / count) * 2 * Math.PI + seed) * height / 4;
    for (let y = 0; y < height; y++) {
      const band = Math.floor((y * 6) / height);
      for (let x = 0; x < width; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < radius ** 2;
        indices[y * width + x] = inside
          ? 5 * 36 + ((f + seed) % 6) // red-ish, a colour per frame
          : band * 36 + Math.floor((x * 6) / width) * 6 + (seed % 6);
      }
    }
    frames.push({ width, height, indices, delayMs: options.delayMs ?? 200 });
  }
  return encodeGif({ width, height, palette: webPalette(), loop: 0, frames });
}
