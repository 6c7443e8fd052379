/**
 * What the model table says about one call before anything is sent: the rules it breaks (then
 * nothing is sent), the warnings it carries, and its estimated cost.
 */

import { ToolError } from "../errors.ts";
import {
  type CostEstimate,
  estimateCost,
  type ImageRequest,
  requestWarnings,
  validateRequest,
} from "../models.ts";
import type { ImageSettings } from "../openai/images.ts";
import { type Api, shutdownWarning } from "../openai/api.ts";

/** Which files an edit carries besides its images. */
export interface EditExtras {
  mask?: boolean;
  markup?: boolean;
}

/** `settings` in the table's terms (the API's field names). */
export function tableRequest(
  settings: ImageSettings,
  operation: "generate" | "edit",
  extras: EditExtras = {},
): ImageRequest {
  const streams = settings.partialImages > 0;
  return {
    operation,
    n: settings.n,
    size: settings.size,
    quality: settings.quality,
    background: settings.background,
    output_format: settings.output_format,
    output_compression: settings.output_compression,
    moderation: settings.moderation,
    complexity: settings.complexity,
    frame_count: settings.frameCount,
    frame_duration_ms: settings.frameDurationMs,
    ...(streams ? { stream: true, partial_images: settings.partialImages } : {}),
    mask: extras.mask,
    markup: extras.markup,
  };
}

/**
 * Refuses a call the table says its model cannot make (a ToolError naming every broken rule, so
 * that nothing is sent); otherwise the warnings it goes ahead with.
 */
export function checkAgainstTable(
  settings: ImageSettings,
  operation: "generate" | "edit",
  extras: EditExtras = {},
): string[] {
  const request = tableRequest(settings, operation, extras);
  const errors = validateRequest(settings.model, request);
  if (errors.length > 0) {
    throw new ToolError(
      `Refused before any request (model ${settings.model}): ${errors.join("; ")}`,
    );
  }
  return requestWarnings(settings.model, request);
}

/** The estimated cost of the call, from the same table; `known: false` marks an upper bound. */
export function estimateFor(
  settings: ImageSettings,
  operation: "generate" | "edit",
  options: EditExtras & { inputs?: readonly { width: number; height: number }[] } = {},
): CostEstimate {
  return estimateCost(settings.model, {
    ...tableRequest(settings, operation, options),
    prompt: settings.prompt,
    inputs: options.inputs,
  });
}

/**
 * The API's word on `model`, read once per process (`GET /v1/models/{id}`): a ToolError when the
 * key cannot use it, else warnings (a shutdown announced within 30 days).
 */
export async function modelNotes(
  api: Api,
  model: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const probe = await api.probeModel(model, signal);
  const warning = shutdownWarning(model, probe);
  return warning ? [warning] : [];
}
