/** Detached calls end to end: a long call answers with a job, which get_image_job and cancel_image_job follow. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeBase64 } from "../src/images/codecs/base64.ts";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import type { JobStatusContent } from "../src/tools/jobs.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { type Harness, listFiles, startServer, textOf, waitFor, withServer } from "./harness.ts";
import type { CallToolResult } from "./mcp_client.ts";

const JOB_ID = /^job-\d+-[0-9a-f]{32}$/;

function jobStatus(result: CallToolResult): JobStatusContent {
  const status = result.structuredContent as JobStatusContent | undefined;
  assert.ok(status?.job_id, `a job status: ${JSON.stringify(result)}`);
  return status;
}

/** Calls get_image_job until the job is no longer running. */
async function jobResult(h: Harness, jobId: string): Promise<CallToolResult> {
  for (let polls = 0; polls < 30; polls++) {
    const result = await h.call("get_image_job", { job_id: jobId, wait_s: 50 });
    const status = (result.structuredContent as { status?: string } | undefined)?.status;
    if (status !== "running") return result;
    assert.match(textOf(result), new RegExp(`Job ${jobId} \\(\\w+\\) is still running`));
  }
  throw new Error(`job ${jobId} still running after 30 polls`);
}

/** Whether two byte arrays are equal (assert.deepEqual's diff of megabytes takes minutes). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The keys of a value, recursively: what a result's shape is, whatever its values. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]).sort());
  }
  return typeof value;
}

/** Jobs' files below an output root, relative to it. */
async function jobFiles(root: string): Promise<string[]> {
  return (await listFiles(root)).filter((f) => f.includes("/.jobs/"));
}

/** Runs `body` with a way to start servers on one HOME and working folder, as restarts do. */
async function withRestarts(
  env: Record<string, string>,
  body: (start: () => Promise<Harness>, root: string, fake: FakeOpenAI) => Promise<void>,
): Promise<void> {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: "gi2-jobs-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "gi2-jobs-cwd-" });
  const root = join(home, ".config", "gpt-image-2-mcp");
  const start = () => startServer({ fake, cwd, allowWrite: [root], env: { HOME: home, ...env } });
  try {
    await body(start, root, fake);
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("a call still running after GPT_IMAGE_2_DETACH_AFTER_S answers with a job; get_image_job returns its image as generate_image would", () =>
  withServer({
    env: { GPT_IMAGE_2_DETACH_AFTER_S: "2", GPT_IMAGE_2_PROGRESS_INTERVAL_MS: "200" },
  }, async (h, fake) => {
    const clientErrors: string[] = [];
    h.client.onerror = (error) => clientErrors.push(error.message);
    const { tools } = await h.client.listTools(); // so the client checks results against the schemas
    const listed = tools.find((t) => t.name === "generate_image")!.outputSchema!;
    assert.equal(listed.type, "object");
    assert.equal((listed.anyOf as unknown[]).length, 2, "its own result, or a running job");
    fake.delayMs = 5_000;
    const args = { prompt: "a slow lighthouse", size: "1024x1024", quality: "low", inline: "full" };
    const progress: string[] = [];
    const detached = await h.call("generate_image", args, {
      onprogress: (p) => progress.push(p.message ?? ""),
    });
    const request = fake.calls("generations")[0];
    assert.equal(request.finishedAt, undefined, "the job answered before the API did");
    assert.equal(detached.isError, undefined, textOf(detached));
    const job = jobStatus(detached);
    assert.match(job.job_id, JOB_ID);
    assert.equal(job.status, "running");
    assert.equal(job.tool, "generate_image");
    const why = `generate_image still running after 2000 ms: it goes on as job ${job.job_id}`;
    assert.ok(await waitFor(() => h.stderr().includes(why)), `detached after the configured wait`);
    assert.match(job.progress!, /^Request sent to OpenAI/);
    assert.ok(progress.some((m) => m.startsWith("Request sent to OpenAI")), progress.join("|"));
    assert.match(textOf(detached), new RegExp(`goes on as job ${job.job_id}`));
    assert.match(
      textOf(detached),
      new RegExp(`get_image_job with \\{"job_id": "${job.job_id}"\\}`),
    );

    const result = await jobResult(h, job.job_id);
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(request.aborted, false, "the API call went on after the answer");
    const s = result.structuredContent as ImageJobResult;
    assert.equal(s.images.length, 1);
    const file = await Deno.readFile(s.images[0].file_path);
    assert.ok(sameBytes(file, await fake.image("1024x1024", "png")), "the file is the API's image");
    const inline = result.content.filter((c) => c.type === "image") as { data: string }[];
    assert.equal(inline.length, 1);
    assert.equal(s.inline.images[0].kind, "original");
    assert.ok(sameBytes(decodeBase64(inline[0].data), file), "the inline image is the file");
    assert.match(textOf(result), /^Generated 1 image\(s\) with gpt-image-2\./);
    assert.deepEqual(clientErrors, [], "no progress for the answered request");
    const again = await h.call("get_image_job", { job_id: job.job_id });
    assert.deepEqual(again, result, "the result stays for later calls");

    fake.delayMs = 0;
    const direct = await h.call("generate_image", args);
    assert.equal(direct.isError, undefined, textOf(direct));
    assert.deepEqual(shape(result.structuredContent), shape(direct.structuredContent));
    assert.deepEqual(result.content.map((c) => c.type), direct.content.map((c) => c.type));
    const records = await jobFiles(h.configRoot);
    assert.deepEqual(records.map((f) => f.replace(/^.*\/\.jobs\//, "")).sort(), [
      ".lock",
      `${job.job_id}.json`,
      `${job.job_id}.result.json`,
    ]);
  }));

Deno.test("a job that finished before its server stopped is found by the next server", () =>
  withRestarts({ GPT_IMAGE_2_DETACH_AFTER_S: "1" }, async (start, root, fake) => {
    let h = await start();
    fake.delayMs = 3_000;
    const job = jobStatus(
      await h.call("generate_image", { prompt: "restart", quality: "low", inline: "full" }),
    );
    const [record] = (await jobFiles(root)).filter((f) => f.endsWith(`${job.job_id}.json`));
    const completed = async () =>
      JSON.parse(await Deno.readTextFile(join(root, record))).status === "completed";
    assert.ok(await waitFor(completed, 15_000), "the first server completed the job");
    await h.close();

    h = await start();
    try {
      const result = await h.call("get_image_job", { job_id: job.job_id, wait_s: 0 });
      assert.equal(result.isError, undefined, textOf(result));
      const s = result.structuredContent as ImageJobResult;
      const file = await Deno.readFile(s.images[0].file_path);
      assert.ok(sameBytes(file, await fake.image("1024x1024", "png")), "the API's image");
      const inline = result.content.filter((c) => c.type === "image") as { data: string }[];
      assert.ok(sameBytes(decodeBase64(inline[0].data), file), "the inline image is the file");
      assert.equal(fake.calls("generations").length, 1, "no second request");
    } finally {
      await h.close();
    }
  }));

Deno.test("a job whose server stopped while it ran reads as lost in the next server", () =>
  withRestarts({ GPT_IMAGE_2_DETACH_AFTER_S: "1" }, async (start, root, fake) => {
    let h = await start();
    fake.delayMs = 30_000;
    const job = jobStatus(await h.call("generate_image", { prompt: "cut short", quality: "low" }));
    const pid = h.pid();
    await h.close();
    assert.ok(await waitFor(() => fake.calls("generations")[0].aborted), "the request was cut");

    h = await start();
    try {
      const result = await h.call("get_image_job", { job_id: job.job_id, wait_s: 10 });
      assert.equal(result.isError, true);
      const status = jobStatus(result);
      assert.equal(status.status, "lost");
      assert.match(status.error!, new RegExp(`^the server stopped while it ran \\(pid ${pid},`));
      assert.match(
        textOf(result),
        /is lost: the server stopped while it ran .* run the call again/,
      );
      const images = (await listFiles(root)).filter((f) => f.endsWith(".png"));
      assert.deepEqual(images, []);
    } finally {
      await h.close();
    }
  }));

Deno.test("cancel_image_job aborts a detached call's API request, deletes its uploads, writes no image and releases its budget", () =>
  withServer({
    env: {
      GPT_IMAGE_2_DETACH_AFTER_S: "1",
      GPT_IMAGE_2_EDIT_ROUTE: "responses",
      GPT_IMAGE_2_BUDGET_USD: "0.05",
    },
  }, async (h, fake) => {
    fake.delayMs = 30_000;
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    const edit = jobStatus(
      await h.call("edit_image", { prompt: "never finishes", images: ["a.png"], quality: "low" }),
    );
    assert.equal(edit.status, "running");
    // On a loaded machine the call can detach before its upload is through: wait for it.
    assert.ok(await waitFor(() => fake.uploaded.size === 1), "the input was uploaded");
    const generate = { prompt: "never finishes", size: "1024x1024", quality: "low" };
    const refused = await h.call("generate_image", generate);
    assert.equal(refused.isError, true);
    assert.match(
      textOf(refused),
      /would cross GPT_IMAGE_2_BUDGET_USD=0\.05 .*\$0\.\d{4} in flight/,
    );

    const cancelled = await h.call("cancel_image_job", { job_id: edit.job_id });
    assert.equal(cancelled.isError, undefined, textOf(cancelled));
    assert.equal(jobStatus(cancelled).status, "cancelled");
    assert.match(
      textOf(cancelled),
      /^Cancelled Job .*: The call was cancelled; no image was written/,
    );
    assert.ok(await waitFor(() => fake.calls("responses")[0]?.aborted), "responses aborted");
    assert.ok(await waitFor(() => fake.uploaded.size === 0), "uploads deleted");

    const second = jobStatus(await h.call("generate_image", generate)); // the budget is free again
    assert.equal(second.status, "running");
    assert.equal(
      jobStatus(await h.call("cancel_image_job", { job_id: second.job_id })).status,
      "cancelled",
    );
    assert.ok(await waitFor(() => fake.calls("generations")[0]?.aborted), "generation aborted");

    const later = await h.call("get_image_job", { job_id: edit.job_id });
    assert.equal(jobStatus(later).status, "cancelled");
    const again = await h.call("cancel_image_job", { job_id: edit.job_id });
    assert.match(textOf(again), /had already ended \(cancelled\)/);
    const written = (await listFiles(h.configRoot)).filter((f) =>
      !f.includes("/.jobs/") && !f.startsWith(".gpt-image-2-ledger.")
    );
    assert.deepEqual(written, [], "no image");
    const ledger = JSON.parse(
      await Deno.readTextFile(`${h.configRoot}/.gpt-image-2-ledger.json`),
    );
    assert.equal(ledger.spent_usd ?? 0, 0, "no spend recorded");
    assert.deepEqual(ledger.reservations ?? [], [], "no reservation left");
  }));

Deno.test("a session turn that detaches updates its session when the job ends; the next turn edits its image", () =>
  withServer({ env: { GPT_IMAGE_2_DETACH_AFTER_S: "1" } }, async (h, fake) => {
    await Deno.writeFile(join(h.cwd, "a.png"), makePng(1024, 1024));
    fake.delayMs = 2_500;
    const first = jobStatus(
      await h.call("start_edit_session", { prompt: "one", images: ["a.png"] }),
    );
    assert.equal(first.tool, "start_edit_session");
    const turn1 = await jobResult(h, first.job_id);
    assert.equal(turn1.isError, undefined, textOf(turn1));
    const s1 = turn1.structuredContent as ImageJobResult & { session_id: string; turn: number };
    assert.equal(s1.turn, 1);
    const second = await h.call("continue_edit_session", {
      session_id: s1.session_id,
      prompt: "two",
    });
    const turn2 = await jobResult(h, jobStatus(second).job_id);
    assert.equal(turn2.isError, undefined, textOf(turn2));
    const s2 = turn2.structuredContent as ImageJobResult & { session_id: string; turn: number };
    assert.deepEqual([s2.session_id, s2.turn], [s1.session_id, 2]);
    const { sessions } = (await h.call("list_edit_sessions", {})).structuredContent as {
      sessions: { turns: number; last_image: string }[];
    };
    assert.deepEqual(sessions.map((x) => [x.turns, x.last_image]), [[2, s2.images[0].file_path]]);
  }));

Deno.test("GPT_IMAGE_2_DETACH_AFTER_S=0 never detaches: a long call answers with its image", () =>
  withServer({ env: { GPT_IMAGE_2_DETACH_AFTER_S: "0" } }, async (h, fake) => {
    const { tools } = await h.client.listTools();
    const listed = tools.find((t) => t.name === "generate_image")!.outputSchema!;
    assert.equal(listed.anyOf, undefined, "the plain image result schema");
    fake.delayMs = 3_000;
    const result = await h.call("generate_image", { prompt: "patient", quality: "low" });
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal((result.structuredContent as ImageJobResult).images.length, 1);
    assert.deepEqual(await jobFiles(h.configRoot), []);
  }));

Deno.test("get_image_job and cancel_image_job name a bad or unknown job id", () =>
  withServer({}, async (h, fake) => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["get_image_job", { job_id: "nope" }, /job_id "nope" is not a job id/],
      ["cancel_image_job", { job_id: "../x" }, /job_id "\.\.\/x" is not a job id/],
      [
        "get_image_job",
        { job_id: "job-1761149123-0123abcd0123abcd0123abcd0123abcd" },
        /Job job-1761149123-0123abcd0123abcd0123abcd0123abcd does not exist or has expired/,
      ],
      [
        "get_image_job",
        { job_id: "job-1-0123abcd0123abcd0123abcd0123abcd", wait_s: 51 },
        /wait_s: /,
      ],
    ];
    for (const [tool, args, expected] of cases) {
      const result = await h.call(tool, args);
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match(textOf(result), expected);
    }
    assert.equal(fake.requests.length, 0);
  }));
