/** Builds the image job of an edit, shared by `edit_image` and the session tools. */

import type { MaskMarks } from "../images/inputs/mask.ts";
import { type EditInputs, type LoadedImage, loadEditInputs } from "../images/inputs/read.ts";
export type { EditInputs };
import { costFromUsage, framesPerImage, responsesEditCost } from "../models.ts";
import type { ImageSettings, UploadFile } from "../openai/images.ts";
import { type ImageJob, prepareImageCall } from "./image_job.ts";
import { type OutputArgs, settingsFrom } from "./image_args.ts";
import { checkAgainstTable, estimateFor, modelNotes } from "./model_plan.ts";
import type { CallContext, ToolContext } from "./tool.ts";

function upload(image: LoadedImage, name: string): UploadFile {
  return {
    bytes: image.bytes,
    name: `${name}.${image.info.format === "jpeg" ? "jpg" : image.info.format}`,
    mimeType: image.info.mimeType,
  };
}

/** An edit's request settings, with `n` lowered to 1 where the Responses route runs it. */
export function editSettings(
  ctx: ToolContext,
  args: OutputArgs,
  n: number,
): { settings: ImageSettings; notes: string[] } {
  const responsesNext = ctx.router.next === "responses";
  const settings = settingsFrom(args, ctx.config, responsesNext ? 1 : n);
  const notes = responsesNext && n > 1
    ? [`n=${n} was lowered to 1: the Responses edit route returns one image per call`]
    : [];
  if (responsesNext && settings.partialImages > 0) {
    notes.push("partial images are not streamed on the Responses route");
    settings.partialImages = 0;
  }
  return { settings, notes };
}

/** The files an edit names besides its images. */
export interface EditSources {
  images: string[];
  mask?: string;
  markup?: string;
  mask_marks?: MaskMarks;
}

/** Refuses an edit the model table says cannot be made; else its warnings. Sends nothing. */
export function checkEdit(settings: ImageSettings, args: EditSources): string[] {
  return checkAgainstTable(settings, "edit", {
    mask: args.mask !== undefined,
    markup: args.markup !== undefined,
  });
}

/** Reads and vets the inputs of an edit, reporting each stage. */
async function readEditInputs(
  ctx: ToolContext,
  call: CallContext,
  args: EditSources,
): Promise<EditInputs> {
  call.progress.stage("Reading input images");
  const inputs = await loadEditInputs(
    { images: args.images, mask: args.mask, markup: args.markup, maskMarks: args.mask_marks },
    { config: ctx.config, signal: call.signal, images: ctx.images },
  );
  const files = inputs.images.length + (inputs.mask || inputs.markup ? 1 : 0);
  call.progress.stage(`Uploading ${files} input file(s)`);
  return inputs;
}

/** Checks the call against the table, the key and output folder, then reads and vets the inputs. */
export async function prepareEdit(
  ctx: ToolContext,
  call: CallContext,
  args: EditSources & { output_dir?: string },
  settings: ImageSettings,
): Promise<{ outputDir: string; inputs: EditInputs; warnings: string[] }> {
  const warnings = checkEdit(settings, args);
  const outputDir = await prepareImageCall(ctx, args.output_dir);
  const inputs = await readEditInputs(ctx, call, args);
  return { outputDir, inputs, warnings: [...warnings, ...inputs.notes] };
}

/** The job for one edit of `inputs` with `args`. */
export function editJob(
  ctx: ToolContext,
  options: {
    args: OutputArgs;
    settings: ImageSettings;
    /** Warnings and notes the result carries. */
    notes: string[];
    inputs: EditInputs;
    outputDir: string;
    stem?: string;
    extra?: Record<string, unknown>;
  },
): ImageJob {
  const { args, inputs, settings } = options;
  const dims = inputs.images.map((i) => i.info);
  const files = {
    images: inputs.images.map((image, i) => upload(image, `image-${i + 1}`)),
    mask: inputs.mask ? upload(inputs.mask, "mask") : undefined,
    markup: inputs.markup ? upload(inputs.markup, "markup") : undefined,
  };
  const estimate = estimateFor(settings, "edit", {
    mask: inputs.mask !== undefined,
    markup: inputs.markup !== undefined,
    inputs: dims,
  });
  return {
    verb: "Edited",
    model: settings.model,
    prompt: args.prompt,
    requested: {
      size: args.size,
      quality: args.quality,
      n: settings.n,
      format: args.output_format,
    },
    outputDir: options.outputDir,
    prefix: args.filename_prefix,
    stem: options.stem,
    inline: args.inline ?? ctx.config.inline,
    partialImages: settings.partialImages,
    estimateUsd: estimate.usd,
    estimateUpperBound: estimate.known ? undefined : estimate.basis,
    notes: options.notes,
    // The model probe runs once the budget holds the call (see runImageJob).
    checkModel: (signal) => modelNotes(ctx.api, settings.model, signal),
    extra: options.extra,
    run: (callOptions) => ctx.router.edit(settings, files, callOptions),
    cost: (answer) =>
      answer.route !== "responses"
        ? costFromUsage(settings.model, answer.usage)
        : responsesEditCost(
          settings.model,
          {
            usage: answer.usage,
            images: answer.images.length,
            size: answer.applied.size ?? settings.size,
            quality: answer.applied.quality ?? settings.quality,
            inputs: dims,
            frames: framesPerImage(
              answer.applied.output_format ?? settings.output_format,
              settings.frameCount,
            ),
          },
        ),
  };
}
