/** Prices of gpt-image-2 and the cost estimates built from them (USD). */

import { parseSize } from "./images/size.ts";

/** USD per one million tokens, from the published price list. */
export const TOKEN_PRICES = {
  imageInput: 8.0,
  imageInputCached: 2.0,
  imageOutput: 30.0,
  textInput: 5.0,
  textInputCached: 1.25,
  textOutput: 10.0,
} as const;

export type Quality = "auto" | "low" | "medium" | "high";

/** Published per-image prices: [square 1024x1024, 3:2 1536x1024 or 1024x1536]. */
const IMAGE_PRICES: Record<Exclude<Quality, "auto">, [number, number]> = {
  low: [0.006, 0.005],
  medium: [0.053, 0.041],
  high: [0.211, 0.165],
};

/** Token usage as the API reports it. */
export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  input_tokens_details?: { text_tokens?: number; image_tokens?: number; cached_tokens?: number };
  output_tokens_details?: { text_tokens?: number; image_tokens?: number };
}

/**
 * The largest token count one call can plausibly report: ten 4K images at high quality are about
 * 300 000 output tokens, sixteen edit inputs about 100 000. A larger count is a broken answer.
 */
export const MAX_PLAUSIBLE_TOKENS = 1_000_000;

const COUNTS = ["input_tokens", "output_tokens", "total_tokens"] as const;
const DETAILS = {
  input_tokens_details: ["text_tokens", "image_tokens", "cached_tokens"],
  output_tokens_details: ["text_tokens", "image_tokens"],
} as const;

function countProblem(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") return `${name} is ${JSON.stringify(value)?.slice(0, 40)}`;
  if (!Number.isFinite(value)) return `${name} is ${value}`;
  if (value < 0 || !Number.isInteger(value)) return `${name} is ${value}`;
  if (value > MAX_PLAUSIBLE_TOKENS) return `${name} is ${value}, more than any call can use`;
  return undefined;
}

/**
 * Why `usage` cannot be what a call used (missing, a count that is negative, fractional, not a
 * number, not finite or absurdly large), or undefined when it can be. A call with impossible
 * usage costs what it was estimated to cost, never what the numbers say.
 */
export function usageProblem(usage: unknown): string | undefined {
  if (usage === undefined || usage === null) return "the answer reported no usage";
  if (typeof usage !== "object" || Array.isArray(usage)) return "its usage is not an object";
  const fields = usage as Record<string, unknown>;
  for (const name of COUNTS) {
    const problem = countProblem(name, fields[name]);
    if (problem) return problem;
  }
  for (const [group, names] of Object.entries(DETAILS)) {
    const details = fields[group];
    if (details === undefined || details === null) continue;
    if (typeof details !== "object" || Array.isArray(details)) return `${group} is not an object`;
    for (const name of names) {
      const problem = countProblem(`${group}.${name}`, (details as Record<string, unknown>)[name]);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Cost of a call from the usage the API returned. */
export function costFromUsage(usage: Usage | undefined): number {
  if (!usage) return 0;
  const inputs = usage.input_tokens_details;
  const outputs = usage.output_tokens_details;
  const imageIn = inputs?.image_tokens ?? 0;
  const textIn = inputs?.text_tokens ?? Math.max(0, (usage.input_tokens ?? 0) - imageIn);
  const imageOut = outputs?.image_tokens ?? usage.output_tokens ?? 0;
  const textOut = outputs?.text_tokens ?? 0;
  return roundUsd(
    (textIn * TOKEN_PRICES.textInput + imageIn * TOKEN_PRICES.imageInput +
      imageOut * TOKEN_PRICES.imageOutput + textOut * TOKEN_PRICES.textOutput) / 1e6,
  );
}

/** Cost of a Responses-route call: host-model text tokens only, as that route reports. */
export function textCostFromUsage(usage: Usage | undefined): number {
  if (!usage) return 0;
  return roundUsd(
    ((usage.input_tokens ?? 0) * TOKEN_PRICES.textInput +
      (usage.output_tokens ?? 0) * TOKEN_PRICES.textOutput) / 1e6,
  );
}

/** The published price of one output image; `auto` quality and size assume the dearest case. */
export function imagePrice(
  size: string | undefined,
  quality: Quality | string | undefined,
): number {
  const table = IMAGE_PRICES[(quality ?? "auto") as Exclude<Quality, "auto">] ?? IMAGE_PRICES.high;
  const dims = parseSize(size);
  if (!dims) return table[0];
  const pixels = dims.width * dims.height;
  const ratio = Math.max(dims.width, dims.height) / Math.min(dims.width, dims.height);
  if (ratio < 1.25) return roundUsd(table[0] * pixels / (1024 * 1024));
  return roundUsd(table[1] * pixels / (1536 * 1024));
}

/** Image tokens an edit input costs, at the high input fidelity that gpt-image-2 always uses. */
export function inputImageTokens(width: number, height: number): number {
  const fit = Math.min(1, 2048 / Math.max(width, height));
  const shortSide = Math.min(width, height) * fit;
  const scale = Math.min(1, 768 / shortSide) * fit;
  const tiles = Math.ceil((width * scale) / 512) * Math.ceil((height * scale) / 512);
  return 85 + 170 * tiles + 4_096;
}

/** What a call is expected to cost before it is made. */
export function estimateCost(options: {
  prompt: string;
  size?: string;
  quality?: string;
  n: number;
  partialImages?: number;
  inputs?: readonly { width: number; height: number }[];
}): number {
  const promptTokens = Math.ceil(options.prompt.length / 4);
  const inputTokens = (options.inputs ?? []).reduce(
    (sum, d) => sum + inputImageTokens(d.width, d.height),
    0,
  );
  const partialTokens = (options.partialImages ?? 0) * 100 * options.n;
  return roundUsd(
    options.n * imagePrice(options.size, options.quality) +
      (promptTokens * TOKEN_PRICES.textInput + inputTokens * TOKEN_PRICES.imageInput +
          partialTokens * TOKEN_PRICES.imageOutput) / 1e6,
  );
}

/** Rounds to a hundredth of a cent. */
export function roundUsd(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
