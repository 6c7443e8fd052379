/** `edit_image`: reference images (and an optional mask or markup image) to new images. */

import { editJob, editSettings, prepareEdit } from "./edit_job.ts";
import { renderImageResult, runImageJob } from "./image_job.ts";
import { editImageSpec } from "./specs.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

/** The `edit_image` tool. */
export function editImageTool(ctx: ToolContext): ToolDefinition {
  return defineTool({
    ...editImageSpec,
    handler: async (args, call) => {
      const { settings, notes } = editSettings(ctx, args, args.n);
      const { outputDir, inputs, warnings } = await prepareEdit(ctx, call, args, settings);
      const job = editJob(ctx, {
        args,
        settings,
        notes: [...notes, ...warnings],
        inputs,
        outputDir,
      });
      return renderImageResult(job, await runImageJob(ctx, call, job));
    },
  });
}
