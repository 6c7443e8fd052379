/** The path every image call takes: spend check, request, strict decoding, saving, result. */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CallToolResult } from "../deps.ts";
import { type SpendReport, usd } from "../budget.ts";
import type { InlineMode } from "../config.ts";
import { type Usage, usageProblem } from "../cost.ts";
import { createFileAtomic, describeFsError, randomHex } from "../fs_atomic.ts";
import { CORES, Slots } from "../slots.ts";
import {
  imageFilename,
  resolveOutputDir,
  type SavedFile,
  saveImages,
} from "../images/storage/output.ts";
import { inlineImages, type SourceImage } from "../images/preview.ts";
import {
  discardImage,
  imageHead,
  movedTo,
  type ReceivedImage,
} from "../images/storage/received.ts";
import { describeBytes, type ImageFormat, sniffImage } from "../images/codecs/sniff.ts";
import type { ApiImages, ImageCallOptions } from "../openai/images.ts";
import type { CallContext, ToolContext } from "./tool.ts";
import { CancelledError, ToolError } from "../errors.ts";

/**
 * Answers being read, decoded, saved and previewed at once. Beyond one per core this only adds
 * memory: sixteen 1024x1024 answers at once held ~200 MB more at peak. Waiting answers stay in
 * the connection's buffers, and the API's seconds of work overlap freely.
 */
const answerSlots = new Slots(CORES);

/** Annotations of the tools that call the API and write images. */
export const WRITES_IMAGES = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

/** Checks the key, then resolves and vets the call's output folder, before any input is read. */
export async function prepareImageCall(ctx: ToolContext, outputDir?: string): Promise<string> {
  await ctx.api.ready();
  return resolveOutputDir(ctx.config, { project: ctx.project, outputDir });
}

/** What the caller asked for, echoed in the result. */
export interface Requested {
  size: string;
  quality: string;
  n: number;
  format: string;
}

/** One image call, described for `runImageJob`. */
export interface ImageJob {
  verb: "Generated" | "Edited";
  prompt: string;
  requested: Requested;
  outputDir: string;
  prefix?: string;
  /** Fixed file stem (sessions), instead of `image-<time>-<random>`. */
  stem?: string;
  inline: InlineMode;
  estimateUsd: number;
  partialImages: number;
  run: (options: ImageCallOptions) => Promise<ApiImages & { route?: string; fellBack?: boolean }>;
  /** The cost of the answer and how it was worked out. */
  cost: (answer: ApiImages & { route?: string }) => { usd: number; basis: string };
  /** Extra fields for `structuredContent` (session id, turn) and extra summary lines. */
  extra?: Record<string, unknown>;
  notes?: string[];
}

/** The `structuredContent` of every image tool. */
export interface ImageJobResult extends Record<string, unknown> {
  model: string;
  prompt: string;
  route?: string;
  requested: Requested;
  applied: { size?: string; quality?: string; background?: string; output_format?: string };
  images: SavedFile[];
  usage?: Usage;
  cost_usd_estimated: number;
  cost_basis: string;
  spend: SpendReport;
  inline: {
    mode: InlineMode;
    images: { mime_type: string; width: number; height: number; bytes: number; kind: string }[];
  };
  warnings: string[];
}

function checkImages(
  images: readonly (ReceivedImage | undefined)[],
  format: ImageFormat,
): SourceImage[] {
  if (images.length === 0) throw new ToolError("OpenAI returned no image.");
  return images.map((image, i) => {
    if (!image) {
      throw new ToolError(`OpenAI returned image ${i + 1} as invalid base64; nothing was saved.`);
    }
    const head = imageHead(image);
    const info = sniffImage(head);
    if (!info || info.format !== format) {
      throw new ToolError(
        `OpenAI returned image ${i + 1} that is not a valid ${format.toUpperCase()} image ` +
          `(${info ? `it is ${info.format}` : describeBytes(head)}); nothing was saved.`,
      );
    }
    return { image, info };
  });
}

/** `checkImages`, and when they fail, the error says the call was billed and recorded anyway. */
async function checkBilledImages(
  answer: ApiImages,
  format: ImageFormat,
  bill: { usd: number; spending: Promise<SpendReport> },
): Promise<SourceImage[]> {
  try {
    return checkImages(answer.images, (answer.applied.output_format as ImageFormat) ?? format);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    const { spent_usd, ledger_error } = await bill.spending;
    throw new ToolError(
      spent_usd === undefined
        ? `${error.message} The call was billed (${usd(bill.usd)}). ${ledger_error}`
        : `${error.message} The call was billed: ${usd(bill.usd)} is recorded against the ` +
          `spend ledger (spent so far ${usd(spent_usd)}).`,
    );
  }
}

/**
 * Keeps the first `n` images of `answer` (what was asked for) and discards the rest: an answer
 * with more is not the caller's to pay disk for. Returns how many the answer had beyond `n`.
 */
async function keepRequested(answer: ApiImages, n: number): Promise<number> {
  const extra = answer.images.splice(n);
  await Promise.all(extra.map(discardImage));
  return (answer.dropped ?? 0) + extra.length;
}

/**
 * Saves each partial image of the current attempt under a name of its own; a retry removes the
 * partials of the attempt that failed. A partial is progress, not the paid result, so one that
 * cannot be written is a note, never the call's failure.
 */
class Partials {
  readonly paths: string[] = [];
  readonly notes: string[] = [];
  #attempt = 1;
  #removing: Promise<unknown> = Promise.resolve();

  constructor(readonly job: ImageJob, readonly format: ImageFormat) {}

  /** A new attempt starts: the partials of the last one show a picture that is not coming. */
  retrying(attempt: number): void {
    this.#attempt = attempt;
    this.#removing = Promise.all([this.#removing, ...this.paths.splice(0).map(removeQuietly)]);
  }

  /** Saves partial image `index` of the current attempt; its path, or undefined with a note. */
  async save(bytes: Uint8Array, index: number): Promise<string | undefined> {
    await this.#removing;
    const { job } = this;
    const label = `partial${index + 1}${this.#attempt > 1 ? `-attempt${this.#attempt}` : ""}`;
    for (let tries = 0;; tries++) {
      // A fixed stem (sessions) may meet a file another process left: then a random suffix.
      const prefix = tries === 0 ? label : `${label}-${randomHex()}`;
      const path = join(job.outputDir, imageFilename({ ext: this.format, stem: job.stem, prefix }));
      try {
        await createFileAtomic(path, bytes);
        this.paths.push(path);
        return path;
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists && tries < 5) continue;
        this.notes.push(
          `partial image ${index + 1} was not kept: could not write it in ${job.outputDir} ` +
            `(${describeFsError(error)})`,
        );
        return undefined;
      }
    }
  }

  /** Removes every partial (the call failed), once earlier removals are done. */
  async removeAll(): Promise<void> {
    this.retrying(this.#attempt);
    await this.#removing;
  }

  /** Waits for removals still under way. */
  settled(): Promise<unknown> {
    return this.#removing;
  }
}

function removeQuietly(path: string): Promise<void> {
  return Deno.remove(path).catch(() => {});
}

function megabytes(bytes: number): string {
  return bytes >= 1_000_000
    ? `${(bytes / 1_000_000).toFixed(1)} MB`
    : `${Math.round(bytes / 1000)} KB`;
}

/** Runs one image call end to end and renders its result. */
export async function runImageJob(
  ctx: ToolContext,
  call: CallContext,
  job: ImageJob,
): Promise<CallToolResult> {
  const { progress, signal } = call;
  const reservation = await ctx.ledger.reserve(job.estimateUsd);
  const format = job.requested.format as ImageFormat;
  const partials = new Partials(job, format);
  let answerHeld: (() => void) | undefined;
  let answer: Awaited<ReturnType<ImageJob["run"]>> | undefined;
  try {
    progress.stage(
      `Request sent to OpenAI (${ctx.config.model}, estimated ${usd(job.estimateUsd)})`,
    );
    const { n, size, quality } = job.requested;
    call.log.info(
      `request sent to OpenAI: ${job.verb === "Generated" ? "generate" : "edit"} ${n} ` +
        `image${n === 1 ? "" : "s"}, size ${size}, quality ${quality}`,
    );
    progress.startHeartbeat();
    answer = await job.run({
      signal,
      keepBase64: job.inline === "full",
      spillDir: job.outputDir,
      answerSlot: async () => {
        const slot = await answerSlots.acquire();
        answerHeld = slot;
        return slot;
      },
      maxImages: job.requested.n,
      onRetry: ({ attempt, waitMs, reason }) => {
        partials.retrying(attempt);
        progress.stage(`${reason}; retry ${attempt} in ${waitMs} ms`);
      },
      onPartial: async (bytes, index) => {
        if (!bytes || signal.aborted) return;
        const path = await partials.save(bytes, index);
        if (path) {
          progress.stage(`Partial image ${index + 1} of ${job.partialImages} saved: ${path}`);
        }
      },
    });
    progress.stop();
    // The API answered, so the call is billed whatever its images turn out to be: the spend is
    // recorded before they are checked, and alongside saving them.
    // Usage no call can have (negative, not a number, absurd) is unknown: the estimate is charged.
    const badUsage = usageProblem(answer.usage);
    const { usd: cost, basis } = badUsage
      ? { usd: job.estimateUsd, basis: `pre-flight estimate: ${badUsage}` }
      : job.cost(answer);
    const spending = ctx.ledger.record(cost, reservation);
    const dropped = await keepRequested(answer, job.requested.n);
    if (signal.aborted) {
      await spending;
      throw new CancelledError();
    }
    const sources = await checkBilledImages(answer, format, { usd: cost, spending });
    progress.stage("Saving");
    const saving = saveImages(
      job.outputDir,
      sources.map((s) => ({
        image: s.image,
        mimeType: s.info.mimeType,
        ext: s.info.format,
        stem: job.stem,
      })),
      job.prefix,
    );
    // Both settle before the call answers: a failed save must not return while the ledger's
    // temporary file is still being written beside it.
    await Promise.allSettled([saving, spending]);
    const [saved, spend] = await Promise.all([saving, spending]);
    for (const file of saved) {
      call.log.info(`saved ${file.file_path} (${megabytes(file.size_bytes)})`);
    }
    ctx.images.changed();
    call.log.info(
      `cost: ${usd(cost)} (${basis}); spent ${
        spend.spent_usd === undefined ? "unknown" : usd(spend.spent_usd)
      }`,
    );
    // The images are saved and paid for: from here on, nothing turns the call into an error.
    const inline = await inlineImages(
      sources.map((s, i) => ({ ...s, image: movedTo(s.image, saved[i].file_path) })),
      { mode: job.inline, budgetBytes: ctx.config.inlineMaxBytes },
    ).catch((error) => ({
      images: [],
      notes: [
        `the images are not shown inline (${(error as Error)?.message ?? error}); open the files`,
      ],
    }));
    for (const note of inline.notes) ctx.log.warning(note);
    const warnings = [...(job.notes ?? []), ...partials.notes, ...inline.notes];
    if (dropped > 0) {
      warnings.push(
        `OpenAI returned ${saved.length + dropped} images for n=${job.requested.n}; the ` +
          `${dropped} beyond what was asked for were dropped and not saved`,
      );
    }
    if (badUsage) {
      warnings.push(
        `OpenAI's usage is not usable (${badUsage}); the pre-flight estimate is charged`,
      );
    }
    if (spend.ledger_error) warnings.push(spend.ledger_error);
    if (answer.fellBack) {
      warnings.push(
        "/v1/images/edits rejected the model; this and later edits use the Responses route",
      );
    }
    const structured: ImageJobResult = {
      model: ctx.config.model,
      prompt: job.prompt,
      ...(answer.route ? { route: answer.route } : {}),
      requested: job.requested,
      applied: answer.applied,
      images: saved,
      ...(answer.usage && !badUsage ? { usage: answer.usage } : {}),
      cost_usd_estimated: cost,
      cost_basis: basis,
      spend,
      inline: {
        mode: job.inline,
        images: inline.images.map((i) => ({
          mime_type: i.mimeType,
          width: i.width,
          height: i.height,
          bytes: i.bytes,
          kind: i.kind,
        })),
      },
      warnings,
      ...job.extra,
    };
    return {
      content: [
        ...inline.images.map((i) => ({
          type: "image" as const,
          data: i.data,
          mimeType: i.mimeType,
        })),
        ...saved.map((f) => ({
          type: "resource_link" as const,
          // image:// when resources/read serves it; a file outside the store keeps its path.
          uri: ctx.images.uriOf(f.file_path) ?? pathToFileURL(f.file_path).href,
          name: f.filename,
          mimeType: f.mime_type,
          size: f.size_bytes,
          description: `Saved image (${megabytes(f.size_bytes)})`,
        })),
        { type: "text" as const, text: summary(structured, job, sources) },
      ],
      structuredContent: structured,
    };
  } catch (error) {
    await partials.removeAll();
    throw signal.aborted ? new CancelledError() : error;
  } finally {
    await partials.settled();
    // The decoded images are saved and their inline blocks built: their memory goes back now,
    // and temporary files that were not saved go.
    await Promise.all((answer?.images ?? []).map(discardImage));
    answerHeld?.();
    progress.stop();
    await reservation.release();
  }
}

function summary(result: ImageJobResult, job: ImageJob, sources: readonly SourceImage[]): string {
  const a = result.applied;
  const u = result.usage;
  const lines = [
    `${job.verb} ${result.images.length} image(s) with ${result.model}${
      result.route ? ` (route: ${result.route})` : ""
    }.`,
    ...result.images.map((f, i) =>
      `Saved: ${f.file_path} (${megabytes(f.size_bytes)}, ${sources[i].info.width}x${
        sources[i].info.height
      } ${f.mime_type})`
    ),
    `Applied: size ${a.size ?? result.requested.size}, quality ${
      a.quality ?? result.requested.quality
    }, ` +
    `background ${a.background ?? "auto"}, format ${a.output_format ?? result.requested.format}`,
  ];
  if (u) {
    lines.push(
      `Tokens: input ${u.input_tokens ?? 0}, output ${u.output_tokens ?? 0}, total ${
        u.total_tokens ?? 0
      }`,
    );
  }
  const s = result.spend;
  lines.push(
    `Estimated cost: ${usd(result.cost_usd_estimated)} (${result.cost_basis}); ` +
      (s.spent_usd === undefined
        ? "spent so far unknown: the spend ledger did not record this call"
        : `spent so far ${usd(s.spent_usd)}${
          s.budget_usd !== undefined
            ? ` of $${s.budget_usd} budget, ${usd(s.remaining_usd!)} remaining`
            : ""
        }`),
  );
  for (const i of result.inline.images) {
    if (i.kind === "preview") {
      lines.push(
        `Inline: ${i.width}x${i.height} JPEG preview (${
          megabytes(i.bytes)
        }); the file on disk is the full original.`,
      );
    }
  }
  for (const key of ["session_id", "turn"]) {
    if (job.extra?.[key] !== undefined) lines.push(`${key}: ${job.extra[key]}`);
  }
  lines.push(...result.warnings.map((w) => `Note: ${w}`));
  return lines.join("\n");
}
