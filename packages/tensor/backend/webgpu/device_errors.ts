/**
 * GPU errors and device loss for the WebGPU backend, turned into exceptions
 * that name the op that caused them.
 *
 * Why a part of its own: WebGPU reports errors asynchronously (error scopes
 * resolve later, uncaptured errors arrive as events, loss as a promise), while
 * the backend's `run` is synchronous. So errors are recorded as they arrive and
 * thrown, naming the op, from the next `run`, `read` or `flush`; a read after
 * the device is lost rejects instead of hanging. Every other part reports
 * through {@link DeviceErrors.watch}, and only this file knows how a message
 * is attributed to an op.
 *
 * @module
 */

/**
 * The errors of one device: the first one recorded (preferring one whose op is
 * known), device loss, and the error scopes still pending.
 */
export class DeviceErrors {
  /**
   * The op being recorded now, set by the backend's `run`: named by errors
   * that carry no label, and by device loss.
   */
  op = "";
  /** Settles `false` when the device is lost (never rejects); race work against it. */
  readonly lost: Promise<false>;

  #error: { error: Error; known: boolean } | undefined;
  #lostError: Error | undefined;
  #scopes = new Set<Promise<void>>();
  /** Counts thrown errors: scopes opened before a throw report nothing after it. */
  #generation = 0;
  /** Labels that name an op when quoted in an error message. */
  #labels = new Set<string>();

  /** Listens to `device`'s loss and uncaptured errors. */
  constructor(device: GPUDevice) {
    this.lost = device.lost.then((info) => {
      this.#lostError = new Error(
        `WebGPU device lost (${info.reason ?? "unknown"}${
          info.message ? `: ${info.message}` : ""
        })` +
          `${this.op ? ` after op "${this.op}"` : ""}`,
      );
      return false as const;
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#record((e as GPUUncapturedErrorEvent).error.message);
    });
  }

  /** The error that device loss (or {@link destroyed}) left, if any. */
  get lostError(): Error | undefined {
    return this.#lostError;
  }

  /** The error to throw once {@link lost} has settled. */
  lostFailure(): Error {
    return this.#lostError ?? new Error("WebGPU device lost");
  }

  /**
   * Fails every later call from now on, rather than when `device.lost`
   * settles: work started on a destroyed device may never settle (Dawn aborts
   * the process when such a promise is collected unsettled).
   */
  destroyed(): void {
    this.#lostError ??= new Error("WebGPU device lost (destroyed by WebGpuBackend.destroy)");
  }

  /** Lets `label` (a dispatch's label) name the op when quoted in a message. */
  knowLabel(label: string): void {
    this.#labels.add(label);
  }

  /**
   * Records what the error scope `scope` reports, naming the op `label` or,
   * without one, the ops `ops` of a submitted batch.
   */
  watch(scope: Promise<GPUError | null>, label?: string, ops?: string[]): void {
    // An error is thrown once: what the same failed work reports later (an
    // invalid pipeline, then the bind group and the submit that use it) is
    // its consequence, not a new failure of later calls.
    const generation = this.#generation;
    const report = (message: string) => {
      if (generation === this.#generation) this.#record(message, label, ops);
    };
    const p = scope.then((err) => {
      if (err) report(err.message);
    }, (e) => report(String(e)));
    this.#scopes.add(p);
    p.finally(() => this.#scopes.delete(p));
  }

  /** Waits for the pending error scopes to report. */
  async settle(): Promise<void> {
    if (this.#scopes.size > 0) await Promise.all([...this.#scopes]);
  }

  /** Throws the device loss, or the recorded error (once). */
  throwIfFailed(): void {
    if (this.#lostError) throw this.#lostError;
    const e = this.#error;
    if (e) {
      this.#error = undefined;
      this.#generation++;
      throw e.error;
    }
  }

  /** Keeps the first error, preferring one whose op is known. */
  #record(message: string, label?: string, ops?: string[]): void {
    let op = label;
    if (!op) {
      // Labels are quoted: 'neg:storage' (wgpu), "neg:storage" (Dawn).
      for (const m of message.matchAll(/["']([^"']+)["']/g)) {
        const name = m[1].split(":")[0];
        if (this.#labels.has(name)) {
          op = name;
          break;
        }
      }
    }
    const known = op !== undefined;
    if (this.#error && (this.#error.known || !known)) return;
    const where = op
      ? `op "${op}"`
      : ops && ops.length
      ? `one of the ops ${ops.map((o) => `"${o}"`).join(", ")}`
      : `op "${this.op}"`;
    this.#error = { error: new Error(`WebGPU error in ${where}: ${message.trim()}`), known };
  }
}
