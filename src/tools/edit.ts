/** `edit_image`: one to eight reference images (and an optional mask) to new images. */

import { z } from "npm:zod@4.6.7";
import { MAX_INPUTS } from "../images/inputs.ts";
import { editJob, prepareEdit } from "./edit_job.ts";
import { compressionRefinement, outputFields, promptField } from "./image_args.ts";
import { runImageJob, WRITES_IMAGES } from "./image_job.ts";
import { imageResultSchema } from "./result_schema.ts";
import { defineTool, type ToolContext, type ToolDefinition } from "./tool.ts";

/** An image source: path, file:// URL, https:// URL or data URL. */
export const imageSource = z.string().min(1).max(70_000_000)
  .describe("Absolute or relative path, file:// URL, https:// URL, or data:image/...;base64, URL");

/** The `images` and `mask` arguments. */
export const editInputFields = {
  images: z.array(imageSource).min(1).max(MAX_INPUTS)
    .describe(`1-${MAX_INPUTS} reference images (PNG, JPEG or WebP, each at most 50 MB)`),
  mask: imageSource.optional()
    .describe(
      "PNG with alpha, under 4 MB, same size as images[0]; transparent pixels mark where to edit",
    ),
};

const inputSchema = z.strictObject({
  prompt: promptField,
  ...editInputFields,
  n: z.number().int().min(1).max(10).default(1).describe(
    "How many images, 1-10 (1 on the Responses route)",
  ),
  ...outputFields,
}).superRefine(compressionRefinement);

/** The `edit_image` tool. */
export function editTools(ctx: ToolContext): ToolDefinition[] {
  return [defineTool({
    name: "edit_image",
    title: "Edit image",
    description:
      "Edit or combine 1-8 reference images (with an optional mask) following a prompt, " +
      "with gpt-image-2. The result is saved to disk and shown inline.",
    inputSchema,
    outputSchema: imageResultSchema,
    annotations: WRITES_IMAGES,
    handler: async (args, call) => {
      const { outputDir, inputs } = await prepareEdit(ctx, call, args);
      return runImageJob(ctx, call, editJob(ctx, { args, n: args.n, inputs, outputDir }));
    },
  })];
}
