import { assert, crc32c, fromUtf8, utf8 } from '../src/util/index.js';

/**
 * The simulator's replicated state until the KV store is wired in: independent registers with
 * write and compare-and-swap. Small on purpose: it exists to test Raft, not storage.
 */
export type RegisterCommand =
  | { readonly op: 'write'; readonly key: string; readonly value: number }
  | { readonly op: 'cas'; readonly key: string; readonly from: number; readonly to: number };

export interface RegisterResult {
  /** write: always true; cas: whether the swap happened. */
  readonly ok: boolean;
}

import type { ApplyObserver, SimMachine } from './cluster.js';

export function encodeCommand(command: RegisterCommand): Uint8Array {
  return utf8(JSON.stringify(command));
}

export class RegisterMachine implements SimMachine<RegisterResult> {
  private values = new Map<string, number>();
  private applied = 0;

  constructor(private readonly onApply: ApplyObserver) {}

  appliedIndex(): number {
    return this.applied;
  }

  read(key: string): number | null {
    return this.values.get(key) ?? null;
  }

  apply(index: number, term: number, payload: Uint8Array): RegisterResult {
    this.advanceTo(index, term, crc32c(payload));
    const command = JSON.parse(fromUtf8(payload)) as RegisterCommand;
    if (command.op === 'write') {
      this.values.set(command.key, command.value);
      return { ok: true };
    }
    const current = this.values.get(command.key) ?? null;
    if (current !== command.from) return { ok: false };
    this.values.set(command.key, command.to);
    return { ok: true };
  }

  applyEmpty(index: number, term: number): void {
    this.advanceTo(index, term, 0);
  }

  snapshot(): Uint8Array {
    return utf8(JSON.stringify({ applied: this.applied, values: [...this.values].sort() }));
  }

  restore(index: number, _term: number, data: Uint8Array): void {
    const state = JSON.parse(fromUtf8(data)) as { applied: number; values: Array<[string, number]> };
    assert(state.applied === index, () => `snapshot data is at ${state.applied}, its metadata says ${index}`);
    this.values = new Map(state.values);
    this.applied = index;
  }

  /** A digest of the whole state, equal on members that applied the same prefix. */
  stateHash(): number {
    return crc32c(this.snapshot());
  }

  flush(): void {}

  private advanceTo(index: number, term: number, digest: number): void {
    assert(index === this.applied + 1, () => `register machine: apply ${index} after ${this.applied}`);
    this.applied = index;
    this.onApply(index, term, digest);
  }
}
