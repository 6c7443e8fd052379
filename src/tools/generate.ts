/** `generate_image`: text to image. */

import { z } from "npm:zod@4.6.7";
import { costFromUsage, estimateCost } from "../cost.ts";
import { generateImages } from "../openai/images.ts";
import { compressionRefinement, outputFields, promptField, settingsFrom } from "./image_args.ts";
import { prepareImageCall, runImageJob, WRITES_IMAGES } from "./image_job.ts";
import { imageResultSchema } from "./result_schema.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

const inputSchema = z.strictObject({
  prompt: promptField,
  n: z.number().int().min(1).max(10).default(1).describe("How many images, 1-10"),
  ...outputFields,
}).superRefine(compressionRefinement);

/** The `generate_image` tool. */
export function generateTools(ctx: ToolContext): ToolDefinition[] {
  return [defineTool({
    name: "generate_image",
    title: "Generate image",
    description:
      "Generate images from a text prompt with gpt-image-2. Each image is saved to disk " +
      "and shown inline; the result gives the file path, applied settings, token usage and cost.",
    inputSchema,
    outputSchema: imageResultSchema,
    annotations: WRITES_IMAGES,
    handler: async (args, call) => {
      const outputDir = await prepareImageCall(ctx, args.output_dir);
      const settings = settingsFrom(args, ctx.config, args.n);
      return runImageJob(ctx, call, {
        verb: "Generated",
        prompt: args.prompt,
        requested: {
          size: args.size,
          quality: args.quality,
          n: args.n,
          format: args.output_format,
        },
        outputDir,
        prefix: args.filename_prefix,
        inline: args.inline ?? ctx.config.inline,
        partialImages: settings.partialImages,
        estimateUsd: estimateCost({ ...settings, partialImages: settings.partialImages }),
        run: (options) => generateImages(ctx.api, settings, options),
        cost: (answer) => ({ usd: costFromUsage(answer.usage), basis: "from API usage" }),
      });
    },
  })];
}
