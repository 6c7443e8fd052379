/**
 * The fake API's own model rules and error answers. Written from the API's documentation and
 * observed answers, apart from src/models.ts (nothing here imports src/), so that a wrong row in
 * the server's table shows up as a test the fake fails rather than as two copies that agree.
 */

import { decode as decodePng } from "npm:fast-png@8.0.0";
import { Image } from "npm:imagescript@1.3.1";
import { makeAnimatedGif } from "./gif.ts";

/** An error answer exactly as the API sends it. */
export interface ApiError {
  status: number;
  body: { error: { message: string; type: string; param: string | null; code: string | null } };
  headers?: Record<string, string>;
}

/** What the fake's API lets one model do. */
export interface FakeModelRules {
  qualities: readonly string[];
  transparent: boolean;
  markup: boolean;
  formats: readonly string[];
}

const STANDARD = ["low", "medium", "high", "auto"];
const RASTER = ["png", "jpeg", "webp"];

/** gpt-image-2 as the API serves it: no transparent background (its preview is off here). */
const BASE: FakeModelRules = {
  qualities: STANDARD,
  transparent: false,
  markup: false,
  formats: RASTER,
};
/** 2.5 adds two qualities, transparency and markup edits. */
const V25: FakeModelRules = {
  qualities: [...STANDARD, "xhigh", "max"],
  transparent: true,
  markup: true,
  formats: RASTER,
};
/** 2.6 adds GIF and SVG output (behind access grants, see `FakeAccess`). */
const V26: FakeModelRules = { ...V25, formats: [...RASTER, "gif", "svg"] };

/** Every image model the fake serves. */
export const FAKE_MODELS: Readonly<Record<string, FakeModelRules>> = {
  "gpt-image-2": BASE,
  "gpt-image-2-2026-04-21": BASE,
  "gpt-image-2.5-sunburst": V25,
  "gpt-image-2.5-sunburst-2026-09-08": V25,
  "gpt-image-2.5-flare": V25,
  "gpt-image-2.5-flare-2026-09-08": V25,
  "gpt-image-2.6-sunburst": V26,
  "gpt-image-2.6-flare": V26,
};

/** Models the API has retired; calls to them answer 404. */
export const RETIRED_MODELS: readonly string[] = [
  "gpt-image-1",
  "gpt-image-1.5",
  "gpt-image-1-mini",
  "chatgpt-image-latest",
  "dall-e-2",
  "dall-e-3",
];

/** Access grants of the fake's project; the API refuses gated formats without them. */
export interface FakeAccess {
  gif?: boolean;
  svg?: boolean;
  /** Models beyond FAKE_MODELS this fake serves, e.g. one the server's table does not know. */
  extraModels?: Readonly<Record<string, FakeModelRules>>;
}

function apiError(
  status: number,
  message: string,
  param: string | null,
  code: string | null,
  type = "invalid_request_error",
): ApiError {
  return { status, body: { error: { message, type, param, code } } };
}

function invalidValue(param: string, value: unknown, supported: readonly string[]): ApiError {
  const list = supported.map((s) => `'${s}'`);
  const words = list.length > 1 ? `${list.slice(0, -1).join(", ")}, and ${list.at(-1)}` : list[0];
  return apiError(
    400,
    `Invalid value: '${value}'. Supported values are: ${words}.`,
    param,
    "invalid_value",
  );
}

function integerRange(
  param: string,
  value: number,
  min: number,
  max: number,
): ApiError | undefined {
  if (!Number.isInteger(value)) {
    return apiError(
      400,
      `Invalid type for '${param}': expected an integer, but got a decimal number instead.`,
      param,
      "invalid_type",
    );
  }
  if (value < min) {
    return apiError(
      400,
      `Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      param,
      "integer_below_min_value",
    );
  }
  if (value > max) {
    return apiError(
      400,
      `Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      param,
      "integer_above_max_value",
    );
  }
  return undefined;
}

/** A field as a number: JSON numbers as they are, multipart strings parsed; absent stays absent. */
function num(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "number" ? value : Number(value);
}

function bool(value: unknown): boolean {
  return value === true || value === "true";
}

/** Grid the API lays GIF frames out in, by frame count (observed by gateways, 2026-11). */
function gifGrid(frames: number): [columns: number, rows: number] {
  return frames <= 9 ? [3, 3] : frames <= 12 ? [4, 3] : [4, 4];
}

function sizeError(size: string, gifFrames: number | undefined): ApiError | undefined {
  if (size === "auto" || ["1024x1024", "1536x1024", "1024x1536"].includes(size)) {
    if (gifFrames === undefined || size === "auto") return undefined;
  }
  const match = /^(\d+)x(\d+)$/.exec(size);
  if (!match) {
    return apiError(
      400,
      `Invalid size '${size}'. Use 'auto' or WIDTHxHEIGHT, for example '1536x864'.`,
      "size",
      "invalid_value",
    );
  }
  const w = Number(match[1]), h = Number(match[2]);
  const fail = (why: string) =>
    apiError(400, `Invalid size '${size}': ${why}`, "size", "invalid_value");
  if (w % 16 || h % 16) return fail("width and height must both be divisible by 16.");
  if (gifFrames !== undefined) {
    // Each frame is drawn on one sheet; the sheet has the still image's limits.
    const [columns, rows] = gifGrid(gifFrames);
    const sheetW = w * columns, sheetH = h * rows;
    if (Math.max(sheetW, sheetH) > 3840 || sheetW * sheetH > 8_294_400) {
      return fail(`${gifFrames} GIF frames of this size exceed the model's GIF size limits.`);
    }
    return undefined;
  }
  if (Math.max(w, h) > 3840) return fail("the longest edge must be at most 3840 pixels.");
  if (Math.max(w, h) > 3 * Math.min(w, h)) {
    return fail("the aspect ratio must be between 1:3 and 3:1.");
  }
  if (w * h < 655_360 || w * h > 8_294_400) {
    return fail("the total number of pixels must be between 655,360 and 8,294,400.");
  }
  return undefined;
}

/** One image request as the fake received it. */
export interface FakeImageRequest {
  route: "generations" | "edits";
  /** JSON values for generations; multipart strings for edits. */
  fields: Record<string, unknown>;
  /** Edits: which files came. */
  files?: { images: number; mask: boolean; markup: boolean };
}

/** The API's answer to a request it refuses, or undefined when the request is acceptable. */
export function checkImageRequest(
  request: FakeImageRequest,
  access: FakeAccess = {},
): ApiError | undefined {
  const f = request.fields;
  const edit = request.route === "edits";
  const model = String(f.model ?? "");
  if (RETIRED_MODELS.includes(model)) {
    return apiError(
      404,
      `The model \`${model}\` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations`,
      null,
      "model_not_found",
    );
  }
  const models = { ...FAKE_MODELS, ...access.extraModels };
  const rules = models[model];
  if (!rules) return invalidValue("model", model, Object.keys(models));
  if (!String(f.prompt ?? "")) {
    return apiError(
      400,
      "Missing required parameter: 'prompt'.",
      "prompt",
      "missing_required_parameter",
    );
  }
  const format = String(f.output_format ?? "png");
  const gif = format === "gif", svg = format === "svg";
  const n = num(f.n) ?? 1;
  const stream = bool(f.stream);
  const partials = num(f.partial_images) ?? 0;
  const compression = num(f.output_compression);
  const frames = num(f.frame_count);
  const duration = num(f.frame_duration_ms);
  const mask = request.files?.mask ?? false;
  const markup = request.files?.markup ?? false;
  const checks: (() => ApiError | undefined)[] = [
    () => integerRange("n", n, 1, 10),
    () =>
      (f.quality !== undefined && !rules.qualities.includes(String(f.quality)))
        ? invalidValue("quality", f.quality, rules.qualities)
        : undefined,
    () =>
      !["png", "jpeg", "webp", "gif", "svg"].includes(format)
        ? invalidValue("output_format", format, ["png", "jpeg", "webp", "gif", "svg"])
        : !rules.formats.includes(format)
        ? apiError(
          400,
          `Output format '${format}' is not supported for model '${model}'.`,
          "output_format",
          "unsupported_value",
        )
        : undefined,
    () =>
      (gif && access.gif === false) || (svg && access.svg === false)
        ? apiError(
          403,
          `Your project does not have access to ${format.toUpperCase()} output for model '${model}'.`,
          "output_format",
          "permission_denied",
        )
        : undefined,
    () =>
      f.background !== undefined &&
        !["auto", "opaque", "transparent"].includes(String(f.background))
        ? invalidValue("background", f.background, ["transparent", "opaque", "auto"])
        : undefined,
    () =>
      f.background === "transparent" && !rules.transparent
        ? apiError(
          400,
          "Transparent background is not supported for this model.",
          "background",
          "unsupported_value",
        )
        : undefined,
    () =>
      f.background === "transparent" && format !== "png" && format !== "webp"
        ? apiError(
          400,
          "Transparent background requires output_format 'png' or 'webp'.",
          "background",
          "invalid_value",
        )
        : undefined,
    () =>
      f.complexity !== undefined && !["low", "medium", "high"].includes(String(f.complexity))
        ? invalidValue("complexity", f.complexity, ["low", "medium", "high"])
        : undefined,
    () =>
      f.moderation !== undefined && !["low", "auto"].includes(String(f.moderation))
        ? invalidValue("moderation", f.moderation, ["low", "auto"])
        : undefined,
    () => integerRange("partial_images", partials, 0, 3),
    () =>
      compression === undefined
        ? undefined
        : integerRange("output_compression", compression, 0, 100),
    () =>
      compression !== undefined && format !== "jpeg" && format !== "webp"
        ? apiError(
          400,
          "output_compression is only supported for 'jpeg' and 'webp' output formats.",
          "output_compression",
          "unsupported_parameter",
        )
        : undefined,
    () =>
      (frames !== undefined || duration !== undefined) && !gif
        ? apiError(
          400,
          `'${
            frames !== undefined ? "frame_count" : "frame_duration_ms"
          }' is only supported with output_format 'gif'.`,
          frames !== undefined ? "frame_count" : "frame_duration_ms",
          "unsupported_parameter",
        )
        : undefined,
    () => frames === undefined ? undefined : integerRange("frame_count", frames, 2, 16),
    () =>
      duration === undefined ? undefined : integerRange("frame_duration_ms", duration, 1, 655_350),
    () =>
      (gif || svg) && (stream || partials > 0)
        ? apiError(
          400,
          `${format.toUpperCase()} output does not support streaming or partial images.`,
          stream ? "stream" : "partial_images",
          "unsupported_parameter",
        )
        : undefined,
    () =>
      gif && mask
        ? apiError(400, "GIF output does not support masks.", "mask", "unsupported_parameter")
        : undefined,
    () =>
      svg && n !== 1 ? apiError(400, "SVG output requires n=1.", "n", "invalid_value") : undefined,
    () =>
      f.svg !== undefined && !svg
        ? apiError(
          400,
          "'svg' is only supported with output_format 'svg'.",
          "svg",
          "unsupported_parameter",
        )
        : undefined,
    () =>
      f.size === undefined ? undefined : sizeError(String(f.size), gif ? frames ?? 9 : undefined),
    () =>
      !edit && (mask || markup)
        ? apiError(
          400,
          `Unrecognized request argument supplied: ${mask ? "mask" : "markup"}`,
          null,
          null,
        )
        : undefined,
    () =>
      edit && (request.files?.images ?? 0) === 0
        ? apiError(
          400,
          "Missing required parameter: 'image'.",
          "image",
          "missing_required_parameter",
        )
        : undefined,
    () =>
      markup && mask
        ? apiError(400, "'markup' cannot be combined with 'mask'.", "markup", "invalid_request")
        : undefined,
    () =>
      markup && !rules.markup
        ? apiError(
          400,
          `'markup' is not supported for model '${model}'.`,
          "markup",
          "unsupported_parameter",
        )
        : undefined,
  ];
  for (const check of checks) {
    const error = check();
    if (error) return error;
  }
  return undefined;
}

async function dimensions(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const png = bytes.length > 24 && bytes[0] === 0x89 && bytes[1] === 0x50;
  if (png) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  const image = await Image.decode(bytes);
  return { width: image.width, height: image.height };
}

/** Whether `bytes` is a PNG with at least one fully transparent pixel. */
function transparentPixels(
  bytes: Uint8Array,
): { png: boolean; alpha: boolean; transparent: boolean } {
  if (!(bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e)) {
    return { png: false, alpha: false, transparent: false };
  }
  const png = decodePng(bytes);
  if (png.channels !== 2 && png.channels !== 4) {
    return { png: true, alpha: false, transparent: false };
  }
  const step = png.channels;
  for (let i = step - 1; i < png.data.length; i += step) {
    if (png.data[i] === 0) return { png: true, alpha: true, transparent: true };
  }
  return { png: true, alpha: true, transparent: false };
}

/**
 * The API's checks of an edit's files: a mask must be a PNG with an alpha channel and the first
 * image's size; a markup image must be a PNG of that size with transparent pixels.
 */
export async function checkEditFiles(
  files: { first: Uint8Array; mask?: Uint8Array; markup?: Uint8Array },
): Promise<ApiError | undefined> {
  const first = await dimensions(files.first);
  for (const [param, bytes] of [["mask", files.mask], ["markup", files.markup]] as const) {
    if (!bytes) continue;
    const what = transparentPixels(bytes);
    if (!what.png || !what.alpha) {
      return apiError(
        400,
        `Invalid ${param} image: it must be a PNG with an alpha channel; fully transparent areas ${
          param === "mask" ? "mark where the image is edited" : "leave the image unchanged"
        }.`,
        param,
        "invalid_image_file",
      );
    }
    const size = await dimensions(bytes);
    if (size.width !== first.width || size.height !== first.height) {
      return apiError(
        400,
        `Invalid ${param} image: it must have the same dimensions as the first image (${first.width}x${first.height}), got ${size.width}x${size.height}.`,
        param,
        "invalid_image_dimensions",
      );
    }
    if (param === "markup" && !what.transparent) {
      return apiError(
        400,
        "Invalid markup image: it must contain transparent pixels.",
        "markup",
        "invalid_image_file",
      );
    }
  }
  return undefined;
}

/** A prompt containing this draws the moderation refusal from the fake. */
export const MODERATION_TRIGGER = "[fake: moderation]";

/** The refusal of the safety system, as the API sends it. */
export function moderationBlocked(requestId = "req_fake0000"): ApiError {
  return apiError(
    400,
    "Your request was rejected by the safety system. If you believe this is an error, contact us " +
      `at help.openai.com and include the request ID ${requestId}. safety_violations=[violence].`,
    null,
    "moderation_blocked",
    "image_generation_user_error",
  );
}

/** Quota exhausted: a 429 that waiting does not cure. */
export function insufficientQuota(): ApiError {
  return apiError(
    429,
    "You exceeded your current quota, please check your plan and billing details. For more " +
      "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    null,
    "insufficient_quota",
    "insufficient_quota",
  );
}

/** A rate limit: a 429 that waiting cures, with the wait in `retry-after`. */
export function rateLimited(seconds: number): ApiError {
  return {
    ...apiError(
      429,
      `Rate limit reached for images per minute. Please try again in ${seconds}s.`,
      null,
      "rate_limit_exceeded",
      "requests",
    ),
    headers: { "retry-after": String(seconds) },
  };
}

/** The 403 of an organization that has not been verified for GPT Image models. */
export function organizationNotVerified(model: string): ApiError {
  return apiError(
    403,
    `Your organization must be verified to use the model \`${model}\`. Please go to: ` +
      "https://platform.openai.com/settings/organization/general and click on Verify " +
      "Organization. If you just verified, it can take up to 15 minutes for access to propagate.",
    null,
    null,
  );
}

/** `GET /v1/models/{id}`: the model object, with a shutdown date where one is announced. */
export function modelAnswer(
  id: string,
  options: { shutdownDates?: Readonly<Record<string, string>>; access?: FakeAccess } = {},
): { status: number; body: unknown } {
  const models = { ...FAKE_MODELS, ...options.access?.extraModels };
  if (!(id in models)) {
    const { status, body } = apiError(
      404,
      `The model \`${id}\` does not exist or you do not have access to it.`,
      null,
      "model_not_found",
    );
    return { status, body };
  }
  return {
    status: 200,
    body: {
      id,
      object: "model",
      created: 1776729600,
      owned_by: "system",
      shutdown_date: options.shutdownDates?.[id] ?? null,
    },
  };
}

const gifs = new Map<string, Uint8Array>();

/** The animated GIF the fake answers with: `frames` frames of `size`, cached per arguments. */
export function gifAnswer(
  options: { size: string; frames?: number; delayMs?: number; seed?: number },
): Uint8Array {
  const frames = options.frames ?? 9;
  const key = `${options.size}/${frames}/${options.delayMs}/${options.seed}`;
  let bytes = gifs.get(key);
  if (!bytes) {
    const [width, height] = options.size.split("x").map(Number);
    bytes = makeAnimatedGif({
      width,
      height,
      frames,
      delayMs: options.delayMs ?? 200,
      seed: options.seed,
    });
    gifs.set(key, bytes);
  }
  return bytes;
}

/** The SVG text the fake answers with: shapes in a viewBox of `size`, as a model writes them. */
export function svgAnswer(options: { size: string; seed?: number }): string {
  const [width, height] = options.size.split("x").map(Number);
  const seed = options.seed ?? 1;
  const shapes = Array.from({ length: 6 }, (_, i) => {
    const hue = (seed * 47 + i * 60) % 360;
    const cx = Math.round(((i + 1) * width) / 7);
    const cy = Math.round(height / 2 + Math.sin(i + seed) * height / 4);
    return `  <circle cx="${cx}" cy="${cy}" r="${Math.round(Math.min(width, height) / 10)}" ` +
      `fill="hsl(${hue} 70% 55%)" stroke="#1d1d1f" stroke-width="4"/>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `  <rect width="${width}" height="${height}" fill="#f4efe6"/>`,
    ...shapes,
    "</svg>",
    "",
  ].join("\n");
}

/** The separate usage of SVG authoring, as `svg_usage` reports it. */
export function svgUsage(prompt: string): {
  input_tokens: number;
  model: string;
  output_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
} {
  const input = 400 + Math.ceil(prompt.length / 4);
  return {
    input_tokens: input,
    model: "gpt-5.2",
    output_tokens: 2400,
    reasoning_tokens: 1200,
    total_tokens: input + 2400,
  };
}
