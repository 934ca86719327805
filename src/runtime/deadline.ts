/** What a deadline tells when it passes unsettled: a function, or an object's `expired` (no closure per call). */
export type OnExpire = (() => void) | { expired(): void };

/**
 * Timeouts for many concurrent calls with one timer. Calls of one runtime share a timeout, so
 * their deadlines arrive in the order they were set: a queue with one timer armed for its
 * earliest entry replaces a setTimeout/clearTimeout pair per call. Settled calls are dropped
 * lazily; while none is running the timer is unref'd, so an idle runtime keeps no process alive.
 */
export class DeadlineQueue {
  private queue: Deadline[] = [];
  private head = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  /** A deadline `ms` after `from` (`performance.now()`, now when absent); `onExpire` runs once if it passes unsettled. */
  add(ms: number, from: number | undefined, onExpire: OnExpire): Deadline {
    this.dropSettled();
    const deadline = new Deadline(this, (from ?? performance.now()) + ms, onExpire);
    if (++this.running === 1) this.timer?.ref();
    const last = this.queue[this.queue.length - 1];
    if (last && deadline.at < last.at) {
      // A shorter timeout than an earlier call's: keep the queue ordered.
      let index = this.queue.length;
      while (index > this.head && this.queue[index - 1]!.at > deadline.at) index--;
      this.queue.splice(index, 0, deadline);
    } else {
      this.queue.push(deadline);
    }
    if (deadline.at < this.armedFor) this.arm(deadline.at);
    return deadline;
  }

  /**
   * Called once per deadline, when its call settles or it fires. An idle runtime does not keep
   * the process alive: once no call is running, the timer is unref'd on the event loop's next
   * turn (the check phase), not at once. Toggling a timer's ref is a call into libuv that cost
   * several percent of a read when every call of a busy runtime did it twice; calls that follow
   * each other without the event loop turning now share one toggle.
   */
  release(): void {
    if (--this.running === 0 && !this.idleCheck) {
      this.idleCheck = true;
      setImmediate(this.unrefWhenIdle);
    }
  }

  /** Whether an `unrefWhenIdle` is scheduled. */
  private idleCheck = false;

  private readonly unrefWhenIdle = (): void => {
    this.idleCheck = false;
    if (this.running === 0) this.timer?.unref();
  };

  private dropSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head === this.queue.length) {
      // One settled call is the common case between sequential calls: pop() is cheaper than setting the length.
      if (this.head === 1) this.queue.pop();
      else this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
    if (this.running === 0) this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      if (!next.done && next.at > now) break;
      this.head++;
      if (!next.done) next.fire();
    }
    this.dropSettled();
    const pending = this.queue[this.head];
    if (pending && this.timer === undefined) this.arm(pending.at);
  }
}

export class Deadline {
  done = false;
  private expired = false;
  private controller: AbortController | undefined;

  /**
   * Dropped once the deadline is settled or fired. The queue lets go of a settled deadline only
   * on its next `add`, and a deadline that lives that long may be allocated in the old
   * generation: holding the call's closure until then would keep the whole call (its args, its
   * result) alive through the next young-generation collections, which costs more GC per call.
   */
  private onExpire: OnExpire | undefined;

  constructor(
    private readonly owner: DeadlineQueue,
    readonly at: number,
    onExpire: OnExpire,
  ) {
    this.onExpire = onExpire;
  }

  /** The abort signal of this call, made only when an integration asks for it. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.expired) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** The call settled in time. */
  settle(): void {
    if (this.done) return;
    this.done = true;
    this.onExpire = undefined;
    this.owner.release();
  }

  fire(): void {
    const onExpire = this.onExpire;
    this.done = true;
    this.expired = true;
    this.onExpire = undefined;
    this.controller?.abort();
    if (typeof onExpire === 'function') onExpire();
    else onExpire?.expired();
    this.owner.release();
  }
}
