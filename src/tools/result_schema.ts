/** The `outputSchema` of the image tools: the reference's shape plus route, spend and inline details. */

import { z } from "../deps.ts";

const usage = z.looseObject({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  total_tokens: z.number().optional(),
  input_tokens_details: z.looseObject({}).optional(),
  output_tokens_details: z.looseObject({}).optional(),
});

/** Fields every image tool returns in `structuredContent`. */
export const imageResultShape = {
  model: z.string(),
  prompt: z.string(),
  route: z.enum(["direct", "responses"]).optional().describe("Which edit route ran"),
  requested: z.object({ size: z.string(), quality: z.string(), n: z.number(), format: z.string() }),
  applied: z.object({
    size: z.string().optional(),
    quality: z.string().optional(),
    background: z.string().optional(),
    output_format: z.string().optional(),
  }),
  images: z.array(z.object({
    file_path: z.string(),
    filename: z.string(),
    size_bytes: z.number(),
    mime_type: z.string(),
  })),
  usage: usage.optional(),
  cost_usd_estimated: z.number(),
  cost_basis: z.string(),
  spend: z.object({
    spent_usd: z.number().optional().describe("Spend of the output root; absent when unrecorded"),
    budget_usd: z.number().optional(),
    remaining_usd: z.number().optional(),
    project: z.object({
      name: z.string(),
      spent_usd: z.number(),
      budget_usd: z.number().optional(),
      remaining_usd: z.number().optional(),
    }).optional().describe("This project's share of the spend"),
    ledger_error: z.string().optional().describe("Why the ledger did not record this call"),
  }),
  inline: z.object({
    mode: z.enum(["preview", "full", "none"]),
    images: z.array(z.object({
      mime_type: z.string(),
      width: z.number(),
      height: z.number(),
      bytes: z.number(),
      kind: z.string(),
    })),
  }),
  warnings: z.array(z.string()),
};

/** Structured result of `generate_image` and `edit_image`. */
export const imageResultSchema = z.object(imageResultShape);

/** Structured result of the session tools that make an image. */
export const sessionImageResultSchema = z.object({
  ...imageResultShape,
  session_id: z.string(),
  turn: z.number(),
});
