/** Builds the image job of an edit, shared by `edit_image` and the session tools. */

import {
  costFromUsage,
  estimateCost,
  imagePrice,
  inputImageTokens,
  roundUsd,
  textCostFromUsage,
  TOKEN_PRICES,
} from "../cost.ts";
import { type LoadedImage, loadEditInputs } from "../images/inputs/read.ts";
import type { UploadFile } from "../openai/images.ts";
import { type ImageJob, prepareImageCall } from "./image_job.ts";
import { type OutputArgs, settingsFrom } from "./image_args.ts";
import type { CallContext, ToolContext } from "./tool.ts";

function upload(image: LoadedImage, name: string): UploadFile {
  return {
    bytes: image.bytes,
    name: `${name}.${image.info.format === "jpeg" ? "jpg" : image.info.format}`,
    mimeType: image.info.mimeType,
  };
}

/** Checks the key and output folder, then reads and vets the inputs, reporting each stage. */
export async function prepareEdit(
  ctx: ToolContext,
  call: CallContext,
  args: { output_dir?: string; images: string[]; mask?: string },
): Promise<{ outputDir: string; inputs: { images: LoadedImage[]; mask?: LoadedImage } }> {
  const outputDir = await prepareImageCall(ctx, args.output_dir);
  call.progress.stage("Reading input images");
  const inputs = await loadEditInputs(args, {
    config: ctx.config,
    signal: call.signal,
    images: ctx.images,
  });
  call.progress.stage(`Uploading ${inputs.images.length + (inputs.mask ? 1 : 0)} input file(s)`);
  return { outputDir, inputs };
}

/** The job for one edit of `inputs` with `args`. */
export function editJob(
  ctx: ToolContext,
  options: {
    args: OutputArgs;
    n: number;
    inputs: { images: LoadedImage[]; mask?: LoadedImage };
    outputDir: string;
    stem?: string;
    extra?: Record<string, unknown>;
  },
): ImageJob {
  const { args, inputs } = options;
  const responsesNext = ctx.router.next === "responses";
  const n = responsesNext ? 1 : options.n;
  const settings = settingsFrom(args, ctx.config, n);
  const dims = inputs.images.map((i) => i.info);
  const notes = responsesNext && options.n > 1
    ? [`n=${options.n} was lowered to 1: the Responses edit route returns one image per call`]
    : [];
  if (responsesNext && settings.partialImages > 0) {
    notes.push("partial images are not streamed on the Responses route");
  }
  const files = {
    images: inputs.images.map((image, i) => upload(image, `image-${i + 1}`)),
    mask: inputs.mask ? upload(inputs.mask, "mask") : undefined,
  };
  return {
    verb: "Edited",
    prompt: args.prompt,
    requested: { size: args.size, quality: args.quality, n, format: args.output_format },
    outputDir: options.outputDir,
    prefix: args.filename_prefix,
    stem: options.stem,
    inline: args.inline ?? ctx.config.inline,
    partialImages: responsesNext ? 0 : settings.partialImages,
    estimateUsd: estimateCost({ ...settings, inputs: dims }),
    notes,
    extra: options.extra,
    run: (callOptions) => ctx.router.edit(settings, files, callOptions),
    cost: (answer) => {
      if (answer.route !== "responses") {
        return { usd: costFromUsage(answer.usage), basis: "from API usage" };
      }
      const inputTokens = dims.reduce((sum, d) => sum + inputImageTokens(d.width, d.height), 0);
      const usd = textCostFromUsage(answer.usage) +
        answer.images.length *
          imagePrice(
            answer.applied.size ?? settings.size,
            answer.applied.quality ?? settings.quality,
          ) +
        inputTokens * TOKEN_PRICES.imageInput / 1e6;
      return {
        usd: roundUsd(usd),
        basis:
          "estimated: host-model tokens + published image price + input images (Responses route)",
      };
    },
  };
}
