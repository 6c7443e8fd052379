/** `generate_image`: text to image. */

import { costFromUsage, estimateCost } from "../cost.ts";
import { generateImages } from "../openai/images.ts";
import { settingsFrom } from "./image_args.ts";
import { type ImageJob, prepareImageCall, renderImageResult, runImageJob } from "./image_job.ts";
import { generateImageSpec } from "./specs.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

/** The `generate_image` tool. */
export function generateImageTool(ctx: ToolContext): ToolDefinition {
  return defineTool({
    ...generateImageSpec,
    handler: async (args, call) => {
      const outputDir = await prepareImageCall(ctx, args.output_dir);
      const settings = settingsFrom(args, ctx.config, args.n);
      const job: ImageJob = {
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
      };
      return renderImageResult(job, await runImageJob(ctx, call, job));
    },
  });
}
