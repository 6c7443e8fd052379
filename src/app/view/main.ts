/// <reference lib="dom" />
/**
 * The viewer (an MCP App): the call's images at full resolution, read from the server through
 * the host as `image://` resources; a filmstrip of every image seen, with side-by-side compare;
 * zoom, pan and download; a gallery of saved images; and the mask painter, whose "Edit this
 * area" calls `edit_image` or `continue_edit_session` through the host.
 *
 * @module
 */

import { App } from "npm:@modelcontextprotocol/ext-apps@2.0.4";
import { MaskPainter, type PaintTool, type Point } from "./mask.ts";
import {
  imagesOf,
  messageOf,
  runningJobOf,
  type ToolResultLike,
  type ViewImage,
} from "./results.ts";

/** An image in the filmstrip, once its pixels are loaded. */
interface Item extends ViewImage {
  key: number;
  dataUrl?: string;
  width?: number;
  height?: number;
  /** False when only the result's inline preview could be shown. */
  full?: boolean;
  painter?: MaskPainter;
  loading?: Promise<void>;
}

/** Longest wait of one `get_image_job` call while an edit runs as a job. */
const JOB_WAIT_S = 50;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const app = new App({ name: "gpt-image-2 viewer", version: "1.0.0" }, {});
const items: Item[] = [];
let current: Item | undefined;
let compared: Item | undefined;
let comparing = false;
let tool: PaintTool = "brush";
let nextKey = 1;
const view = { scale: 1, x: 0, y: 0 };

// ---- loading images ---------------------------------------------------------------------

/** Images read so far, by URI: the filmstrip and the gallery share one read of each image. */
const reads = new Map<string, Promise<string>>();

/** Reads an `image://` resource through the host as a data URL (once; a failed read is retried). */
function readDataUrl(uri: string, mimeType: string): Promise<string> {
  let read = reads.get(uri);
  if (!read) {
    read = (async () => {
      const result = await app.readServerResource({ uri });
      const first = result.contents[0] as { blob?: string; mimeType?: string } | undefined;
      if (!first?.blob) throw new Error(`${uri} came back without image data`);
      return `data:${first.mimeType ?? mimeType};base64,${first.blob}`;
    })();
    reads.set(uri, read);
    read.catch(() => reads.delete(uri));
  }
  return read;
}

function naturalSize(dataUrl: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error("the image could not be decoded"));
    img.src = dataUrl;
  });
}

function load(item: Item): Promise<void> {
  item.loading ??= (async () => {
    try {
      if (item.uri) {
        item.dataUrl = await readDataUrl(item.uri, item.mimeType);
        item.full = true;
      }
    } catch (error) {
      setStatus(`Could not read ${item.name}: ${(error as Error).message}`, true);
    }
    if (!item.dataUrl && item.previewDataUrl) {
      item.dataUrl = item.previewDataUrl;
      item.full = false;
    }
    if (item.dataUrl) Object.assign(item, await naturalSize(item.dataUrl));
    renderFilmstrip();
  })();
  return item.loading;
}

/** Adds images to the filmstrip (once per URI) and returns them as filmstrip items. */
function addItems(images: ViewImage[]): Item[] {
  const added: Item[] = [];
  for (const image of images) {
    const known = image.uri ? items.find((i) => i.uri === image.uri) : undefined;
    if (known) {
      if (!known.facts && image.facts) known.facts = image.facts;
      added.push(known);
      continue;
    }
    const item: Item = { ...image, key: nextKey++ };
    items.push(item);
    added.push(item);
    load(item);
  }
  sortFilmstrip();
  renderFilmstrip();
  return added;
}

/** Keeps a session's turns together and in order; other images stay in arrival order. */
function sortFilmstrip(): void {
  items.sort((a, b) => {
    if (a.sessionId && a.sessionId === b.sessionId) return (a.turn ?? 0) - (b.turn ?? 0);
    return a.key - b.key;
  });
}

/** Adds every turn of a session to the filmstrip, through the viewer's own tool. */
async function addSessionTurns(sessionId: string): Promise<void> {
  try {
    const result = await app.callServerTool({
      name: "get_session_images",
      arguments: { session_id: sessionId },
    });
    const structured = result.structuredContent as { turns?: Array<Record<string, unknown>> };
    const turns = structured?.turns ?? [];
    if (result.isError || !turns.length) return;
    addItems(turns.map((t) => ({
      uri: t.uri as string | undefined,
      name: String(t.name),
      mimeType: String(t.mime_type),
      filePath: String(t.file_path),
      sessionId,
      turn: Number(t.turn),
    })));
  } catch {
    // The filmstrip keeps what the calls returned.
  }
}

// ---- showing ----------------------------------------------------------------------------

function setStatus(text: string, error = false): void {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

async function select(item: Item): Promise<void> {
  current = item;
  renderFilmstrip();
  renderInfo();
  await load(item);
  if (current !== item || !item.dataUrl || !item.width || !item.height) return;
  const img = $<HTMLImageElement>("image");
  img.src = item.dataUrl;
  img.width = item.width;
  img.height = item.height;
  const canvas = $<HTMLCanvasElement>("mask");
  if (!item.painter) {
    item.painter = new MaskPainter(document.createElement("canvas"), item.width, item.height);
  }
  // The stage shows this item's own mask canvas, so each image keeps what was painted on it.
  canvas.replaceWith(item.painter.canvas);
  item.painter.canvas.id = "mask";
  item.painter.size = Number($<HTMLInputElement>("size").value);
  $("stage").style.width = `${item.width}px`;
  $("stage").style.height = `${item.height}px`;
  $("title").textContent = item.facts?.prompt ?? item.name;
  fit();
  renderInfo();
  renderCompare();
  updateEditButton();
}

function renderInfo(): void {
  const info = $("info");
  info.replaceChildren();
  const item = current;
  if (!item) return;
  const row = (term: string, value: string | undefined) => {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    info.append(dt, dd);
  };
  const f = item.facts;
  row("image", item.name);
  row(
    "pixels",
    item.width
      ? `${item.width} × ${item.height}${
        item.full === false ? " (inline preview: the full image could not be read)" : ""
      }`
      : "loading…",
  );
  row("prompt", f?.prompt);
  row("model", f?.model);
  for (const [k, v] of f?.settings ?? []) row(k, v);
  row("tokens", f?.tokens);
  if (f?.costUsd !== undefined) row("cost", `$${f.costUsd.toFixed(4)} (${f.costBasis ?? ""})`);
  row("spent", f?.spent);
  for (const w of f?.warnings ?? []) row("note", w);
  row("file", item.filePath);
}

function renderFilmstrip(): void {
  const strip = $("filmstrip");
  strip.replaceChildren(...items.map((item) => {
    const button = document.createElement("button");
    button.dataset.key = String(item.key);
    button.className = item === current ? "current" : item === compared ? "compared" : "";
    button.title = comparing ? "Compare with this image" : item.name;
    const img = document.createElement("img");
    img.alt = item.name;
    if (item.dataUrl) img.src = item.dataUrl;
    const label = document.createElement("span");
    label.textContent = item.turn ? `turn ${item.turn}` : item.facts?.prompt ?? item.name;
    button.append(img, label);
    button.onclick = () => {
      if (comparing && current && item !== current) {
        compared = item;
        load(item).then(renderCompare);
        renderFilmstrip();
      } else {
        select(item);
      }
    };
    return button;
  }));
}

function renderCompare(): void {
  $("compare").hidden = !comparing;
  $("viewport").hidden = comparing;
  if (!comparing) return;
  const other = compared ?? items.find((i) => i !== current);
  compared = other;
  const show = (side: "a" | "b", item: Item | undefined) => {
    const img = $<HTMLImageElement>(`compare-${side}`);
    if (item?.dataUrl) img.src = item.dataUrl;
    else img.removeAttribute("src");
    $(`compare-${side}-cap`).textContent = item
      ? (item.turn ? `turn ${item.turn}: ` : "") + (item.facts?.prompt ?? item.name)
      : "pick an image in the filmstrip";
  };
  show("a", current);
  show("b", other);
  renderFilmstrip();
}

// ---- zoom and pan -----------------------------------------------------------------------

function applyView(): void {
  $("stage").style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
}

function fit(): void {
  if (!current?.width || !current.height) return;
  const box = $("viewport").getBoundingClientRect();
  view.scale = Math.min(box.width / current.width, box.height / current.height, 1) || 1;
  view.x = (box.width - current.width * view.scale) / 2;
  view.y = (box.height - current.height * view.scale) / 2;
  applyView();
}

function zoomAt(factor: number, cx?: number, cy?: number): void {
  const box = $("viewport").getBoundingClientRect();
  const x = cx ?? box.width / 2;
  const y = cy ?? box.height / 2;
  const scale = Math.min(32, Math.max(0.02, view.scale * factor));
  view.x = x - (x - view.x) * (scale / view.scale);
  view.y = y - (y - view.y) * (scale / view.scale);
  view.scale = scale;
  applyView();
}

function toImage(event: PointerEvent): Point {
  const box = $("viewport").getBoundingClientRect();
  return {
    x: (event.clientX - box.left - view.x) / view.scale,
    y: (event.clientY - box.top - view.y) / view.scale,
  };
}

function wirePointer(): void {
  const viewport = $("viewport");
  let panning: { x: number; y: number } | undefined;
  let painting = false;
  viewport.addEventListener("pointerdown", (event) => {
    if (!current?.painter) return;
    viewport.setPointerCapture(event.pointerId);
    if (tool === "pan" || event.button === 1) {
      panning = { x: event.clientX - view.x, y: event.clientY - view.y };
      return;
    }
    painting = true;
    current.painter.begin(tool, toImage(event));
  });
  viewport.addEventListener("pointermove", (event) => {
    if (panning) {
      view.x = event.clientX - panning.x;
      view.y = event.clientY - panning.y;
      applyView();
    } else if (painting) {
      current?.painter?.move(toImage(event));
    }
  });
  const stop = () => {
    panning = undefined;
    if (painting) current?.painter?.end();
    painting = false;
    updateEditButton();
  };
  viewport.addEventListener("pointerup", stop);
  viewport.addEventListener("pointercancel", stop);
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY / 300), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
}

// ---- editing ----------------------------------------------------------------------------

function updateEditButton(): void {
  const empty = !current?.painter || current.painter.isEmpty();
  $("edit").textContent = empty ? "Edit whole image" : "Edit this area";
}

/** The call that edits `item`: the next turn of its session when it is the latest one. */
function editCall(item: Item, prompt: string, mask: string | undefined) {
  const latest = item.sessionId
    ? Math.max(...items.filter((i) => i.sessionId === item.sessionId).map((i) => i.turn ?? 0))
    : undefined;
  if (item.sessionId && item.turn === latest) {
    return {
      name: "continue_edit_session",
      arguments: { session_id: item.sessionId, prompt, ...(mask ? { mask } : {}) },
    };
  }
  const source = item.uri ?? item.filePath;
  if (!source) throw new Error("this image has no address the server can read it from");
  return { name: "edit_image", arguments: { prompt, images: [source], ...(mask ? { mask } : {}) } };
}

/** Calls a tool through the host; a call that went on as a job is waited for. */
async function callTool(
  call: { name: string; arguments: Record<string, unknown> },
  onProgress: (text: string) => void,
): Promise<ToolResultLike> {
  const options = {
    onprogress: (p: { progress: number; total?: number; message?: string }) =>
      onProgress(p.message ?? `${p.progress}${p.total ? ` of ${p.total}` : ""}`),
    resetTimeoutOnProgress: true,
    timeout: 600_000,
  };
  let result = await app.callServerTool(call, options) as ToolResultLike;
  for (let job = runningJobOf(result); job && !result.isError; job = runningJobOf(result)) {
    onProgress(job.progress ?? "running as a job");
    result = await app.callServerTool({
      name: "get_image_job",
      arguments: { job_id: job.jobId, wait_s: JOB_WAIT_S },
    }, options) as ToolResultLike;
  }
  return result;
}

async function runEdit(): Promise<void> {
  const item = current;
  const prompt = $<HTMLInputElement>("prompt").value.trim();
  if (!item?.painter || !item.width) return setStatus("Open an image first.", true);
  if (!prompt) return setStatus("Write what should change in the prompt box.", true);
  const mask = item.painter.isEmpty() ? undefined : item.painter.toMaskPng();
  let call;
  try {
    call = editCall(item, prompt, mask);
  } catch (error) {
    return setStatus((error as Error).message, true);
  }
  const button = $<HTMLButtonElement>("edit");
  const progress = $("progress");
  button.disabled = true;
  progress.hidden = false;
  const started = Date.now();
  let note = "";
  const tick = () =>
    setStatus(
      `${call.name}: ${Math.round((Date.now() - started) / 1000)} s${note ? `, ${note}` : ""}`,
    );
  tick();
  const timer = setInterval(tick, 1000);
  try {
    const result = await callTool(call, (text) => {
      note = text;
      tick();
    });
    if (result.isError) return setStatus(messageOf(result), true);
    const added = addItems(imagesOf(result, call.name));
    if (added.length) await select(added[0]);
    setStatus(`${call.name} done in ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (error) {
    setStatus(`${call.name} failed: ${(error as Error).message}`, true);
  } finally {
    clearInterval(timer);
    button.disabled = false;
    progress.hidden = true;
  }
}

// ---- download and gallery ---------------------------------------------------------------

async function download(): Promise<void> {
  const item = current;
  if (!item?.dataUrl) return;
  const blob = item.dataUrl.slice(item.dataUrl.indexOf(",") + 1);
  // A view's iframe may not download by itself: ext-apps' `ui/download-file` asks the host.
  if (app.getHostCapabilities()?.downloadFile && item.full) {
    try {
      const { isError } = await app.downloadFile({
        contents: [{
          type: "resource",
          // Hosts name the file by the URI's last segment (ext-apps' example host does).
          resource: {
            uri: `file:///${encodeURIComponent(item.name)}`,
            mimeType: item.mimeType,
            blob,
          },
        }],
      });
      if (isError) setStatus(`The host did not download ${item.name}.`, true);
      return;
    } catch {
      // fall through to a plain link
    }
  }
  const a = document.createElement("a");
  a.href = item.dataUrl;
  a.download = item.name;
  a.click();
  // Hosts that neither offer downloads nor let their frames download drop the link silently.
  if (item.filePath) setStatus(`If no download started: the file is at ${item.filePath}`);
}

let galleryCursor: string | undefined;

async function openGallery(more = false): Promise<void> {
  $("gallery").hidden = false;
  const grid = $("gallery-grid");
  if (!more) {
    grid.replaceChildren();
    galleryCursor = undefined;
  }
  $("gallery-status").textContent = "loading…";
  try {
    const list = await app.listServerResources(galleryCursor ? { cursor: galleryCursor } : {});
    galleryCursor = list.nextCursor;
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        const img = entry.target as HTMLImageElement;
        readDataUrl(img.dataset.uri!, img.dataset.mime!).then((url) => img.src = url)
          .catch(() => img.alt = "unreadable");
      }
    });
    for (const r of list.resources) {
      if (!r.uri.startsWith("image://")) continue;
      const card = document.createElement("figure");
      card.className = "card";
      const img = document.createElement("img");
      img.alt = r.name;
      img.dataset.uri = r.uri;
      img.dataset.mime = r.mimeType ?? "image/png";
      observer.observe(img);
      const label = document.createElement("span");
      label.textContent = r.name;
      const actions = document.createElement("div");
      const image = { uri: r.uri, name: r.name, mimeType: r.mimeType ?? "image/png" };
      const action = (text: string, run: () => void) => {
        const b = document.createElement("button");
        b.textContent = text;
        b.onclick = run;
        actions.append(b);
      };
      action("Open", () => {
        $("gallery").hidden = true;
        select(addItems([image])[0]);
      });
      action("Compare", () => {
        $("gallery").hidden = true;
        const [added] = addItems([image]);
        if (!current) return void select(added);
        compared = added;
        setComparing(true);
        load(added).then(renderCompare);
      });
      action("Edit", () => {
        $("gallery").hidden = true;
        select(addItems([{ ...image, sessionId: undefined }])[0]);
        $("prompt").focus();
      });
      card.append(img, label, actions);
      grid.append(card);
    }
    $("gallery-more").hidden = !galleryCursor;
    $("gallery-status").textContent = grid.children.length ? "" : "No saved images yet.";
  } catch (error) {
    $("gallery-status").textContent = `The host could not list the images: ${
      (error as Error).message
    }`;
  }
}

function setComparing(on: boolean): void {
  comparing = on;
  $("compare-btn").setAttribute("aria-pressed", String(on));
  renderCompare();
  if (!on) fit();
}

// ---- wiring -----------------------------------------------------------------------------

function setTool(next: PaintTool): void {
  tool = next;
  $("viewport").dataset.tool = next;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#painter [data-tool]")) {
    b.setAttribute("aria-pressed", String(b.dataset.tool === next));
  }
}

function wireControls(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("#painter [data-tool]")) {
    b.onclick = () => setTool(b.dataset.tool as PaintTool);
  }
  $<HTMLInputElement>("size").oninput = (e) => {
    if (current?.painter) current.painter.size = Number((e.target as HTMLInputElement).value);
  };
  $("undo").onclick = () => {
    current?.painter?.undo();
    updateEditButton();
  };
  $("clear").onclick = () => {
    current?.painter?.clear();
    updateEditButton();
  };
  $("edit").onclick = () => void runEdit();
  $<HTMLInputElement>("prompt").onkeydown = (e) => {
    if (e.key === "Enter") void runEdit();
  };
  $("zoom-in").onclick = () => zoomAt(1.25);
  $("zoom-out").onclick = () => zoomAt(0.8);
  $("zoom-fit").onclick = fit;
  $("zoom-1").onclick = () => zoomAt(1 / view.scale);
  $("compare-btn").onclick = () => setComparing(!comparing);
  $("download").onclick = () => void download();
  $("gallery-btn").onclick = () => void openGallery();
  $("gallery-more").onclick = () => void openGallery(true);
  $("gallery-close").onclick = () => $("gallery").hidden = true;
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "z" && e.target !== $("prompt")) {
      current?.painter?.undo();
      updateEditButton();
    }
  });
  globalThis.addEventListener("resize", () => fit());
  wirePointer();
}

function applyTheme(): void {
  const theme = app.getHostContext()?.theme;
  if (theme) document.documentElement.dataset.theme = theme;
}

async function showResult(result: ToolResultLike): Promise<void> {
  if (result.isError) return setStatus(messageOf(result), true);
  const added = addItems(imagesOf(result, app.getHostContext()?.toolInfo?.tool.name));
  if (added.length) await select(added[0]);
  const sessionId = added.find((i) => i.sessionId)?.sessionId;
  if (sessionId) void addSessionTurns(sessionId);
}

app.ontoolinput = (params) => {
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  if (typeof args.prompt === "string") $("title").textContent = `Working on: ${args.prompt}`;
};
app.ontoolresult = (params) => {
  const job = runningJobOf(params as ToolResultLike);
  if (job) {
    // The original call detached: wait for its job, then show that result.
    $("title").textContent = "The call went on as a job; waiting for it…";
    callTool(
      { name: "get_image_job", arguments: { job_id: job.jobId, wait_s: JOB_WAIT_S } },
      (t) => setStatus(t),
    )
      .then(showResult)
      .catch((error) => setStatus(`The job could not be read: ${error.message}`, true));
    return;
  }
  void showResult(params as ToolResultLike);
};
app.ontoolcancelled = () => setStatus("The call was cancelled.", true);
app.onhostcontextchanged = () => applyTheme();

wireControls();
await app.connect();
applyTheme();
