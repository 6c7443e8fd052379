/** Iterative edit sessions: start, continue (previous output becomes the input), end, list. */

import { z } from "npm:zod@4.6.7";
import type { CallToolResult } from "../mcp_sdk.ts";
import { loadEditInputs } from "../images/inputs.ts";
import { resolveOutputDir } from "../images/output.ts";
import type { SessionRecord } from "../sessions/store.ts";
import { editJob, prepareEdit } from "./edit_job.ts";
import { editInputFields, imageSource } from "./edit.ts";
import {
  compressionRefinement,
  formatField,
  type OutputArgs,
  outputFields,
  promptField,
  qualityField,
  sizeField,
} from "./image_args.ts";
import { runImageJob, WRITES_IMAGES } from "./image_job.ts";
import { sessionImageResultSchema } from "./result_schema.ts";
import {
  type CallContext,
  defineTool,
  textResult,
  type ToolContext,
  type ToolDefinition,
} from "./tool.ts";
import { ToolError } from "./tool_error.ts";

const sessionId = z.string().min(1).max(200).describe("The id start_edit_session returned");

const startSchema = z.strictObject({
  prompt: promptField,
  ...editInputFields,
  ...outputFields,
}).superRefine(compressionRefinement);

const { output_dir: _dir, size: _size, quality: _quality, output_format: _format, ...turnFields } =
  outputFields;

const continueSchema = z.strictObject({
  session_id: sessionId,
  prompt: promptField,
  mask: imageSource.optional().describe("PNG mask for this turn, same size as the previous image"),
  size: sizeField.optional().describe("New size for this and later turns"),
  quality: qualityField.optional(),
  output_format: formatField.optional(),
  ...turnFields,
}).superRefine(compressionRefinement);

const sessionSummary = z.object({
  session_id: z.string(),
  created: z.string(),
  updated: z.string(),
  turns: z.number(),
  last_prompt: z.string(),
  last_image: z.string(),
  output_dir: z.string(),
});

function summaryOf(r: SessionRecord): z.infer<typeof sessionSummary> {
  return {
    session_id: r.id,
    created: r.created,
    updated: r.updated,
    turns: r.turns,
    last_prompt: r.last_prompt,
    last_image: r.last_image,
    output_dir: r.output_dir,
  };
}

function lastImage(result: CallToolResult): string {
  const images = (result.structuredContent as { images: { file_path: string }[] }).images;
  return images[images.length - 1].file_path;
}

/** The four session tools. */
export function sessionTools(ctx: ToolContext): ToolDefinition[] {
  async function turn(options: {
    record: Omit<SessionRecord, "updated" | "last_image" | "last_prompt">;
    args: OutputArgs;
    inputs: Parameters<typeof editJob>[1]["inputs"];
    call: CallContext;
    evicted?: string[];
  }): Promise<CallToolResult> {
    const { record, args } = options;
    const job = editJob(ctx, {
      args,
      n: 1,
      inputs: options.inputs,
      outputDir: record.output_dir,
      stem: `session-${record.id}-turn${record.turns}`,
      extra: { session_id: record.id, turn: record.turns },
    });
    if (options.evicted?.length) {
      // As a job note it reaches the text summary as well as structuredContent.
      job.notes = [
        ...(job.notes ?? []),
        `ended the least recently used session(s) ${
          options.evicted.join(", ")
        } (GPT_IMAGE_2_SESSION_MAX)`,
      ];
    }
    const result = await runImageJob(ctx, options.call, job);
    const now = new Date().toISOString();
    await ctx.sessions.save({
      ...record,
      updated: now,
      last_prompt: args.prompt,
      last_image: lastImage(result),
    });
    return result;
  }

  return [
    defineTool({
      name: "start_edit_session",
      title: "Start edit session",
      description:
        "Begin an iterative edit: a first edit of 1-8 images. Returns session_id and turn 1; " +
        "continue_edit_session then refines the latest image. Sessions survive a server restart.",
      inputSchema: startSchema,
      outputSchema: sessionImageResultSchema,
      annotations: WRITES_IMAGES,
      handler: async (args, call) => {
        const { outputDir, inputs } = await prepareEdit(ctx, call, args);
        const id = ctx.sessions.newId();
        const evicted = await ctx.sessions.makeRoom();
        return turn({
          record: {
            id,
            created: new Date().toISOString(),
            turns: 1,
            output_dir: outputDir,
            filename_prefix: args.filename_prefix,
            settings: {
              size: args.size,
              quality: args.quality,
              output_format: args.output_format,
              background: args.background === "transparent" ? undefined : args.background,
              output_compression: args.output_compression,
              moderation: args.moderation,
            },
          },
          args,
          inputs,
          call,
          evicted,
        });
      },
    }),
    defineTool({
      name: "continue_edit_session",
      title: "Continue edit session",
      description: "Apply another refinement to a session: its latest image becomes the input. " +
        "Optionally change size, quality or format for this and later turns.",
      inputSchema: continueSchema,
      outputSchema: sessionImageResultSchema,
      annotations: WRITES_IMAGES,
      handler: async (args, call) => {
        await ctx.api.ready();
        return await ctx.sessions.withLock(args.session_id, async () => {
          const previous = await ctx.sessions.get(args.session_id);
          const settings = {
            ...previous.settings,
            ...Object.fromEntries(
              Object.entries({
                size: args.size,
                quality: args.quality,
                output_format: args.output_format,
                background: args.background,
                output_compression: args.output_compression,
                moderation: args.moderation,
              }).filter(([, v]) => v !== undefined),
            ),
          } as SessionRecord["settings"];
          resolveOutputDir(ctx.config, { project: ctx.project, outputDir: previous.output_dir });
          await Deno.stat(previous.last_image).catch(() => {
            throw new ToolError(
              `Session ${previous.id}: its last image ${previous.last_image} no longer exists. ` +
                `Start a new session with start_edit_session.`,
            );
          });
          const inputs = await loadEditInputs(
            { images: [previous.last_image], mask: args.mask },
            { config: ctx.config, signal: call.signal },
          );
          const prefix = args.filename_prefix ?? previous.filename_prefix;
          return turn({
            record: { ...previous, turns: previous.turns + 1, settings, filename_prefix: prefix },
            args: { ...args, ...settings, filename_prefix: prefix },
            inputs,
            call,
          });
        }, { signal: call.signal });
      },
    }),
    defineTool({
      name: "end_edit_session",
      title: "End edit session",
      description: "End an edit session. Its images stay on disk.",
      inputSchema: z.strictObject({ session_id: sessionId }),
      outputSchema: sessionSummary,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
      handler: async (args) => {
        const record = await ctx.sessions.withLock(
          args.session_id,
          () => ctx.sessions.end(args.session_id),
        );
        return textResult(
          `Ended session ${record.id} after ${record.turns} turn(s). Last image: ${record.last_image}`,
          summaryOf(record),
        );
      },
    }),
    defineTool({
      name: "list_edit_sessions",
      title: "List edit sessions",
      description: "List open edit sessions, most recently used first.",
      inputSchema: z.strictObject({}),
      outputSchema: z.object({ sessions: z.array(sessionSummary) }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      handler: async () => {
        const sessions = (await ctx.sessions.list()).map(summaryOf);
        const lines = sessions.map((s) =>
          `${s.session_id}: ${s.turns} turn(s), updated ${s.updated}, last prompt "${
            s.last_prompt.slice(0, 80)
          }", last image ${s.last_image}`
        );
        return textResult(lines.length ? lines.join("\n") : "No open edit sessions.", { sessions });
      },
    }),
  ];
}
