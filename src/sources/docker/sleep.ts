/** A backoff sleep that stop() can cut short (reconnect loops in discovery and tails). */
export class WakeableSleep {
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    }).then(() => {
      this.#wake = undefined;
    });
  }

  /** End the current sleep now (no-op when not sleeping). */
  wake(): void {
    this.#wake?.();
  }
}
