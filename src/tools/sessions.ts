/** Iterative edit sessions: start, continue (previous output becomes the input), end, list. */

import type { CallToolResult, z } from "../deps.ts";
import { loadEditInputs } from "../images/inputs/read.ts";
import { resolveOutputDir } from "../images/storage/output.ts";
import type { SessionRecord } from "../sessions/store.ts";
import { editJob, prepareEdit } from "./edit_job.ts";
import type { OutputArgs } from "./image_args.ts";
import { runImageJob } from "./image_job.ts";
import {
  continueEditSessionSpec,
  endEditSessionSpec,
  listEditSessionsSpec,
  type sessionSummarySchema,
  startEditSessionSpec,
} from "./specs.ts";
import {
  type CallContext,
  defineTool,
  textResult,
  type ToolContext,
  type ToolDefinition,
} from "./tool.ts";
import { ToolError } from "../errors.ts";

function summaryOf(r: SessionRecord): z.infer<typeof sessionSummarySchema> {
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
      ...startEditSessionSpec,
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
      ...continueEditSessionSpec,
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
            { config: ctx.config, signal: call.signal, images: ctx.images },
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
      ...endEditSessionSpec,
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
      ...listEditSessionsSpec,
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
