// How many provider calls one process makes at once: further refreshes wait briefly for a turn, then give up.

export type Release = () => void;

export class RefreshSlots {
  private active = 0;
  private readonly waiting = new Set<() => void>();

  constructor(private readonly limit: () => number) {}

  /** A release function once a slot is free, or undefined when none freed up within `waitMs`. */
  async acquire(waitMs: number): Promise<Release | undefined> {
    if (this.active < this.limit()) {
      this.active++;
    } else {
      const granted = await new Promise<boolean>((resolve) => {
        const turn = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          this.waiting.delete(turn);
          resolve(false);
        }, waitMs);
        this.waiting.add(turn);
      });
      if (!granted) return undefined;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the longest waiter, so `active` stays as it is.
      const [next] = this.waiting;
      if (next) {
        this.waiting.delete(next);
        next();
      } else {
        this.active--;
      }
    };
  }

  /** Refreshes in flight (for tests and logs). */
  get inUse(): number {
    return this.active;
  }
}
