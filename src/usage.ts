/**
 * Token usage as the API reports it, and whether a reported usage can be what a call used.
 * Prices and estimates are the model table's (src/models.ts).
 */

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
