/**
 * The tools as clients see them: names, descriptions, argument and result schemas, hints.
 * This module loads at start, light on purpose: the SDK lists these schemas and checks every
 * call's arguments against them, while the handlers and what they need load on first use.
 *
 * @module
 */

import { z } from "../deps.ts";
import { MAX_INPUTS } from "../images/inputs/limits.ts";
import {
  compressionRefinement,
  formatField,
  outputFields,
  promptField,
  qualityField,
  sizeField,
} from "./image_args.ts";
import { imageResultSchema, sessionImageResultSchema } from "./result_schema.ts";
import type { ToolSpec } from "./tool.ts";
import { VIEWER_TOOL_META } from "../app/meta.ts";
import { sessionImagesSpec } from "../app/tool_spec.ts";

/** The hints of a tool that writes image files and calls the API. */
export const WRITES_IMAGES = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

/** An image source: path, file:// URL, https:// URL, image:// URI or data URL. */
export const imageSource = z.string().min(1).max(70_000_000)
  .describe(
    "Absolute or relative path, file:// URL, https:// URL, image:// URI of a saved image " +
      "(as results link them), or data:image/...;base64, URL " +
      "(a whole request stays under 16 MB, so large images go as paths or URLs)",
  );

/** `mask_marks`: which colour of a black-and-white mask marks the area to edit. */
const maskMarksField = z.enum(["white", "black"]).optional().describe(
  "For a black-and-white mask without transparency: the colour that marks the area to edit. " +
    "The server converts it to an alpha mask (that colour becomes transparent) before upload",
);

/** `markup`: marks drawn on a transparent PNG to guide an edit. */
const markupField = imageSource.optional().describe(
  "Transparent PNG of images[0]'s size with marks drawn where to change; not with mask; on " +
    "the models that take markup (see model)",
);

/** The `images`, `mask`, `mask_marks` and `markup` arguments. */
export const editInputFields = {
  images: z.array(imageSource).min(1).max(MAX_INPUTS)
    .describe(`1-${MAX_INPUTS} reference images (PNG, JPEG or WebP, each at most 50 MB)`),
  mask: imageSource.optional()
    .describe(
      "PNG with alpha, under 4 MB, same size as images[0]; fully transparent pixels mark where " +
        "to edit (a black-and-white mask needs mask_marks)",
    ),
  mask_marks: maskMarksField,
  markup: markupField,
};

const sessionId = z.string().min(1).max(200).describe("The id start_edit_session returned");

const { output_dir: _dir, size: _size, quality: _quality, output_format: _format, ...turnFields } =
  outputFields;

/** One session as the session tools report it. */
export const sessionSummarySchema = z.object({
  session_id: z.string(),
  created: z.string(),
  updated: z.string(),
  turns: z.number(),
  last_prompt: z.string(),
  last_image: z.string(),
  output_dir: z.string(),
});

/** `generate_image`: text to image. */
export const generateImageSpec = {
  name: "generate_image",
  title: "Generate image",
  description: "Generate images from a text prompt with a GPT Image model (model; default " +
    "gpt-image-2). Each image is saved to disk and shown inline; the result gives the file " +
    "path, applied settings, token usage and cost.",
  inputSchema: z.strictObject({
    prompt: promptField,
    n: z.number().int().min(1).max(10).default(1).describe("How many images, 1-10"),
    ...outputFields,
  }).superRefine(compressionRefinement),
  outputSchema: imageResultSchema,
  annotations: WRITES_IMAGES,
  _meta: VIEWER_TOOL_META,
} satisfies ToolSpec;

/** `edit_image`: one to eight reference images (and an optional mask) to new images. */
export const editImageSpec = {
  name: "edit_image",
  title: "Edit image",
  description: "Edit or combine 1-8 reference images (with an optional mask or markup image) " +
    "following a prompt, with a GPT Image model (model; default gpt-image-2). The result is " +
    "saved to disk and shown inline.",
  inputSchema: z.strictObject({
    prompt: promptField,
    ...editInputFields,
    n: z.number().int().min(1).max(10).default(1).describe(
      "How many images, 1-10 (1 on the Responses route)",
    ),
    ...outputFields,
  }).superRefine(compressionRefinement),
  outputSchema: imageResultSchema,
  annotations: WRITES_IMAGES,
  _meta: VIEWER_TOOL_META,
} satisfies ToolSpec;

/** `start_edit_session`: the first edit of an iterative session. */
export const startEditSessionSpec = {
  name: "start_edit_session",
  title: "Start edit session",
  description:
    "Begin an iterative edit: a first edit of 1-8 images. Returns session_id and turn 1; " +
    "continue_edit_session then refines the latest image. The session keeps its model and " +
    "settings. Sessions survive a server restart.",
  inputSchema: z.strictObject({
    prompt: promptField,
    ...editInputFields,
    ...outputFields,
  }).superRefine(compressionRefinement),
  outputSchema: sessionImageResultSchema,
  annotations: WRITES_IMAGES,
  _meta: VIEWER_TOOL_META,
} satisfies ToolSpec;

/** `continue_edit_session`: another turn on a session's latest image. */
export const continueEditSessionSpec = {
  name: "continue_edit_session",
  title: "Continue edit session",
  description: "Apply another refinement to a session: its latest image becomes the input. " +
    "Optionally change model, size, quality or format for this and later turns.",
  inputSchema: z.strictObject({
    session_id: sessionId,
    prompt: promptField,
    mask: imageSource.optional().describe(
      "PNG mask for this turn, same size as the previous image",
    ),
    mask_marks: maskMarksField,
    markup: markupField,
    size: sizeField.optional().describe("New size for this and later turns"),
    quality: qualityField.optional(),
    output_format: formatField.optional(),
    ...turnFields,
  }).superRefine(compressionRefinement),
  outputSchema: sessionImageResultSchema,
  annotations: WRITES_IMAGES,
  _meta: VIEWER_TOOL_META,
} satisfies ToolSpec;

/** `end_edit_session`. */
export const endEditSessionSpec = {
  name: "end_edit_session",
  title: "End edit session",
  description: "End an edit session. Its images stay on disk.",
  inputSchema: z.strictObject({ session_id: sessionId }),
  outputSchema: sessionSummarySchema,
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
} satisfies ToolSpec;

/** `list_edit_sessions`. */
export const listEditSessionsSpec = {
  name: "list_edit_sessions",
  title: "List edit sessions",
  description: "List open edit sessions, most recently used first.",
  inputSchema: z.strictObject({}),
  outputSchema: z.object({ sessions: z.array(sessionSummarySchema) }),
  annotations: { readOnlyHint: true, openWorldHint: false },
} satisfies ToolSpec;

/** Every tool, in the order `tools/list` gives them. */
/** The longest wait of one `get_image_job` call: under the ~60 s cap of the strictest clients. */
export const MAX_WAIT_S = 50;

/** The `structuredContent` of a job's status. */
export const jobStatusSchema = z.object({
  job_id: z.string(),
  tool: z.string().describe("The tool whose call the job runs"),
  status: z.enum(["running", "completed", "failed", "cancelled", "lost"]).describe(
    "lost: the server process running it stopped before it ended",
  ),
  elapsed_s: z.number().describe("Seconds since the call started, or until it ended"),
  progress: z.string().optional().describe("The last progress message"),
  error: z.string().optional().describe("Why it failed, was cancelled or was lost"),
  cancel_requested: z.boolean().optional(),
});

const jobId = z.string().min(1).max(200).describe("The job_id a detached call returned");

/** `get_image_job`: a detached call's result, or its status while it runs. */
export const getImageJobSpec = {
  name: "get_image_job",
  title: "Get image job",
  description: "Wait for a detached image call (a result with job_id and status " +
    '"running") and return its result exactly as the original tool would have: the ' +
    "inline image, the file links and structuredContent. While it still runs, returns " +
    "its status and progress; call again until it ends.",
  inputSchema: z.strictObject({
    job_id: jobId,
    wait_s: z.number().min(0).max(MAX_WAIT_S).optional().describe(
      `Seconds to wait for the job to end, 0-${MAX_WAIT_S} (default and upper bound: ` +
        `GPT_IMAGE_2_DETACH_AFTER_S, so this call ends before client time limits)`,
    ),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  _meta: VIEWER_TOOL_META,
} satisfies ToolSpec;

/** `cancel_image_job`: aborts a detached call. */
export const cancelImageJobSpec = {
  name: "cancel_image_job",
  title: "Cancel image job",
  description: "Cancel a detached image call: its API request is aborted, nothing is " +
    "saved and its budget reservation is released. A finished job is left as it is.",
  inputSchema: z.strictObject({ job_id: jobId }),
  outputSchema: jobStatusSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
} satisfies ToolSpec;

export const TOOL_SPECS: readonly ToolSpec[] = [
  generateImageSpec,
  editImageSpec,
  startEditSessionSpec,
  continueEditSessionSpec,
  endEditSessionSpec,
  listEditSessionsSpec,
  getImageJobSpec,
  cancelImageJobSpec,
  sessionImagesSpec,
];

/** Whether a tool's plain calls may detach: the ones that call the API, which take minutes. */
export function detaches(spec: ToolSpec): boolean {
  return spec.annotations?.openWorldHint === true;
}

/**
 * The output schema a tool lists: a detaching tool answers with its own result or, when it
 * detaches, a running job's status.
 */
export function listedOutputSchema(spec: ToolSpec, detachAfterMs: number): z.ZodType | undefined {
  if (!spec.outputSchema || !detaches(spec) || detachAfterMs === 0) return spec.outputSchema;
  return z.union([spec.outputSchema, jobStatusSchema]);
}
