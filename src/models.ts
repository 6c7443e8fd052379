/**
 * What each GPT Image model offers, as data: sizes, quality, backgrounds, formats, edits and
 * prices, each row with its source and the day it was checked. Validation, schema enums, tool
 * descriptions and cost estimates are all read from this one table.
 */

import { z } from "./deps.ts";

/** Rendering quality values across all models. */
export const QUALITIES = ["auto", "low", "medium", "high", "xhigh", "max"] as const;
/** Background values across all models. */
export const BACKGROUNDS = ["auto", "opaque", "transparent"] as const;
/** Output formats across all models. */
export const OUTPUT_FORMATS = ["png", "jpeg", "webp", "gif", "svg"] as const;
/** Planning effort values, independent of quality. */
export const COMPLEXITIES = ["low", "medium", "high"] as const;
/** Content moderation strictness. */
export const MODERATIONS = ["auto", "low"] as const;
/** A GIF's frames: how many (and the API's default), and each one's duration in ms. */
export const GIF_FRAMES = {
  count: { min: 2, max: 16, default: 9 },
  durationMs: { min: 10, max: 655_350, default: 200 },
} as const;

/** The frames each image of a call is priced at: a GIF's count (API default if unset), else 1. */
export function framesPerImage(format: string | undefined, frameCount?: number): number {
  return format === "gif" ? frameCount ?? GIF_FRAMES.count.default : 1;
}

export type Quality = (typeof QUALITIES)[number];
export type Background = (typeof BACKGROUNDS)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type Complexity = (typeof COMPLEXITIES)[number];
export type Moderation = (typeof MODERATIONS)[number];

/**
 * How far a capability is established: documented (`yes`), documented but behind an access
 * grant (`gated`), a preview this server does not offer (`preview`), or used by third parties
 * but not in the SDK types (`unverified`). An absent entry means the model does not offer it.
 */
export type Support = "yes" | "gated" | "preview" | "unverified";

/** One offered capability: how far it is established, and why, where that needs saying. */
export interface Offer {
  support: Support;
  note?: string;
}

/** Capabilities keyed by value; a missing key is not offered. */
export type Offers<K extends string> = Partial<Record<K, Offer>>;

/** The size rule of a model. */
export interface SizeRule {
  /** Sizes the SDK names for every GPT Image model. */
  named: readonly string[];
  auto: boolean;
  /** Any `WxH` within these limits; how far that is established for this model. */
  custom: Offer & {
    multipleOf: number;
    maxEdge: number;
    /** Longest edge over shortest edge, at most. */
    maxAspect: number;
    minPixels: number;
    maxPixels: number;
    /** Above this many pixels the API calls the result experimental. */
    experimentalAbovePixels: number;
  };
}

/** USD per one million tokens. */
export interface TokenRates {
  textInput: number;
  textInputCached: number;
  imageInput: number;
  imageInputCached: number;
  imageOutput: number;
  /** Only where the price list names one. */
  textOutput?: number;
}

/** What a model costs, with where that was read; `undefined` is unknown, never free. */
export interface Prices {
  source: string;
  checked: string;
  tokens: TokenRates | undefined;
  /** Approximate USD per image, [1024x1024, 1536x1024 or 1024x1536], by quality. */
  perImage: Partial<Record<Exclude<Quality, "auto">, readonly [square: number, wide: number]>>;
}

/** Why a model can no longer be called. */
export interface ShutDown {
  on: string;
  source: string;
  use: readonly string[];
}

/** One row of the table. */
export interface ModelRow {
  id: string;
  /** The alias a dated snapshot belongs to. */
  snapshotOf?: string;
  added: string;
  /** Where the capabilities were read, and when they were checked. */
  source: string;
  checked: string;
  sizes: SizeRule;
  quality: Offers<Quality>;
  background: Offers<Background>;
  outputFormat: Offers<OutputFormat>;
  complexity: Offers<Complexity>;
  /** Partial images while streaming, 0..max. */
  partialImages: number;
  maxImagesPerCall: number;
  maxInputImages: number;
  edit?: Offer;
  mask?: Offer;
  markup?: Offer;
  prices: Prices;
  shutDown?: ShutDown;
}

/** A row as callers see it: `known: false` for an id the table does not list. */
export interface ModelCapabilities extends ModelRow {
  known: boolean;
}

const CHECKED = "2026-12-01";
const SDK = "openai npm 7.59.0 resources/images.d.ts (2026-11)";
const YES: Offer = { support: "yes" };

const SIZES: SizeRule = {
  named: ["1024x1024", "1536x1024", "1024x1536"],
  auto: true,
  custom: {
    support: "yes",
    multipleOf: 16,
    maxEdge: 3840,
    maxAspect: 3,
    minPixels: 655_360,
    maxPixels: 8_294_400,
    experimentalAbovePixels: 2560 * 1440,
  },
};

const GIF_ACCESS = "needs GIF preview access for this model (SDK: output_format gif)";
const SVG_ACCESS = "needs project access to SVG output (SDK: output_format svg)";
const NOT_IN_SDK_FOR = (what: string) =>
  `the SDK types document ${what} without naming this model; launch notes tie it to gpt-image-2.6`;

/** The published token rates, the same for every model that names them. */
const TOKEN_RATES: TokenRates = {
  textInput: 5,
  textInputCached: 1.25,
  imageInput: 8,
  imageInputCached: 2,
  imageOutput: 30,
};

const GPT_IMAGE_2: ModelRow = {
  id: "gpt-image-2",
  added: "2026-04-21",
  source: SDK,
  checked: CHECKED,
  sizes: SIZES,
  quality: { auto: YES, low: YES, medium: YES, high: YES },
  background: {
    auto: YES,
    opaque: YES,
    transparent: {
      support: "preview",
      note: "a preview (SDK types), switched off again on some accounts",
    },
  },
  outputFormat: {
    png: YES,
    jpeg: YES,
    webp: YES,
    gif: { support: "unverified", note: NOT_IN_SDK_FOR("GIF output") },
    svg: { support: "unverified", note: NOT_IN_SDK_FOR("SVG output") },
  },
  complexity: {
    low: { support: "unverified", note: NOT_IN_SDK_FOR("complexity") },
    medium: { support: "unverified", note: NOT_IN_SDK_FOR("complexity") },
    high: { support: "unverified", note: NOT_IN_SDK_FOR("complexity") },
  },
  partialImages: 3,
  maxImagesPerCall: 10,
  maxInputImages: 16,
  edit: YES,
  mask: YES,
  prices: {
    source: "OpenAI price list for gpt-image-2 (tokens and per-image approximations)",
    checked: "2026-11",
    tokens: { ...TOKEN_RATES, textOutput: 10 },
    perImage: { low: [0.006, 0.005], medium: [0.053, 0.041], high: [0.211, 0.165] },
  },
};

const XHIGH_MAX_UNVERIFIED: Offer = {
  support: "unverified",
  note:
    "the SDK types name only gpt-image-2.5 for xhigh and max; third-party guides list it for 2.6",
};

const GPT_IMAGE_25_SUNBURST: ModelRow = {
  id: "gpt-image-2.5-sunburst",
  added: "2026-09-08",
  source: SDK,
  checked: CHECKED,
  sizes: SIZES,
  quality: { ...GPT_IMAGE_2.quality, xhigh: YES, max: YES },
  background: { auto: YES, opaque: YES, transparent: YES },
  outputFormat: GPT_IMAGE_2.outputFormat,
  complexity: GPT_IMAGE_2.complexity,
  partialImages: 3,
  maxImagesPerCall: 10,
  maxInputImages: 16,
  edit: YES,
  mask: YES,
  markup: YES,
  prices: {
    source: "OpenAI model page token rates, as cited by gateways' price tables (2026-09-08); " +
      "per-image prices not published",
    checked: "2026-09",
    tokens: TOKEN_RATES,
    perImage: {},
  },
};

const GPT_IMAGE_26_SUNBURST: ModelRow = {
  id: "gpt-image-2.6-sunburst",
  added: "2026-11-04",
  source: `${SDK}; OpenAI model page gpt-image-2.6-sunburst (complexity, markup, SVG and GIF)`,
  checked: CHECKED,
  sizes: {
    ...SIZES,
    custom: {
      ...SIZES.custom,
      support: "unverified",
      note: "the SDK types name custom sizes for gpt-image-2 and 2.5 only",
    },
  },
  quality: { ...GPT_IMAGE_2.quality, xhigh: XHIGH_MAX_UNVERIFIED, max: XHIGH_MAX_UNVERIFIED },
  background: {
    auto: YES,
    opaque: YES,
    transparent: {
      support: "unverified",
      note: "the SDK types name only gpt-image-2.5 for transparent backgrounds",
    },
  },
  outputFormat: {
    png: YES,
    jpeg: YES,
    webp: YES,
    gif: { support: "gated", note: GIF_ACCESS },
    svg: { support: "gated", note: SVG_ACCESS },
  },
  complexity: { low: YES, medium: YES, high: YES },
  partialImages: 3,
  maxImagesPerCall: 10,
  maxInputImages: 16,
  edit: YES,
  mask: YES,
  markup: YES,
  prices: {
    source:
      "OpenAI model page gpt-image-2.6-sunburst (token rates); per-image prices not published",
    checked: "2026-11",
    tokens: TOKEN_RATES,
    perImage: {},
  },
};

const GPT_IMAGE_26_FLARE: ModelRow = {
  ...GPT_IMAGE_26_SUNBURST,
  id: "gpt-image-2.6-flare",
  source: `${SDK}; OpenAI image generation guide (2.6 capabilities shared by flare and sunburst)`,
  prices: {
    ...GPT_IMAGE_26_SUNBURST.prices,
    source: "same token rates as gpt-image-2.6-sunburst per gateway launch notes (2026-11-05); " +
      "per-image prices not published",
  },
};

function snapshot(row: ModelRow, date: string): ModelRow {
  return { ...row, id: `${row.id}-${date}`, snapshotOf: row.id };
}

/** Every model this server knows, aliases before their dated snapshots. */
export const MODELS: readonly ModelRow[] = [
  GPT_IMAGE_2,
  snapshot(GPT_IMAGE_2, "2026-04-21"),
  GPT_IMAGE_25_SUNBURST,
  snapshot(GPT_IMAGE_25_SUNBURST, "2026-09-08"),
  { ...GPT_IMAGE_25_SUNBURST, id: "gpt-image-2.5-flare" },
  snapshot({ ...GPT_IMAGE_25_SUNBURST, id: "gpt-image-2.5-flare" }, "2026-09-08"),
  GPT_IMAGE_26_SUNBURST,
  GPT_IMAGE_26_FLARE,
];

const USE_NOW = ["gpt-image-2.5-sunburst", "gpt-image-2.5-flare"];
const THIRD_PARTY_SHUTDOWN = "third-party shutdown notices, 2026-11 (docs/openai-api.md)";

/** Models that answer no more: a call names the date and what to use instead. */
export const SHUT_DOWN: Readonly<Record<string, ShutDown>> = {
  "gpt-image-1": { on: "2026-10-23", source: SDK, use: USE_NOW },
  "dall-e-2": { on: "2026-05-12", source: SDK, use: ["gpt-image-2", ...USE_NOW] },
  "dall-e-3": { on: "2026-05-12", source: SDK, use: ["gpt-image-2", ...USE_NOW] },
  "gpt-image-1.5": { on: "2026-12-01", source: THIRD_PARTY_SHUTDOWN, use: USE_NOW },
  "gpt-image-1-mini": { on: "2026-12-01", source: THIRD_PARTY_SHUTDOWN, use: USE_NOW },
  "chatgpt-image-latest": { on: "2026-12-01", source: THIRD_PARTY_SHUTDOWN, use: USE_NOW },
};

const BY_ID = new Map(MODELS.map((row) => [row.id, row]));

/** The capabilities of `modelId`; an id the table does not list gets gpt-image-2's rules and no prices. */
export function capabilitiesOf(modelId: string): ModelCapabilities {
  const row = BY_ID.get(modelId);
  if (row) return { ...row, known: true };
  const shutDown = SHUT_DOWN[modelId];
  return {
    ...GPT_IMAGE_2,
    id: modelId,
    source: shutDown ? shutDown.source : "not in this server's table; gpt-image-2's rules apply",
    prices: { source: "unknown", checked: CHECKED, tokens: undefined, perImage: {} },
    shutDown,
    known: shutDown !== undefined,
  };
}

/** Ids a tool may offer: every listed model, snapshots included. */
export function modelIds(): [string, ...string[]] {
  const [first, ...rest] = MODELS.map((row) => row.id);
  return [first, ...rest];
}

function offered<K extends string>(
  values: readonly K[],
  pick: (row: ModelRow) => Offers<K>,
): [K, ...K[]] {
  const kept = values.filter((v) => MODELS.some((row) => pick(row)[v] !== undefined));
  return [kept[0], ...kept.slice(1)];
}

/** Quality values some model offers, for a schema enum. */
export function qualityValues(): [Quality, ...Quality[]] {
  return offered(QUALITIES, (row) => row.quality);
}

/** Background values some model offers. */
export function backgroundValues(): [Background, ...Background[]] {
  return offered(BACKGROUNDS, (row) => row.background);
}

/** Output formats some model offers. */
export function outputFormatValues(): [OutputFormat, ...OutputFormat[]] {
  return offered(OUTPUT_FORMATS, (row) => row.outputFormat);
}

/** Complexity values some model offers. */
export function complexityValues(): [Complexity, ...Complexity[]] {
  return offered(COMPLEXITIES, (row) => row.complexity);
}

/** Schema for `quality`: the union across models; per-model rules are `validateRequest`'s. */
export function qualitySchema() {
  return z.enum(qualityValues());
}

/** Schema for `background`. */
export function backgroundSchema() {
  return z.enum(backgroundValues());
}

/** Schema for `output_format`. */
export function outputFormatSchema() {
  return z.enum(outputFormatValues());
}

/** Schema for `complexity`. */
export function complexitySchema() {
  return z.enum(complexityValues());
}

/** Schema for `model`: any plausible id, since an unknown one is sent with a warning. */
export function modelSchema() {
  return z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, {
    message: "must be a model id such as gpt-image-2 (letters, digits, '.', '_', ':', '-')",
  });
}

function listed(values: readonly string[]): string {
  return values.join(", ");
}

function offering<K extends string>(value: K, pick: (row: ModelRow) => Offers<K>): string[] {
  return MODELS.filter((row) => !row.snapshotOf)
    .filter((row) => ["yes", "gated"].includes(pick(row)[value]?.support ?? ""))
    .map((row) => row.id);
}

/** One line per model alias, for tool descriptions. */
export function describeModels(): string {
  return MODELS.filter((row) => !row.snapshotOf).map((row) => {
    const by = (support: Support) => {
      const qualities = Object.entries(row.quality).filter(([, o]) => o?.support === support);
      return [
        ...(qualities.length ? [`quality ${qualities.map(([q]) => q).join("/")}`] : []),
        ...(row.background.transparent?.support === support ? ["transparent"] : []),
        ...(row.markup?.support === support ? ["markup"] : []),
        ...(["gif", "svg"] as const).filter((f) => row.outputFormat[f]?.support === support),
        ...(row.sizes.custom.support === support ? ["custom sizes"] : []),
      ];
    };
    const parts = [
      by("yes").join(", "),
      by("gated").length ? `with access: ${by("gated").join(", ")}` : "",
      by("unverified").length ? `unverified: ${by("unverified").join(", ")}` : "",
    ].filter(Boolean);
    return `${row.id}: ${parts.join("; ")}`;
  }).join("\n");
}

/** The fields of an image request that the table rules on (API names). */
export interface ImageRequest {
  operation: "generate" | "edit";
  n?: number;
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
  output_compression?: number;
  moderation?: string;
  stream?: boolean;
  partial_images?: number;
  complexity?: string;
  frame_count?: number;
  frame_duration_ms?: number;
  /** Set when the call carries a mask, or a markup image. */
  mask?: boolean;
  markup?: boolean;
  svg?: { model?: string };
}

function quoted(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}

function isInt(value: number | undefined, min: number, max: number): boolean {
  return value === undefined || (Number.isInteger(value) && value >= min && value <= max);
}

function offerProblem<K extends string>(
  field: string,
  value: string | undefined,
  all: readonly K[],
  caps: ModelCapabilities,
  pick: (row: ModelRow) => Offers<K>,
): string | undefined {
  if (value === undefined) return undefined;
  if (!(all as readonly string[]).includes(value)) {
    return `${field}: ${quoted(value)} is not one of ${listed(all)}`;
  }
  const offer = pick(caps)[value as K];
  if (offer && offer.support !== "preview") return undefined;
  const others = offering(value as K, pick);
  const where = others.length ? `models that offer it: ${listed(others)}` : "no listed model does";
  return offer
    ? `${field}: ${quoted(value)} on ${caps.id} is only ${offer.note ?? "a preview"}; ${where}`
    : `${field}: ${quoted(value)} is not offered by ${caps.id}; ${where}`;
}

function sizeProblem(size: string, caps: ModelCapabilities): string | undefined {
  const rule = caps.sizes;
  if (size === "auto") return rule.auto ? undefined : `size: "auto" is not offered by ${caps.id}`;
  if (rule.named.includes(size)) return undefined;
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  if (!match) {
    return `size: must be "auto" or WIDTHxHEIGHT such as "1536x1024", got ${quoted(size)}`;
  }
  const width = Number(match[1]);
  const height = Number(match[2]);
  const c = rule.custom;
  if (width % c.multipleOf !== 0 || height % c.multipleOf !== 0) {
    return `size: ${size} needs both edges to be multiples of ${c.multipleOf}`;
  }
  if (Math.max(width, height) > c.maxEdge) {
    return `size: ${size} has an edge over ${c.maxEdge} px, the longest ${caps.id} draws`;
  }
  if (Math.max(width, height) > c.maxAspect * Math.min(width, height)) {
    return `size: ${size} is wider than the aspect ratios ${caps.id} draws (1:${c.maxAspect} to ${c.maxAspect}:1)`;
  }
  const pixels = width * height;
  if (pixels < c.minPixels || pixels > c.maxPixels) {
    const range = `${c.minPixels.toLocaleString("en-US")} to ${
      c.maxPixels.toLocaleString("en-US")
    }`;
    return `size: ${size} is ${pixels.toLocaleString("en-US")} pixels; ${caps.id} draws ${range}`;
  }
  return undefined;
}

/** Every rule `request` breaks on `modelId`, one sentence each naming the input; empty when none. */
export function validateRequest(
  modelId: string,
  request: ImageRequest,
  options: { now?: Date } = {},
): string[] {
  const caps = capabilitiesOf(modelId);
  const errors: (string | undefined)[] = [];
  if (caps.shutDown) {
    const today = (options.now ?? new Date()).toISOString().slice(0, 10);
    const when = today >= caps.shutDown.on ? "was shut down on" : "shuts down on";
    return [
      `model: ${modelId} ${when} ${caps.shutDown.on} and this server does not offer it; use ${
        caps.shutDown.use.join(" or ")
      } instead`,
    ];
  }
  const format = request.output_format ?? "png";
  const gif = format === "gif";
  const svg = format === "svg";
  const streams = request.stream === true;
  const partials = request.partial_images ?? 0;

  if (request.operation === "edit" && !caps.edit) {
    errors.push(`model: ${caps.id} does not edit images`);
  }
  if (!isInt(request.n, 1, caps.maxImagesPerCall)) {
    errors.push(`n: must be an integer from 1 to ${caps.maxImagesPerCall}, got ${request.n}`);
  }
  if (request.size !== undefined) errors.push(sizeProblem(request.size, caps));
  errors.push(offerProblem("quality", request.quality, QUALITIES, caps, (r) => r.quality));
  errors.push(
    offerProblem("background", request.background, BACKGROUNDS, caps, (r) => r.background),
  );
  errors.push(
    offerProblem(
      "output_format",
      request.output_format,
      OUTPUT_FORMATS,
      caps,
      (r) => r.outputFormat,
    ),
  );
  errors.push(
    offerProblem("complexity", request.complexity, COMPLEXITIES, caps, (r) => r.complexity),
  );
  if (
    request.moderation !== undefined &&
    !(MODERATIONS as readonly string[]).includes(request.moderation)
  ) {
    errors.push(`moderation: ${quoted(request.moderation)} is not one of ${listed(MODERATIONS)}`);
  }
  if (
    request.background === "transparent" && (OUTPUT_FORMATS as readonly string[]).includes(format)
  ) {
    if (format !== "png" && format !== "webp") {
      errors.push(`background: "transparent" needs output_format png or webp, got ${format}`);
    }
  }
  if (request.output_compression !== undefined) {
    if (!isInt(request.output_compression, 0, 100)) {
      errors.push(
        `output_compression: must be an integer from 0 to 100, got ${request.output_compression}`,
      );
    } else if (format !== "jpeg" && format !== "webp") {
      errors.push(`output_compression: applies only to output_format jpeg or webp, got ${format}`);
    }
  }
  if (!isInt(request.partial_images, 0, caps.partialImages)) {
    errors.push(
      `partial_images: must be an integer from 0 to ${caps.partialImages}, got ${request.partial_images}`,
    );
  }
  if (gif || svg) {
    const name = gif ? "GIF" : "SVG";
    if (streams) errors.push(`stream: ${name} output cannot be streamed`);
    if (partials > 0) {
      errors.push(`partial_images: ${name} output has no partial images, got ${partials}`);
    }
  }
  for (const field of ["frame_count", "frame_duration_ms"] as const) {
    if (request[field] !== undefined && !gif) {
      errors.push(`${field}: applies only to output_format gif, got ${format}`);
    }
  }
  const { count, durationMs } = GIF_FRAMES;
  if (!isInt(request.frame_count, count.min, count.max)) {
    errors.push(
      `frame_count: must be an integer from ${count.min} to ${count.max}, got ${request.frame_count}`,
    );
  }
  if (!isInt(request.frame_duration_ms, durationMs.min, durationMs.max)) {
    errors.push(
      `frame_duration_ms: must be an integer from ${durationMs.min} to ${durationMs.max} ` +
        `(GIF delays are 10 ms steps), got ${request.frame_duration_ms}`,
    );
  }
  if (svg && (request.n ?? 1) !== 1) {
    errors.push(`n: SVG output makes one image per call, got ${request.n}`);
  }
  if (request.svg !== undefined && !svg) {
    errors.push(`svg: applies only to output_format svg, got ${format}`);
  }
  if (request.mask) {
    if (request.operation !== "edit") errors.push("mask: only edit_image takes a mask");
    else if (!caps.mask) errors.push(`mask: ${caps.id} does not take a mask`);
    else if (gif) errors.push("mask: GIF output cannot use a mask");
  }
  if (request.markup) {
    if (request.operation !== "edit") errors.push("markup: only edits take a markup image");
    else if (request.mask) errors.push("markup: cannot be combined with mask; send one of them");
    else if (!caps.markup) {
      errors.push(`markup: ${caps.id} takes no markup image; models that do: ${
        listed(
          MODELS
            .filter((row) => !row.snapshotOf && row.markup).map((row) => row.id),
        )
      }`);
    }
  }
  return errors.filter((e): e is string => e !== undefined);
}

function offerWarning<K extends string>(
  field: string,
  value: string | undefined,
  caps: ModelCapabilities,
  pick: (row: ModelRow) => Offers<K>,
): string | undefined {
  const offer = value === undefined ? undefined : pick(caps)[value as K];
  if (offer?.support === "unverified") {
    return `${field}: ${
      quoted(value)
    } on ${caps.id} is unverified (${offer.note}); the API's answer decides`;
  }
  if (offer?.support === "gated") {
    return `${field}: ${
      quoted(value)
    } on ${caps.id} ${offer.note}; without it the API refuses the call`;
  }
  return undefined;
}

/**
 * What the caller should hear although the request may go ahead: an id the table does not list,
 * capabilities that are gated or unverified, experimental sizes. Assumes `validateRequest` passed.
 */
export function requestWarnings(modelId: string, request: ImageRequest): string[] {
  const caps = capabilitiesOf(modelId);
  const warnings: (string | undefined)[] = [];
  if (!caps.known) {
    warnings.push(
      `model: ${modelId} is not in this server's table (checked ${CHECKED}); it is sent with ` +
        `gpt-image-2's rules, its price is unknown, and the API's answer decides`,
    );
  }
  warnings.push(offerWarning("quality", request.quality, caps, (r) => r.quality));
  warnings.push(offerWarning("background", request.background, caps, (r) => r.background));
  warnings.push(offerWarning("output_format", request.output_format, caps, (r) => r.outputFormat));
  warnings.push(offerWarning("complexity", request.complexity, caps, (r) => r.complexity));
  if (request.markup && caps.markup?.support === "unverified") {
    warnings.push(
      `markup: on ${caps.id} is unverified (${caps.markup.note}); the API's answer decides`,
    );
  }
  const dims = customSize(request.size, caps);
  if (dims) {
    const custom = caps.sizes.custom;
    if (custom.support === "unverified") {
      warnings.push(
        `size: custom sizes on ${caps.id} are unverified (${custom.note}); the API's answer decides`,
      );
    }
    if (dims.width * dims.height > custom.experimentalAbovePixels) {
      warnings.push(`size: ${request.size} is above 2560x1440, which the API calls experimental`);
    }
  }
  return warnings.filter((w): w is string => w !== undefined);
}

function customSize(
  size: string | undefined,
  caps: ModelCapabilities,
): { width: number; height: number } | undefined {
  if (!size || caps.sizes.named.includes(size)) return undefined;
  const match = /^(\d+)x(\d+)$/.exec(size);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/** An estimate or a cost in USD, with what it rests on; `known: false` marks a price the table lacks. */
export interface CostEstimate {
  usd: number;
  basis: string;
  known: boolean;
}

/** Token usage as the API reports it. */
export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  input_tokens_details?: { text_tokens?: number; image_tokens?: number; cached_tokens?: number };
  output_tokens_details?: { text_tokens?: number; image_tokens?: number };
}

/** Rounds up to a hundredth of a cent, so rounding never lowers an estimate. */
function roundUp(value: number): number {
  return Math.max(0, Math.ceil(value * 10_000 - 1e-6) / 10_000);
}

/** Image tokens an edit input costs at high input fidelity (gpt-image-2's published tiling). */
export function inputImageTokens(width: number, height: number): number {
  const fit = Math.min(1, 2048 / Math.max(width, height));
  const shortSide = Math.min(width, height) * fit;
  const scale = Math.min(1, 768 / shortSide) * fit;
  const tiles = Math.ceil((width * scale) / 512) * Math.ceil((height * scale) / 512);
  return 85 + 170 * tiles + 4_096;
}

/** The per-image price of `quality` at `size` from one price table; undefined where unknown. */
function perImagePrice(
  prices: Prices,
  quality: string,
  size: string | undefined,
): number | undefined {
  const table = prices.perImage;
  const qualities = quality === "auto" ? Object.keys(table) : [quality];
  const rows = qualities.map((q) => table[q as keyof typeof table]).filter((r) => r !== undefined);
  if (rows.length === 0 || rows.length < qualities.length) return undefined;
  const match = size ? /^(\d+)x(\d+)$/.exec(size) : null;
  if (!match) return Math.max(...rows.flat()); // auto size: the dearest named size
  const width = Number(match[1]);
  const height = Number(match[2]);
  const square = Math.max(width, height) / Math.min(width, height) < 1.25;
  const pixels = width * height;
  return Math.max(
    ...rows.map(([sq, wide]) =>
      square ? sq * pixels / (1024 * 1024) : wide * pixels / (1536 * 1024)
    ),
  );
}

/**
 * Qualities with no published per-image price anywhere, bounded at this multiple of the dearest
 * published price: this server's assumption (each step above high at most doubles an image's
 * output tokens), not a price. Every estimate resting on it is marked as an upper bound, and the
 * call is then charged what its usage reports.
 */
export const UNPUBLISHED_QUALITY_FACTOR: Readonly<Partial<Record<Quality, number>>> = {
  xhigh: 2,
  max: 4,
};

/** The dearest published per-image price at `size`, with the model and quality it belongs to. */
function dearestPublished(size: string | undefined): { usd: number; from: string } {
  let best = { usd: 0, from: "" };
  for (const row of MODELS) {
    for (const quality of Object.keys(row.prices.perImage)) {
      const usd = perImagePrice(row.prices, quality, size) ?? 0;
      if (usd > best.usd) best = { usd, from: `${row.id} at ${quality}` };
    }
  }
  return best;
}

/**
 * The ceiling of one image at `quality` and `size` when its price is unknown: the dearest
 * published price, times the factor of the dearest quality it may be drawn at (`quality` itself
 * when that is xhigh or max; any quality the model offers for `auto` or a quality without a
 * price; any quality of the whole table for a model the table does not know).
 */
function dearestImage(
  size: string | undefined,
  quality: string,
  caps: ModelCapabilities,
): { usd: number; from: string } {
  const published = dearestPublished(size);
  const own = UNPUBLISHED_QUALITY_FACTOR[quality as Quality];
  const candidates = own !== undefined ? [[quality, own] as const] : Object.entries(
    UNPUBLISHED_QUALITY_FACTOR,
  ).filter(([q]) => !caps.known || caps.quality[q as Quality] !== undefined);
  const [q, factor] = candidates.reduce<readonly [string, number]>(
    (best, [q, f]) => (f ?? 0) > best[1] ? [q, f ?? 0] : best,
    ["", 1],
  );
  if (factor <= 1) return published;
  return {
    usd: published.usd * factor,
    from: `${published.from} x${factor}, the ceiling this server assumes for quality ${q}`,
  };
}

/** The dearest known rate of each kind, for a model whose rates are unknown. */
function dearestRates(): TokenRates {
  const all = MODELS.map((row) => row.prices.tokens).filter((t) => t !== undefined);
  const max = (pick: (t: TokenRates) => number | undefined) =>
    Math.max(...all.map((t) => pick(t) ?? 0));
  return {
    textInput: max((t) => t.textInput),
    textInputCached: max((t) => t.textInputCached),
    imageInput: max((t) => t.imageInput),
    imageInputCached: max((t) => t.imageInputCached),
    imageOutput: max((t) => t.imageOutput),
    textOutput: max((t) => t.textOutput),
  };
}

/**
 * What a call is expected to cost before it is made. A price the table lacks (unknown model,
 * quality without a published per-image price, GIF or SVG output) is estimated at the dearest
 * known price and marked `known: false`, so a budget check never passes on a guess of zero.
 */
export function estimateCost(
  modelId: string,
  request: ImageRequest & {
    prompt?: string;
    inputs?: readonly { width: number; height: number }[];
  },
): CostEstimate {
  const caps = capabilitiesOf(modelId);
  const n = request.n ?? 1;
  const quality = request.quality ?? "auto";
  const format = request.output_format ?? "png";
  const frames = framesPerImage(format, request.frame_count);
  const unknown: string[] = [];
  let image = perImagePrice(caps.prices, quality, request.size);
  let imageBasis = `${caps.id} at ${quality}`;
  if (image === undefined) {
    const dearest = dearestImage(request.size, quality, caps);
    image = dearest.usd;
    imageBasis = `the dearest known image price (${dearest.from})`;
    unknown.push(`price of ${caps.id} at quality ${quality}`);
  }
  if (format === "gif") {
    unknown.push(`price of GIF output (${frames} frames counted as ${frames} images)`);
  }
  if (format === "svg") unknown.push("price of SVG authoring tokens (not included)");
  const rates = caps.prices.tokens ?? dearestRates();
  if (!caps.prices.tokens) unknown.push(`token rates of ${caps.id}`);
  if (unknown.length > 0 && !imageBasis.startsWith("the dearest")) {
    // Any unknown part makes the whole estimate a ceiling: the images are priced at the dearest too.
    const dearest = dearestImage(request.size, quality, caps);
    image = Math.max(image, dearest.usd);
    imageBasis = `the dearest known image price (${dearest.from})`;
  }
  const promptTokens = Math.ceil((request.prompt ?? "").length / 4);
  const inputTokens = (request.inputs ?? []).reduce(
    (s, d) => s + inputImageTokens(d.width, d.height),
    0,
  );
  const partialTokens = (request.partial_images ?? 0) * 100 * n;
  const usd = roundUp(
    n * frames * image +
      (promptTokens * rates.textInput + inputTokens * rates.imageInput +
          partialTokens * rates.imageOutput) / 1e6,
  );
  if (unknown.length === 0) {
    return {
      usd,
      basis: `${caps.prices.source} (${caps.prices.checked}), ${imageBasis}`,
      known: true,
    };
  }
  const subject = caps.known ? unknown.join("; ") : `price of ${caps.id}`;
  return {
    usd,
    basis: `upper bound: ${subject} unknown; estimated at ${imageBasis}`,
    known: false,
  };
}

/** The cost of a finished call from the usage the API reported, at `modelId`'s token rates. */
export function costFromUsage(modelId: string, usage: TokenUsage | undefined): CostEstimate {
  const caps = capabilitiesOf(modelId);
  const rates = caps.prices.tokens ?? dearestRates();
  const inputs = usage?.input_tokens_details;
  const outputs = usage?.output_tokens_details;
  const imageIn = inputs?.image_tokens ?? 0;
  const textIn = inputs?.text_tokens ?? Math.max(0, (usage?.input_tokens ?? 0) - imageIn);
  const imageOut = outputs?.image_tokens ?? usage?.output_tokens ?? 0;
  const textOut = outputs?.text_tokens ?? 0;
  const usd = roundUp(
    (textIn * rates.textInput + imageIn * rates.imageInput + imageOut * rates.imageOutput +
      textOut * (rates.textOutput ?? dearestRates().textOutput ?? 0)) / 1e6,
  );
  return caps.prices.tokens
    ? {
      usd,
      basis: `from API usage at ${caps.prices.source} (${caps.prices.checked})`,
      known: true,
    }
    : {
      usd,
      basis: `upper bound: price of ${caps.id} unknown; the dearest known token rates`,
      known: false,
    };
}

/**
 * The cost of an edit on the Responses route, which reports only the host model's text tokens:
 * those at the image model's text rates (this server prices the host model no lower than that),
 * the images at the per-image price the estimate uses, the input images at the image input rate.
 */
export function responsesEditCost(
  modelId: string,
  options: {
    usage: TokenUsage | undefined;
    images: number;
    size: string | undefined;
    quality: string | undefined;
    inputs: readonly { width: number; height: number }[];
    /** The frames of each image: a GIF's count (priced as that many images), else 1. */
    frames?: number;
  },
): CostEstimate {
  const caps = capabilitiesOf(modelId);
  const rates = caps.prices.tokens ?? dearestRates();
  const textOut = rates.textOutput ?? dearestRates().textOutput ?? 0;
  const quality = options.quality ?? "auto";
  const frames = options.frames ?? 1;
  // No GIF price is published: its frames are priced as images at the dearest known price.
  const published = frames > 1 ? undefined : perImagePrice(caps.prices, quality, options.size);
  const image = published ?? dearestImage(options.size, quality, caps).usd;
  const inputTokens = options.inputs.reduce((s, d) => s + inputImageTokens(d.width, d.height), 0);
  const usd = roundUp(
    options.images * frames * image +
      ((options.usage?.input_tokens ?? 0) * rates.textInput +
          (options.usage?.output_tokens ?? 0) * textOut + inputTokens * rates.imageInput) / 1e6,
  );
  const basis = "host-model tokens at the image model's text rates + per-image price + input " +
    "images (Responses route)";
  return published !== undefined && caps.prices.tokens
    ? { usd, basis: `estimated: ${basis}`, known: true }
    : {
      usd,
      basis: frames > 1
        ? `upper bound: ${basis}; the price of GIF output is unknown (${frames} frames ` +
          `counted as ${frames} images)`
        : `upper bound: ${basis}; the image price of ${caps.id} is unknown`,
      known: false,
    };
}
