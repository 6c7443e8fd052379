/**
 * Money and sessions under real conditions, through the MCP client: two server processes on one
 * output root, a ledger that cannot be used, usage that no call can have.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ImageJobResult } from "../src/tools/image_job.ts";
import { FakeOpenAI } from "./fake/api.ts";
import { makePng } from "./fake/png.ts";
import { type Harness, type HarnessOptions, startServer, textOf } from "./harness.ts";

const LEDGER = ".gpt-image-2-ledger.json";

type Result = Awaited<ReturnType<Harness["call"]>>;
type SessionResult = ImageJobResult & { session_id: string; turn: number };

function structured<T = ImageJobResult>(result: Result): T {
  return result.structuredContent as T;
}

/** A shared HOME and project folder, a fake API, and servers started on them; all removed after. */
async function withProject(
  body: (
    start: (options?: Omit<HarnessOptions, "fake" | "home">) => Promise<Harness>,
    where: { home: string; cwd: string; configRoot: string; fake: FakeOpenAI },
  ) => Promise<void>,
): Promise<void> {
  const fake = FakeOpenAI.start();
  const home = await Deno.makeTempDir({ prefix: "gi2-money-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "gi2-money-cwd-" });
  const servers: Harness[] = [];
  try {
    await body(
      async (options = {}) => {
        const h = await startServer({ cwd, ...options, fake, home });
        servers.push(h);
        return h;
      },
      { home, cwd, configRoot: join(home, ".config", "gpt-image-2-mcp"), fake },
    );
  } finally {
    for (const h of servers) await h.close();
    await fake.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
}

async function ledgerAt(configRoot: string): Promise<
  Record<string, unknown> & {
    spent_usd: number;
    calls: number;
    projects: Record<string, { spent_usd: number; calls: number }>;
    reservations: unknown[];
  }
> {
  return JSON.parse(await Deno.readTextFile(join(configRoot, LEDGER)));
}

const HIGH = { prompt: "x", quality: "high", size: "1024x1024", inline: "none" };

Deno.test("two server processes on one output root run no more than the budget allows and record every call", () =>
  withProject(async (start, { configRoot, fake }) => {
    const env = { GPT_IMAGE_2_BUDGET_USD: "1" };
    const servers = [await start({ env }), await start({ env })];
    // Every call is in flight at once: the API takes its time.
    fake.delayMs = 1_500;
    const results = await Promise.all(
      servers.flatMap((h) => Array.from({ length: 5 }, () => h.call("generate_image", HIGH))),
    );
    const ran = results.filter((r) => !r.isError);
    const refused = results.filter((r) => r.isError);
    for (const r of refused) {
      assert.match(
        textOf(r),
        /^Refused before any request: the estimated cost \$0\.211\d would cross GPT_IMAGE_2_BUDGET_USD=1 \(spent \$0\.\d{4}, \$0\.\d{4} in flight, remaining \$0\.\d{4}\)\./,
      );
    }
    // $0.211 each: four fit in $1, a fifth would not.
    assert.equal(ran.length, 4, `${ran.length} of 10 calls ran`);
    assert.equal(fake.calls("generations").length, 4, "the API saw only the calls that ran");
    const costs = ran.map((r) => structured(r).cost_usd_estimated);
    const ledger = await ledgerAt(configRoot);
    assert.equal(ledger.calls, 4);
    assert.equal(ledger.spent_usd, Math.round(costs.reduce((a, b) => a + b, 0) * 1e6) / 1e6);
    assert.deepEqual(ledger.reservations, [], "nothing is left reserved");
    assert.deepEqual(Object.values(ledger.projects), [{ spent_usd: ledger.spent_usd, calls: 4 }]);
  }));

Deno.test("two server processes continuing one session concurrently extend one linear chain", () =>
  withProject(async (start, { cwd, fake }) => {
    await Deno.writeFile(join(cwd, "sketch.png"), makePng(1024, 1024));
    const servers = [await start(), await start()];
    fake.distinctImages = true;
    const first = await servers[0].call("start_edit_session", {
      prompt: "a lighthouse",
      images: ["./sketch.png"],
      size: "1024x1024",
      quality: "low",
      inline: "none",
    });
    assert.equal(first.isError, undefined, textOf(first));
    const id = structured<SessionResult>(first).session_id;
    fake.delayMs = 200;
    const turns = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        servers[i % 2].call("continue_edit_session", {
          session_id: id,
          prompt: `refinement ${i}`,
          inline: "none",
        })),
    );
    for (const t of turns) assert.equal(t.isError, undefined, textOf(t));
    const numbers = turns.map((t) => structured<SessionResult>(t).turn).sort((a, b) => a - b);
    assert.deepEqual(numbers, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "each turn number once");

    // Linear: every turn's input is the output of the turn before, each output used once.
    const sha = async (path: string) =>
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path))),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    const outputs = new Map<number, string>();
    for (const r of [first, ...turns]) {
      const s = structured<SessionResult>(r);
      outputs.set(s.turn, await sha(s.images[0].file_path));
    }
    const inputs = fake.calls("edits").slice(1).map((c) =>
      c.files!.find((f) => f.field.startsWith("image"))!.sha256
    );
    assert.deepEqual(
      inputs.toSorted(),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => outputs.get(n)!).toSorted(),
    );
    const listed = await servers[1].call("list_edit_sessions", {});
    const [session] = (listed.structuredContent as {
      sessions: { turns: number; last_image: string }[];
    }).sessions;
    assert.equal(session.turns, 11);
    assert.equal(await sha(session.last_image), outputs.get(11));
  }));

Deno.test("with a budget, a ledger that cannot be used refuses the call, naming the file and the fix", async (t) => {
  const cases: {
    name: string;
    prepare: (configRoot: string) => Promise<void>;
    /** The write scope: the default when absent. */
    allowWrite?: (where: { cwd: string }) => string[];
    expect: (ledger: string, configRoot: string) => RegExp;
    after?: (configRoot: string, h: Harness, text: string) => Promise<void>;
  }[] = [
    {
      name: "a directory at the ledger's path",
      prepare: (root) => Deno.mkdir(join(root, LEDGER), { recursive: true }),
      expect: (ledger) =>
        new RegExp(
          `^Refused before any request: GPT_IMAGE_2_BUDGET_USD=5 is set, but the spend ledger ${ledger} is a directory, not a file\\. Move that directory away; the ledger is then created anew\\.$`,
        ),
    },
    {
      name: "the ledger's folder outside --allow-write",
      prepare: () => Promise.resolve(),
      allowWrite: ({ cwd }) => [cwd],
      expect: (ledger, root) =>
        new RegExp(
          `^Refused before any request: GPT_IMAGE_2_BUDGET_USD=5 is set, but the spend ledger ${ledger} cannot be written: .*Grant write access to ${root} \\(add it to --allow-write\\), or set GPT_IMAGE_2_OUTPUT_DIR to a folder you granted\\.$`,
        ),
    },
    {
      name: "a truncated ledger",
      prepare: async (root) => {
        await Deno.mkdir(root, { recursive: true });
        await Deno.writeTextFile(join(root, LEDGER), '{"spent_usd": 0.42, "calls": 2, "upd');
      },
      expect: (ledger, root) =>
        new RegExp(
          `^Refused before any request: GPT_IMAGE_2_BUDGET_USD=5 is set, but the spend ledger ${ledger} was not valid \\(not JSON: .*\\); it is moved to ${root}/\\.gpt-image-2-ledger\\.corrupt-[0-9TZ-]+\\.json, unchanged\\. Its spend is unknown, so no call runs until you restore it: write the spend it held into ${ledger} \\(for example \\{"spent_usd": 1\\.25\\}\\), or delete ${root}/\\.gpt-image-2-ledger\\.corrupt-[0-9TZ-]+\\.json to count from \\$0\\.$`,
        ),
      after: async (root, h, text) => {
        const aside = [...Deno.readDirSync(root)].map((e) => e.name)
          .filter((n) => n.includes(".corrupt-"));
        assert.equal(aside.length, 1);
        assert.ok(text.includes(join(root, aside[0])));
        assert.equal(
          await Deno.readTextFile(join(root, aside[0])),
          '{"spent_usd": 0.42, "calls": 2, "upd',
          "moved aside with its content, never overwritten",
        );
        await assert.rejects(Deno.stat(join(root, LEDGER)), Deno.errors.NotFound);
        const again = await h.call("generate_image", { ...HIGH, output_dir: "out" });
        assert.equal(again.isError, true, "its spend is still unknown");
        assert.match(textOf(again), /is missing, and the ledger found corrupt before is at /);
        // The user restores the spend it held: calls run again, counting from there.
        await Deno.writeTextFile(join(root, LEDGER), '{"spent_usd": 0.42}');
        const restored = await h.call("generate_image", { ...HIGH, output_dir: "out" });
        assert.equal(restored.isError, undefined, textOf(restored));
        assert.equal(structured(restored).spend.spent_usd, 0.631);
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () =>
      withProject(async (start, { cwd, configRoot, fake }) => {
        await c.prepare(configRoot);
        const h = await start({
          env: { GPT_IMAGE_2_BUDGET_USD: "5" },
          ...(c.allowWrite ? { allowWrite: c.allowWrite({ cwd }) } : {}),
        });
        // The call's own folder is writable: only the ledger is in the way.
        const result = await h.call("generate_image", { ...HIGH, output_dir: "out" });
        assert.equal(result.isError, true, textOf(result));
        assert.match(textOf(result), c.expect(join(configRoot, LEDGER), configRoot));
        assert.equal(fake.calls("generations").length, 0, "nothing was sent");
        assert.deepEqual([...Deno.readDirSync(cwd)].map((e) => e.name), [], "nothing was written");
        await c.after?.(configRoot, h, textOf(result));
      }));
  }
});

Deno.test("without a budget, a ledger failure is a warning inside the result, with no spend claimed", async (t) => {
  const cases: {
    name: string;
    prepare: (configRoot: string) => Promise<void>;
    warning: (ledger: string, configRoot: string) => RegExp;
    recorded: boolean;
  }[] = [
    {
      name: "a directory at the ledger's path",
      prepare: (root) => Deno.mkdir(join(root, LEDGER), { recursive: true }),
      warning: (ledger) =>
        new RegExp(
          `^The spend ledger ${ledger} is a directory, not a file: this call's \\$0\\.2110 is not counted in it\\. Move that directory away`,
        ),
      recorded: false,
    },
    {
      name: "a truncated ledger",
      prepare: async (root) => {
        await Deno.mkdir(root, { recursive: true });
        await Deno.writeTextFile(join(root, LEDGER), '{"spent_usd": 0.4');
      },
      warning: (ledger, root) =>
        new RegExp(
          `^The spend ledger ${ledger} was not valid \\(not JSON: .*\\): it is moved to ${root}/\\.gpt-image-2-ledger\\.corrupt-[0-9TZ-]+\\.json, unchanged, and a new ledger starts with this call\\.$`,
        ),
      recorded: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () =>
      withProject(async (start, { configRoot }) => {
        await c.prepare(configRoot);
        const h = await start();
        const result = await h.call("generate_image", HIGH);
        assert.equal(result.isError, undefined, textOf(result));
        const s = structured(result);
        const warning = s.warnings.find((w) => w.startsWith("The spend ledger"));
        assert.match(warning ?? "(no warning)", c.warning(join(configRoot, LEDGER), configRoot));
        assert.ok(textOf(result).includes(`Note: ${warning}`), "the text says it too");
        assert.equal(s.spend.ledger_error, warning);
        if (c.recorded) {
          assert.equal(s.spend.spent_usd, 0.211);
          assert.equal((await ledgerAt(configRoot)).spent_usd, 0.211);
        } else {
          assert.equal(s.spend.spent_usd, undefined, "no total is claimed");
          assert.equal(s.spend.remaining_usd, undefined);
          assert.match(textOf(result), /spent so far unknown: the spend ledger did not record/);
        }
      }));
  }
});

Deno.test("usage no call can have is charged at the pre-flight estimate and never reaches the ledger", async (t) => {
  const cases: { name: string; usage: string; stream?: boolean; problem: RegExp }[] = [
    {
      name: "negative counts",
      usage:
        '{"input_tokens": 5, "output_tokens": -3000000, "total_tokens": -2999995, "output_tokens_details": {"image_tokens": -3000000}}',
      problem: /output_tokens is -3000000/,
    },
    {
      name: "negative counts in a stream",
      usage: '{"output_tokens": -3000000, "output_tokens_details": {"image_tokens": -3000000}}',
      stream: true,
      problem: /output_tokens is -3000000/,
    },
    { name: "a word", usage: '{"output_tokens": "lots"}', problem: /output_tokens is "lots"/ },
    { name: "null", usage: "null", problem: /the answer reported no usage/ },
    { name: "not finite", usage: '{"output_tokens": 1e400}', problem: /output_tokens is Infinity/ },
    {
      name: "absurdly large",
      usage: '{"output_tokens": 99999999999}',
      problem: /output_tokens is 99999999999, more than any call can use/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () =>
      withProject(async (start, { configRoot, fake }) => {
        const h = await start({ env: { GPT_IMAGE_2_BUDGET_USD: "5" } });
        fake.inject("generations", { kind: "usage", usage: c.usage });
        const result = await h.call("generate_image", {
          ...HIGH,
          ...(c.stream ? { partial_images: 1 } : {}),
        });
        assert.equal(result.isError, undefined, textOf(result));
        const s = structured(result);
        // The estimate: $0.211 for the image, and ~100 output tokens for a partial image.
        const estimate = c.stream ? 0.214 : 0.211;
        // Estimates round up to a hundredth of a cent (the prompt's few tokens count).
        assert.equal(
          Math.floor(s.cost_usd_estimated * 1000) / 1000,
          estimate,
          "the estimate is charged",
        );
        assert.match(s.cost_basis, /^pre-flight estimate: /);
        assert.match(s.cost_basis, c.problem);
        assert.equal(s.usage, undefined, "the impossible usage is not passed on");
        assert.ok(s.warnings.some((w) => /^OpenAI's usage is not usable \(/.test(w)));
        assert.equal(s.spend.spent_usd, s.cost_usd_estimated);
        const text = await Deno.readTextFile(join(configRoot, LEDGER));
        assert.doesNotMatch(text, /null|: -|Infinity|NaN/);
        assert.equal((await ledgerAt(configRoot)).spent_usd, s.cost_usd_estimated);
      }));
  }
});

Deno.test("projects on one output root share its budget, whichever folder a call writes to", () =>
  withProject(async (start, { configRoot }) => {
    const otherProject = await Deno.makeTempDir({ prefix: "gi2-money-other-" });
    try {
      const env = { GPT_IMAGE_2_BUDGET_USD: "0.5" };
      const a = await start({ env });
      const b = await start({ env, cwd: otherProject, allowWrite: [configRoot, otherProject] });
      const first = await a.call("generate_image", HIGH);
      assert.equal(first.isError, undefined, textOf(first));
      // Outside the output root: the spend still counts in the root's ledger.
      const second = await b.call("generate_image", { ...HIGH, output_dir: "images" });
      assert.equal(second.isError, undefined, textOf(second));
      assert.ok(structured(second).images[0].file_path.startsWith(join(otherProject, "images")));
      for (const h of [a, b]) {
        const third = await h.call("generate_image", HIGH);
        assert.match(
          textOf(third),
          /would cross GPT_IMAGE_2_BUDGET_USD=0\.5 \(spent \$0\.4220, remaining \$0\.0780\)/,
        );
      }
      const ledger = await ledgerAt(configRoot);
      assert.equal(ledger.spent_usd, 0.422);
      assert.deepEqual(
        Object.values(ledger.projects).map((p) => p.spent_usd),
        [0.211, 0.211],
        "one line per project",
      );
    } finally {
      await Deno.remove(otherProject, { recursive: true });
    }
  }));

Deno.test("GPT_IMAGE_2_PROJECT_BUDGET_USD caps one project's share of the root's budget", () =>
  withProject(async (start, { configRoot }) => {
    const otherProject = await Deno.makeTempDir({ prefix: "gi2-money-other-" });
    try {
      const env = { GPT_IMAGE_2_BUDGET_USD: "1", GPT_IMAGE_2_PROJECT_BUDGET_USD: "0.3" };
      const a = await start({ env });
      const b = await start({ env, cwd: otherProject });
      const ran = await a.call("generate_image", HIGH);
      assert.equal(ran.isError, undefined, textOf(ran));
      assert.match(
        JSON.stringify(structured(ran).spend.project),
        /"spent_usd":0\.211,"budget_usd":0\.3,"remaining_usd":0\.089/,
      );
      const capped = await a.call("generate_image", HIGH);
      assert.match(
        textOf(capped),
        /would cross GPT_IMAGE_2_PROJECT_BUDGET_USD=0\.3 for project gi2-money-cwd-[^ ]+ \(spent \$0\.2110, remaining \$0\.0890\)/,
      );
      const other = await b.call("generate_image", HIGH);
      assert.equal(other.isError, undefined, "another project has its own share");
      assert.equal((await ledgerAt(configRoot)).spent_usd, 0.422);
    } finally {
      await Deno.remove(otherProject, { recursive: true });
    }
  }));
