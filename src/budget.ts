/** Spend limits: a per-call cap, and a budget whose ledger survives restarts. */

import { join } from "node:path";
import type { Config } from "./config.ts";
import { readJson, replaceFileAtomic } from "./fs_atomic.ts";
import type { Logger } from "./log.ts";
import { ToolError } from "./errors.ts";

/** What the ledger file holds. */
interface LedgerFile {
  spent_usd: number;
  calls: number;
  updated: string;
}

/** Spend so far and what is left of the budget, for a result's summary. */
export interface SpendReport {
  spent_usd: number;
  budget_usd?: number;
  remaining_usd?: number;
}

/** Dollars as every message shows them: `$0.0123`. */
export function usd(value: number): string {
  return `$${value.toFixed(4)}`;
}

/** Tracks spend in `<output root>/.gpt-image-2-ledger.json`, serialising updates in this process. */
export class Ledger {
  #reserved = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly config: Config, readonly root: () => string, readonly log: Logger) {}

  /** The ledger file's path. */
  get path(): string {
    return join(this.root(), ".gpt-image-2-ledger.json");
  }

  async #read(): Promise<LedgerFile> {
    const data = await readJson<LedgerFile>(this.path).catch((error) => {
      this.log.warning(
        `ledger ${this.path} is unreadable (${(error as Error).message}); counting from 0`,
      );
      return undefined;
    });
    const spent = Number(data?.spent_usd);
    return {
      spent_usd: Number.isFinite(spent) && spent >= 0 ? spent : 0,
      calls: Number(data?.calls) || 0,
      updated: data?.updated ?? "",
    };
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Refuses a call whose estimate breaks a limit; otherwise holds the estimate until released. */
  reserve(estimate: number): Promise<() => void> {
    const { maxCostPerCallUsd: perCall, budgetUsd: budget } = this.config;
    if (perCall !== undefined && estimate > perCall) {
      return Promise.reject(
        new ToolError(
          `Refused before any request: the estimated cost ${usd(estimate)} is above ` +
            `GPT_IMAGE_2_MAX_COST_PER_CALL_USD=${perCall}. Lower quality, size or n, or raise the limit.`,
        ),
      );
    }
    if (budget === undefined) return Promise.resolve(() => {});
    return this.#serial(async () => {
      const { spent_usd } = await this.#read();
      if (spent_usd + this.#reserved + estimate > budget) {
        throw new ToolError(
          `Refused before any request: the estimated cost ${usd(estimate)} would cross ` +
            `GPT_IMAGE_2_BUDGET_USD=${budget} (spent ${usd(spent_usd)}` +
            `${this.#reserved ? `, ${usd(this.#reserved)} in flight` : ""}, ` +
            `remaining ${usd(Math.max(0, budget - spent_usd - this.#reserved))}). ` +
            `Raise the budget or reset the ledger at ${this.path}.`,
        );
      }
      this.#reserved += estimate;
      let released = false;
      return () => {
        if (!released) this.#reserved -= estimate;
        released = true;
      };
    });
  }

  /** Adds a finished call's cost to the ledger and reports the totals. */
  record(cost: number): Promise<SpendReport> {
    return this.#serial(async () => {
      const current = await this.#read();
      const next: LedgerFile = {
        spent_usd: Math.round((current.spent_usd + cost) * 1e6) / 1e6,
        calls: current.calls + 1,
        updated: new Date().toISOString(),
      };
      try {
        await replaceFileAtomic(this.path, JSON.stringify(next, null, 2) + "\n");
      } catch (error) {
        this.log.warning(`could not update the ledger ${this.path}: ${(error as Error).message}`);
      }
      return this.report(next.spent_usd);
    });
  }

  /** Spend and remaining budget for a given total. */
  report(spent: number): SpendReport {
    const budget = this.config.budgetUsd;
    return budget === undefined
      ? { spent_usd: spent }
      : { spent_usd: spent, budget_usd: budget, remaining_usd: Math.max(0, budget - spent) };
  }
}
