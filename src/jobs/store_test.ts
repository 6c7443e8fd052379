import assert from "node:assert/strict";
import { join } from "node:path";
import { Logger } from "../log.ts";
import { ToolError } from "../errors.ts";
import { type JobRecord, JobStore } from "./store.ts";

const log = new Logger({ debug: false, secrets: [] });

async function withStore(
  body: (store: JobStore, root: string) => Promise<void>,
  ttlMs = 60_000,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gi2-jobstore-" });
  try {
    await body(new JobStore({ root: () => root, ttlMs, log }), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function record(store: JobStore, fields: Partial<JobRecord> = {}): JobRecord {
  const now = new Date().toISOString();
  return {
    id: store.newId(),
    tool: "generate_image",
    status: "running",
    created: now,
    updated: now,
    owner: { pid: 4242, process: "0123abcd" },
    ...fields,
  };
}

function ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("a record is written atomically under .jobs and read back as written", () =>
  withStore(async (store, root) => {
    const written = record(store, { progress: "Request sent" });
    await store.write(written);
    assert.equal(store.dir, join(root, ".jobs"));
    assert.deepEqual(await names(store.dir), [`${written.id}.json`]);
    assert.deepEqual(await store.read(written.id), written);
    assert.equal(await store.read(store.newId()), undefined);
  }));

Deno.test("a record an earlier version named with 8 hex digits is still read and listed", () =>
  withStore(async (store) => {
    const earlier = record(store, { id: "job-1761149123-0123abcd", status: "completed" });
    await store.write(earlier);
    assert.deepEqual(await store.read(earlier.id), earlier);
    assert.deepEqual((await store.list()).map((r) => r.id), [earlier.id]);
    assert.match(store.newId(), /^job-\d+-[0-9a-f]{32}$/, "new ids keep 128 random bits");
  }));

Deno.test("a malformed id, or a record that is not one, is a ToolError naming the job and the rule", () =>
  withStore(async (store) => {
    const id = store.newId();
    const cases: [string | undefined, string, RegExp][] = [
      [undefined, "../../etc/passwd", /job_id "\.\.\/\.\.\/etc\/passwd" is not a job id/],
      ["{not json", id, /is not JSON/],
      [JSON.stringify({ id, status: "done" }), id, /is not a job record \(.*status: /],
      [JSON.stringify(record(store)), id, /is not a job record \(it names job-/],
    ];
    for (const [text, asked, expected] of cases) {
      if (text !== undefined) {
        await Deno.mkdir(store.dir, { recursive: true });
        await Deno.writeTextFile(store.path(id), text);
      }
      await assert.rejects(
        () => store.read(asked),
        (e) => e instanceof ToolError && expected.test(e.message),
      );
    }
  }));

Deno.test("updates from many callers at once are applied one after another", () =>
  withStore(async (store) => {
    const first = record(store, { progress: "" });
    await store.write(first);
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => store.update(first.id, (r) => ({ ...r, progress: `${r.progress}${i},` })),
      ),
    );
    const progress = (await store.read(first.id))!.progress!.split(",").filter(Boolean);
    assert.deepEqual(progress.map(Number).sort((a, b) => a - b), [...Array(20).keys()]);
    assert.equal(await store.update(store.newId(), (r) => r), undefined, "no record, no write");
  }));

Deno.test("a result is written whole and read back as the same tool result", () =>
  withStore(async (store) => {
    const id = store.newId();
    const data = "iVBORw0KGgo=";
    await store.saveResult(id, {
      content: [
        { type: "image", data, mimeType: "image/png" },
        { type: "resource_link", uri: "file:///x.png", name: "x.png", mimeType: "image/png" },
        { type: "text", text: "Generated 1 image(s)" },
      ],
      structuredContent: { images: [{ file_path: "/x.png" }] },
    });
    assert.deepEqual(await store.readResult(id), {
      content: [
        { type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" },
        { type: "resource_link", uri: "file:///x.png", name: "x.png", mimeType: "image/png" },
        { type: "text", text: "Generated 1 image(s)" },
      ],
      structuredContent: { images: [{ file_path: "/x.png" }] },
    });
    assert.deepEqual(await names(store.dir), [`${id}.result.json`], "no temporary file left");
    assert.equal(await store.readResult(store.newId()), undefined);
    await Deno.writeTextFile(store.resultPath(id), JSON.stringify({ content: [{ type: "x" }] }));
    await assert.rejects(() => store.readResult(id), /is not a tool result \(content\.0/);
  }));

Deno.test("create holds the job's run lock until released; readers see it held, then free", () =>
  withStore(async (store) => {
    const running = record(store);
    const release = await store.create(running);
    assert.deepEqual(await store.read(running.id), running);
    assert.equal(await store.runLocks.free(running.id), false);
    assert.equal(await store.runLocks.free(running.id), false, "a later look answers at once");
    await release();
    // The watch the held looks left concludes on its own thread, however loaded the machine.
    let free = await store.runLocks.free(running.id);
    for (let look = 0; look < 250 && !free; look++) {
      await new Promise((r) => setTimeout(r, 20));
      free = await store.runLocks.free(running.id);
    }
    assert.equal(free, true);
    assert.deepEqual(await names(store.dir), [".lock", `${running.id}.json`]);
    assert.equal(await store.runLocks.free(store.newId()), true, "no lock file: free");
  }));

Deno.test("the sweep removes expired records with their files, and files whose record is gone", () =>
  withStore(async (store) => {
    const cases: [string, JobRecord, boolean][] = [
      ["expired completed", record(store, { status: "completed", updated: ago(2_000) }), false],
      ["fresh completed", record(store, { status: "completed" }), true],
      ["expired running, kept by the caller", record(store, { updated: ago(2_000) }), true],
      ["expired running, not kept", record(store, { updated: ago(3_000) }), false],
    ];
    for (const [, r] of cases) {
      await store.write(r);
      await Deno.writeTextFile(store.resultPath(r.id), "{}");
    }
    const orphan = store.newId();
    await Deno.writeTextFile(store.resultPath(orphan), "{}");
    await Deno.writeTextFile(store.runLockPath(orphan), "");
    await Deno.writeTextFile(join(store.dir, "notes.txt"), "not ours");
    const keep = (r: JobRecord) => Promise.resolve(r.id === cases[2][1].id);
    const removed = await store.sweep(keep);
    assert.deepEqual(removed.sort(), [cases[0][1].id, cases[3][1].id].sort());
    for (const [name, r, stays] of cases) {
      assert.equal((await store.read(r.id)) !== undefined, stays, name);
      assert.equal(await Deno.stat(store.resultPath(r.id)).then(() => true, () => false), stays);
    }
    const left = await names(store.dir);
    assert.ok(!left.some((n) => n.startsWith(orphan)), left.join());
    assert.ok(left.includes("notes.txt"));
  }, 1_000));
