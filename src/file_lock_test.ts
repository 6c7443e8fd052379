import assert from "node:assert/strict";
import { join } from "node:path";
import { LockFileLinkError, LockTimeoutError, PROCESS, withFileLock } from "./file_lock.ts";

const MODULE = new URL("./file_lock.ts", import.meta.url).href;

/**
 * A child process that runs `withFileLock` on `lockPath`: with "hold" it prints "locked" and
 * keeps the lock until its stdin closes; with "count N" it adds 1 to the number in `counter`
 * N times, each a read-modify-write under the lock.
 */
function child(dir: string, lockPath: string, args: string[]): Deno.ChildProcess {
  const script = join(dir, "child.ts");
  Deno.writeTextFileSync(
    script,
    `import { withFileLock } from ${JSON.stringify(MODULE)};
const [lock, mode, arg] = Deno.args;
if (mode === "hold") {
  await withFileLock(lock, async () => {
    console.log("locked");
    for await (const _ of Deno.stdin.readable) { /* until stdin closes */ }
  });
} else {
  for (let i = 0; i < Number(arg); i++) {
    await withFileLock(lock, async () => {
      const n = Number(await Deno.readTextFile(${
      JSON.stringify(join(dir, "counter"))
    }).catch(() => "0"));
      await new Promise((r) => setTimeout(r, 1));
      await Deno.writeTextFile(${JSON.stringify(join(dir, "counter"))}, String(n + 1));
    });
  }
}
`,
  );
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, lockPath, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Resolves once the child printed "locked", to a function that lets the child go and waits for it. */
async function locked(process: Deno.ChildProcess): Promise<() => Promise<void>> {
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child exited before locking: ${text}`);
    text += value;
  }
  return async () => {
    await process.stdin.close().catch(() => {});
    await reader.cancel();
    await process.status;
  };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gi2-lock-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("callers in one process take the lock one at a time, in call order", () =>
  withDir(async (dir) => {
    const lock = join(dir, "state.lock");
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) =>
      withFileLock(lock, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 5));
        order.push(i);
        inside--;
      })));
    assert.equal(most, 1);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  }));

Deno.test("two processes doing read-modify-write under the lock lose no update", () =>
  withDir(async (dir) => {
    const lock = join(dir, "state.lock");
    const children = [child(dir, lock, ["count", "100"]), child(dir, lock, ["count", "100"])];
    for (const c of children) {
      await c.stdin.close();
      await c.stdout.cancel();
      assert.equal((await c.status).code, 0);
    }
    assert.equal(await Deno.readTextFile(join(dir, "counter")), "200");
  }));

Deno.test("a wait that outlasts its limit ends in an error naming the lock and its holder", () =>
  withDir(async (dir) => {
    const lock = join(dir, "state.lock");
    const holder = child(dir, lock, ["hold"]);
    const letGo = await locked(holder);
    try {
      const started = Date.now();
      await assert.rejects(
        withFileLock(lock, () => Promise.resolve("never"), { timeoutMs: 300 }),
        (error) => {
          assert.ok(error instanceof LockTimeoutError);
          assert.equal(error.lockPath, lock);
          assert.match(
            error.message,
            new RegExp(`waiting for the lock ${lock} \\(held by process ${holder.pid} since `),
          );
          return true;
        },
      );
      assert.ok(Date.now() - started >= 290 && Date.now() - started < 3000);
    } finally {
      await letGo();
    }
    assert.equal(await withFileLock(lock, () => Promise.resolve("free")), "free");
  }));

Deno.test("a killed holder's lock is free at once", () =>
  withDir(async (dir) => {
    const lock = join(dir, "state.lock");
    const holder = child(dir, lock, ["hold"]);
    const cleanUp = await locked(holder);
    holder.kill("SIGKILL");
    await holder.status;
    assert.equal(
      await withFileLock(lock, () => Promise.resolve("mine"), { timeoutMs: 2000 }),
      "mine",
    );
    await cleanUp();
  }));

Deno.test("waiters in this process that give up leave the queue working", async (t) => {
  const cases: {
    name: string;
    options: (controller: AbortController) => { timeoutMs?: number; signal?: AbortSignal };
    trigger: (controller: AbortController) => void;
    expect: (error: unknown) => boolean;
  }[] = [
    {
      name: "timeout",
      options: () => ({ timeoutMs: 50 }),
      trigger: () => {},
      expect: (error) =>
        error instanceof LockTimeoutError &&
        error.message.includes(`held by this process (${PROCESS.pid})`),
    },
    {
      name: "abort",
      options: (c) => ({ signal: c.signal, timeoutMs: 60_000 }),
      trigger: (c) => c.abort(new Error("cancelled by the caller")),
      expect: (error) => (error as Error).message === "cancelled by the caller",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () =>
      withDir(async (dir) => {
        const lock = join(dir, "state.lock");
        let letGo!: () => void;
        const held = new Promise<void>((r) => (letGo = r));
        const first = withFileLock(lock, () => held);
        const controller = new AbortController();
        const gaveUp = withFileLock(lock, () => Promise.resolve("no"), c.options(controller));
        const third = withFileLock(lock, () => Promise.resolve("third"));
        c.trigger(controller);
        await assert.rejects(gaveUp, c.expect);
        letGo();
        await first;
        assert.equal(await third, "third");
      }));
  }
});

Deno.test("work that throws releases the lock, and the error reaches the caller", () =>
  withDir(async (dir) => {
    const lock = join(dir, "state.lock");
    await assert.rejects(
      withFileLock(lock, () => Promise.reject(new Error("boom"))),
      /^Error: boom$/,
    );
    assert.equal(await withFileLock(lock, () => Promise.resolve(1), { timeoutMs: 500 }), 1);
  }));

Deno.test("the lock file's folder is created when missing", () =>
  withDir(async (dir) => {
    const lock = join(dir, "a", "b", "state.lock");
    assert.equal(await withFileLock(lock, () => Promise.resolve(true)), true);
    assert.ok((await Deno.stat(lock)).isFile);
  }));

Deno.test("a lock file that is a symbolic link is refused, and the file it points at is left as it was", () =>
  withDir(async (dir) => {
    const precious = join(dir, "precious.txt");
    await Deno.writeTextFile(precious, "keep me");
    const lock = join(dir, "state.lock");
    await Deno.symlink(precious, lock);
    let ran = false;
    await assert.rejects(
      withFileLock(lock, () => Promise.resolve(ran = true)),
      LockFileLinkError,
    );
    assert.equal(ran, false, "the work did not run");
    assert.equal(await Deno.readTextFile(precious), "keep me");
  }));

Deno.test("a link swapped in as the lock file is opened is refused, and its target left as it was", () =>
  withDir(async (dir) => {
    const precious = join(dir, "precious.txt");
    await Deno.writeTextFile(precious, "keep me");
    const lock = join(dir, "state.lock");
    const { open } = Deno;
    // The check before the open sees no link; the link lands just before the open.
    Deno.open = async (path, openOptions) => {
      if (String(path) === lock) await Deno.symlink(precious, lock);
      return await open(path, openOptions);
    };
    let ran = false;
    try {
      await assert.rejects(
        withFileLock(lock, () => Promise.resolve(ran = true)),
        LockFileLinkError,
      );
    } finally {
      Deno.open = open;
    }
    assert.equal(ran, false, "the work did not run");
    assert.equal(await Deno.readTextFile(precious), "keep me");
  }));
