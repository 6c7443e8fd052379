/** The Images API: `/v1/images/generations` and `/v1/images/edits`, plain or streamed. */

import type { Usage } from "../usage.ts";
import { loadOpenAI, type OpenAI } from "../deps.ts";
import type { Background, Complexity, Moderation, OutputFormat, Quality } from "../models.ts";
import { decodeArrivedBase64 } from "../images/codecs/base64.ts";
import { ImagePayload, releaseAll } from "../images/storage/received.ts";
import { type ImageReceiver, readImageAnswer } from "./image_json.ts";
import { ToolError } from "../errors.ts";
import type { Api, CallOptions } from "./api.ts";

/** Settings shared by every image request. */
export interface ImageSettings {
  /** The image model this call uses. */
  model: string;
  prompt: string;
  size: string;
  quality: Quality;
  n: number;
  background?: Background;
  output_format: OutputFormat;
  output_compression?: number;
  moderation?: Moderation;
  /** Sent as `safety_identifier` (the deprecated `user` argument maps to it). */
  safetyIdentifier?: string;
  complexity?: Complexity;
  frameCount?: number;
  frameDurationMs?: number;
  partialImages: number;
}

/** The settings the API reports it applied. */
export interface Applied {
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
}

/** Decoded images (undefined where the base64 was invalid) with what the API said about them. */
export interface ApiImages {
  images: (ImagePayload | undefined)[];
  applied: Applied;
  usage?: Usage;
  /** Images the answer held beyond what was asked for, dropped unread. */
  dropped?: number;
}

/** An input file for a multipart upload. */
export interface UploadFile {
  bytes: Uint8Array;
  name: string;
  mimeType: string;
}

/** The files of one edit: the images, and a mask or a markup image (never both). */
export interface EditFiles {
  images: readonly UploadFile[];
  mask?: UploadFile;
  markup?: UploadFile;
}

/** Options for one images request: cancellation, retries, and where its images go. */
export interface ImageCallOptions extends CallOptions {
  receiver?: ImageReceiver;
}

type StreamEvent = {
  type: string;
  b64_json?: string;
  partial_image_index?: number;
  usage?: Usage;
} & Applied;

/** A body field both image endpoints take, by the SDK's types. */
type SharedKey = keyof OpenAI.ImageGenerateParams & keyof OpenAI.ImageEditParams;

/**
 * The body fields generations and edits share, as the SDK names them; undefined ones are left
 * out of the request. Streamed when partial images are asked for.
 */
function sharedParams(s: ImageSettings) {
  const fields = {
    model: s.model,
    prompt: s.prompt,
    n: s.n,
    size: s.size,
    quality: s.quality,
    output_format: s.output_format,
    background: s.background,
    output_compression: s.output_compression,
    safety_identifier: s.safetyIdentifier,
    complexity: s.complexity,
    frame_count: s.frameCount,
    frame_duration_ms: s.frameDurationMs,
  } satisfies { [K in SharedKey]?: unknown };
  return s.partialImages > 0
    ? { ...fields, stream: true as const, partial_images: s.partialImages }
    : fields;
}

/**
 * The edit request body. The SDK's edit params name every field of a generation but
 * `moderation`, which the API takes on both endpoints; that one is added here by name.
 */
type EditParams = OpenAI.ImageEditParams & { moderation?: Moderation };

function addUsage(total: Usage | undefined, more: Usage | undefined): Usage | undefined {
  if (!more) return total;
  if (!total) return structuredClone(more);
  const sum = (a?: number, b?: number) => (a ?? 0) + (b ?? 0);
  return {
    input_tokens: sum(total.input_tokens, more.input_tokens),
    output_tokens: sum(total.output_tokens, more.output_tokens),
    total_tokens: sum(total.total_tokens, more.total_tokens),
    input_tokens_details: {
      text_tokens: sum(
        total.input_tokens_details?.text_tokens,
        more.input_tokens_details?.text_tokens,
      ),
      image_tokens: sum(
        total.input_tokens_details?.image_tokens,
        more.input_tokens_details?.image_tokens,
      ),
    },
    output_tokens_details: {
      text_tokens: sum(
        total.output_tokens_details?.text_tokens,
        more.output_tokens_details?.text_tokens,
      ),
      image_tokens: sum(
        total.output_tokens_details?.image_tokens,
        more.output_tokens_details?.image_tokens,
      ),
    },
  };
}

async function collectStream(
  stream: AsyncIterable<StreamEvent>,
  options: ImageCallOptions,
): Promise<ApiImages> {
  const result: ApiImages = { images: [], applied: {} };
  const receiver = options.receiver ?? {};
  for await (const event of stream) {
    if (event.type.endsWith(".partial_image") && event.b64_json) {
      const partial = decodeArrivedBase64(event.b64_json);
      if (partial) await receiver.partial?.(partial.bytes, event.partial_image_index ?? 0);
    } else if (event.type.endsWith(".completed")) {
      if (result.images.length >= (receiver.maxImages ?? Infinity)) {
        result.dropped = (result.dropped ?? 0) + 1;
      } else if (event.b64_json) {
        const image = decodeArrivedBase64(event.b64_json);
        result.images.push(image && ImagePayload.inMemory(image.bytes, image.arrivedAs));
      }
      result.usage = addUsage(result.usage, event.usage);
      result.applied = {
        size: event.size,
        quality: event.quality,
        background: event.background,
        output_format: event.output_format,
      };
    }
  }
  return result;
}

/** The body's size when the header tells it (not when compressed: that is the wire size). */
function bodySize(response: Response): number | undefined {
  if (response.headers.has("content-encoding")) return undefined;
  const size = Number(response.headers.get("content-length"));
  return size > 0 ? size : undefined;
}

/** Reads a plain (not streamed) images answer as it arrives. */
export async function fromResponse(
  response: Response,
  options: { receiver?: ImageReceiver; key?: string } = {},
): Promise<ApiImages & { json: Record<string, unknown> }> {
  const { json, images, dropped } = await readImageAnswer(response.body, {
    key: options.key ?? "b64_json",
    sizeHint: bodySize(response),
    receiver: options.receiver,
  });
  return {
    json,
    images,
    ...(dropped ? { dropped } : {}),
    applied: {
      size: json.size as string | undefined,
      quality: json.quality as string | undefined,
      background: json.background as string | undefined,
      output_format: json.output_format as string | undefined,
    },
    usage: json.usage as Usage | undefined,
  };
}

async function collect(
  request: { asResponse(): Promise<Response> } & PromiseLike<unknown>,
  streamed: boolean,
  options: ImageCallOptions,
): Promise<ApiImages> {
  if (streamed) return collectStream(await request as AsyncIterable<StreamEvent>, options);
  const answer = await fromResponse(await request.asResponse(), options);
  if (!Array.isArray(answer.json.data)) {
    await releaseAll(answer.images);
    throw new ToolError("OpenAI returned an answer with no image data.");
  }
  return answer;
}

/** Generates images from text. */
export function generateImages(
  api: Api,
  settings: ImageSettings,
  options: ImageCallOptions = {},
): Promise<ApiImages> {
  const params: OpenAI.ImageGenerateParams = {
    ...sharedParams(settings),
    moderation: settings.moderation,
  };
  return api.call("images.generate", (client, signal) => {
    const request = client.images.generate(params, { signal });
    return collect(request, settings.partialImages > 0, options);
  }, options);
}

/** Edits images through `/v1/images/edits`, one multipart request. */
export function editImagesDirect(
  api: Api,
  settings: ImageSettings,
  inputs: EditFiles,
  options: ImageCallOptions = {},
): Promise<ApiImages> {
  return api.call("images.edit", async (client, signal) => {
    const { toFile } = await loadOpenAI();
    const asFile = (f: UploadFile) => toFile(f.bytes, f.name, { type: f.mimeType });
    const files = await Promise.all(inputs.images.map(asFile));
    const mask = inputs.mask ? await asFile(inputs.mask) : undefined;
    const markup = inputs.markup ? await asFile(inputs.markup) : undefined;
    const params: EditParams = {
      ...sharedParams(settings),
      moderation: settings.moderation,
      image: files,
      mask,
      markup,
    };
    const request = client.images.edit(params, { signal });
    return collect(request, settings.partialImages > 0, options);
  }, options);
}
