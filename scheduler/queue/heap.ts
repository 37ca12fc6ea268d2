// A binary heap with lookup, update and removal by key, so the scheduling
// queue can reorder or drop one pod in O(log n) instead of scanning.

export class KeyedHeap<T> {
  private readonly items: T[] = [];
  private readonly positions = new Map<string, number>();

  constructor(
    private readonly keyOf: (item: T) => string,
    /** True when a must come out before b. */
    private readonly before: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  get(key: string): T | undefined {
    const i = this.positions.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  values(): T[] {
    return [...this.items];
  }

  /** Adds the item, or replaces the one with the same key and restores the order. */
  push(item: T): void {
    const key = this.keyOf(item);
    const at = this.positions.get(key);
    if (at !== undefined) {
      this.items[at] = item;
      this.fix(at);
      return;
    }
    this.items.push(item);
    this.positions.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top;
  }

  delete(key: string): T | undefined {
    const at = this.positions.get(key);
    if (at === undefined) return undefined;
    const item = this.items[at];
    this.removeAt(at);
    return item;
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    const removed = this.items[i] as T;
    this.positions.delete(this.keyOf(removed));
    if (i !== last) {
      const moved = this.items[last] as T;
      this.items[i] = moved;
      this.positions.set(this.keyOf(moved), i);
    }
    this.items.pop();
    if (i < this.items.length) this.fix(i);
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i] as T;
    const b = this.items[j] as T;
    this.items[i] = b;
    this.items[j] = a;
    this.positions.set(this.keyOf(b), i);
    this.positions.set(this.keyOf(a), j);
  }

  /** Moves item i up while it comes before its parent; true when it moved. */
  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.items[i] as T, this.items[parent] as T)) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let first = i;
      if (l < n && this.before(this.items[l] as T, this.items[first] as T)) first = l;
      if (r < n && this.before(this.items[r] as T, this.items[first] as T)) first = r;
      if (first === i) return;
      this.swap(i, first);
      i = first;
    }
  }
}
