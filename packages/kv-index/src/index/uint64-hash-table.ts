/**
 * An open-addressing hash table keyed by unsigned 64-bit values given as two 32-bit halves, with
 * a fixed number of int32 value columns. Keys and values live in typed arrays: no object per entry,
 * no bigint on the lookup path, about 12 + 4 × columns bytes per slot. Linear probing with
 * backward-shift deletion keeps probe chains short without tombstones.
 */
export class Uint64HashTable {
  private capacity: number;
  private mask: number;
  private keyHigh: Uint32Array;
  private keyLow: Uint32Array;
  private occupied: Uint8Array;
  /** Value columns, indexed by slot. */
  columns: Int32Array[];
  size = 0;

  constructor(
    private readonly columnCount: number,
    initialCapacity = 1024,
  ) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keyHigh = new Uint32Array(capacity);
    this.keyLow = new Uint32Array(capacity);
    this.occupied = new Uint8Array(capacity);
    this.columns = Array.from({ length: columnCount }, () => new Int32Array(capacity));
  }

  get slotCount(): number {
    return this.capacity;
  }

  /** Bytes held by the table's arrays. */
  get byteSize(): number {
    return this.capacity * (9 + 4 * this.columnCount);
  }

  private slotFor(high: number, low: number): number {
    let hash = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
    return hash & this.mask;
  }

  /** The slot holding the key, or -1. */
  find(high: number, low: number): number {
    let slot = this.slotFor(high, low);
    const keyHigh = this.keyHigh;
    const keyLow = this.keyLow;
    const occupied = this.occupied;
    while (occupied[slot] === 1) {
      if (keyLow[slot] === low && keyHigh[slot] === high) return slot;
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  /** The key's slot, inserting it (values zeroed) when absent; `isNew` tells which. */
  insert(high: number, low: number): number {
    if ((this.size + 1) * 4 > this.capacity * 3) this.grow();
    let slot = this.slotFor(high, low);
    while (this.occupied[slot] === 1) {
      if (this.keyLow[slot] === low && this.keyHigh[slot] === high) {
        this.lastInsertWasNew = false;
        return slot;
      }
      slot = (slot + 1) & this.mask;
    }
    this.occupied[slot] = 1;
    this.keyHigh[slot] = high;
    this.keyLow[slot] = low;
    for (const column of this.columns) column[slot] = 0;
    this.size++;
    this.lastInsertWasNew = true;
    return slot;
  }

  lastInsertWasNew = false;
  /** Called when a deletion shifts an entry back from slot `from` to slot `to` (a lazy scan must revisit it). */
  onMove: ((from: number, to: number) => void) | undefined;

  isOccupied(slot: number): boolean {
    return this.occupied[slot] === 1;
  }

  /** Remove the entry in `slot`, shifting later entries of its probe chain back. */
  deleteSlot(slot: number): void {
    let hole = slot;
    this.occupied[hole] = 0;
    this.size--;
    let next = (hole + 1) & this.mask;
    while (this.occupied[next] === 1) {
      const ideal = this.slotFor(this.keyHigh[next] as number, this.keyLow[next] as number);
      // Move `next` into the hole unless its ideal slot lies cyclically within (hole, next].
      const distanceToNext = (next - ideal) & this.mask;
      const distanceToHole = (hole - ideal) & this.mask;
      if (distanceToHole < distanceToNext) {
        this.occupied[hole] = 1;
        this.keyHigh[hole] = this.keyHigh[next] as number;
        this.keyLow[hole] = this.keyLow[next] as number;
        for (const column of this.columns) column[hole] = column[next] as number;
        this.occupied[next] = 0;
        this.onMove?.(next, hole);
        hole = next;
      }
      next = (next + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldHigh = this.keyHigh;
    const oldLow = this.keyLow;
    const oldOccupied = this.occupied;
    const oldColumns = this.columns;
    const oldCapacity = this.capacity;
    this.capacity = oldCapacity * 2;
    this.mask = this.capacity - 1;
    this.keyHigh = new Uint32Array(this.capacity);
    this.keyLow = new Uint32Array(this.capacity);
    this.occupied = new Uint8Array(this.capacity);
    this.columns = Array.from({ length: this.columnCount }, () => new Int32Array(this.capacity));
    for (let slot = 0; slot < oldCapacity; slot++) {
      if (oldOccupied[slot] !== 1) continue;
      let target = this.slotFor(oldHigh[slot] as number, oldLow[slot] as number);
      while (this.occupied[target] === 1) target = (target + 1) & this.mask;
      this.occupied[target] = 1;
      this.keyHigh[target] = oldHigh[slot] as number;
      this.keyLow[target] = oldLow[slot] as number;
      for (let column = 0; column < this.columnCount; column++) {
        (this.columns[column] as Int32Array)[target] = (oldColumns[column] as Int32Array)[slot] as number;
      }
    }
  }
}
