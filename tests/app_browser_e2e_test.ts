/// <reference lib="dom" />
/**
 * The viewer in a real browser: headless Chromium opens a test host page that embeds the
 * viewer through ext-apps' app-bridge, connected to the real server (stdio, against the fake
 * API). The test generates an image, sees it at full resolution, paints a rectangle, asks for
 * an edit of that area, and checks the mask the API received and the filmstrip. Screenshots of
 * each state go to dist/screenshots/.
 */

import { bundleForBrowser } from "../scripts/build_app.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium, type Frame, type Page } from "npm:playwright-core@1.57.0";
import { decode } from "npm:fast-png@8.0.0";
import { type Harness, REPO, startServer } from "./harness.ts";
import { FakeOpenAI } from "./fake/api.ts";

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

/** The host page: the bundled `tests/app/host.ts` inline. */
async function hostPage(): Promise<string> {
  const bundled = await bundleForBrowser(join(REPO, "tests", "app", "host.ts"));
  const script = bundled.replaceAll("</script", "<\\/script");
  return `<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head>` +
    `<body style="margin:0"><script type="module">${script}</script></body></html>`;
}

/** The viewer's frame, once the host page has created it. */
async function viewFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector("#view");
  const frame = await handle.contentFrame();
  assert.ok(frame, "the viewer's iframe has a frame");
  return frame;
}

/** A generated image opened in the viewer, in a page of `browser` with the test host. */
async function openViewer(
  h: Harness,
  browser: Browser,
  args: Record<string, unknown>,
): Promise<{ page: Page; frame: Frame; problems: string[] }> {
  const problems: string[] = [];
  const generated = await h.call("generate_image", args);
  assert.ok(!generated.isError, JSON.stringify(generated.content).slice(0, 500));
  const { tools } = await h.client.listTools();
  const tool = tools.find((t) => t.name === "generate_image");
  const page = await browser.newPage({ viewport: { width: 1020, height: 700 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  // The bridge's requests reach the real server through this test's MCP client.
  await page.exposeFunction("mcp", async (method: string, params: Record<string, unknown>) => {
    switch (method) {
      case "tools/call":
        return await h.call(params.name as string, params.arguments as Record<string, unknown>);
      case "resources/read":
        return await h.client.readResource(params as { uri: string });
      case "resources/list":
        return await h.client.listResources(params as { cursor?: string });
      default:
        throw new Error(`the test host does not forward ${method}`);
    }
  });
  await page.setContent(await hostPage());
  // Serialised by hand: the result's type is too deep for playwright's argument types.
  const call = JSON.stringify({ tool, arguments: args, result: generated });
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
  return { page, frame, problems };
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

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.error(
    "app_browser_e2e_test: no Chromium found (set CHROMIUM_BIN, or apt-get install chromium); " +
      "the viewer was not tested in a browser",
  );
}

Deno.test({
  name: "viewer: full-resolution image, a painted rectangle becomes the edit's mask, the result " +
    "joins the filmstrip",
  ignore: !chromiumPath,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
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
    const args = { prompt: "a lighthouse at dusk", size: "1024x1024", quality: "low" };
    const { page, frame, problems } = await openViewer(h, browser, args);

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
    // Transparent inside the rectangle, opaque outside it (a few pixels of slack at its edges
    // for the mapping of mouse positions to image pixels).
    const slack = 4;
    let wrongInside = 0;
    let wrongOutside = 0;
    for (let y = 0; y < 1024; y++) {
      for (let x = 0; x < 1024; x++) {
        const alpha = mask.alpha(x, y);
        const inside = x >= rect.x0 + slack && x < rect.x1 - slack && y >= rect.y0 + slack &&
          y < rect.y1 - slack;
        const outside = x < rect.x0 - slack || x >= rect.x1 + slack || y < rect.y0 - slack ||
          y >= rect.y1 + slack;
        if (inside && alpha !== 0) wrongInside++;
        if (outside && alpha !== 255) wrongOutside++;
      }
    }
    assert.equal(wrongInside, 0, "every pixel inside the rectangle is transparent");
    assert.equal(wrongOutside, 0, "every pixel outside the rectangle is opaque");

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
  } finally {
    await browser.close();
    await h.close();
    await fake.close();
  }
});

Deno.test({
  name: "viewer: brush, eraser, lasso and undo shape the mask; zoom and the gallery work",
  ignore: !chromiumPath,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
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
    const args = { prompt: "a harbour", size: "1024x1024", quality: "low" };
    const { page, frame, problems } = await openViewer(h, browser, args);
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
    await page.screenshot({ path: join(SCREENSHOTS, "6-brush-eraser-lasso.png") });

    await frame.fill("#prompt", "boats");
    await frame.click("#edit");
    await frame.waitForFunction(
      () => document.querySelectorAll("#filmstrip button").length === 2,
      undefined,
      { timeout: 60_000 },
    );
    const mask = lastMask(fake);
    assert.equal(mask.alpha(150, 200), 0, "brushed: transparent");
    assert.equal(mask.alpha(850, 200), 0, "brushed on the other side of the eraser: transparent");
    assert.equal(mask.alpha(500, 200), 255, "erased: opaque again");
    assert.equal(mask.alpha(500, 800), 0, "inside the lasso: transparent");
    assert.equal(mask.alpha(500, 500), 255, "above the lasso: opaque");
    assert.equal(mask.alpha(70, 70), 255, "the undone rectangle: opaque");

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
    await page.screenshot({ path: join(SCREENSHOTS, "7-gallery.png") });
    assert.deepEqual(problems.filter((p) => !/Content Security Policy|eval/.test(p)), []);
  } finally {
    await browser.close();
    await h.close();
    await fake.close();
  }
});
