/**
 * The tools as the server lists and checks them: each spec, the output schema it lists, and its
 * JSON Schemas per protocol era, converted once. The server loads this module after its first
 * answer, which needs none of it.
 *
 * @module
 */

import { type ToolAnnotations, z } from "../deps.ts";
import type { Era } from "../tasks.ts";
import { detaches, listedOutputSchema, TOOL_SPECS } from "./specs.ts";
import type { ToolSpec } from "./tool.ts";

/** A tool as `tools/list` gives it. */
export interface ListedTool {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: ToolAnnotations;
  execution?: { taskSupport: "optional" };
  _meta?: Record<string, unknown>;
}

/** The tools of one server process, under its detach setting. */
export interface ToolCatalog {
  /** The spec named `name`, if there is one. */
  spec(name: string): ToolSpec | undefined;
  /** Whether plain calls of `spec` may detach, and its calls run as tasks. */
  detaches(spec: ToolSpec): boolean;
  /** The schema `spec`'s `structuredContent` is checked against, as listed. */
  outputSchemaOf(spec: ToolSpec): z.ZodType | undefined;
  /** The tools as a client of `era` lists them. */
  listing(era: Era): ListedTool[];
}

/** A tool as `tools/list` gives it to a client of `era`, with its JSON Schemas. */
function listedTool(spec: ToolSpec, era: Era, outputSchema: z.ZodType | undefined): ListedTool {
  const json = (schema: z.ZodType, io: "input" | "output") => // A union (a result, or a detached call's job) is still an object, as MCP requires.
  ({ type: "object" as const, ...z.toJSONSchema(schema, { target: "draft-2020-12", io }) });
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    inputSchema: json(spec.inputSchema, "input"),
    ...(outputSchema ? { outputSchema: json(outputSchema, "output") } : {}),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
    ...(spec._meta ? { _meta: spec._meta } : {}),
    // The 2025 wire's tasks utility; on the 2026 wire the server decides per call.
    ...(era === "legacy" && detaches(spec)
      ? { execution: { taskSupport: "optional" as const } }
      : {}),
  };
}

/** The catalog of the tools under `options.detachAfterMs` (0: calls never detach). */
export function createToolCatalog(options: { detachAfterMs: number }): ToolCatalog {
  const byName = new Map(TOOL_SPECS.map((spec) => [spec.name, spec]));
  // Built once: a detaching tool's listed schema is a union, checked against every answer.
  const outputSchemas = new Map(
    TOOL_SPECS.map((spec) => [spec.name, listedOutputSchema(spec, options.detachAfterMs)]),
  );
  const outputSchemaOf = (spec: ToolSpec) => outputSchemas.get(spec.name);
  const listings = new Map<Era, ListedTool[]>();
  return {
    spec: (name) => byName.get(name),
    detaches,
    outputSchemaOf,
    listing(era) {
      let listed = listings.get(era);
      if (!listed) {
        listings.set(era, listed = TOOL_SPECS.map((s) => listedTool(s, era, outputSchemaOf(s))));
      }
      return listed;
    },
  };
}
