/** Every API fault, driven through the MCP client against the fake; prints fault / expected / seen. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI, type Fault, type Route } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { type Harness, listFiles, startServer, textOf, waitFor, withServer } from "./harness.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";

interface Row {
  fault: string;
  route?: Route;
  inject: Fault[];
  /** "ok" for a saved image, or the error the model must see. */
  expect: "ok" | RegExp;
  /** How many requests the route must have received (retries included). */
  requests: number;
  env?: "responses";
  /** The image size asked for: 3840x2160 answers go to disk as they arrive. */
  size?: string;
}

const s = (status: number, extra: Partial<Extract<Fault, { kind: "status" }>> = {}): Fault => ({
  kind: "status",
  status,
  ...extra,
});
const now = { "retry-after": "0" };

const ROWS: Row[] = [
  {
    fault: "429 once (Retry-After: 0)",
    inject: [s(429, { headers: now })],
    expect: "ok",
    requests: 2,
  },
  {
    fault: "429 on every attempt",
    inject: [
      s(429, { headers: now }),
      s(429, { headers: now }),
      s(429, { headers: now, message: "Rate limit reached for images per minute" }),
    ],
    expect:
      /OpenAI rate limit reached \(429\) after 3 attempt\(s\): Rate limit reached for images per minute Lower n, space the calls out \(the API asked for 0 s\)/,
    requests: 3,
  },
  {
    fault: "429 insufficient_quota",
    inject: [s(429, { code: "insufficient_quota", message: "You exceeded your current quota." })],
    expect: /out of quota \(429\): You exceeded your current quota\. Check billing/,
    requests: 1,
  },
  { fault: "500 once", inject: [s(500)], expect: "ok", requests: 2 },
  {
    fault: "503 three times",
    inject: [s(503), s(503), s(503)],
    expect: /OpenAI server error \(503\) after 3 attempt\(s\)/,
    requests: 3,
  },
  {
    fault: "connection dropped mid-answer once",
    inject: [{ kind: "drop" }],
    expect: "ok",
    requests: 2,
  },
  {
    fault: "connection dropped three times",
    inject: [{ kind: "drop" }, { kind: "drop" }, { kind: "drop" }],
    expect: /connection to the OpenAI API broke after 3 attempt\(s\)/,
    requests: 3,
  },
  {
    fault: "connection broken inside a 4K image once",
    inject: [{ kind: "cut", at: 12_000_000 }],
    size: "3840x2160",
    expect: "ok",
    requests: 2,
  },
  {
    fault: "connection broken inside a 4K image three times",
    inject: [{ kind: "cut", at: 12_000_000 }, { kind: "cut", at: 9_000_000 }, {
      kind: "cut",
      at: 20_000_000,
    }],
    size: "3840x2160",
    expect: /connection to the OpenAI API broke after 3 attempt\(s\)/,
    requests: 3,
  },
  {
    fault: "400 naming a parameter",
    inject: [s(400, { param: "size", message: "Invalid size '1024x1024' for this model." })],
    expect: /OpenAI rejected the parameter "size" \(400\): Invalid size/,
    requests: 1,
  },
  {
    fault: "400 moderation_blocked",
    inject: [
      s(400, {
        code: "moderation_blocked",
        message: "Your request was rejected by the safety system.",
      }),
    ],
    expect: /refused this request under its content policy \(moderation_blocked\)/,
    requests: 1,
  },
  {
    fault: "401 bad key",
    inject: [s(401, { message: "Incorrect API key provided: sk-test-f***7890." })],
    expect: /OpenAI rejected the API key \(401\).*Check OPENAI_API_KEY/,
    requests: 1,
  },
  {
    fault: "403 verification",
    inject: [
      s(403, { message: "Your organization must be verified to use the model gpt-image-2." }),
    ],
    expect: /denied access \(403\).*Organization Verification/,
    requests: 1,
  },
  {
    fault: "409 (a 4xx, never retried)",
    inject: [s(409)],
    expect: /OpenAI error \(409\)/,
    requests: 1,
  },
  {
    fault: "truncated JSON",
    inject: [{ kind: "bad-json" }],
    expect: /malformed answer .*nothing was saved/,
    requests: 1,
  },
  {
    fault: "no data",
    inject: [{ kind: "no-data" }],
    expect: /^OpenAI returned no image\. The call was billed: \$0\.\d{4} is recorded/,
    requests: 1,
  },
  {
    fault: "invalid base64",
    inject: [{ kind: "bad-base64" }],
    expect: /image 1 as invalid base64; nothing was saved/,
    requests: 1,
  },
  {
    fault: "bytes of another format",
    inject: [{ kind: "wrong-format" }],
    expect: /image 1 that is not a valid PNG image \(it is jpeg\); nothing was saved/,
    requests: 1,
  },
  {
    fault: "8 MB that are no image (written to disk as they arrive)",
    inject: [{ kind: "not-an-image", bytes: 8 << 20 }],
    expect: /image 1 that is not a valid PNG image \(it looks like binary data in no format/,
    requests: 1,
  },
  {
    fault: "Responses answer with no image call",
    route: "responses",
    env: "responses",
    inject: [{ kind: "no-image-call" }],
    expect: /OpenAI returned no image; the model answered/,
    requests: 1,
  },
];

async function run(h: Harness, row: Row): Promise<string> {
  if (row.env === "responses") {
    return textOf(
      await h.call("edit_image", {
        prompt: "fault",
        images: [join(h.cwd, "in.png")],
        inline: "none",
      }),
    );
  }
  const result = await h.call("generate_image", {
    prompt: "fault",
    quality: "low",
    inline: "none",
    ...(row.size ? { size: row.size } : {}),
  });
  return result.isError ? textOf(result) : "ok";
}

Deno.test("API faults: retries, backoff and one actionable error each; nothing partial on disk", async () => {
  const fake = FakeOpenAI.start();
  const table: string[][] = [];
  const servers = {
    direct: await startServer({ fake, env: { GPT_IMAGE_2_RETRY_BASE_MS: "5" } }),
    responses: await startServer({
      fake,
      env: { GPT_IMAGE_2_RETRY_BASE_MS: "5", GPT_IMAGE_2_EDIT_ROUTE: "responses" },
    }),
  };
  await Deno.writeFile(join(servers.responses.cwd, "in.png"), makePng(1024, 1024));
  try {
    for (const row of ROWS) {
      const route = row.route ?? "generations";
      const h = servers[row.env ?? "direct"];
      const before = await listFiles(h.configRoot);
      const count = fake.calls(route).length;
      fake.inject(route, ...row.inject);
      const seen = await run(h, row);
      const requests = fake.calls(route).length - count;
      table.push([
        row.fault,
        row.expect === "ok" ? "ok" : row.expect.source.slice(0, 60),
        seen.slice(0, 90),
      ]);
      if (row.expect === "ok") assert.equal(seen, "ok", row.fault);
      else {
        assert.match(seen, row.expect, row.fault);
        const after = (await listFiles(h.configRoot)).filter((f) =>
          !before.includes(f) && !f.includes(".gpt-image-2-ledger.")
        );
        assert.deepEqual(after, [], `${row.fault}: nothing written`);
      }
      assert.equal(requests, row.requests, `${row.fault}: requests`);
      const temporary = (await listFiles(h.configRoot)).filter((f) => f.endsWith(".tmp"));
      assert.deepEqual(temporary, [], `${row.fault}: no temporary file left`);
      assert.ok(!seen.includes(fake.apiKey), `${row.fault}: no key in the error`);
    }
    assert.equal(fake.uploaded.size, 0, "no uploaded file left");
    assert.ok(
      servers.direct.logs.some((l) =>
        l.level === "warning" &&
        /images\.generate: HTTP 429; retrying in \d+ ms \(attempt 2 of 3\)/.test(String(l.data))
      ),
      "each retry reaches the client as notifications/message",
    );
    for (const h of Object.values(servers)) assert.ok(!h.stderr().includes(fake.apiKey));
  } finally {
    console.log(["fault | expected | seen", ...table.map((r) => r.join(" | "))].join("\n"));
    for (const h of Object.values(servers)) await h.close();
    await fake.close();
  }
});

Deno.test("an answer the API billed but whose image is unusable still counts against the budget", () =>
  withServer({ env: { GPT_IMAGE_2_BUDGET_USD: "5" } }, async (h, fake) => {
    const ledger = async () => {
      const [path] = (await listFiles(h.configRoot)).filter((f) => f.endsWith("ledger.json"));
      return JSON.parse(await Deno.readTextFile(join(h.configRoot, path)));
    };
    const call = () => h.call("generate_image", { prompt: "x", quality: "low", inline: "none" });
    for (const kind of ["bad-base64", "wrong-format", "no-data"] as const) {
      fake.inject("generations", { kind });
      const failed = await call();
      assert.equal(failed.isError, true, kind);
      assert.match(
        textOf(failed),
        /\. The call was billed: \$0\.\d{4} is recorded against the spend ledger \(spent so far \$0\.\d{4}\)\.$/,
        kind,
      );
    }
    const afterFailures = await ledger();
    assert.equal(afterFailures.calls, 3);
    assert.ok(afterFailures.spent_usd > 0);
    const ok = await call();
    assert.equal(ok.isError, undefined, textOf(ok));
    const spend = (ok.structuredContent as ImageJobResult).spend;
    assert.equal((await ledger()).calls, 4);
    assert.ok(
      spend.spent_usd! > afterFailures.spent_usd,
      "the successful call adds to the same total",
    );
  }));

Deno.test("Retry-After is honoured between attempts", () =>
  withServer({ env: { GPT_IMAGE_2_RETRY_BASE_MS: "5" } }, async (h, fake) => {
    fake.inject("generations", s(429, { headers: { "retry-after": "1" } }));
    const result = await h.call("generate_image", { prompt: "x", quality: "low", inline: "none" });
    assert.equal(result.isError, undefined, textOf(result));
    const [first, second] = fake.calls("generations");
    assert.ok(second.startedAt > first.finishedAt!, "the retry follows the refusal");
    const asked = /HTTP 429; retrying in 1000 ms \(attempt 2 of \d+\)/;
    assert.ok(await waitFor(() => asked.test(h.stderr())), "waits the API's second, not 5 ms");
  }));

Deno.test("a call slower than GPT_IMAGE_2_TIMEOUT_MS fails with the limit in the message", async () => {
  await withServer(
    { env: { GPT_IMAGE_2_TIMEOUT_MS: "1000", GPT_IMAGE_2_MAX_RETRIES: "0" } },
    async (h, fake) => {
      fake.inject("generations", { kind: "hang" });
      const result = await h.call("generate_image", { prompt: "x", quality: "low" });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /timed out after 1 s \(GPT_IMAGE_2_TIMEOUT_MS=1000\)/);
      assert.ok(
        await waitFor(() => fake.calls("generations")[0].aborted),
        "the connection was closed",
      );
    },
  );
});
