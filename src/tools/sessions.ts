/** Iterative edit sessions: start, continue (previous output becomes the input), end, list. */

import type { CallToolResult, z } from "../deps.ts";
import {
  SESSION_SETTING_KEYS,
  type SessionRecord,
  type SessionSettings,
} from "../sessions/store.ts";
import { type EditInputs, editJob, editSettings, prepareEdit } from "./edit_job.ts";
import type { OutputArgs } from "./image_args.ts";
import { renderImageResult, runImageJob } from "./image_job.ts";
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

/** The settings a call gives for its session (none where it gives none). */
function keptSettings(args: Partial<SessionSettings>): Partial<SessionSettings> {
  const kept: Partial<SessionSettings> = {};
  for (const key of SESSION_SETTING_KEYS) {
    if (args[key] !== undefined) Object.assign(kept, { [key]: args[key] });
  }
  return kept;
}

/** The four session tools. */
export function sessionTools(ctx: ToolContext): ToolDefinition[] {
  async function turn(options: {
    record: Omit<SessionRecord, "updated" | "last_image" | "last_prompt">;
    args: OutputArgs;
    settings: Parameters<typeof editJob>[1]["settings"];
    notes: string[];
    inputs: EditInputs;
    call: CallContext;
    evicted?: string[];
  }): Promise<CallToolResult> {
    const { record, args } = options;
    const job = editJob(ctx, {
      args,
      settings: options.settings,
      notes: options.notes,
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
    const outcome = await runImageJob(ctx, options.call, job);
    await ctx.sessions.save({
      ...record,
      updated: new Date().toISOString(),
      last_prompt: args.prompt,
      last_image: outcome.result.images[outcome.result.images.length - 1].file_path,
    });
    return renderImageResult(job, outcome);
  }

  return [
    defineTool({
      ...startEditSessionSpec,
      handler: async (args, call) => {
        const { settings, notes } = editSettings(ctx, args, 1);
        const prepared = await prepareEdit(ctx, call, args, settings);
        const { outputDir, inputs } = prepared;
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
              ...keptSettings(args),
              model: settings.model,
              size: args.size,
              quality: args.quality,
              output_format: args.output_format,
            },
          },
          args,
          settings,
          notes: [...notes, ...prepared.warnings],
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
          const settings: SessionSettings = { ...previous.settings, ...keptSettings(args) };
          const turnArgs = { ...args, ...settings };
          const { settings: request, notes } = editSettings(ctx, turnArgs, 1);
          const sources = {
            images: [previous.last_image],
            mask: args.mask,
            markup: args.markup,
            mask_marks: args.mask_marks,
          };
          await Deno.stat(previous.last_image).catch(() => {
            throw new ToolError(
              `Session ${previous.id}: its last image ${previous.last_image} no longer exists. ` +
                `Start a new session with start_edit_session.`,
            );
          });
          const { inputs, warnings } = await prepareEdit(
            ctx,
            call,
            { ...sources, output_dir: previous.output_dir },
            request,
          );
          const prefix = args.filename_prefix ?? previous.filename_prefix;
          return turn({
            record: { ...previous, turns: previous.turns + 1, settings, filename_prefix: prefix },
            args: { ...turnArgs, filename_prefix: prefix },
            settings: request,
            notes: [...notes, ...warnings],
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
