import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { withFileLock } from "../file_lock.ts";
import { Logger } from "../log.ts";
import { ToolError } from "../errors.ts";
import { type SessionRecord, SessionStore } from "./store.ts";

function storeOn(
  root: string,
  env: Record<string, string> = {},
  options: { turnWaitMs?: number } = {},
): { store: SessionStore; warnings: string[] } {
  const config = loadConfig({ env: (name) => env[name], cwd: root });
  const log = new Logger({ debug: false, secrets: [] });
  const warnings: string[] = [];
  log.attach((level, data) => {
    if (level === "warning") warnings.push(data);
  });
  return { store: new SessionStore(config, () => root, log, options), warnings };
}

function record(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = new Date().toISOString();
  return {
    id,
    created: now,
    updated: now,
    turns: 1,
    last_prompt: "a lighthouse",
    last_image: `/tmp/session-${id}-turn1.png`,
    output_dir: "/tmp",
    settings: { size: "1024x1024", quality: "low", output_format: "png" },
    ...overrides,
  };
}

async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gi2-sessions-" });
  try {
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const ID = "edit-1761149123-a1b2c3d4";

Deno.test("a record that is not a valid session is a clear error, moved aside unchanged", async (t) => {
  const valid = record(ID);
  const cases: [string, string, RegExp][] = [
    ["truncated JSON", JSON.stringify(valid).slice(0, 60), /not JSON: /],
    ["turns as text", JSON.stringify({ ...valid, turns: "three" }), /turns: /],
    ["no last image", JSON.stringify({ ...valid, last_image: undefined }), /last_image: /],
    [
      "an unknown quality",
      JSON.stringify({ ...valid, settings: { ...valid.settings, quality: "ultra" } }),
      /settings\.quality: /,
    ],
    ["a date that is no date", JSON.stringify({ ...valid, updated: "yesterday" }), /updated: /],
    [
      "another session's record",
      JSON.stringify({ ...valid, id: "edit-1-00000000" }),
      /it holds session edit-1-00000000/,
    ],
    ["null", "null", /record: /],
  ];
  for (const [name, text, detail] of cases) {
    await t.step(name, () =>
      withRoot(async (root) => {
        const { store } = storeOn(root);
        await Deno.mkdir(store.dir, { recursive: true });
        const path = join(store.dir, `${ID}.json`);
        await Deno.writeTextFile(path, text);
        const error = await store.withLock(ID, () => store.get(ID)).then(
          () => assert.fail("a broken record was accepted"),
          (e) => e,
        );
        assert.ok(error instanceof ToolError, String(error));
        const names = [...Deno.readDirSync(store.dir)].map((e) => e.name);
        const aside = names.find((n) => n.includes(".corrupt-"))!;
        assert.match(aside, new RegExp(`^${ID}\\.corrupt-[0-9TZ-]+\\.json$`));
        assert.equal(await Deno.readTextFile(join(store.dir, aside)), text, "content preserved");
        assert.ok(!names.includes(`${ID}.json`));
        assert.match(
          error.message,
          new RegExp(
            `^Session ${ID}: its record ${path} is broken \\(.*\\); it is moved to ${
              join(store.dir, aside)
            }, unchanged\\. Start a new session with start_edit_session\\.$`,
          ),
        );
        assert.match(error.message, detail);
      }));
  }
});

Deno.test("listing skips a broken record with a warning and keeps the valid ones", () =>
  withRoot(async (root) => {
    const { store, warnings } = storeOn(root);
    await store.save(record(ID));
    await Deno.writeTextFile(join(store.dir, "edit-1761149124-00000000.json"), "{");
    const listed = await store.list();
    assert.deepEqual(listed.map((r) => r.id), [ID]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^Session edit-1761149124-00000000: its record .* is broken/);
  }));

Deno.test("turns of one session from two stores form one chain", () =>
  withRoot(async (root) => {
    const stores = [storeOn(root).store, storeOn(root).store];
    await stores[0].save(record(ID));
    const issued: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => {
      const store = stores[i % 2];
      return store.withLock(ID, async () => {
        const previous = await store.get(ID);
        await new Promise((r) => setTimeout(r, 5)); // the API call
        const turns = previous.turns + 1;
        issued.push(turns);
        await store.save({
          ...previous,
          turns,
          last_image: `/tmp/session-${ID}-turn${turns}.png`,
          updated: new Date().toISOString(),
        });
      });
    }));
    assert.deepEqual(issued, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal((await stores[1].withLock(ID, () => stores[1].get(ID))).turns, 11);
  }));

Deno.test("a session held by a turn past the wait is busy, named in one sentence", () =>
  withRoot(async (root) => {
    const { store } = storeOn(root, {}, { turnWaitMs: 100 });
    await store.save(record(ID));
    let finish!: () => void;
    let entered!: () => void;
    const inTurn = new Promise<void>((r) => (entered = r));
    const turn = store.withLock(ID, () => {
      entered();
      return new Promise<void>((r) => (finish = r));
    });
    await inTurn;
    await assert.rejects(
      store.withLock(ID, () => store.get(ID)),
      new RegExp(
        `^ToolError: Session ${ID} is busy: another turn has held it for \\d+(\\.\\d)? s .*Try again when that turn has finished\\.$`,
      ),
    );
    finish();
    await turn;
    assert.equal((await store.withLock(ID, () => store.get(ID))).id, ID);
  }));

Deno.test("making room ends the least recently used idle session, never one in a turn", () =>
  withRoot(async (root) => {
    const { store } = storeOn(root, { GPT_IMAGE_2_SESSION_MAX: "2" });
    const ids = ["edit-1-00000001", "edit-1-00000002"];
    await store.save(record(ids[0], { updated: new Date(Date.now() - 2000).toISOString() }));
    await store.save(record(ids[1], { updated: new Date(Date.now() - 1000).toISOString() }));
    // The oldest is in a turn in another process: its lock is held.
    let finish!: () => void;
    const busy = withFileLock(
      join(store.dir, `${ids[0]}.lock`),
      () => new Promise<void>((r) => (finish = r)),
    );
    assert.deepEqual(await store.makeRoom(), []);
    finish();
    await busy;
    assert.deepEqual(await store.makeRoom(), [ids[0]]);
    const left = [...Deno.readDirSync(store.dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [`${ids[1]}.json`], "its record and lock file are gone");
  }));

Deno.test("ending and expiry remove the record and its lock file", () =>
  withRoot(async (root) => {
    const { store } = storeOn(root, { GPT_IMAGE_2_SESSION_TTL_MS: "1000" });
    const old = "edit-1-0000000e";
    await store.save(record(ID));
    await store.save(record(old, { updated: new Date(Date.now() - 5000).toISOString() }));
    await store.withLock(old, () => Promise.resolve()); // leaves its lock file
    assert.deepEqual((await store.list()).map((r) => r.id), [ID]);
    const ended = await store.withLock(ID, () => store.end(ID));
    assert.equal(ended.id, ID);
    assert.deepEqual([...Deno.readDirSync(store.dir)], []);
  }));

Deno.test("a session id of the wrong form is refused before any file is touched, naming the form", async () =>
  await withRoot(async (root) => {
    const { store } = storeOn(root);
    const bad = [
      "",
      "nope",
      "../../etc/passwd",
      "edit-1-0000000",
      "edit-1-0000000G",
      "EDIT-1-00000000",
    ];
    for (const id of bad) {
      await assert.rejects(
        store.withLock(id, () => Promise.resolve()),
        (e) =>
          e instanceof ToolError &&
          e.message.includes(`session_id "${id}" is not a session id`) &&
          e.message.includes("expected edit-<seconds>-<8 hex digits>"),
        id,
      );
      await assert.rejects(store.get(id), ToolError, id);
    }
    assert.deepEqual([...Deno.readDirSync(root)], [], "no folder was made");
  }));

Deno.test("get names why there is no live session: none was ever saved, or it idled past the TTL", async (t) => {
  const cases: [name: string, ttl: string, idleMs: number, message: RegExp][] = [
    ["no record", "60000", -1, /^Session .* does not exist or has ended\. Start a new one/],
    [
      "idle 2 s of 1.5 s",
      "1500",
      2_000,
      /expired after 1\.5 s idle \(GPT_IMAGE_2_SESSION_TTL_MS\)/,
    ],
    ["idle 31 min of 30 min", "1800000", 1_860_000, /expired after 30 min idle/],
    ["idle 25 h of 24 h", "86400000", 90_000_000, /expired after 24 h idle/],
  ];
  for (const [name, ttl, idleMs, message] of cases) {
    await t.step(name, () =>
      withRoot(async (root) => {
        const { store } = storeOn(root, { GPT_IMAGE_2_SESSION_TTL_MS: ttl });
        if (idleMs >= 0) {
          await store.save(record(ID, { updated: new Date(Date.now() - idleMs).toISOString() }));
        }
        await assert.rejects(
          store.get(ID),
          (e) => e instanceof ToolError && message.test(e.message),
        );
        if (idleMs >= 0) {
          assert.deepEqual([...Deno.readDirSync(store.dir)], [], "an expired record is removed");
        }
      }));
  }
});

Deno.test("a session idle for less than its TTL is returned as saved", () =>
  withRoot(async (root) => {
    const { store } = storeOn(root, { GPT_IMAGE_2_SESSION_TTL_MS: "60000" });
    const saved = record(ID, { updated: new Date(Date.now() - 59_000).toISOString() });
    await store.save(saved);
    assert.deepEqual(await store.get(ID), saved);
  }));
