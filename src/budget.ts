/** Spend limits: a per-call cap, and budgets whose ledger is shared by every server process. */

import { vetWritePathSync } from "./sandbox.ts";
import { dirname, join, resolve } from "node:path";
import { z } from "./deps.ts";
import type { Config } from "./config.ts";
import { LockTimeoutError, PROCESS, withFileLock } from "./file_lock.ts";
import { placeFileAtomic, randomHex, replaceFileAtomic } from "./fs_atomic.ts";
import type { Logger } from "./log.ts";
import { ToolError } from "./errors.ts";
import { describeIssues } from "./record_issues.ts";

/** The ledger's file name in the output root. */
export const LEDGER_NAME = ".gpt-image-2-ledger.json";
const LOCK_NAME = ".gpt-image-2-ledger.lock";
/** What an earlier version's per-project ledger is renamed to once the root's ledger counts it. */
const IMPORTED_NAME = ".gpt-image-2-ledger.imported.json";
const CORRUPT = /^\.gpt-image-2-ledger\.corrupt-[0-9TZ-]+\.json$/;

const dollars = z.number().min(0);
const count = z.number().int().min(0);

const reservationSchema = z.object({
  id: z.string().min(1),
  pid: z.number().int(),
  process: z.string(),
  project: z.string(),
  usd: dollars,
  expires: z.iso.datetime(),
});

const ledgerSchema = z.object({
  spent_usd: dollars,
  calls: count.default(0),
  updated: z.string().default(""),
  /** Spend per project folder (see `projectFolderName`). */
  projects: z.record(z.string(), z.object({ spent_usd: dollars, calls: count.default(0) }))
    .default({}),
  /** Estimates of calls in flight, in any process; each expires unless its owner renews it. */
  reservations: z.array(reservationSchema).default([]),
});

/** What the ledger file holds. */
export type LedgerFile = z.infer<typeof ledgerSchema>;
type ReservationEntry = z.infer<typeof reservationSchema>;

/** Spend so far and what is left of the budgets, for a result's summary. */
export interface SpendReport {
  /** Total spend of the output root; absent when the ledger could not record this call. */
  spent_usd?: number;
  budget_usd?: number;
  remaining_usd?: number;
  project?: { name: string; spent_usd: number; budget_usd?: number; remaining_usd?: number };
  /** Why this call is not in the ledger. */
  ledger_error?: string;
}

/** A call's estimate, held in the ledger while the call runs. */
export interface Reservation {
  readonly id: string;
  readonly estimateUsd: number;
  /** Gives the estimate back (the call ended without an answer); a no-op once recorded. */
  release(): Promise<void>;
}

/** Dollars as every message shows them: `$0.0123`. */
export function usd(value: number): string {
  return `$${value.toFixed(4)}`;
}

function roundSpend(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * The output root, whose ledger counts the spend of every project: `GPT_IMAGE_2_OUTPUT_DIR`, else
 * `<config dir>/gpt-image-2-mcp`; undefined when neither is known.
 */
export function spendRoot(config: Config): string | undefined {
  if (config.outputDirOverride) return resolve(config.cwd, config.outputDirOverride);
  return config.configDir ? join(config.configDir, "gpt-image-2-mcp") : undefined;
}

/** Why the ledger cannot be used, and what the user does about it. */
class LedgerProblem extends Error {
  constructor(readonly problem: string, readonly fix: string) {
    super(problem);
  }
}

/** A ledger file that failed to parse, moved aside. */
interface Corruption {
  detail: string;
  aside: string;
}

function isAccessError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/** How long a reservation lives without renewal, and how often its owner renews it. */
export interface LeaseOptions {
  leaseMs?: number;
  renewMs?: number;
  /** The longest wait for the ledger's lock. */
  lockTimeoutMs?: number;
}

/**
 * The spend ledger, `<output root>/.gpt-image-2-ledger.json`: total and per-project spend, and
 * the estimates of calls in flight. Every change is a read-modify-write under a file lock, so
 * server processes sharing the root share one budget; a reservation names its owner and expires
 * unless renewed, so a killed process does not hold money for long.
 */
export class Ledger {
  readonly config: Config;
  readonly log: Logger;
  /** This server's project folder name, the key of its spend in `projects`. */
  readonly project: string;
  readonly #root: () => string | undefined;
  readonly #legacy: () => string | undefined;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  readonly #lockTimeoutMs: number;
  /** Reservations of this process not yet recorded or released. */
  readonly #mine = new Map<string, ReservationEntry>();
  #renewal?: ReturnType<typeof setInterval>;

  constructor(
    options: {
      config: Config;
      log: Logger;
      project: string;
      /** The output root (see `spendRoot`). */
      root: () => string | undefined;
      /** The folder of the project folders whose own ledgers earlier versions kept. */
      legacy?: () => string | undefined;
    } & LeaseOptions,
  ) {
    this.config = options.config;
    this.log = options.log;
    this.project = options.project;
    this.#root = options.root;
    this.#legacy = options.legacy ?? (() => undefined);
    this.#leaseMs = options.leaseMs ?? 120_000;
    this.#renewMs = options.renewMs ?? 30_000;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  /** The ledger file's path, or undefined when there is no output root. */
  get path(): string | undefined {
    const root = this.#root();
    return root === undefined ? undefined : join(root, LEDGER_NAME);
  }

  get #budgeted(): boolean {
    return this.config.budgetUsd !== undefined || this.config.projectBudgetUsd !== undefined;
  }

  /** Refuses a call whose estimate breaks a limit; otherwise holds the estimate until released. */
  async reserve(estimate: number): Promise<Reservation> {
    const { maxCostPerCallUsd: perCall } = this.config;
    if (perCall !== undefined && estimate > perCall) {
      throw new ToolError(
        `Refused before any request: the estimated cost ${usd(estimate)} is above ` +
          `GPT_IMAGE_2_MAX_COST_PER_CALL_USD=${perCall}. Lower quality, size or n, or raise the limit.`,
      );
    }
    const id = `${PROCESS.id}-${randomHex(4)}`;
    if (!this.#budgeted) return this.#reservation(id, estimate, false);
    try {
      await this.#update(true, (ledger) => {
        this.#check(ledger, estimate);
        const entry: ReservationEntry = {
          id,
          pid: PROCESS.pid,
          process: PROCESS.id,
          project: this.project,
          usd: estimate,
          expires: new Date(Date.now() + this.#leaseMs).toISOString(),
        };
        ledger.reservations.push(entry);
        return entry;
      }).then((entry) => {
        this.#mine.set(id, entry);
        this.#renewSoon();
      });
    } catch (error) {
      if (error instanceof ToolError) throw error;
      const { problem, fix } = this.#explain(error);
      const variable = this.config.budgetUsd !== undefined
        ? `GPT_IMAGE_2_BUDGET_USD=${this.config.budgetUsd}`
        : `${this.#projectBudgetVariable}=${this.config.projectBudgetUsd}`;
      throw new ToolError(
        `Refused before any request: ${variable} is set, but the spend ledger ` +
          `${this.path ? `${this.path} ` : ""}${problem}. ${fix}`,
      );
    }
    return this.#reservation(id, estimate, true);
  }

  /** The variable the per-project (over HTTP, per-principal) budget came from. */
  get #projectBudgetVariable(): string {
    return this.config.projectBudgetVariable ?? "GPT_IMAGE_2_PROJECT_BUDGET_USD";
  }

  /** Throws the refusal when `estimate` would cross a budget, counting every call in flight. */
  #check(ledger: LedgerFile, estimate: number): void {
    const budget = this.config.budgetUsd;
    const held = ledger.reservations.reduce((sum, r) => sum + r.usd, 0);
    if (budget !== undefined && ledger.spent_usd + held + estimate > budget + 1e-9) {
      throw new ToolError(
        `Refused before any request: the estimated cost ${usd(estimate)} would cross ` +
          `GPT_IMAGE_2_BUDGET_USD=${budget} (spent ${usd(ledger.spent_usd)}` +
          `${held ? `, ${usd(held)} in flight` : ""}, ` +
          `remaining ${usd(Math.max(0, budget - ledger.spent_usd - held))}). ` +
          `Raise the budget or reset the ledger at ${this.path}.`,
      );
    }
    const projectBudget = this.config.projectBudgetUsd;
    if (projectBudget === undefined) return;
    const spent = ledger.projects[this.project]?.spent_usd ?? 0;
    const projectHeld = ledger.reservations.filter((r) => r.project === this.project)
      .reduce((sum, r) => sum + r.usd, 0);
    if (spent + projectHeld + estimate > projectBudget + 1e-9) {
      throw new ToolError(
        `Refused before any request: the estimated cost ${usd(estimate)} would cross ` +
          `${this.#projectBudgetVariable}=${projectBudget} for ${
            this.config.projectBudgetVariable === "GPT_IMAGE_2_PRINCIPAL_BUDGET_USD"
              ? ""
              : "project "
          }${this.project} ` +
          `(spent ${usd(spent)}${projectHeld ? `, ${usd(projectHeld)} in flight` : ""}, ` +
          `remaining ${usd(Math.max(0, projectBudget - spent - projectHeld))}). ` +
          `Raise the budget or reset the project's entry in the ledger at ${this.path}.`,
      );
    }
  }

  #reservation(id: string, estimate: number, held: boolean): Reservation {
    return {
      id,
      estimateUsd: estimate,
      release: async () => {
        if (!held || !this.#mine.delete(id)) return;
        this.#stopRenewingIfIdle();
        try {
          await this.#update(false, (ledger) => {
            ledger.reservations = ledger.reservations.filter((r) => r.id !== id);
          });
        } catch (error) {
          this.log.warning(
            `could not release a reservation in the spend ledger ${this.path}: ` +
              `${this.#explain(error).problem}; it expires by itself within ${
                Math.round(this.#leaseMs / 1000)
              } s`,
          );
        }
      },
    };
  }

  /**
   * Adds a finished call's cost to the ledger (its reservation becomes spend) and reports the
   * totals. A cost that is not a finite, non-negative amount counts as the reservation's
   * estimate. Never throws: the call was paid, so a ledger failure is reported, not raised.
   */
  async record(cost: number, reservation: Reservation): Promise<SpendReport> {
    const charged = Number.isFinite(cost) && cost >= 0 ? cost : reservation.estimateUsd;
    this.#mine.delete(reservation.id);
    this.#stopRenewingIfIdle();
    let note: string | undefined;
    try {
      const ledger = await this.#update(this.#budgeted, (ledger, corruption) => {
        if (corruption) {
          note = `The spend ledger ${this.path} was not valid (${corruption.detail}): it is ` +
            `moved to ${corruption.aside}, unchanged, and a new ledger starts with this call.`;
        }
        ledger.reservations = ledger.reservations.filter((r) => r.id !== reservation.id);
        ledger.spent_usd = roundSpend(ledger.spent_usd + charged);
        ledger.calls += 1;
        const project = ledger.projects[this.project] ?? { spent_usd: 0, calls: 0 };
        ledger.projects[this.project] = {
          spent_usd: roundSpend(project.spent_usd + charged),
          calls: project.calls + 1,
        };
        return ledger;
      });
      if (note) this.log.warning(note);
      return { ...this.report(ledger), ...(note ? { ledger_error: note } : {}) };
    } catch (error) {
      const { problem, fix } = this.#explain(error);
      const message = `The spend ledger ${this.path ? `${this.path} ` : ""}${problem}: ` +
        `this call's ${usd(charged)} is not counted in it. ${fix}`;
      this.log.warning(message);
      return {
        ...(this.config.budgetUsd !== undefined ? { budget_usd: this.config.budgetUsd } : {}),
        ledger_error: message,
      };
    }
  }

  /** Spend and remaining budgets as a ledger holds them. */
  report(ledger: LedgerFile): SpendReport {
    const budget = this.config.budgetUsd;
    const projectBudget = this.config.projectBudgetUsd;
    const projectSpent = ledger.projects[this.project]?.spent_usd ?? 0;
    return {
      spent_usd: ledger.spent_usd,
      ...(budget !== undefined
        ? { budget_usd: budget, remaining_usd: roundSpend(Math.max(0, budget - ledger.spent_usd)) }
        : {}),
      project: {
        name: this.project,
        spent_usd: projectSpent,
        ...(projectBudget !== undefined
          ? {
            budget_usd: projectBudget,
            remaining_usd: roundSpend(Math.max(0, projectBudget - projectSpent)),
          }
          : {}),
      },
    };
  }

  /** Keeps this process's reservations alive while their calls run. */
  #renewSoon(): void {
    if (this.#renewal !== undefined) return;
    const timer = setInterval(() => this.#renew(), this.#renewMs);
    // Renewal alone must not keep the process running.
    Deno.unrefTimer(timer);
    this.#renewal = timer;
  }

  #stopRenewingIfIdle(): void {
    if (this.#mine.size > 0 || this.#renewal === undefined) return;
    clearInterval(this.#renewal);
    this.#renewal = undefined;
  }

  async #renew(): Promise<void> {
    try {
      await this.#update(true, (ledger) => {
        const expires = new Date(Date.now() + this.#leaseMs).toISOString();
        for (const [id, entry] of this.#mine) {
          entry.expires = expires;
          const index = ledger.reservations.findIndex((r) => r.id === id);
          // Gone when another process judged it expired (this one was stalled): hold it again.
          if (index < 0) ledger.reservations.push(entry);
          else ledger.reservations[index] = entry;
        }
      });
    } catch (error) {
      this.log.warning(
        `could not renew reservations in the spend ledger ${this.path}: ${
          this.#explain(error).problem
        }`,
      );
    }
  }

  /**
   * Runs `change` on the ledger under its lock and writes the result. Expired reservations are
   * dropped on the way. A ledger that does not parse is moved aside, never overwritten: when
   * `strict` that is an error (its spend is unknown), otherwise `change` starts a new ledger and
   * learns where the old one went.
   */
  async #update<T>(
    strict: boolean,
    change: (ledger: LedgerFile, corruption?: Corruption) => T,
  ): Promise<T> {
    const path = this.path;
    if (path === undefined) {
      throw new LedgerProblem(
        "has no place: there is no output root",
        "Set GPT_IMAGE_2_OUTPUT_DIR, or HOME (XDG_CONFIG_HOME, APPDATA on Windows).",
      );
    }
    const root = this.#root()!;
    return await withFileLock(join(root, LOCK_NAME), async () => {
      // Deno checks the path as written: a ledger that is a link out of the root is refused here.
      vetWritePathSync(path, { label: "spend ledger", home: this.config.homeDir, within: root });
      const { ledger, corruption, imported } = await this.#load(path, root, strict);
      const now = Date.now();
      ledger.reservations = ledger.reservations.filter((r) => Date.parse(r.expires) > now);
      const result = change(ledger, corruption);
      ledger.updated = new Date().toISOString();
      await replaceFileAtomic(path, JSON.stringify(ledger, null, 2) + "\n");
      for (const old of imported ?? []) {
        // Counted now: renamed, so that deleting the ledger to reset it does not count them again.
        await Deno.rename(old, join(dirname(old), IMPORTED_NAME)).catch((error) =>
          this.log.warning(`could not rename the imported ledger ${old}: ${error}`)
        );
      }
      return result;
    }, { timeoutMs: this.#lockTimeoutMs });
  }

  async #load(
    path: string,
    root: string,
    strict: boolean,
  ): Promise<{ ledger: LedgerFile; corruption?: Corruption; imported?: string[] }> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      const aside = strict ? await corruptCopy(root) : undefined;
      if (aside) {
        throw new LedgerProblem(
          `is missing, and the ledger found corrupt before is at ${aside}`,
          restoreFix(path, aside),
        );
      }
      return await this.#importLegacy();
    }
    const parsed = parseLedger(text);
    if ("ledger" in parsed) return parsed;
    const { detail } = parsed;
    const aside = join(
      root,
      `.gpt-image-2-ledger.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    );
    await placeFileAtomic(path, aside);
    if (strict) {
      throw new LedgerProblem(
        `was not valid (${detail}); it is moved to ${aside}, unchanged`,
        restoreFix(path, aside),
      );
    }
    return { ledger: ledgerSchema.parse({ spent_usd: 0 }), corruption: { detail, aside } };
  }

  /**
   * A new ledger holding the spend of earlier versions' per-project ledgers
   * (`<output root>/output/<project>/.gpt-image-2-ledger.json`), so that moving to one ledger
   * at the root forgets no spend; the files it read are renamed once the new ledger is written.
   */
  async #importLegacy(): Promise<{ ledger: LedgerFile; imported: string[] }> {
    const ledger = ledgerSchema.parse({ spent_usd: 0 });
    const imported: string[] = [];
    const dir = this.#legacy();
    if (dir === undefined) return { ledger, imported };
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isDirectory) continue;
        const old = join(dir, entry.name, LEDGER_NAME);
        const text = await Deno.readTextFile(old).catch(() => undefined);
        if (text === undefined) continue;
        const parsed = parseLedger(text);
        if (!("ledger" in parsed)) {
          this.log.warning(
            `the earlier ledger ${old} is not valid (${parsed.detail}); its spend is not counted`,
          );
          continue;
        }
        const { spent_usd, calls } = parsed.ledger;
        ledger.spent_usd = roundSpend(ledger.spent_usd + spent_usd);
        ledger.calls += calls;
        ledger.projects[entry.name] = { spent_usd, calls };
        imported.push(old);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (imported.length) {
      this.log.notice(
        `the spend ledger now lives at ${this.path}; it starts from ${imported.length} ` +
          `earlier per-project ledger(s), ${usd(ledger.spent_usd)} in all`,
      );
    }
    return { ledger, imported };
  }

  /** Says what went wrong with the ledger and how to fix it. */
  #explain(error: unknown): { problem: string; fix: string } {
    if (error instanceof LedgerProblem) return error;
    const root = this.#root() ?? "the output root";
    if (error instanceof LockTimeoutError) {
      return {
        problem: `is locked: ${error.message}`,
        fix: "Try again; if it keeps happening, stop the process that holds the lock.",
      };
    }
    if (isAccessError(error)) {
      return {
        problem: `cannot be written: ${(error as Error).message}`,
        fix: `Grant write access to ${root} (add it to --allow-write), or set ` +
          `GPT_IMAGE_2_OUTPUT_DIR to a folder you granted.`,
      };
    }
    if (error instanceof Deno.errors.IsADirectory) {
      return {
        problem: "is a directory, not a file",
        fix: `Move that directory away; the ledger is then created anew.`,
      };
    }
    return {
      problem: `cannot be read or written: ${(error as Error).message ?? String(error)}`,
      fix: `Check the file and the permissions of ${root}.`,
    };
  }
}

/** A ledger file's content, or what is wrong with it. */
function parseLedger(text: string): { ledger: LedgerFile } | { detail: string } {
  try {
    const parsed = ledgerSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { ledger: parsed.data };
    return { detail: describeIssues(parsed.error, "ledger") };
  } catch (error) {
    return { detail: `not JSON: ${(error as Error).message.slice(0, 120)}` };
  }
}

function restoreFix(path: string, aside: string): string {
  return `Its spend is unknown, so no call runs until you restore it: write the spend it held ` +
    `into ${path} (for example {"spent_usd": 1.25}), or delete ${aside} to count from $0.`;
}

/** A corrupt ledger moved aside earlier, if any. */
async function corruptCopy(root: string): Promise<string | undefined> {
  try {
    for await (const entry of Deno.readDir(root)) {
      if (entry.isFile && CORRUPT.test(entry.name)) return join(root, entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return undefined;
}
