import assert from "node:assert/strict";
import { join } from "node:path";
import { type LeaseOptions, Ledger, LEDGER_NAME, type LedgerFile, spendRoot } from "./budget.ts";
import { loadConfig } from "./config.ts";
import { withFileLock } from "./file_lock.ts";
import { Logger } from "./log.ts";
import { ToolError } from "./errors.ts";

/** A ledger on `root` with the given variables, and the warnings it logs. */
function ledgerOn(
  root: string,
  env: Record<string, string> = {},
  options: LeaseOptions & {
    project?: string;
    legacy?: () => string | undefined;
    principalBudgetUsd?: number;
  } = {},
): { ledger: Ledger; warnings: string[] } {
  const loaded = loadConfig({ env: (name) => env[name], cwd: root });
  // HTTP mode puts each principal's budget where a project's goes (src/http/serve.ts).
  const config = options.principalBudgetUsd === undefined ? loaded : {
    ...loaded,
    projectBudgetUsd: options.principalBudgetUsd,
    projectBudgetVariable: "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD" as const,
  };
  const log = new Logger({ debug: false, secrets: [] });
  const warnings: string[] = [];
  log.attach((level, data) => {
    if (level === "warning") warnings.push(data);
  });
  const ledger = new Ledger({
    config,
    log,
    project: options.project ?? "site-1a2b3c4d",
    root: () => root,
    ...options,
  });
  return { ledger, warnings };
}

async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gi2-ledger-" });
  try {
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function fileOf(root: string): Promise<LedgerFile> {
  return JSON.parse(await Deno.readTextFile(join(root, LEDGER_NAME)));
}

async function names(root: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(root))).map((e) => e.name).sort();
}

const BUDGET_1 = { GPT_IMAGE_2_BUDGET_USD: "1" };

Deno.test(
  "reservations count against the budget until they are released or recorded",
  () =>
    withRoot(async (root) => {
      const { ledger } = ledgerOn(root, BUDGET_1);
      const a = await ledger.reserve(0.4);
      const b = await ledger.reserve(0.4);
      assert.equal((await fileOf(root)).reservations.length, 2);
      await assert.rejects(
        ledger.reserve(0.4),
        /would cross GPT_IMAGE_2_BUDGET_USD=1 \(spent \$0\.0000, \$0\.8000 in flight, remaining \$0\.2000\)/,
      );
      await a.release();
      const c = await ledger.reserve(0.4);
      const report = await ledger.record(0.39, b);
      assert.deepEqual(report, {
        spent_usd: 0.39,
        budget_usd: 1,
        remaining_usd: 0.61,
        project: { name: "site-1a2b3c4d", spent_usd: 0.39 },
      });
      await b.release(); // recorded already: nothing to give back
      await c.release();
      const file = await fileOf(root);
      assert.deepEqual(file.reservations, []);
      assert.equal(file.spent_usd, 0.39);
      assert.equal(file.calls, 1);
    }),
);

Deno.test(
  "two ledgers on one root share its budget, each project with its own line",
  () =>
    withRoot(async (root) => {
      const one = ledgerOn(root, BUDGET_1, { project: "one-00000000" }).ledger;
      const two = ledgerOn(root, BUDGET_1, { project: "two-11111111" }).ledger;
      const held = [await one.reserve(0.3), await two.reserve(0.3), await one.reserve(0.3)];
      await assert.rejects(two.reserve(0.3), /\$0\.9000 in flight/);
      await one.record(0.3, held[0]);
      await two.record(0.3, held[1]);
      await one.record(0.3, held[2]);
      const file = await fileOf(root);
      assert.equal(file.spent_usd, 0.9);
      assert.equal(file.calls, 3);
      assert.deepEqual(file.projects, {
        "one-00000000": { spent_usd: 0.6, calls: 2 },
        "two-11111111": { spent_usd: 0.3, calls: 1 },
      });
    }),
);

Deno.test("over HTTP, a principal's budget refusal names GPT_IMAGE_2_PRINCIPAL_BUDGET_USD and the principal", () =>
  withRoot(async (root) => {
    const alice = ledgerOn(root, {}, { project: "principal alice", principalBudgetUsd: 0.5 });
    await alice.ledger.record(0.4, await alice.ledger.reserve(0.4));
    await assert.rejects(
      alice.ledger.reserve(0.2),
      /would cross GPT_IMAGE_2_PRINCIPAL_BUDGET_USD=0\.5 for principal alice \(spent \$0\.4000, remaining \$0\.1000\)/,
    );
    const bob = ledgerOn(root, {}, { project: "principal bob", principalBudgetUsd: 0.5 });
    await bob.ledger.record(0.4, await bob.ledger.reserve(0.4)); // one caller's spend is not another's
  }));

Deno.test(
  "a project budget caps one project's share while the total budget caps them all",
  () =>
    withRoot(async (root) => {
      const env = { GPT_IMAGE_2_BUDGET_USD: "1", GPT_IMAGE_2_PROJECT_BUDGET_USD: "0.5" };
      const one = ledgerOn(root, env, { project: "one-00000000" }).ledger;
      const two = ledgerOn(root, env, { project: "two-11111111" }).ledger;
      const three = ledgerOn(root, env, { project: "three-22222222" }).ledger;
      await one.record(0.4, await one.reserve(0.4));
      await assert.rejects(
        one.reserve(0.2),
        /would cross GPT_IMAGE_2_PROJECT_BUDGET_USD=0\.5 for project one-00000000 \(spent \$0\.4000, remaining \$0\.1000\)/,
      );
      const report = await two.record(0.4, await two.reserve(0.4));
      assert.deepEqual(report.project, {
        name: "two-11111111",
        spent_usd: 0.4,
        budget_usd: 0.5,
        remaining_usd: 0.1,
      });
      await assert.rejects(
        three.reserve(0.3),
        /would cross GPT_IMAGE_2_BUDGET_USD=1 \(spent \$0\.8000/,
      );
    }),
);

Deno.test(
  "a reservation whose owner stopped renewing it expires; a live owner renews it",
  () =>
    withRoot(async (root) => {
      // A reservation left by a process that was killed an hour ago.
      await Deno.writeTextFile(
        join(root, LEDGER_NAME),
        JSON.stringify({
          spent_usd: 0.1,
          calls: 1,
          updated: "",
          reservations: [{
            id: "dead-1",
            pid: 999999,
            process: "abcdef",
            project: "gone-00000000",
            usd: 0.9,
            expires: new Date(Date.now() - 3_600_000).toISOString(),
          }],
        }),
      );
      const { ledger } = ledgerOn(root, BUDGET_1, { leaseMs: 1_000, renewMs: 100 });
      const live = await ledger.reserve(0.5);
      assert.deepEqual((await fileOf(root)).reservations.map((r) => r.id), [live.id]);
      const first = Date.parse((await fileOf(root)).reservations[0].expires);
      // Outlive the lease several times over: renewal keeps it.
      await new Promise((r) => setTimeout(r, 2_000));
      const renewed = (await fileOf(root)).reservations;
      assert.deepEqual(renewed.map((r) => r.id), [live.id]);
      assert.ok(Date.parse(renewed[0].expires) > first + 500, "the expiry moved on");
      // Another process saw this one stalled and dropped its reservation: the next renewal restores it.
      const other = ledgerOn(root, BUDGET_1).ledger;
      await Deno.writeTextFile(
        join(root, LEDGER_NAME),
        JSON.stringify({ ...(await fileOf(root)), reservations: [] }),
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await fileOf(root)).reservations.map((r) => r.id), [live.id]);
      await assert.rejects(other.reserve(0.5), /\$0\.5000 in flight/);
      await live.release();
      assert.deepEqual((await fileOf(root)).reservations, []);
    }),
);

Deno.test(
  "a cost that is not a finite, non-negative amount is charged at the estimate",
  async (t) => {
    for (const cost of [-90, Number.NaN, Number.POSITIVE_INFINITY, -0.0001]) {
      await t.step(String(cost), () =>
        withRoot(async (root) => {
          const { ledger } = ledgerOn(root, BUDGET_1);
          const report = await ledger.record(cost, await ledger.reserve(0.211));
          assert.equal(report.spent_usd, 0.211);
          const text = await Deno.readTextFile(join(root, LEDGER_NAME));
          assert.doesNotMatch(text, /null|: -/);
          assert.equal((await fileOf(root)).spent_usd, 0.211);
        }));
    }
  },
);

Deno.test(
  "a ledger from an earlier version (total only) is read and extended",
  () =>
    withRoot(async (root) => {
      await Deno.writeTextFile(
        join(root, LEDGER_NAME),
        JSON.stringify({ spent_usd: 0.7, calls: 3, updated: "2025-01-01T00:00:00.000Z" }),
      );
      const { ledger } = ledgerOn(root, BUDGET_1);
      await assert.rejects(ledger.reserve(0.4), /spent \$0\.7000/);
      await ledger.record(0.2, await ledger.reserve(0.2));
      const file = await fileOf(root);
      assert.equal(file.spent_usd, 0.9);
      assert.equal(file.calls, 4);
      assert.deepEqual(file.projects, { "site-1a2b3c4d": { spent_usd: 0.2, calls: 1 } });
    }),
);

/** Ledgers that cannot be used, as they are found on disk. */
const BROKEN: { name: string; make: (path: string) => Promise<void>; corrupt: boolean }[] = [
  {
    name: "truncated JSON",
    make: (p) => Deno.writeTextFile(p, '{"spent_usd": 0.42, "calls": 2, "upd'),
    corrupt: true,
  },
  {
    name: "a negative total",
    make: (p) => Deno.writeTextFile(p, '{"spent_usd": -90, "calls": 1, "updated": ""}'),
    corrupt: true,
  },
  {
    name: "a null total",
    make: (p) => Deno.writeTextFile(p, '{"spent_usd": null, "calls": 1, "updated": ""}'),
    corrupt: true,
  },
  { name: "an empty file", make: (p) => Deno.writeTextFile(p, ""), corrupt: true },
  { name: "a directory", make: (p) => Deno.mkdir(p), corrupt: false },
];

Deno.test(
  "with a budget, a ledger that cannot be used refuses the call and keeps what it held",
  async (t) => {
    for (const c of BROKEN) {
      await t.step(c.name, () =>
        withRoot(async (root) => {
          const path = join(root, LEDGER_NAME);
          await c.make(path);
          const before = c.corrupt ? await Deno.readTextFile(path) : undefined;
          const { ledger } = ledgerOn(root, BUDGET_1);
          const refusal = await ledger.reserve(0.1).then(
            () => assert.fail("the call was allowed"),
            (error) => error,
          );
          assert.ok(refusal instanceof ToolError);
          assert.match(
            refusal.message,
            new RegExp(
              `^Refused before any request: GPT_IMAGE_2_BUDGET_USD=1 is set, but the spend ledger ${path} `,
            ),
          );
          if (!c.corrupt) {
            assert.match(refusal.message, /is a directory, not a file\. Move that directory away/);
            assert.ok((await Deno.stat(path)).isDirectory);
            return;
          }
          const aside = (await names(root)).filter((n) => n.includes("corrupt"));
          assert.equal(aside.length, 1);
          assert.match(aside[0], /^\.gpt-image-2-ledger\.corrupt-[0-9TZ-]+\.json$/);
          assert.equal(await Deno.readTextFile(join(root, aside[0])), before, "content preserved");
          assert.match(
            refusal.message,
            new RegExp(
              `was not valid \\(.+\\); it is moved to ${join(root, aside[0])}, unchanged\\.`,
            ),
          );
          assert.match(
            refusal.message,
            /write the spend it held into .* or delete .* to count from \$0\./,
          );
          // The spend it held is unknown: the next call is refused too, until the user decides.
          await assert.rejects(
            ledger.reserve(0.1),
            new RegExp(
              `is missing, and the ledger found corrupt before is at ${join(root, aside[0])}`,
            ),
          );
          await Deno.writeTextFile(path, '{"spent_usd": 0.42}');
          await ledger.record(0.1, await ledger.reserve(0.1));
          assert.equal((await fileOf(root)).spent_usd, 0.52);
        }));
    }
  },
);

Deno.test(
  "without a budget, a ledger that cannot be used is a warning in the report",
  async (t) => {
    for (const c of BROKEN) {
      await t.step(c.name, () =>
        withRoot(async (root) => {
          const path = join(root, LEDGER_NAME);
          await c.make(path);
          const { ledger, warnings } = ledgerOn(root);
          const report = await ledger.record(0.25, await ledger.reserve(0.25));
          assert.ok(report.ledger_error, "the report carries the problem");
          assert.deepEqual(warnings, [report.ledger_error], "and the log says it too");
          if (!c.corrupt) {
            assert.equal(report.spent_usd, undefined, "no total is claimed");
            assert.equal(report.remaining_usd, undefined);
            assert.match(
              report.ledger_error,
              new RegExp(
                `^The spend ledger ${path} is a directory, not a file: this call's \\$0\\.2500 is not counted in it\\.`,
              ),
            );
            return;
          }
          const [aside] = (await names(root)).filter((n) => n.includes("corrupt"));
          assert.match(
            report.ledger_error,
            new RegExp(
              `^The spend ledger ${path} was not valid \\(.+\\): it is moved to ${
                join(root, aside)
              }, unchanged, and a new ledger starts with this call\\.$`,
            ),
          );
          assert.equal(report.spent_usd, 0.25);
          assert.equal((await fileOf(root)).spent_usd, 0.25);
        }));
    }
  },
);

Deno.test("without an output root the budget refuses and the report warns", async () => {
  const log = new Logger({ debug: false, secrets: [] });
  log.attach(() => {});
  const budgeted = new Ledger({
    config: loadConfig({
      env: (n) => (n === "GPT_IMAGE_2_BUDGET_USD" ? "1" : undefined),
      cwd: "/",
    }),
    log,
    project: "p",
    root: () => undefined,
  });
  await assert.rejects(
    budgeted.reserve(0.1),
    /the spend ledger has no place: there is no output root\. Set GPT_IMAGE_2_OUTPUT_DIR, or HOME/,
  );
  const unbudgeted = new Ledger({
    config: loadConfig({ env: () => undefined, cwd: "/" }),
    log,
    project: "p",
    root: () => undefined,
  });
  const report = await unbudgeted.record(0.1, await unbudgeted.reserve(0.1));
  assert.equal(report.spent_usd, undefined);
  assert.match(
    report.ledger_error!,
    /^The spend ledger has no place: there is no output root: this call's \$0\.1000 is not counted/,
  );
});

Deno.test("the first root ledger counts the per-project ledgers of earlier versions, once", () =>
  withRoot(async (root) => {
    const output = join(root, "output");
    const old = [["a-00000001", 0.3, 2], ["b-00000002", 0.2, 1]] as const;
    for (const [project, spent, calls] of old) {
      await Deno.mkdir(join(output, project), { recursive: true });
      await Deno.writeTextFile(
        join(output, project, LEDGER_NAME),
        JSON.stringify({ spent_usd: spent, calls, updated: "2025-01-01T00:00:00.000Z" }),
      );
    }
    await Deno.mkdir(join(output, "c-00000003"));
    await Deno.writeTextFile(join(output, "c-00000003", LEDGER_NAME), "{");
    const { ledger, warnings } = ledgerOn(root, BUDGET_1, { legacy: () => output });
    await assert.rejects(ledger.reserve(0.6), /spent \$0\.5000, remaining \$0\.5000/);
    await ledger.record(0.1, await ledger.reserve(0.1));
    const file = await fileOf(root);
    assert.equal(file.spent_usd, 0.6);
    assert.equal(file.calls, 4);
    assert.deepEqual(file.projects, {
      "a-00000001": { spent_usd: 0.3, calls: 2 },
      "b-00000002": { spent_usd: 0.2, calls: 1 },
      "site-1a2b3c4d": { spent_usd: 0.1, calls: 1 },
    });
    assert.deepEqual(await names(join(output, "a-00000001")), [
      ".gpt-image-2-ledger.imported.json",
    ]);
    assert.deepEqual(
      await names(join(output, "c-00000003")),
      [LEDGER_NAME],
      "an invalid one stays",
    );
    assert.match(warnings.join("\n"), /the earlier ledger .*c-00000003.* is not valid/);
    // Reset by deleting the ledger: the imported spend is not counted again.
    await Deno.remove(join(root, LEDGER_NAME));
    await ledger.record(0.1, await ledger.reserve(0.1));
    assert.equal((await fileOf(root)).spent_usd, 0.1);
  }));

Deno.test("the output root is GPT_IMAGE_2_OUTPUT_DIR from the working folder, else the config folder's", () => {
  const cases: [name: string, env: Record<string, string>, root: string | undefined][] = [
    ["a relative output folder", { GPT_IMAGE_2_OUTPUT_DIR: "out" }, "/work/out"],
    ["an absolute output folder", { GPT_IMAGE_2_OUTPUT_DIR: "/srv/img", HOME: "/h" }, "/srv/img"],
    ["HOME only", { HOME: "/h" }, "/h/.config/gpt-image-2-mcp"],
    ["XDG_CONFIG_HOME", { HOME: "/h", XDG_CONFIG_HOME: "/x" }, "/x/gpt-image-2-mcp"],
    ["neither", {}, undefined],
  ];
  for (const [name, env, root] of cases) {
    const config = loadConfig({ env: (n) => env[n], cwd: "/work" });
    assert.equal(spendRoot(config), root, name);
  }
});

Deno.test("GPT_IMAGE_2_MAX_COST_PER_CALL_USD refuses a dearer estimate before the ledger is touched", async (t) => {
  const cases: [name: string, env: Record<string, string>][] = [
    ["with no budget", { GPT_IMAGE_2_MAX_COST_PER_CALL_USD: "0.1" }],
    ["with a budget", { GPT_IMAGE_2_MAX_COST_PER_CALL_USD: "0.1", ...BUDGET_1 }],
  ];
  for (const [name, env] of cases) {
    await t.step(name, () =>
      withRoot(async (root) => {
        const { ledger } = ledgerOn(root, env);
        await assert.rejects(
          ledger.reserve(0.2),
          /^ToolError: Refused before any request: the estimated cost \$0\.2000 is above GPT_IMAGE_2_MAX_COST_PER_CALL_USD=0\.1\./,
        );
        assert.deepEqual(await names(root), [], "no ledger, no lock file");
        const held = await ledger.reserve(0.1);
        assert.equal(held.estimateUsd, 0.1, "an estimate at the cap runs");
        await held.release();
      }));
  }
});

Deno.test("a ledger locked past the wait refuses a budgeted call and leaves an unbudgeted call uncounted", async (t) => {
  const cases: [name: string, env: Record<string, string>, budgeted: boolean][] = [
    ["with GPT_IMAGE_2_BUDGET_USD", BUDGET_1, true],
    ["with GPT_IMAGE_2_PROJECT_BUDGET_USD", { GPT_IMAGE_2_PROJECT_BUDGET_USD: "1" }, true],
    ["with no budget", {}, false],
  ];
  for (const [name, env, budgeted] of cases) {
    await t.step(name, () =>
      withRoot(async (root) => {
        const { ledger, warnings } = ledgerOn(root, env, { lockTimeoutMs: 50 });
        const reservation = budgeted ? undefined : await ledger.reserve(0.1);
        await withFileLock(join(root, ".gpt-image-2-ledger.lock"), async () => {
          if (budgeted) {
            await assert.rejects(
              ledger.reserve(0.1),
              /^ToolError: Refused before any request: GPT_IMAGE_2_(PROJECT_)?BUDGET_USD=1 is set, but the spend ledger .* is locked: timed out .*\. Try again; if it keeps happening, stop the process that holds the lock\.$/,
            );
            return;
          }
          const report = await ledger.record(0.1, reservation!);
          assert.equal(report.spent_usd, undefined, "no total is claimed");
          assert.match(
            report.ledger_error!,
            /is locked: .*this call's \$0\.1000 is not counted in it/,
          );
          assert.deepEqual(warnings, [report.ledger_error]);
        });
        assert.ok(!(await names(root)).includes(LEDGER_NAME), "nothing was written");
      }));
  }
});
