import type net from 'node:net';

/**
 * Deadlines for the connections of one listener that are in one phase (the WebSocket
 * upgrade), under a single timer: `start` when a connection enters the phase, `done` when
 * it leaves it (or closes); `expire` is called once for each that is still in it when its
 * time is up. One timer per listener rather than one per connection, armed for the
 * earliest deadline.
 */
export class PhaseDeadlines {
  /** Due time (`performance.now()` ms) by socket, in arrival order. */
  private readonly waiting = new Map<net.Socket, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly expire: (socket: net.Socket) => void) {}

  get size(): number {
    return this.waiting.size;
  }

  start(socket: net.Socket, ms: number): void {
    const due = performance.now() + ms;
    this.waiting.set(socket, due);
    if (due < this.armedFor) this.arm(due);
  }

  done(socket: net.Socket): void {
    this.waiting.delete(socket);
  }

  /** Forgets every connection (the listener stopped and dropped them). */
  clear(): void {
    this.waiting.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(this.fire, Math.max(0, due - performance.now()));
    // Connections in the phase keep the process alive by themselves.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [socket, due] of this.waiting) {
      if (due > now) {
        if (due < next) next = due;
        continue;
      }
      this.waiting.delete(socket);
      this.expire(socket);
    }
    if (next !== Infinity) this.arm(next);
  };
}
