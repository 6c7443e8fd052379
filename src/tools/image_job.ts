/** The path every image call takes: spend check, request, strict decoding, saving, result. */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CallToolResult, z } from "../deps.ts";
import type { imageResultSchema } from "./result_schema.ts";
import { type SpendReport, usd } from "../budget.ts";
import type { InlineMode } from "../config.ts";
import { usageProblem } from "../usage.ts";
import { createFileAtomic, describeFsError, randomHex } from "../fs_atomic.ts";
import { CORES, Slots } from "../slots.ts";
import {
  imageFilename,
  resolveOutputDir,
  saveImages,
  timestamp,
} from "../images/storage/output.ts";
import { type InlineImage, inlineImages, type SourceImage } from "../images/preview.ts";
import { type ImagePayload, releaseAll, SpillFile } from "../images/storage/received.ts";
import { describeBytes } from "../images/codecs/sniff.ts";
import { type ResultFormat, sniffResult } from "../images/codecs/result_sniff.ts";
import type { ApiImages, ImageCallOptions } from "../openai/images.ts";
import type { ImageReceiver } from "../openai/image_json.ts";
import type { RouteName } from "../openai/edit_route.ts";
import type { CallContext, ToolContext } from "./tool.ts";
import { CancelledError, ToolError } from "../errors.ts";

/**
 * Jobs whose answers are being read, decoded, saved and previewed at once. The work is CPU-bound,
 * so beyond one per core it only adds memory. A job takes its slot when an answer starts to
 * arrive and gives it back when it ends, or when that answer breaks and the call is retried (the
 * next answer takes one again): waiting answers stay in the connection's buffers, and the API's
 * seconds of work and a retry's backoff hold no slot.
 */
export const answerSlots: Slots = new Slots(CORES);

/** Annotations of the tools that call the API and write images. */
export const WRITES_IMAGES = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

/** Checks the key, then resolves and vets the call's output folder, before any input is read. */
export async function prepareImageCall(ctx: ToolContext, outputDir?: string): Promise<string> {
  await ctx.api.ready();
  return resolveOutputDir(ctx.config, { project: ctx.project, outputDir });
}

/** What the caller asked for, echoed in the result. */
export type Requested = ImageJobResult["requested"];

/** One image call, described for `runImageJob`. */
export interface ImageJob {
  verb: "Generated" | "Edited";
  /** The image model the call uses. */
  model: string;
  prompt: string;
  requested: Requested;
  outputDir: string;
  prefix?: string;
  /** Fixed file stem (sessions), instead of `image-<time>-<random>`. */
  stem?: string;
  inline: InlineMode;
  estimateUsd: number;
  /**
   * Asks the API about the model (`GET /v1/models/{id}`, once per process) after the budget
   * reservation: throws when the key cannot use it, else returns warnings for the result.
   */
  checkModel?: (signal: AbortSignal) => Promise<string[]>;
  /** Set when the estimate is an upper bound (a price the table lacks): what it rests on. */
  estimateUpperBound?: string;
  partialImages: number;
  run: (
    options: ImageCallOptions,
  ) => Promise<ApiImages & { route?: RouteName; fellBack?: boolean }>;
  /** The cost of the answer and how it was worked out. */
  cost: (answer: ApiImages & { route?: RouteName }) => { usd: number; basis: string };
  /** Extra fields for `structuredContent` (session id, turn) and extra summary lines. */
  extra?: Record<string, unknown>;
  notes?: string[];
}

/**
 * The `structuredContent` of every image tool, as its output schema describes it, with the
 * job's extra fields (a session's id and turn).
 */
export type ImageJobResult = z.infer<typeof imageResultSchema> & Record<string, unknown>;

async function checkImages(
  images: readonly (ImagePayload | undefined)[],
  format: ResultFormat,
): Promise<SourceImage[]> {
  if (images.length === 0) throw new ToolError("OpenAI returned no image.");
  return await Promise.all(images.map(async (image, i) => {
    if (!image) {
      throw new ToolError(`OpenAI returned image ${i + 1} as invalid base64; nothing was saved.`);
    }
    const info = image.info ?? await sniffResult(image.head, () => image.bytes());
    if (!info || info.format !== format) {
      throw new ToolError(
        `OpenAI returned image ${i + 1} that is not a valid ${format.toUpperCase()} image ` +
          `(${info ? `it is ${info.format}` : describeBytes(image.head)}); nothing was saved.`,
      );
    }
    return { image, info };
  }));
}

/** `checkImages`, and when they fail, the error says the call was billed and recorded anyway. */
async function checkBilledImages(
  answer: ApiImages,
  format: ResultFormat,
  bill: { usd: number; spending: Promise<SpendReport> },
): Promise<SourceImage[]> {
  try {
    return await checkImages(
      answer.images,
      (answer.applied.output_format as ResultFormat) ?? format,
    );
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
  await releaseAll(extra);
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

  constructor(
    readonly job: ImageJob,
    readonly format: ResultFormat,
    readonly stem: string | undefined,
  ) {}

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
      const path = join(
        job.outputDir,
        imageFilename({ ext: this.format, stem: this.stem, prefix }),
      );
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

/** What one image call produced: its structured result and what is shown beside it. */
export interface ImageOutcome {
  result: ImageJobResult;
  /** The inline image blocks, already encoded. */
  inline: InlineImage[];
  /** SVG files' text, embedded as resources (SVG is not rasterised for an inline image). */
  embedded: { uri: string; text: string }[];
  /** Width and height of each saved image, in the order of `result.images`. */
  dimensions: { width: number; height: number }[];
  /**
   * The URI each saved image is linked by, in the same order: `image://` when resources/read
   * serves it, the file's `file://` URL when it was saved outside the store.
   */
  uris: string[];
  /**
   * How the summary names each saved image: its path, or over HTTP (a confined root) its URI,
   * since a remote caller has no access to the server's disk.
   */
  locations: string[];
}

/**
 * Runs one image call end to end: spend check, request, checking, saving, recording the cost and
 * the inline previews. The images are saved and paid for when it returns.
 */
export async function runImageJob(
  ctx: ToolContext,
  call: CallContext,
  job: ImageJob,
): Promise<ImageOutcome> {
  const { progress, signal } = call;
  const reservation = await ctx.ledger.reserve(job.estimateUsd).catch((error) => {
    if (!(error instanceof ToolError) || !job.estimateUpperBound) throw error;
    throw new ToolError(
      `${error.message} The estimate is an upper bound, since a price is unknown ` +
        `(${job.estimateUpperBound}).`,
    );
  });
  const format = job.requested.format as ResultFormat;
  // With partials on, the name is chosen up front, so each partial carries the final image's stem.
  const stem = job.stem ??
    (job.partialImages > 0 ? `image-${timestamp()}-${randomHex()}` : undefined);
  const partials = new Partials(job, format, stem);
  let slot: Promise<() => void> | undefined;
  /** Gives the slot back, if one is held or asked for: the answer being read is done with. */
  const releaseSlot = async () => {
    const held = slot;
    slot = undefined;
    (await held)?.();
  };
  let answer: Awaited<ReturnType<ImageJob["run"]>> | undefined;
  const receiver: ImageReceiver = {
    maxImages: job.requested.n,
    keepBase64: job.inline === "full",
    // In the output folder, so that saving moves the file instead of copying it.
    spillTarget: () => new SpillFile(job.outputDir),
    reading: async () => {
      slot ??= answerSlots.acquire();
      await slot;
    },
    partial: async (bytes, index) => {
      if (signal.aborted) return;
      const path = await partials.save(bytes, index);
      if (path) {
        progress.stage(`Partial image ${index + 1} of ${job.partialImages} saved: ${path}`);
      }
    },
  };
  try {
    // Once the budget holds the call: a call the budget refuses reaches no API at all.
    const modelNotes = job.checkModel ? await job.checkModel(signal) : [];
    progress.stage(
      `Request sent to OpenAI (${job.model}, estimated ${usd(job.estimateUsd)})`,
    );
    const { n, size, quality } = job.requested;
    call.log.info(
      `request sent to OpenAI: ${job.verb === "Generated" ? "generate" : "edit"} ${n} ` +
        `image${n === 1 ? "" : "s"}, size ${size}, quality ${quality}`,
    );
    progress.startHeartbeat();
    answer = await job.run({
      signal,
      receiver,
      onRetry: ({ attempt, waitMs, reason }) => {
        // The failed attempt's answer is done with; the next one takes a slot as it arrives.
        void releaseSlot();
        partials.retrying(attempt);
        progress.stage(`${reason}; retry ${attempt} in ${waitMs} ms`);
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
        stem,
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
    const inline = await inlineImages(sources, {
      mode: job.inline,
      budgetBytes: ctx.config.inlineMaxBytes,
    }).catch((error) => ({
      images: [],
      notes: [
        `the images are not shown inline (${(error as Error)?.message ?? error}); open the files`,
      ],
    }));
    for (const note of inline.notes) ctx.log.warning(note);
    const warnings = [...(job.notes ?? []), ...modelNotes, ...partials.notes, ...inline.notes];
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
    const uris = saved.map((f) => ctx.images.uriOf(f.file_path) ?? pathToFileURL(f.file_path).href);
    // SVG is text: it is embedded as a resource, since this server does not rasterise it.
    const embedded = job.inline === "none" ? [] : await Promise.all(
      sources.flatMap((source, i) =>
        source.info.format === "svg"
          ? [
            source.image.bytes().then((b) => ({ uri: uris[i], text: new TextDecoder().decode(b) })),
          ]
          : []
      ),
    ).catch(() => []);
    if (embedded.length > 0) {
      warnings.push(
        "SVG is not rasterised by this server: the SVG text is embedded as a resource instead " +
          "of an inline image; the file is the SVG",
      );
    }
    const result: ImageJobResult = {
      model: job.model,
      prompt: job.prompt,
      ...(answer.route ? { route: answer.route } : {}),
      requested: job.requested,
      applied: answer.applied,
      images: saved,
      ...(answer.usage && !badUsage ? { usage: { ...answer.usage } } : {}),
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
      result,
      inline: inline.images,
      embedded,
      dimensions: sources.map(({ info }) => ({ width: info.width, height: info.height })),
      uris,
      locations: ctx.config.confinedRoot ? uris : saved.map((f) => f.file_path),
    };
  } catch (error) {
    await partials.removeAll();
    throw signal.aborted ? new CancelledError() : error;
  } finally {
    await partials.settled();
    // The images are saved and their inline blocks built: their memory goes back now, and
    // temporary files that were not saved go.
    await releaseAll(answer?.images ?? []);
    await releaseSlot();
    progress.stop();
    await reservation.release();
  }
}

/** The tool result of an image call: inline images, links to the files, a summary, the record. */
export function renderImageResult(job: ImageJob, outcome: ImageOutcome): CallToolResult {
  const { result, inline, uris } = outcome;
  return {
    content: [
      ...inline.map((i) => ({ type: "image" as const, data: i.data, mimeType: i.mimeType })),
      ...result.images.map((f, i) => ({
        type: "resource_link" as const,
        uri: uris[i],
        name: f.filename,
        mimeType: f.mime_type,
        size: f.size_bytes,
        description: `Saved image (${megabytes(f.size_bytes)})`,
      })),
      ...outcome.embedded.map((e) => ({
        type: "resource" as const,
        resource: { uri: e.uri, mimeType: "image/svg+xml", text: e.text },
      })),
      { type: "text" as const, text: summary(job, outcome) },
    ],
    structuredContent: result,
  };
}

function summary(job: ImageJob, { result, dimensions, locations }: ImageOutcome): string {
  const a = result.applied;
  const u = result.usage;
  const lines = [
    `${job.verb} ${result.images.length} image(s) with ${result.model}${
      result.route ? ` (route: ${result.route})` : ""
    }.`,
    ...result.images.map((f, i) =>
      `Saved: ${locations[i]} (${megabytes(f.size_bytes)}, ${dimensions[i].width}x${
        dimensions[i].height
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
