/// <reference lib="dom" />
/**
 * The viewer's reading of a tool result: the images it made (their `image://` links, file
 * paths and inline previews) and the facts shown beside them (settings, tokens, cost).
 *
 * @module
 */

/** A tool result as the host hands it over (the parts the viewer reads). */
export interface ToolResultLike {
  content?: Array<Record<string, unknown>>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** One image the viewer can show. */
export interface ViewImage {
  /** The `image://` URI to read it from the server, when the result linked one. */
  uri?: string;
  name: string;
  mimeType: string;
  /** Its path on the server's disk (edit inputs name it when there is no `image://` URI). */
  filePath?: string;
  /** The inline preview of the result, shown only when the full image cannot be read. */
  previewDataUrl?: string;
  /** The call that made it: prompt, settings, tokens and cost, when known. */
  facts?: ResultFacts;
  sessionId?: string;
  turn?: number;
}

/** What the info panel shows about a call. */
export interface ResultFacts {
  tool?: string;
  prompt?: string;
  model?: string;
  settings: Array<[string, string]>;
  tokens?: string;
  costUsd?: number;
  costBasis?: string;
  spent?: string;
  warnings: string[];
}

/** A detached call's job, which `get_image_job` finishes. */
export interface RunningJob {
  jobId: string;
  progress?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
}

/** The facts of an image tool's `structuredContent`. */
export function factsOf(structured: Record<string, unknown>, tool?: string): ResultFacts {
  const settings: Array<[string, string]> = [];
  const applied = (structured.applied ?? {}) as Record<string, unknown>;
  const requested = (structured.requested ?? {}) as Record<string, unknown>;
  for (const key of ["size", "quality", "background", "output_format"]) {
    const value = text(applied[key]) ?? text(requested[key === "output_format" ? "format" : key]);
    if (value) settings.push([key.replace("_", " "), value]);
  }
  if (typeof structured.route === "string") settings.push(["route", structured.route]);
  if (typeof structured.session_id === "string") {
    settings.push(["session", `${structured.session_id}, turn ${structured.turn}`]);
  }
  const usage = structured.usage as Record<string, number> | undefined;
  const tokens = usage
    ? `${usage.input_tokens ?? 0} in, ${usage.output_tokens ?? 0} out, ${
      usage.total_tokens ?? 0
    } total`
    : undefined;
  const spend = (structured.spend ?? {}) as Record<string, number | undefined>;
  const spent = typeof spend.spent_usd === "number"
    ? `$${spend.spent_usd.toFixed(4)}` +
      (typeof spend.budget_usd === "number" ? ` of $${spend.budget_usd.toFixed(2)}` : "")
    : undefined;
  return {
    tool,
    prompt: text(structured.prompt),
    model: text(structured.model),
    settings,
    tokens,
    costUsd: typeof structured.cost_usd_estimated === "number"
      ? structured.cost_usd_estimated
      : undefined,
    costBasis: text(structured.cost_basis),
    spent,
    warnings: Array.isArray(structured.warnings) ? structured.warnings.map(String) : [],
  };
}

/** The job of a result that says its call went on as a job, or undefined. */
export function runningJobOf(result: ToolResultLike): RunningJob | undefined {
  const s = result.structuredContent;
  if (!s || typeof s.job_id !== "string" || s.status !== "running") return undefined;
  return { jobId: s.job_id, progress: text(s.progress) };
}

/** The images of an image tool's result, in order, each with the call's facts. */
export function imagesOf(result: ToolResultLike, tool?: string): ViewImage[] {
  const structured = result.structuredContent ?? {};
  const content = result.content ?? [];
  const links = content.filter((c) => c.type === "resource_link");
  const previews = content.filter((c) => c.type === "image");
  const files = Array.isArray(structured.images)
    ? structured.images as Array<Record<string, unknown>>
    : [];
  const facts = factsOf(structured, tool);
  const sessionId = text(structured.session_id);
  const turn = typeof structured.turn === "number" ? structured.turn : undefined;
  const count = Math.max(files.length, links.length);
  const images: ViewImage[] = [];
  for (let i = 0; i < count; i++) {
    const file = files[i] ?? {};
    const name = text(file.filename) ?? text(links[i]?.name) ?? `image ${i + 1}`;
    const link = links.find((l) => l.name === name) ?? links[i];
    const linkUri = text(link?.uri);
    const preview = previews[i];
    images.push({
      uri: linkUri?.startsWith("image://") ? linkUri : undefined,
      name,
      mimeType: text(file.mime_type) ?? text(link?.mimeType) ?? "image/png",
      filePath: text(file.file_path),
      previewDataUrl: preview
        ? `data:${text(preview.mimeType) ?? "image/jpeg"};base64,${text(preview.data)}`
        : undefined,
      facts,
      sessionId,
      turn,
    });
  }
  return images;
}

/** The text of a result's first text block (an error's message). */
export function messageOf(result: ToolResultLike): string {
  const block = (result.content ?? []).find((c) => c.type === "text");
  return text(block?.text) ?? "the call returned no text";
}
