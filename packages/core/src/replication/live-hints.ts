import type { Checkpoint, LiveEvent, PullResponse, ServerDocument } from "../protocol.js";

/**
 * What the live channel told a replication, kept until it is acted on: the documents a small change carried, as the
 * next pull's page. (A hint that comes while the device's own pushes are in flight is held by the push session.)
 */
export class LiveHints {
  private change:
    | { epoch: number; after: number; seq: number; documents: readonly ServerDocument[] }
    | undefined;

  /**
   * Takes a hint of the replication's app: `pull` when the device should pull, `ignore` for the device's own push
   * coming back or anything else already pulled, and `{ hold }` for a change that came while the device's pushes are
   * in flight (most likely one of them: the push session holds it until their answers are committed). A small change
   * that follows `checkpoint` is kept as the next pull's page.
   */
  receive(
    event: LiveEvent,
    checkpoint: Checkpoint | undefined,
    pushing: boolean,
  ): "pull" | "ignore" | { readonly hold: number } {
    if (event.type !== "changed" || checkpoint === undefined || event.epoch !== checkpoint.epoch)
      return "pull";
    if (event.seq <= checkpoint.seq) return "ignore";
    if (pushing) return { hold: event.seq };
    if (event.documents && event.after === checkpoint.seq)
      this.change = { epoch: event.epoch, after: event.after, seq: event.seq, documents: event.documents };
    return "pull";
  }

  /**
   * The kept change as the page a pull from `checkpoint` would get, when the device is still at the checkpoint it
   * follows; forgotten either way.
   */
  takePage(checkpoint: Checkpoint): PullResponse | undefined {
    const change = this.change;
    this.change = undefined;
    if (!change || change.epoch !== checkpoint.epoch || change.after !== checkpoint.seq) return undefined;
    return {
      epoch: change.epoch,
      reset: false,
      more: false,
      checkpoint: { epoch: change.epoch, seq: change.seq },
      documents: change.documents,
      // No server time: the clock is measured on requests only.
      serverTime: Number.NaN,
    };
  }

  clear(): void {
    this.change = undefined;
  }
}
