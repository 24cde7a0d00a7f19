/**
 * A pure session (push-session.ts, pull-session.ts) as a runner drives it: the session's state, and the effects it
 * asked for that are not run yet, in order.
 */
export class SessionQueue<S, E, F> {
  readonly effects: F[];
  session: S;

  constructor(
    begun: { readonly session: S; readonly effects: readonly F[] },
    private readonly step: (session: S, event: E) => { readonly session: S; readonly effects: readonly F[] },
  ) {
    this.session = begun.session;
    this.effects = [...begun.effects];
  }

  /** The session moves on by `event`, and what it asks for joins the queue. */
  feed(event: E): void {
    const next = this.step(this.session, event);
    this.session = next.session;
    this.effects.push(...next.effects);
  }
}
