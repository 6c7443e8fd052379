/** Arguments shared by every image tool, with the rules the API would otherwise enforce too late. */

import { z } from "../deps.ts";
import type { Config } from "../config.ts";
import { sizeProblem } from "../images/size.ts";
import type { ImageSettings } from "../openai/images.ts";
import {
  backgroundSchema,
  complexitySchema,
  describeModels,
  modelIds,
  modelSchema,
  MODERATIONS,
  outputFormatSchema,
  qualitySchema,
} from "../models.ts";

/** A size string, checked against the size rules. */
export const sizeField = z.string().superRefine((size, ctx) => {
  const problem = sizeProblem(size);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).describe(
  "auto, 1024x1024, 1536x1024, 1024x1536, or WxH: edges multiples of 16, longest edge <= 3840, " +
    "ratio within 1:3..3:1, 655,360..8,294,400 pixels",
);

/** Rendering quality: the values some model of the table offers. */
export const qualityField = qualitySchema().describe(
  "Rendering quality; xhigh and max only on models that offer them (see model)",
);

/** File format of the saved image: the formats some model of the table offers. */
export const formatField = outputFormatSchema().describe(
  "File format. gif: an animation (frame_count, frame_duration_ms; no streaming, partial " +
    "images, mask or compression). svg: vector text (n=1, no streaming, partial images or " +
    "compression). Both on the models that offer them",
);

/** The image model: a listed id, or any other id, sent with gpt-image-2's rules and a warning. */
export const modelField = z.union([z.enum(modelIds()), modelSchema()]).describe(
  "Image model (default: GPT_IMAGE_2_MODEL, else gpt-image-2). What each offers:\n" +
    `${describeModels()}\nAn id not listed is sent with gpt-image-2's rules and a warning; the ` +
    "API's answer decides",
);

/** Arguments that choose the model and what only some models do. */
export const modelFields = {
  model: modelField.optional(),
  complexity: complexitySchema().optional().describe(
    "Planning effort, independent of quality, on the models that offer it",
  ),
  frame_count: z.number().int().min(2).max(16).optional()
    .describe("GIF only: frames, 2-16 (default 9)"),
  frame_duration_ms: z.number().int().min(10).max(655_350).optional()
    .describe("GIF only: each frame's duration in ms (default 200)"),
  safety_identifier: z.string().min(1).max(256).optional()
    .describe("A stable id of the end user, for OpenAI abuse monitoring"),
};

/** Output settings: size, quality, format and where the file goes. */
export const outputFields = {
  size: sizeField.default("auto"),
  quality: qualityField.default("auto"),
  output_format: formatField.default("png"),
  background: backgroundSchema().optional().describe(
    "transparent: png or webp only, on the models that offer it (see model)",
  ),
  output_compression: z.number().int().min(0).max(100).optional()
    .describe("0-100, jpeg and webp only"),
  moderation: z.enum(MODERATIONS).optional().describe("Content moderation strictness"),
  output_dir: z.string().min(1).max(4096).optional()
    .describe("Folder to save into (absolute, or relative to the server's working directory)"),
  filename_prefix: z.string().max(64).refine((p) => !/[\\/\0]|\.\./.test(p), {
    message: 'must not contain "/", "\\" or ".." (it names a file, not a path)',
  }).optional().describe("Appended to the file name: image-YYYYMMDD-HHMMSS-xxxxxx-<prefix>.png"),
  user: z.string().min(1).max(256).optional()
    .describe("Deprecated: use safety_identifier (sent as safety_identifier)"),
  ...modelFields,
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

/** The parsed shared arguments, as the tools' schemas give them. */
export type OutputArgs = z.output<z.ZodObject<typeof outputFields>> & { prompt: string };

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

/** The model of a call: the argument, else GPT_IMAGE_2_MODEL (itself gpt-image-2 by default). */
export function modelOf(args: { model?: string }, config: Config): string {
  return args.model ?? config.model;
}

/** The request settings for these arguments. */
export function settingsFrom(args: OutputArgs, config: Config, n = 1): ImageSettings {
  // GIF and SVG are never streamed: the configured default of partial images does not apply.
  const still = args.output_format !== "gif" && args.output_format !== "svg";
  return {
    model: modelOf(args, config),
    prompt: args.prompt,
    size: args.size,
    quality: args.quality,
    n,
    background: args.background,
    output_format: args.output_format,
    output_compression: args.output_compression,
    moderation: args.moderation,
    safetyIdentifier: args.safety_identifier ?? args.user,
    complexity: args.complexity,
    frameCount: args.frame_count,
    frameDurationMs: args.frame_duration_ms,
    partialImages: args.partial_images ?? (still ? config.partialImages : 0),
  };
}
