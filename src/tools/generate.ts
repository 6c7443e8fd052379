/** `generate_image`: text to image. */

import { costFromUsage } from "../models.ts";
import { generateImages } from "../openai/images.ts";
import { settingsFrom } from "./image_args.ts";
import { type ImageJob, prepareImageCall, renderImageResult, runImageJob } from "./image_job.ts";
import { checkAgainstTable, estimateFor, modelNotes } from "./model_plan.ts";
import { generateImageSpec } from "./specs.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

/** The `generate_image` tool. */
export function generateImageTool(ctx: ToolContext): ToolDefinition {
  return defineTool({
    ...generateImageSpec,
    handler: async (args, call) => {
      const settings = settingsFrom(args, ctx.config, args.n);
      const warnings = checkAgainstTable(settings, "generate");
      const outputDir = await prepareImageCall(ctx, args.output_dir);
      const estimate = estimateFor(settings, "generate");
      const job: ImageJob = {
        verb: "Generated",
        model: settings.model,
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
        estimateUsd: estimate.usd,
        estimateUpperBound: estimate.known ? undefined : estimate.basis,
        notes: warnings,
        checkModel: (signal) => modelNotes(ctx.api, settings.model, signal),
        run: (options) => generateImages(ctx.api, settings, options),
        cost: (answer) => costFromUsage(settings.model, answer.usage),
      };
      return renderImageResult(job, await runImageJob(ctx, call, job));
    },
  });
}
