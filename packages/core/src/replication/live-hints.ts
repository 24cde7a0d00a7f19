import type { Checkpoint, LiveEvent, PullResponse, ServerDocument } from "../protocol.js";

/**
 * What the live channel told a replication, kept until it is acted on: a hint held while the device's own pushes are
 * in flight (it is most likely one of them), and the documents a small change carried.
 */
export class LiveHints {
  private held: number | undefined;
  private change:
    | { epoch: number; after: number; seq: number; documents: readonly ServerDocument[] }
    | undefined;

  /**
   * Takes a hint of the replication's app; `true` when the device should pull. Ignored: the device's own push coming
   * back, or anything else already pulled. Held: a change while the device's pushes are in flight, judged once their
   * answers are committed ({@link release}). A small change that follows `checkpoint` is kept as the next pull's page.
   */
  receive(event: LiveEvent, checkpoint: Checkpoint | undefined, pushing: boolean): boolean {
    if (event.type !== "changed" || checkpoint === undefined || event.epoch !== checkpoint.epoch) return true;
    if (event.seq <= checkpoint.seq) return false;
    if (pushing) {
      this.held = Math.max(this.held ?? 0, event.seq);
      return false;
    }
    if (event.documents && event.after === checkpoint.seq)
      this.change = { epoch: event.epoch, after: event.after, seq: event.seq, documents: event.documents };
    return true;
  }

  /** Whether the held hint (if any) is explained by `checkpoint`: the device's own push, now committed. */
  explained(checkpoint: Checkpoint | undefined): boolean {
    if (this.held === undefined) return true;
    if ((checkpoint?.seq ?? 0) < this.held) return false;
    this.held = undefined;
    return true;
  }

  /** Once nothing is in flight: `true` when a held hint no answer explained remains — another device's change to pull. */
  release(checkpoint: Checkpoint | undefined): boolean {
    if (this.explained(checkpoint)) return false;
    this.held = undefined;
    return true;
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
    this.held = undefined;
    this.change = undefined;
  }
}
