/** A binary min-heap of items keyed by a numeric deadline. */
export class DeadlineHeap<Item> {
  private readonly deadlines: number[] = [];
  private readonly items: Item[] = [];

  get size(): number {
    return this.items.length;
  }

  peekDeadline(): number | undefined {
    return this.deadlines[0];
  }

  push(deadline: number, item: Item): void {
    this.deadlines.push(deadline);
    this.items.push(item);
    let index = this.items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((this.deadlines[parent] as number) <= deadline) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  pop(): Item | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0];
    const lastDeadline = this.deadlines.pop() as number;
    const lastItem = this.items.pop() as Item;
    if (this.items.length > 0) {
      this.deadlines[0] = lastDeadline;
      this.items[0] = lastItem;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (
          left < this.items.length &&
          (this.deadlines[left] as number) < (this.deadlines[smallest] as number)
        )
          smallest = left;
        if (
          right < this.items.length &&
          (this.deadlines[right] as number) < (this.deadlines[smallest] as number)
        )
          smallest = right;
        if (smallest === index) break;
        this.swap(index, smallest);
        index = smallest;
      }
    }
    return top;
  }

  private swap(first: number, second: number): void {
    const deadline = this.deadlines[first] as number;
    this.deadlines[first] = this.deadlines[second] as number;
    this.deadlines[second] = deadline;
    const item = this.items[first] as Item;
    this.items[first] = this.items[second] as Item;
    this.items[second] = item;
  }
}
