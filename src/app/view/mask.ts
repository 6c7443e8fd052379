/// <reference lib="dom" />
/**
 * The mask painter: a canvas at the image's exact size where the user marks the area to edit
 * with a brush, an eraser, rectangles and lassos, with undo. The mask the API takes is the
 * reverse: opaque where the image stays, transparent where it may change.
 *
 * @module
 */

/** The painter's tools; `pan` moves the view instead of painting. */
export type PaintTool = "brush" | "eraser" | "rect" | "lasso" | "pan";

/** A point in image pixels. */
export interface Point {
  x: number;
  y: number;
}

/** Undo steps kept: each is a snapshot of the whole mask. */
const UNDO_DEPTH = 30;
/** The overlay's colour where the area is painted (its opacity is the canvas's CSS). */
const PAINT = "rgb(255, 40, 90)";

/** The painted area of one image, drawn on `canvas` (sized to the image). */
export class MaskPainter {
  readonly canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  #undo: ImageData[] = [];
  #before: ImageData | undefined;
  #points: Point[] = [];
  #tool: PaintTool = "brush";
  /** Brush and eraser diameter, in image pixels. */
  size = 48;

  constructor(canvas: HTMLCanvasElement, width: number, height: number) {
    this.canvas = canvas;
    canvas.width = width;
    canvas.height = height;
    this.#ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  }

  get width(): number {
    return this.canvas.width;
  }

  get height(): number {
    return this.canvas.height;
  }

  /** Whether there is a step to undo. */
  get canUndo(): boolean {
    return this.#undo.length > 0;
  }

  /** Starts a stroke or a shape at `p` with `tool`. */
  begin(tool: PaintTool, p: Point): void {
    if (tool === "pan") return;
    this.#tool = tool;
    this.#before = this.#ctx.getImageData(0, 0, this.width, this.height);
    this.#points = [p];
    if (tool === "brush" || tool === "eraser") this.#segment(p, p);
  }

  /** Extends the stroke or shape to `p`. */
  move(p: Point): void {
    if (!this.#before) return;
    const last = this.#points[this.#points.length - 1];
    this.#points.push(p);
    if (this.#tool === "brush" || this.#tool === "eraser") {
      this.#segment(last, p);
      return;
    }
    this.#ctx.putImageData(this.#before, 0, 0);
    if (this.#tool === "rect") this.#rect(this.#points[0], p);
    else this.#lasso(this.#points, false);
  }

  /** Ends the stroke or shape: it becomes one undo step. */
  end(): void {
    if (!this.#before) return;
    if (this.#tool === "lasso") {
      this.#ctx.putImageData(this.#before, 0, 0);
      this.#lasso(this.#points, true);
    }
    this.#undo.push(this.#before);
    if (this.#undo.length > UNDO_DEPTH) this.#undo.shift();
    this.#before = undefined;
    this.#points = [];
  }

  /** Takes back the last stroke or shape. */
  undo(): void {
    const previous = this.#undo.pop();
    if (previous) this.#ctx.putImageData(previous, 0, 0);
  }

  /** Clears the painted area (one undo step). */
  clear(): void {
    this.#undo.push(this.#ctx.getImageData(0, 0, this.width, this.height));
    this.#ctx.clearRect(0, 0, this.width, this.height);
  }

  /** Whether any pixel is painted. */
  isEmpty(): boolean {
    const data = this.#ctx.getImageData(0, 0, this.width, this.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return false;
    return true;
  }

  /**
   * The mask as a PNG data URL at the image's size: opaque everywhere but the painted area,
   * which is transparent (partly, on a brush's soft edge).
   */
  toMaskPng(): string {
    const out = document.createElement("canvas");
    out.width = this.width;
    out.height = this.height;
    const ctx = out.getContext("2d")!;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.globalCompositeOperation = "destination-out";
    ctx.drawImage(this.canvas, 0, 0);
    return out.toDataURL("image/png");
  }

  #segment(a: Point, b: Point): void {
    const ctx = this.#ctx;
    ctx.save();
    ctx.globalCompositeOperation = this.#tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = PAINT;
    ctx.lineWidth = this.size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + (a.x === b.x && a.y === b.y ? 0.01 : 0), b.y);
    ctx.stroke();
    ctx.restore();
  }

  #rect(a: Point, b: Point): void {
    const x = Math.round(Math.min(a.x, b.x));
    const y = Math.round(Math.min(a.y, b.y));
    const w = Math.round(Math.max(a.x, b.x)) - x;
    const h = Math.round(Math.max(a.y, b.y)) - y;
    this.#ctx.fillStyle = PAINT;
    this.#ctx.fillRect(x, y, w, h);
  }

  #lasso(points: Point[], closed: boolean): void {
    if (points.length < 2) return;
    const ctx = this.#ctx;
    ctx.beginPath();
    ctx.moveTo(points[0].x, points[0].y);
    for (const p of points.slice(1)) ctx.lineTo(p.x, p.y);
    if (closed) {
      ctx.closePath();
      ctx.fillStyle = PAINT;
      ctx.fill();
    } else {
      ctx.strokeStyle = PAINT;
      ctx.lineWidth = Math.max(2, this.width / 400);
      ctx.stroke();
    }
  }
}
