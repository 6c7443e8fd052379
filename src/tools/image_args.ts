/** Arguments shared by every image tool, with the rules the API would otherwise enforce too late. */

import { z } from "../deps.ts";
import type { Config, InlineMode } from "../config.ts";
import { sizeProblem } from "../images/size.ts";
import type { ImageSettings } from "../openai/images.ts";

const TRANSPARENT_REFUSAL =
  'background "transparent" is not supported by gpt-image-2 (it cannot produce an alpha channel); ' +
  'use "auto" or "opaque", and remove the background afterwards if you need transparency';

/** A size string, checked against the size rules. */
export const sizeField = z.string().superRefine((size, ctx) => {
  const problem = sizeProblem(size);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).describe(
  "auto, 1024x1024, 1536x1024, 1024x1536, or WxH: edges multiples of 16, longest edge <= 3840, " +
    "ratio within 1:3..3:1, 655,360..8,294,400 pixels",
);

/** Rendering quality. */
export const qualityField = z.enum(["auto", "low", "medium", "high"]).describe("Rendering quality");

/** File format of the saved image. */
export const formatField = z.enum(["png", "jpeg", "webp"]).describe("File format");

/** Output settings: size, quality, format and where the file goes. */
export const outputFields = {
  size: sizeField.default("auto"),
  quality: qualityField.default("auto"),
  output_format: formatField.default("png"),
  background: z.enum(["auto", "opaque", "transparent"]).optional().superRefine((value, ctx) => {
    if (value === "transparent") ctx.addIssue({ code: "custom", message: TRANSPARENT_REFUSAL });
  }).describe('auto or opaque ("transparent" is not supported by gpt-image-2)'),
  output_compression: z.number().int().min(0).max(100).optional()
    .describe("0-100, jpeg and webp only"),
  moderation: z.enum(["auto", "low"]).optional().describe("Content moderation strictness"),
  output_dir: z.string().min(1).max(4096).optional()
    .describe("Folder to save into (absolute, or relative to the server's working directory)"),
  filename_prefix: z.string().max(64).refine((p) => !/[\\/\0]|\.\./.test(p), {
    message: 'must not contain "/", "\\" or ".." (it names a file, not a path)',
  }).optional().describe("Appended to the file name: image-YYYYMMDD-HHMMSS-xxxxxx-<prefix>.png"),
  user: z.string().min(1).max(256).optional().describe("End-user id for OpenAI abuse monitoring"),
  partial_images: z.number().int().min(0).max(3).optional()
    .describe("0-3 partial images streamed as progress (each costs ~100 extra output tokens)"),
  inline: z.enum(["preview", "full", "none"]).optional()
    .describe(
      "Inline image: a downscaled preview (default), the full file, or none. Full falls back " +
        "to the preview for an image over 5 MB of base64, or past 8 MB for the call (MCP " +
        "clients drop larger messages); the file on disk is always the full original",
    ),
};

/** The prompt, at most 32,000 characters. */
export const promptField = z.string().min(1).max(32_000).describe("What to draw or change");

/** The parsed shared arguments. */
export interface OutputArgs {
  prompt: string;
  size: string;
  quality: "auto" | "low" | "medium" | "high";
  background?: "auto" | "opaque" | "transparent";
  output_format: "png" | "jpeg" | "webp";
  output_compression?: number;
  moderation?: "auto" | "low";
  output_dir?: string;
  filename_prefix?: string;
  user?: string;
  partial_images?: number;
  inline?: InlineMode;
}

/** Cross-field rule: compression only means something for lossy formats. */
export function compressionRefinement(
  args: { output_format?: string; output_compression?: number },
  ctx: z.RefinementCtx,
): void {
  if (args.output_compression !== undefined && args.output_format === "png") {
    ctx.addIssue({
      code: "custom",
      path: ["output_compression"],
      message: 'output_compression applies only to output_format "jpeg" or "webp", not "png"',
    });
  }
}

/** The request settings for these arguments. */
export function settingsFrom(args: OutputArgs, config: Config, n = 1): ImageSettings {
  return {
    prompt: args.prompt,
    size: args.size,
    quality: args.quality,
    n,
    background: args.background,
    output_format: args.output_format,
    output_compression: args.output_compression,
    moderation: args.moderation,
    user: args.user,
    partialImages: args.partial_images ?? config.partialImages,
  };
}
