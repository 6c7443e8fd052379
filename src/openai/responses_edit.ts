/** Edits through the Responses API's `image_generation` tool: upload, one response, delete. */

import type { Usage } from "../usage.ts";
import { loadOpenAI, type OpenAI } from "../deps.ts";
import { type ImagePayload, releaseAll } from "../images/storage/received.ts";
import { ToolError } from "../errors.ts";
import type { Api } from "./api.ts";
import { everyImage } from "./image_json.ts";
import {
  type ApiImages,
  type EditFiles,
  fromResponse,
  type ImageCallOptions,
  type ImageSettings,
  type UploadFile,
} from "./images.ts";

interface OutputItem {
  type: string;
  result?: string | null;
  image?: ImagePayload;
  status?: string;
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
  content?: { type: string; text?: string; refusal?: string }[];
}

async function upload(api: Api, file: UploadFile, options: ImageCallOptions): Promise<string> {
  const { toFile } = await loadOpenAI();
  const created = await api.call("files.create", async (client, signal) =>
    client.files.create(
      { file: await toFile(file.bytes, file.name, { type: file.mimeType }), purpose: "vision" },
      { signal },
    ), options);
  return created.id;
}

/** Deletes uploaded files; runs even after a cancel, so it takes no abort signal. */
async function deleteAll(api: Api, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map(async (id) => {
    try {
      await api.call("files.delete", (client) => client.files.delete(id));
      api.log.debug(`deleted uploaded file ${id}`);
    } catch (error) {
      api.log.warning(`could not delete uploaded file ${id}: ${(error as Error).message}`);
    }
  }));
}

function refusalText(output: readonly OutputItem[]): string | undefined {
  const parts = output.filter((o) => o.type === "message").flatMap((o) => o.content ?? [])
    .map((c) => c.refusal ?? c.text).filter(Boolean);
  return parts.length ? parts.join(" ") : undefined;
}

/** Edits one image set through `/v1/responses`; uploaded files are deleted on every path. */
export async function editImagesViaResponses(
  api: Api,
  settings: ImageSettings,
  inputs: EditFiles,
  options: ImageCallOptions = {},
): Promise<ApiImages> {
  const uploaded: string[] = [];
  try {
    for (const image of inputs.images) uploaded.push(await upload(api, image, options));
    const maskId = inputs.mask ? await upload(api, inputs.mask, options) : undefined;
    if (maskId) uploaded.push(maskId);
    // Undefined fields are left out of the request.
    const tool: OpenAI.Responses.Tool.ImageGeneration = {
      type: "image_generation",
      model: settings.model,
      action: "edit",
      size: settings.size,
      quality: settings.quality,
      output_format: settings.output_format,
      output_compression: settings.output_compression,
      background: settings.background,
      moderation: settings.moderation,
      complexity: settings.complexity,
      frame_count: settings.frameCount,
      frame_duration_ms: settings.frameDurationMs,
      input_image_mask: maskId ? { file_id: maskId } : undefined,
    };
    const request: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
      model: api.config.responsesEditModel,
      input: [{
        role: "user",
        content: [
          { type: "input_text", text: settings.prompt },
          ...uploaded.slice(0, inputs.images.length).map((id) => ({
            type: "input_image" as const,
            file_id: id,
            detail: "auto" as const,
          })),
        ],
      }],
      tools: [tool],
      tool_choice: { type: "image_generation" },
      safety_identifier: settings.safetyIdentifier,
    };
    const answer = await api.call(
      "responses.create",
      async (client, signal) =>
        fromResponse(
          await client.responses.create(request, { signal }).asResponse(),
          // Every result is read, to pair each with its output item; the first is kept.
          { key: "result", receiver: everyImage(options.receiver) },
        ),
      options,
    );
    const response = answer.json as { output?: OutputItem[]; usage?: Usage };
    const output = Array.isArray(response?.output) ? response.output : [];
    // The parser lifted each "result" out in order; pair them back with their items.
    let next = 0;
    for (const item of output) {
      if (typeof item.result === "string") item.image = answer.images[next++];
    }
    const call = output.find((o) => o.type === "image_generation_call" && o.image !== undefined);
    // Only the first image call's result is kept: the others go now, spilled files included.
    const others = answer.images.filter((image) => image !== call?.image);
    await releaseAll(others);
    if (!call) {
      const refusal = refusalText(output);
      throw new ToolError(
        refusal
          ? `OpenAI returned no image; the model answered: ${refusal.slice(0, 500)}`
          : "OpenAI returned a Responses answer with no image_generation_call result.",
      );
    }
    return {
      images: [call.image],
      applied: {
        size: call.size,
        quality: call.quality,
        background: call.background,
        output_format: call.output_format,
      },
      usage: response.usage,
      ...(others.length ? { dropped: others.length } : {}),
    };
  } finally {
    await deleteAll(api, uploaded);
  }
}
