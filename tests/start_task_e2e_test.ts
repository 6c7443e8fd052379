/** `deno task start` from a checkout: the documented profile, with the API host it is given. */

import assert from "node:assert/strict";
import { FakeOpenAI } from "./fake/api.ts";
import { REPO, startServer, textOf } from "./harness.ts";

Deno.test("deno task start grants the host of OPENAI_BASE_URL, so a gateway works from a checkout", async () => {
  const fake = FakeOpenAI.start();
  const h = await startServer({
    fake,
    cwd: REPO,
    command: { command: Deno.execPath(), args: ["task", "--quiet", "start"] },
  });
  try {
    const result = await h.call("generate_image", { prompt: "a harbour at dawn", quality: "low" });
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(fake.requests.filter((r) => r.route === "generations").length, 1);
    assert.doesNotMatch(h.stderr(), /Add --allow-net/);
  } finally {
    await h.close();
    await fake.close();
  }
});
