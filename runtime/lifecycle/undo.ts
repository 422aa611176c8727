/** Undo steps for a half-made container, run newest first; one failing does not stop the rest. */
export class UndoStack {
  private readonly steps: { what: string; fn: () => unknown }[] = [];

  push(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** Forget everything: the operation succeeded. */
  clear(): void {
    this.steps.length = 0;
  }

  async run(onError: (what: string, err: unknown) => void): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (e) {
        onError(step.what, e);
      }
    }
  }
}
