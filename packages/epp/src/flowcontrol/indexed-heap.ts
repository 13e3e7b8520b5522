/** An item that knows its own position in an {@link IndexedHeap} (-1 when not in one). */
export interface HeapItem {
  heapIndex: number;
}

/**
 * A binary min-heap that can also remove any item in O(log n). Queued requests leave from the
 * middle of their queue when they expire or their client goes away; removing them at once (rather
 * than lazily on pop) keeps a blocked queue's memory bounded by what is really queued.
 */
export class IndexedHeap<Item extends HeapItem> {
  readonly #items: Item[] = [];

  constructor(private readonly compare: (a: Item, b: Item) => number) {}

  get size(): number {
    return this.#items.length;
  }

  peek(): Item | undefined {
    return this.#items[0];
  }

  push(item: Item): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#siftUp(item.heapIndex);
  }

  pop(): Item | undefined {
    const first = this.#items[0];
    if (first) this.remove(first);
    return first;
  }

  /** Removes `item`; false when it is not in this heap. */
  remove(item: Item): boolean {
    const index = item.heapIndex;
    if (index < 0 || this.#items[index] !== item) return false;
    const last = this.#items.pop() as Item;
    item.heapIndex = -1;
    if (last !== item) {
      this.#items[index] = last;
      last.heapIndex = index;
      this.#siftDown(index);
      this.#siftUp(last.heapIndex);
    }
    return true;
  }

  values(): IterableIterator<Item> {
    return this.#items.values();
  }

  #swap(first: number, second: number): void {
    const items = this.#items;
    const a = items[first] as Item;
    const b = items[second] as Item;
    items[first] = b;
    items[second] = a;
    b.heapIndex = first;
    a.heapIndex = second;
  }

  #siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.compare(this.#items[index] as Item, this.#items[parent] as Item) >= 0) return;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #siftDown(start: number): void {
    const items = this.#items;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && this.compare(items[left] as Item, items[smallest] as Item) < 0)
        smallest = left;
      if (right < items.length && this.compare(items[right] as Item, items[smallest] as Item) < 0)
        smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }
}
