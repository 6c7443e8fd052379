/// <reference lib="dom" />
/**
 * The viewer in a real browser: headless Chromium opens a test host page that embeds the
 * viewer through ext-apps' app-bridge, connected to the real server (stdio, against the fake
 * API). The test generates an image, sees it at full resolution, paints a rectangle, asks for
 * an edit of that area, and checks the mask the API received and the filmstrip. Its steps
 * check the download the host makes, pan, the brush's size control, the gallery (paging, open,
 * compare, edit) and a session's filmstrip and next turn. Screenshots of each state go to
 * dist/screenshots/.
 */

import { bundleForBrowser } from "../scripts/build_app.ts";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { type Browser, chromium, type Frame, type Page } from "npm:playwright-core@1.57.0";
import { decode } from "npm:fast-png@8.0.0";
import { Buffer } from "node:buffer";
import { type Harness, REPO, startServer } from "./harness.ts";
import type { CallToolResult } from "./mcp_client.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";

const SCREENSHOTS = join(REPO, "dist", "screenshots");

/** The Chromium to drive: `CHROMIUM_BIN`, else the first browser found on PATH. */
function findChromium(): string | undefined {
  const named = Deno.env.get("CHROMIUM_BIN");
  if (named) return named;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of dirs) {
      try {
        if (Deno.statSync(join(dir, name)).isFile) return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

let hostHtml: Promise<string> | undefined;

/** The host page: the bundled `tests/app/host.ts` inline (bundled once per run). */
function hostPage(): Promise<string> {
  hostHtml ??= bundleForBrowser(join(REPO, "tests", "app", "host.ts")).then((bundled) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head>` +
    `<body style="margin:0"><script type="module">${
      bundled.replaceAll("</script", "<\\/script")
    }</script></body></html>`
  );
  return hostHtml;
}

/** The viewer's frame, once the host page has created it. */
async function viewFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector("#view");
  const frame = await handle.contentFrame();
  assert.ok(frame, "the viewer's iframe has a frame");
  return frame;
}

/** A viewer opened on a call of `name` (default `generate_image`). */
interface OpenedViewer {
  page: Page;
  frame: Frame;
  /** Page errors and console errors. */
  problems: string[];
  /** The result of the call the viewer was opened on. */
  result: CallToolResult;
  /** The names of the tools the view called through the host, in order. */
  toolCalls: string[];
}

/** The call `name`(`args`) made, then its result opened in the viewer, in a page of `browser`. */
async function openViewer(
  h: Harness,
  browser: Browser,
  args: Record<string, unknown>,
  name = "generate_image",
): Promise<OpenedViewer> {
  const problems: string[] = [];
  const toolCalls: string[] = [];
  const result = await h.call(name, args);
  assert.ok(!result.isError, JSON.stringify(result.content).slice(0, 500));
  const { tools } = await h.client.listTools();
  const tool = tools.find((t) => t.name === name);
  const page = await browser.newPage({ viewport: { width: 1020, height: 700 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  // The bridge's requests reach the real server through this test's MCP client.
  await page.exposeFunction("mcp", async (method: string, params: Record<string, unknown>) => {
    switch (method) {
      case "tools/call":
        toolCalls.push(params.name as string);
        return await h.call(params.name as string, params.arguments as Record<string, unknown>);
      case "resources/read":
        return await h.client.readResource(params as { uri: string });
      case "resources/list":
        // One page per request, as a host forwards it (listResources() would walk them all).
        return await h.client.request({
          method: "resources/list",
          params: params as { cursor?: string },
        });
      default:
        throw new Error(`the test host does not forward ${method}`);
    }
  });
  await page.setContent(await hostPage());
  // Serialised by hand: the result's type is too deep for playwright's argument types.
  const call = JSON.stringify({ tool, arguments: args, result });
  await page.evaluate(
    (json: string) =>
      (globalThis as unknown as { openView: (c: unknown) => Promise<void> }).openView(
        JSON.parse(json),
      ),
    call,
  );
  const frame = await viewFrame(page);
  await frame.waitForFunction(
    () => {
      const img = document.getElementById("image") as HTMLImageElement | null;
      return img?.complete && img.naturalWidth > 0;
    },
    undefined,
    { timeout: 30_000 },
  );
  return { page, frame, problems, result, toolCalls };
}

/** Where image pixel (x, y) of a `size`-wide square image lies on the page. */
async function pagePoint(frame: Frame, size: number): Promise<(x: number, y: number) => number[]> {
  const box = await (await frame.$("#image"))!.boundingBox();
  assert.ok(box, "the image has a box on the page");
  return (x, y) => [box.x + x * box.width / size, box.y + y * box.height / size];
}

/** Drags the mouse through `points` (page coordinates). */
async function drag(page: Page, points: number[][]): Promise<void> {
  await page.mouse.move(points[0][0], points[0][1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(x, y, { steps: 4 });
  await page.mouse.up();
}

/** The alpha channel of the mask the last edit request carried. */
function lastMask(
  fake: FakeOpenAI,
): { alpha: (x: number, y: number) => number; width: number; height: number } {
  const maskFile = fake.calls("edits").at(-1)?.files?.find((f) => f.field === "mask");
  assert.ok(maskFile?.bytes, "the edit carried a mask file");
  const mask = decode(maskFile.bytes);
  assert.equal(mask.channels, 4, "the mask has an alpha channel");
  return {
    width: mask.width,
    height: mask.height,
    alpha: (x, y) => mask.data[(y * mask.width + x) * 4 + 3],
  };
}

type Mask = ReturnType<typeof lastMask>;
type Rect = { x0: number; y0: number; x1: number; y1: number };

/**
 * Pixels of `mask` on the wrong side of `rect`: opaque inside it, or transparent outside it
 * (within `margin` pixels of it; everywhere when no margin is given). `slack` pixels at its edges
 * are not counted, for the mapping of mouse positions to image pixels.
 */
function maskMismatch(
  mask: Mask,
  rect: Rect,
  { slack = 4, margin = Infinity }: { slack?: number; margin?: number } = {},
): { inside: number; outside: number } {
  let inside = 0;
  let outside = 0;
  const y0 = Math.max(0, rect.y0 - margin);
  const y1 = Math.min(mask.height, rect.y1 + margin);
  const x0 = Math.max(0, rect.x0 - margin);
  const x1 = Math.min(mask.width, rect.x1 + margin);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const alpha = mask.alpha(x, y);
      const isInside = x >= rect.x0 + slack && x < rect.x1 - slack && y >= rect.y0 + slack &&
        y < rect.y1 - slack;
      const isOutside = x < rect.x0 - slack || x >= rect.x1 + slack || y < rect.y0 - slack ||
        y >= rect.y1 + slack;
      if (isInside && alpha !== 0) inside++;
      if (isOutside && alpha !== 255) outside++;
    }
  }
  return { inside, outside };
}

/** How many pixels of column `x` around row `y` are mostly transparent (a stroke's width there). */
function strokeWidth(mask: Mask, x: number, y: number): number {
  const clear = (row: number) => row >= 0 && row < mask.height && mask.alpha(x, row) < 128;
  if (!clear(y)) return 0;
  let top = y;
  let bottom = y;
  while (clear(top - 1)) top--;
  while (clear(bottom + 1)) bottom++;
  return bottom - top + 1;
}

/** The first saved image of a tool result: its file and its `image://` URI. */
function savedImage(result: CallToolResult): { path: string; name: string; uri: string } {
  const images = (result.structuredContent as { images?: Record<string, string>[] }).images;
  const link = result.content.find((c) => c.type === "resource_link") as
    | { uri: string }
    | undefined;
  assert.ok(images?.[0]?.file_path && link, "the result names its saved image");
  return { path: images[0].file_path, name: images[0].filename, uri: link.uri };
}

/** A digest of base64 text: its length and FNV-1a hash (cheap to take inside the page too). */
function digestOf(base64: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < base64.length; i++) {
    hash ^= base64.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${base64.length}:${hash.toString(16)}`;
}

/** The digest of the base64 of the file at `path`. */
async function fileDigest(path: string): Promise<string> {
  return digestOf(Buffer.from(await Deno.readFile(path)).toString("base64"));
}

/**
 * The digest of the base64 in the `data:` URL of the view's image `selector`, as `digestOf`
 * takes it but inside the page (the image's megabytes do not cross to the test).
 */
function shownDigest(frame: Frame, selector: string): Promise<string> {
  return frame.$eval(selector, (img) => {
    const src = (img as HTMLImageElement).src;
    const base64 = src.slice(src.indexOf(",") + 1);
    let hash = 0x811c9dc5;
    for (let i = 0; i < base64.length; i++) {
      hash ^= base64.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return `${base64.length}:${hash.toString(16)}`;
  });
}

const chromiumPath = findChromium();

/** A fake API keeping uploads, a server and a headless Chromium, for one test, then closed. */
async function withViewerHost(
  body: (host: { fake: FakeOpenAI; h: Harness; browser: Browser }) => Promise<void>,
): Promise<void> {
  const fake = FakeOpenAI.start();
  fake.keepUploads = true;
  fake.distinctImages = true;
  const h = await startServer({ fake });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await body({ fake, h, browser });
  } finally {
    await browser.close();
    await h.close();
    await fake.close();
  }
}
if (!chromiumPath) {
  console.error(
    "app_browser_e2e_test: no Chromium found (set CHROMIUM_BIN, or apt-get install chromium); " +
      "the viewer was not tested in a browser",
  );
}

Deno.test({
  name: "viewer: full-resolution image, download, a painted rectangle becomes the edit's mask, " +
    "the result joins the filmstrip; a session's turns",
  ignore: !chromiumPath,
  sanitizeResources: false,
  sanitizeOps: false,
}, (t) =>
  withViewerHost(async ({ fake, h, browser }) => {
    const args = { prompt: "a lighthouse at dusk", size: "1024x1024", quality: "low" };
    const { page, frame, problems, result } = await openViewer(h, browser, args);

    // 1. The image at full resolution: the resource's pixels, not the inline preview.
    const shown = await frame.$eval("#image", (img) => ({
      width: (img as HTMLImageElement).naturalWidth,
      height: (img as HTMLImageElement).naturalHeight,
      src: (img as HTMLImageElement).src.slice(0, 22),
    }));
    assert.deepEqual(shown, { width: 1024, height: 1024, src: "data:image/png;base64," });
    const info = await frame.textContent("#info");
    assert.match(info ?? "", /1024 × 1024/);
    assert.doesNotMatch(info ?? "", /inline preview/);
    assert.match(info ?? "", /a lighthouse at dusk/);
    await page.screenshot({ path: join(SCREENSHOTS, "1-generated.png") });

    await t.step(
      "download: the host receives the full image and downloads its exact bytes",
      async () => {
        const saved = savedImage(result);
        const [download] = await Promise.all([
          page.waitForEvent("download", { timeout: 30_000 }),
          frame.click("#download"),
        ]);
        const bytes = await Deno.readFile(await download.path());
        assert.deepEqual(bytes, await Deno.readFile(saved.path), "the saved file's bytes");
        const png = decode(bytes);
        assert.deepEqual([png.width, png.height], [1024, 1024]);
        assert.equal(download.suggestedFilename(), saved.name);
        assert.equal(await frame.textContent("#status"), "", "no error shown");
      },
    );

    // 2. Paint a rectangle, in image pixels (200,300)-(600,700).
    const rect = { x0: 200, y0: 300, x1: 600, y1: 700 };
    await frame.click('#painter [data-tool="rect"]');
    const at = await pagePoint(frame, 1024);
    const [sx, sy] = at(rect.x0, rect.y0);
    const [ex, ey] = at(rect.x1, rect.y1);
    await drag(page, [[sx, sy], [(sx + ex) / 2, (sy + ey) / 2], [ex, ey]]);
    assert.equal(await frame.textContent("#edit"), "Edit this area");
    await page.screenshot({ path: join(SCREENSHOTS, "2-painted.png") });

    // 3. Edit the area: the view calls edit_image through the host, with the mask.
    await frame.fill("#prompt", "put a red boat in the water");
    fake.delayMs = 1500; // the edit lasts long enough for its progress to be seen
    await frame.click("#edit");
    await frame.waitForFunction(() => document.querySelector("#progress:not([hidden])") !== null);
    assert.match(await frame.textContent("#status") ?? "", /edit_image/);
    await page.screenshot({ path: join(SCREENSHOTS, "3-editing.png") });
    await frame.waitForFunction(
      () => document.querySelectorAll("#filmstrip button").length === 2,
      undefined,
      { timeout: 60_000 },
    );
    await frame.waitForFunction(() => /done/.test(document.getElementById("status")!.textContent!));

    const edits = fake.calls("edits");
    assert.equal(edits.length, 1, "one edit request");
    assert.equal(edits[0].fields?.prompt?.[0], "put a red boat in the water");
    const mask = lastMask(fake);
    assert.equal(mask.width, 1024);
    assert.equal(mask.height, 1024);
    // Transparent inside the rectangle, opaque outside it.
    assert.deepEqual(maskMismatch(mask, rect), { inside: 0, outside: 0 });

    // 4. The new image is shown and selected in the filmstrip.
    const strip = await frame.$$eval("#filmstrip button", (buttons) =>
      buttons.map((b) => ({
        current: b.classList.contains("current"),
        src: (b.querySelector("img") as HTMLImageElement).src.slice(0, 22),
      })));
    assert.deepEqual(strip.map((s) => s.current), [false, true]);
    assert.ok(strip.every((s) => s.src.startsWith("data:image/")));
    assert.match(await frame.textContent("#info") ?? "", /put a red boat in the water/);
    await page.screenshot({ path: join(SCREENSHOTS, "4-edited.png") });

    // 5. Side by side: the original and the edit.
    await frame.click("#compare-btn");
    await frame.click("#filmstrip button:first-child");
    const compared = await frame.$$eval(
      "#compare img",
      (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth),
    );
    assert.deepEqual(compared, [1024, 1024]);
    await page.screenshot({ path: join(SCREENSHOTS, "5-compare.png") });
    assert.deepEqual(problems.filter((p) => !/Content Security Policy|eval/.test(p)), []);

    await t.step(
      "session: every turn in the filmstrip, two turns compared, Edit this area continues it",
      async () => {
        fake.delayMs = 0;
        await Deno.writeFile(join(h.cwd, "room.png"), makePng(1024, 1024, { noise: 0 }));
        const started = await h.call("start_edit_session", {
          prompt: "a quiet room",
          images: ["room.png"],
          size: "1024x1024",
          quality: "low",
        });
        assert.ok(!started.isError, JSON.stringify(started.content).slice(0, 500));
        const sessionId = (started.structuredContent as { session_id: string }).session_id;
        const turn1 = savedImage(started);
        // The viewer opens on the session's second turn and finds the first through the server.
        const second = await openViewer(h, browser, {
          session_id: sessionId,
          prompt: "add a window",
        }, "continue_edit_session");
        const turn2 = savedImage(second.result);
        const view = second.frame;
        const labels = () =>
          view.$$eval(
            "#filmstrip button",
            (buttons) =>
              buttons.map((b) =>
                `${b.querySelector("span")!.textContent}${
                  b.classList.contains("current") ? " (current)" : ""
                }`
              ),
          );
        await view.waitForFunction(() =>
          document.querySelectorAll("#filmstrip button img[src]").length === 2
        );
        assert.deepEqual(await labels(), ["turn 1", "turn 2 (current)"]);
        assert.equal(await shownDigest(view, "#image"), await fileDigest(turn2.path));
        await second.page.screenshot({ path: join(SCREENSHOTS, "6-session.png") });

        // Turns 2 and 1 side by side, each at full resolution.
        await view.click("#compare-btn");
        await view.click("#filmstrip button:first-child");
        assert.match(await view.textContent("#compare-a-cap") ?? "", /^turn 2: /);
        assert.match(await view.textContent("#compare-b-cap") ?? "", /^turn 1: /);
        assert.equal(await shownDigest(view, "#compare-a"), await fileDigest(turn2.path));
        assert.equal(await shownDigest(view, "#compare-b"), await fileDigest(turn1.path));
        await second.page.screenshot({ path: join(SCREENSHOTS, "7-session-compare.png") });
        await view.click("#compare-btn");
        assert.ok(await view.isHidden("#compare"), "compare closed");

        // A painted area of the latest turn: the session goes on, with the mask.
        const area = { x0: 100, y0: 150, x1: 400, y1: 500 };
        await view.click('#painter [data-tool="rect"]');
        const at = await pagePoint(view, 1024);
        await drag(second.page, [at(area.x0, area.y0), at(area.x1, area.y1)]);
        assert.equal(await view.textContent("#edit"), "Edit this area");
        await view.fill("#prompt", "a lamp in the corner");
        const editsBefore = fake.calls("edits").length;
        await view.click("#edit");
        await view.waitForFunction(
          () => document.querySelectorAll("#filmstrip button").length === 3,
          undefined,
          { timeout: 60_000 },
        );
        // The edit is over once its progress bar is gone.
        await view.waitForSelector("#progress", { state: "hidden" });
        assert.match(await view.textContent("#status") ?? "", /^continue_edit_session done/);
        assert.deepEqual(second.toolCalls.filter((n) => n !== "get_session_images"), [
          "continue_edit_session",
        ]);
        const edits = fake.calls("edits");
        assert.equal(edits.length, editsBefore + 1, "one more edit request");
        assert.equal(edits.at(-1)!.fields?.prompt?.[0], "a lamp in the corner");
        assert.deepEqual(
          edits.at(-1)!.editFiles?.first,
          await Deno.readFile(turn2.path),
          "the session's latest image is the input",
        );
        const mask = lastMask(fake);
        assert.deepEqual([mask.width, mask.height], [1024, 1024]);
        assert.deepEqual(maskMismatch(mask, area), { inside: 0, outside: 0 });
        assert.deepEqual(await labels(), ["turn 1", "turn 2", "turn 3 (current)"]);
        await second.page.screenshot({ path: join(SCREENSHOTS, "8-session-continued.png") });
        assert.deepEqual(
          second.problems.filter((p) => !/Content Security Policy|eval/.test(p)),
          [],
        );
      },
    );
  }));

Deno.test({
  name: "viewer: brush (at each size), eraser, lasso and undo shape the mask; zoom, pan; the " +
    "gallery opens, compares and edits an image",
  ignore: !chromiumPath,
  sanitizeResources: false,
  sanitizeOps: false,
}, (t) =>
  withViewerHost(async ({ fake, h, browser }) => {
    const args = { prompt: "a harbour", size: "1024x1024", quality: "low" };
    const { page, frame, problems, result, toolCalls } = await openViewer(h, browser, args);
    const at = await pagePoint(frame, 1024);
    const tool = (name: string) => frame.click(`#painter [data-tool="${name}"]`);

    // A brush stroke across y = 200, then the eraser across its middle.
    await tool("brush");
    await drag(page, [at(100, 200), at(500, 200), at(900, 200)]);
    await tool("eraser");
    await drag(page, [at(450, 200), at(550, 200)]);
    // A lasso triangle low in the image.
    await tool("lasso");
    await drag(page, [at(200, 900), at(500, 600), at(800, 900), at(200, 900)]);
    // A rectangle in the top-left corner, taken back with undo.
    await tool("rect");
    await drag(page, [at(20, 20), at(120, 120)]);
    await frame.click("#undo");
    // The size control: a thin and a thick brush stroke (the first stroke had the default 48).
    await tool("brush");
    await frame.fill("#size", "16");
    await drag(page, [at(100, 350), at(300, 350)]);
    await frame.fill("#size", "100");
    await drag(page, [at(100, 470), at(300, 470)]);
    await page.screenshot({ path: join(SCREENSHOTS, "9-brush-eraser-lasso.png") });

    // Zoomed in, a drag with the pan tool moves the image by the drag; a rectangle painted
    // then lands on the image pixels under the mouse.
    const panned = { x0: 675, y0: 345, x1: 775, y1: 445 };
    await t.step(
      "pan: a drag moves the zoomed image; painting after it hits the right pixels",
      async () => {
        await frame.click("#zoom-in");
        await frame.click("#zoom-in");
        const viewport = (await (await frame.$("#viewport"))!.boundingBox())!;
        const centre = [viewport.x + viewport.width / 2, viewport.y + viewport.height / 2];
        const target = [(panned.x0 + panned.x1) / 2, (panned.y0 + panned.y1) / 2];
        const [tx, ty] = (await pagePoint(frame, 1024))(target[0], target[1]);
        const dx = centre[0] - tx;
        const dy = centre[1] - ty;
        assert.ok(Math.hypot(dx, dy) > 100, "the drag is long enough to see");
        const box = async () => (await (await frame.$("#image"))!.boundingBox())!;
        const transform = () => frame.$eval("#stage", (s) => (s as HTMLElement).style.transform);
        const before = await box();
        const transformBefore = await transform();
        await tool("pan");
        await drag(page, [
          [centre[0] - dx / 2, centre[1] - dy / 2],
          [centre[0] + dx / 2, centre[1] + dy / 2],
        ]);
        const after = await box();
        assert.ok(
          Math.abs(after.x - before.x - dx) < 1,
          `moved ${after.x - before.x} of ${dx} across`,
        );
        assert.ok(
          Math.abs(after.y - before.y - dy) < 1,
          `moved ${after.y - before.y} of ${dy} down`,
        );
        assert.ok(Math.abs(after.width - before.width) < 0.5, "the same zoom");
        assert.notEqual(await transform(), transformBefore);
        const [mx, my] = (await pagePoint(frame, 1024))(target[0], target[1]);
        assert.ok(Math.hypot(mx - centre[0], my - centre[1]) < 1.5, "the target is centred");
        await tool("rect");
        const atPanned = await pagePoint(frame, 1024);
        await drag(page, [atPanned(panned.x0, panned.y0), atPanned(panned.x1, panned.y1)]);
        await page.screenshot({ path: join(SCREENSHOTS, "10-panned.png") });
        await frame.click("#zoom-fit");
      },
    );

    await frame.fill("#prompt", "boats");
    await frame.click("#edit");
    await frame.waitForFunction(
      () => document.querySelectorAll("#filmstrip button").length === 2,
      undefined,
      { timeout: 60_000 },
    );
    // The edit is over (its progress bar and status no longer change the layout the zoom fits).
    await frame.waitForSelector("#progress", { state: "hidden" });
    const mask = lastMask(fake);
    assert.equal(mask.alpha(150, 200), 0, "brushed: transparent");
    assert.equal(mask.alpha(850, 200), 0, "brushed on the other side of the eraser: transparent");
    assert.equal(mask.alpha(500, 200), 255, "erased: opaque again");
    assert.equal(mask.alpha(500, 800), 0, "inside the lasso: transparent");
    assert.equal(mask.alpha(500, 500), 255, "above the lasso: opaque");
    assert.equal(mask.alpha(70, 70), 255, "the undone rectangle: opaque");
    await t.step("brush size: the control sets the painted stroke's width", () => {
      const widths = [[200, 48], [350, 16], [470, 100]].map(([y, size]) => ({
        size,
        width: strokeWidth(mask, 200, y),
      }));
      for (const { size, width } of widths) {
        assert.ok(Math.abs(width - size) <= 2, `a ${size}-pixel brush painted ${width} pixels`);
      }
    });
    await t.step("pan: the rectangle painted after the pan is where it was drawn", () => {
      assert.deepEqual(maskMismatch(mask, panned, { margin: 40 }), { inside: 0, outside: 0 });
    });

    // Zoom in: the image is drawn larger; fit brings it back.
    const width = async () => (await (await frame.$("#image"))!.boundingBox())!.width;
    await frame.click("#zoom-fit");
    const fitted = await width();
    await frame.click("#zoom-in");
    assert.ok(await width() > fitted * 1.1, "zoomed in");
    await frame.click("#zoom-fit");
    assert.ok(Math.abs(await width() - fitted) < 2, "fitted again");

    // The gallery lists the caller's saved images from resources/list.
    await frame.click("#gallery-btn");
    await frame.waitForFunction(
      () => document.querySelectorAll("#gallery-grid img, #gallery-grid button").length >= 2,
      undefined,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: join(SCREENSHOTS, "11-gallery.png") });
    await frame.click("#gallery-close");

    await t.step("gallery: open an image, compare two, edit one with a mask", async () => {
      // An image the view has not seen: made by another call.
      const lighthouse = savedImage(
        await h.call("generate_image", { prompt: "a lighthouse", size: "1024x1024" }),
      );
      const harbour = savedImage(result);
      const card = (image: { uri: string }, action: string) =>
        `#gallery-grid .card:has(img[data-uri="${image.uri}"]) button:text-is("${action}")`;
      const strip = () => frame.$$eval("#filmstrip button", (b) => b.length);

      // Open: it is shown at full resolution and joins the filmstrip.
      await frame.click("#gallery-btn");
      await frame.click(card(lighthouse, "Open"));
      await frame.waitForFunction(
        (name) => document.getElementById("title")!.textContent === name,
        lighthouse.name,
      );
      assert.ok(await frame.isHidden("#gallery"), "the gallery closed");
      assert.equal(await shownDigest(frame, "#image"), await fileDigest(lighthouse.path));
      assert.equal(await frame.$eval("#image", (i) => (i as HTMLImageElement).naturalWidth), 1024);
      assert.equal(await strip(), 3);
      await page.screenshot({ path: join(SCREENSHOTS, "12-gallery-opened.png") });

      // Compare: the open image beside another one from the gallery.
      await frame.click("#gallery-btn");
      await frame.click(card(harbour, "Compare"));
      await frame.waitForFunction(() =>
        (document.getElementById("compare-b") as HTMLImageElement).complete &&
        (document.getElementById("compare-b") as HTMLImageElement).naturalWidth > 0
      );
      assert.ok(await frame.isVisible("#compare"), "side by side");
      assert.equal(await shownDigest(frame, "#compare-a"), await fileDigest(lighthouse.path));
      assert.equal(await shownDigest(frame, "#compare-b"), await fileDigest(harbour.path));
      await page.screenshot({ path: join(SCREENSHOTS, "13-gallery-compare.png") });
      await frame.click("#compare-btn");

      // Edit: the image is the edit's input, the painted area its mask.
      await frame.click("#gallery-btn");
      await frame.click(card(lighthouse, "Edit"));
      assert.ok(await frame.isVisible("#viewport"), "the image, not the comparison");
      const area = { x0: 300, y0: 250, x1: 700, y1: 600 };
      await tool("rect");
      const atLighthouse = await pagePoint(frame, 1024);
      await drag(page, [atLighthouse(area.x0, area.y0), atLighthouse(area.x1, area.y1)]);
      await frame.fill("#prompt", "a ship passing");
      const editsBefore = fake.calls("edits").length;
      await frame.click("#edit");
      await frame.waitForFunction(() =>
        document.querySelectorAll("#filmstrip button").length === 4
      );
      await frame.waitForSelector("#progress", { state: "hidden" });
      assert.match(await frame.textContent("#status") ?? "", /^edit_image done/);
      const edits = fake.calls("edits");
      assert.equal(edits.length, editsBefore + 1, "one more edit request");
      assert.deepEqual(edits.at(-1)!.editFiles?.first, await Deno.readFile(lighthouse.path));
      assert.deepEqual(maskMismatch(lastMask(fake), area), { inside: 0, outside: 0 });
      assert.deepEqual(toolCalls, ["edit_image", "edit_image"]);
      await page.screenshot({ path: join(SCREENSHOTS, "14-gallery-edited.png") });
    });

    await t.step("gallery: a page at a time, More brings the next", async () => {
      // Enough saved images for two pages of resources/list.
      const folder = dirname(savedImage(result).path);
      for (let i = 0; i < 50; i++) {
        await Deno.writeFile(join(folder, `page-${i}.png`), makePng(8, 8, { noise: i }));
      }
      const listed = await h.client.listResources(); // the client reads every page
      const total = listed.resources.filter((r) => r.uri.startsWith("image://")).length;
      assert.ok(total > 50, `${total} images: more than one page of 50`);
      const cards = () => frame.$$eval("#gallery-grid .card", (c) => c.length);
      await frame.click("#gallery-btn");
      await frame.waitForFunction(() =>
        document.querySelectorAll("#gallery-grid .card").length > 0
      );
      const first = await cards();
      assert.ok(first < total, `the first page holds ${first} of ${total}`);
      assert.ok(await frame.isVisible("#gallery-more"), "More is offered");
      await frame.click("#gallery-more");
      await frame.waitForFunction(
        (n) => document.querySelectorAll("#gallery-grid .card").length === n,
        total,
      );
      assert.ok(await frame.isHidden("#gallery-more"), "no More after the last page");
      await page.screenshot({ path: join(SCREENSHOTS, "15-gallery-pages.png") });
      await frame.click("#gallery-close");
    });
    assert.deepEqual(problems.filter((p) => !/Content Security Policy|eval/.test(p)), []);
  }));
