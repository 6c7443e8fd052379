import assert from "node:assert/strict";
import { ToolError } from "../errors.ts";
import { Logger } from "../log.ts";
import type { CallToolResult } from "../deps.ts";
import type { CallContext } from "../tools/tool.ts";
import { type CallOptions, JobRunner, type JobView } from "./runner.ts";
import { JobStore } from "./store.ts";

const log = new Logger({ debug: false, secrets: [] });

function done(text = "done"): CallToolResult {
  return {
    content: [{ type: "text", text }],
    structuredContent: { images: [{ file_path: `/out/${text}.png` }] },
  };
}

/** A call the test finishes: it records its context and waits for `finish` or its abort. */
function controlled() {
  const { promise, resolve } = Promise.withResolvers<CallToolResult>();
  const started = Promise.withResolvers<Omit<CallContext, "log">>();
  return {
    finish: resolve,
    started: started.promise,
    run: (call: Omit<CallContext, "log">) => {
      started.resolve(call);
      call.signal.addEventListener("abort", () =>
        resolve({
          content: [{ type: "text", text: "The call was cancelled; no image was written." }],
          isError: true,
        }));
      return promise;
    },
  };
}

function detachedAnswer(view: JobView): CallToolResult {
  return { content: [{ type: "text", text: `job ${view.id}` }], structuredContent: { ...view } };
}

/** Two runners on one folder, as two server processes are. */
async function withRunners(
  body: (a: JobRunner, b: JobRunner, store: JobStore) => Promise<void>,
  options: { ttlMs?: number; heartbeatMs?: number } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gi2-jobrunner-" });
  const store = new JobStore({ root: () => root, ttlMs: options.ttlMs ?? 60_000, log });
  const runner = (pid: number) =>
    new JobRunner({
      store,
      log,
      progressIntervalMs: 5_000,
      heartbeatMs: options.heartbeatMs,
      pollMs: 20,
      owner: { pid, process: `p${pid}` },
    });
  const [a, b] = [runner(1_000_001), runner(1_000_002)];
  try {
    await body(a, b, store);
  } finally {
    await Promise.all([a.settled(), b.settled()]);
    await Deno.remove(root, { recursive: true });
  }
}

function plainCall(
  run: CallOptions["run"],
  fields: Partial<CallOptions> = {},
): CallOptions {
  return {
    tool: "generate_image",
    run,
    signal: new AbortController().signal,
    detachAfterMs: 50,
    detached: detachedAnswer,
    ...fields,
  };
}

Deno.test("a call that ends before detachAfterMs answers as itself and leaves no record", () =>
  withRunners(async (a, _b, store) => {
    for (const detachAfterMs of [50, 0]) {
      const answer = await a.call(plainCall(() => Promise.resolve(done()), { detachAfterMs }));
      assert.deepEqual(answer, done());
    }
    assert.deepEqual(await store.list(), []);
  }));

Deno.test("detachAfterMs 0 never detaches, however long the call runs (calls made as tasks)", () =>
  withRunners(async (a) => {
    const call = controlled();
    const answer = a.call(plainCall(call.run, { detachAfterMs: 0 }));
    await call.started;
    const late = Promise.race([answer, new Promise((r) => setTimeout(() => r("pending"), 120))]);
    assert.equal(await late, "pending", "still waiting after more than 50 ms");
    call.finish(done());
    assert.deepEqual(await answer, done());
  }));

Deno.test("a call still running after detachAfterMs answers with its job, which ends with the call's result", () =>
  withRunners(async (a, b, store) => {
    const call = controlled();
    const sent: string[] = [];
    const request = new AbortController();
    const answer = await a.call(plainCall(call.run, {
      signal: request.signal,
      send: (_n, message) => Promise.resolve(void sent.push(message)),
    }));
    const context = await call.started;
    context.progress.stage("Request sent to OpenAI");
    const view = answer.structuredContent as unknown as JobView;
    assert.match(view.id, /^job-\d+-[0-9a-f]{32}$/);
    assert.equal(view.status, "running");
    assert.ok(view.elapsedMs >= 50);
    const record = (await store.read(view.id))!;
    assert.deepEqual([record.status, record.owner], ["running", a.owner]);

    request.abort(); // the answered request no longer reaches the job
    assert.equal(context.signal.aborted, false);
    context.progress.stage("Saving");
    assert.deepEqual(sent, [], "progress after the answer stays with the job");
    assert.equal((await a.get(view.id)).view.progress, "Saving");
    assert.equal((await b.get(view.id)).view.status, "running", "another process sees it run");

    const waiting = b.get(view.id, { waitMs: 10_000 });
    call.finish(done("late"));
    const outcome = await waiting;
    assert.equal(outcome.view.status, "completed");
    assert.deepEqual(outcome.result, done("late"));
    assert.deepEqual(await a.get(view.id), outcome, "the owner answers the same from the record");
    const stored = (await store.read(view.id))!;
    assert.deepEqual([stored.status, stored.files], ["completed", ["/out/late.png"]]);
  }));

Deno.test("before it detaches, a cancel of the request aborts the call", () =>
  withRunners(async (a, _b, store) => {
    const call = controlled();
    const request = new AbortController();
    const answer = a.call(plainCall(call.run, { signal: request.signal, detachAfterMs: 10_000 }));
    const context = await call.started;
    request.abort();
    assert.equal(context.signal.aborted, true);
    assert.equal((await answer).isError, true);
    assert.deepEqual(await store.list(), []);
  }));

Deno.test("cancel aborts a detached job; its record says cancelled; a second cancel finds it ended", () =>
  withRunners(async (a, b) => {
    const call = controlled();
    const { id } = (await a.call(plainCall(call.run))).structuredContent as unknown as JobView;
    const context = await call.started;
    const first = await a.cancel(id);
    assert.equal(context.signal.aborted, true);
    assert.equal(first.alreadyEnded, false);
    assert.equal(first.view.status, "cancelled");
    assert.match(first.view.error!, /cancelled; no image was written/);
    const again = await b.cancel(id);
    assert.deepEqual([again.alreadyEnded, again.view.status], [true, "cancelled"]);
    assert.equal((await b.get(id)).result, undefined);
  }));

Deno.test("a cancel from another process is marked on the record and carried out at the owner's heartbeat", () =>
  withRunners(async (a, b) => {
    const call = controlled();
    const { id } = (await a.call(plainCall(call.run))).structuredContent as unknown as JobView;
    const context = await call.started;
    const { view, alreadyEnded } = await b.cancel(id, { waitMs: 5_000 });
    assert.equal(context.signal.aborted, true);
    assert.deepEqual([alreadyEnded, view.status], [false, "cancelled"]);
  }, { heartbeatMs: 30 }));

Deno.test("a failed call's job returns the tool's error result", () =>
  withRunners(async (a, b) => {
    const call = controlled();
    const { id } = (await a.call(plainCall(call.run))).structuredContent as unknown as JobView;
    call.finish({ content: [{ type: "text", text: "OpenAI refused: 400" }], isError: true });
    await a.settled();
    const { view, result } = await b.get(id);
    assert.deepEqual([view.status, view.error], ["failed", "OpenAI refused: 400"]);
    assert.deepEqual(result, {
      content: [{ type: "text", text: "OpenAI refused: 400" }],
      isError: true,
    });
  }));

Deno.test("a call that throws ends its job failed with the error, not a crash", () =>
  withRunners(async (a) => {
    const answer = await a.call(
      plainCall(() => Promise.reject(new Error("boom")), { detachAfterMs: 0 }),
    );
    assert.deepEqual(answer, {
      content: [{ type: "text", text: "generate_image failed unexpectedly: boom" }],
      isError: true,
    });
  }));

Deno.test("a running record whose owner no longer holds its run lock reads as lost", () =>
  withRunners(async (a, b, store) => {
    const orphan = {
      id: store.newId(),
      tool: "edit_image",
      status: "running" as const,
      created: new Date().toISOString(),
      updated: new Date().toISOString(),
      owner: { pid: 77, process: "gone0001" },
    };
    await store.write(orphan); // no run lock held: its server is gone
    const { view } = await b.get(orphan.id, { waitMs: 5_000 });
    assert.equal(view.status, "lost");
    assert.match(view.error!, /^the server stopped while it ran \(pid 77, last heard from /);

    const held = { ...orphan, id: store.newId() };
    const release = await store.create(held); // its server still runs it
    assert.equal((await a.get(held.id)).view.status, "running");
    await store.write({ ...held, status: "completed", finished: new Date().toISOString() });
    await release();
    assert.equal((await a.get(held.id)).view.status, "completed");
  }));

Deno.test("jobs expire a TTL after they end, and are then not found", () =>
  withRunners(async (a, b, store) => {
    const call = controlled();
    const { id } = (await a.call(plainCall(call.run))).structuredContent as unknown as JobView;
    call.finish(done());
    await a.settled();
    assert.equal((await b.get(id)).view.status, "completed");
    const record = (await store.read(id))!;
    await store.write({ ...record, updated: new Date(Date.now() - 61_000).toISOString() });
    await assert.rejects(() => b.get(id), /Job job-.* does not exist or has expired/);
    assert.equal(await store.read(id), undefined, "removed when found expired");
    assert.equal(await store.readResult(id), undefined);
  }));

Deno.test("a task has its record before startTask resolves: another process reads it running, then its result", () =>
  withRunners(async (a, b) => {
    const call = controlled();
    const view = await a.startTask({ tool: "edit_image", run: call.run });
    assert.deepEqual([view.tool, view.status], ["edit_image", "running"]);
    assert.equal((await b.get(view.id)).view.status, "running");
    call.finish(done("task"));
    const { view: ended, result } = await b.get(view.id, { waitMs: 5_000 });
    assert.equal(ended.status, "completed");
    assert.deepEqual(result, done("task"));
  }));

Deno.test("list shows every job on the folder, newest first, this process's and another's alike", () =>
  withRunners(async (a, b) => {
    const first = controlled();
    const second = controlled();
    const older = await a.startTask({ tool: "generate_image", run: first.run });
    const newer = await b.startTask({ tool: "edit_image", run: second.run });
    first.finish(done("older"));
    await a.settled();
    for (const runner of [a, b]) {
      const listed = await runner.list();
      assert.deepEqual(
        listed.map((v) => [v.id, v.tool, v.status]),
        [[newer.id, "edit_image", "running"], [older.id, "generate_image", "completed"]],
      );
    }
    second.finish(done("newer"));
  }));

Deno.test("a job whose record cannot be written is answered by its own process only, without inline images", async () => {
  const file = await Deno.makeTempFile({ prefix: "gi2-jobrunner-not-a-folder-" });
  const warnings: string[] = [];
  const logged = new Logger({ debug: false, secrets: [] });
  logged.attach((level, data) => {
    if (level === "warning") warnings.push(data);
  });
  // The output root is a file: no `.jobs` folder can be made below it.
  const store = new JobStore({ root: () => file, ttlMs: 60_000, log: logged });
  const runner = new JobRunner({ store, log: logged, progressIntervalMs: 5_000, pollMs: 20 });
  try {
    const call = controlled();
    const answer = await runner.call(plainCall(call.run));
    const { id } = answer.structuredContent as unknown as JobView;
    assert.match(warnings.join("\n"), /its record cannot be written .* only this server process/);
    call.finish({
      ...done(),
      content: [...done().content, { type: "image", data: "AAAA", mimeType: "image/png" }],
    });
    const { view, result } = await runner.get(id, { waitMs: 5_000 });
    assert.equal(view.status, "completed");
    assert.deepEqual(result?.content.map((c) => c.type), ["text", "text"]);
    assert.match(
      JSON.stringify(result?.content),
      /the inline image was not kept \(this server could not write the job's record\)/,
    );
  } finally {
    await runner.settled();
    await Deno.remove(file);
  }
});

Deno.test("a call whose request was cancelled before it started runs under an aborted signal", () =>
  withRunners(async (a) => {
    const request = new AbortController();
    request.abort();
    const answer = await a.call(plainCall(
      ({ signal }) => Promise.resolve(done(signal.aborted ? "aborted" : "ran")),
      { signal: request.signal },
    ));
    assert.deepEqual(answer, done("aborted"));
  }));

Deno.test("a ToolError thrown by a call is its error result, word for word", () =>
  withRunners(async (a) => {
    const answer = await a.call(plainCall(
      () => Promise.reject(new ToolError("images[0] (./a.txt): not a PNG, JPEG or WebP image")),
      { detachAfterMs: 0 },
    ));
    assert.deepEqual(answer, {
      content: [{ type: "text", text: "images[0] (./a.txt): not a PNG, JPEG or WebP image" }],
      isError: true,
    });
  }));

Deno.test("a finished task read while its process lets go of it still gives its result", () =>
  withRunners(async (a) => {
    const call = controlled();
    const view = await a.startTask({ tool: "generate_image", run: call.run });
    await call.started;
    call.finish(done("kept"));
    // Every read from the moment the job ends (one per turn of the event loop, while the
    // process stores the result and lets go of the job): none may lack the result.
    const settled = a.settled().then(() => true);
    let ended = 0;
    while (!(await Promise.race([settled, Promise.resolve(false)]))) {
      const outcome = await a.get(view.id);
      if (outcome.view.status !== "running") {
        ended++;
        assert.equal(outcome.view.status, "completed");
        assert.ok(outcome.result, `read ${ended} after the end: completed, with its result`);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const after = await a.get(view.id);
    assert.ok(after.result, "and once it is only a record, from the record");
  }));
