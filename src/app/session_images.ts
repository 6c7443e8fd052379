/** The handler of `get_session_images`: a session's turns, found by their file names. */

import { join } from "node:path";
import { textResult, type ToolContext, type ToolDefinition } from "../tools/tool.ts";
import { defineTool } from "../tools/tool.ts";
import { sessionImagesSpec } from "./tool_spec.ts";
import { resolveOutputDir } from "../images/storage/output.ts";
import { listedMimeType } from "../images/storage/library.ts";

/**
 * The turn a file name holds for session `id`: `session-<id>-turn<N>[-suffix].<ext>`, not a
 * partial image. Undefined for any other file.
 */
export function turnOfFile(name: string, id: string): number | undefined {
  const stem = `session-${id}-turn`;
  if (!name.startsWith(stem) || /-partial\d/.test(name)) return undefined;
  const match = /^(\d+)(?:-[\w.-]*)?\.(png|jpe?g|webp)$/.exec(name.slice(stem.length));
  return match ? Number(match[1]) : undefined;
}

/** The `get_session_images` tool. */
export function sessionImagesTool(ctx: ToolContext): ToolDefinition {
  return defineTool({
    ...sessionImagesSpec,
    handler: async (args) => {
      const record = await ctx.sessions.get(args.session_id);
      // Judged as the session's turns are: a record edited to name another folder lists nothing.
      const dir = resolveOutputDir(ctx.config, {
        project: ctx.project,
        outputDir: record.output_dir,
      });
      const turns = [];
      for await (const entry of Deno.readDir(dir)) {
        const turn = entry.isFile ? turnOfFile(entry.name, record.id) : undefined;
        if (turn === undefined) continue;
        const path = join(dir, entry.name);
        const uri = ctx.images.uriOf(path);
        turns.push({
          turn,
          name: entry.name,
          file_path: path,
          mime_type: listedMimeType(entry.name),
          ...(uri ? { uri } : {}),
        });
      }
      turns.sort((a, b) => a.turn - b.turn || a.name.localeCompare(b.name));
      return textResult(
        `Session ${record.id}: ${turns.length} image(s)\n` +
          turns.map((t) => `turn ${t.turn}: ${t.uri ?? t.file_path}`).join("\n"),
        { session_id: record.id, turns },
      );
    },
  });
}
