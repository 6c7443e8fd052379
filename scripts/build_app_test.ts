import assert from "node:assert/strict";
import { buildViewerHtml, moduleText, OUTPUT } from "./build_app.ts";

Deno.test("build_app: the committed viewer_html.ts is what src/app/view/ builds", async () => {
  const built = moduleText(await buildViewerHtml());
  const committed = await Deno.readTextFile(OUTPUT);
  // Compared by equality, not printed: the file is ~700 KB.
  assert.ok(
    built === committed,
    "src/app/viewer_html.ts is out of date: run `deno task build:app` and commit it",
  );
});
