/** Progress notifications for one call, with a heartbeat so that clients do not time out. */

/** Sends one `notifications/progress`; absent when the client sent no progress token. */
export type ProgressSender = (progress: number, message: string) => Promise<void>;

/** Reports the stages of one call to the client that asked for progress. */
export class Progress {
  #count = 0;
  #timer?: ReturnType<typeof setInterval>;
  #since = 0;
  #waiting = "";

  constructor(readonly send: ProgressSender | undefined, readonly heartbeatMs: number) {}

  /** Whether the client asked for progress at all. */
  get enabled(): boolean {
    return this.send !== undefined;
  }

  /** Reports a stage; also the message later heartbeats repeat with the time waited. */
  stage(message: string): void {
    this.#waiting = message;
    this.#since = Date.now();
    this.#emit(message);
  }

  /** Starts sending a heartbeat every interval until `stop` is called. */
  startHeartbeat(): void {
    if (!this.send || this.#timer) return;
    this.#timer = setInterval(() => {
      const seconds = Math.round((Date.now() - this.#since) / 1000);
      this.#emit(`${this.#waiting} (${seconds} s)`);
    }, this.heartbeatMs);
  }

  /** Stops the heartbeat. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #emit(message: string): void {
    this.send?.(++this.#count, message).catch(() => {});
  }
}
