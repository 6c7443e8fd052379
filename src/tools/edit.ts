/** `edit_image`: one to eight reference images (and an optional mask) to new images. */

import { editJob, prepareEdit } from "./edit_job.ts";
import { renderImageResult, runImageJob } from "./image_job.ts";
import { editImageSpec } from "./specs.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

/** The `edit_image` tool. */
export function editImageTool(ctx: ToolContext): ToolDefinition {
  return defineTool({
    ...editImageSpec,
    handler: async (args, call) => {
      const { outputDir, inputs } = await prepareEdit(ctx, call, args);
      const job = editJob(ctx, { args, n: args.n, inputs, outputDir });
      return renderImageResult(job, await runImageJob(ctx, call, job));
    },
  });
}
