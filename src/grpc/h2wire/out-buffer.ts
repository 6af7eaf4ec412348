/**
 * Bytes a connection will write at its next flush. Frame headers and small payloads are copied
 * into one scratch buffer, so a tick's worth of unary answers leaves in one socket write; large
 * payloads are queued by reference instead of being copied.
 */

/** Payloads up to this size are copied next to their frame header rather than queued apart. */
const COPY_MAX_BYTES = 4096;
const INITIAL_SCRATCH_BYTES = 16 * 1024;

export class OutBuffer {
  private scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
  private pos = 0;
  private readonly chunks: Buffer[] = [];
  private chunkBytes = 0;

  get length(): number {
    return this.chunkBytes + this.pos;
  }

  /** Room for `bytes` more in the scratch buffer; returns it and the offset to write at. */
  reserve(bytes: number): { buf: Buffer; at: number } {
    if (this.pos + bytes > this.scratch.length) this.grow(bytes);
    const at = this.pos;
    this.pos += bytes;
    return { buf: this.scratch, at };
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length <= COPY_MAX_BYTES) {
      const { buf, at } = this.reserve(bytes.length);
      buf.set(bytes, at);
      return;
    }
    this.cut();
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
  }

  /** Everything appended since the last take, in order; the scratch buffer is reused. */
  take(): Buffer[] {
    this.cut();
    const out = this.chunks.splice(0);
    this.chunkBytes = 0;
    return out;
  }

  /** Moves the scratch buffer's bytes into their own chunk (the socket keeps what it is given). */
  private cut(): void {
    if (this.pos === 0) return;
    const copy = Buffer.allocUnsafe(this.pos);
    this.scratch.copy(copy, 0, 0, this.pos);
    this.chunks.push(copy);
    this.chunkBytes += copy.length;
    this.pos = 0;
  }

  private grow(bytes: number): void {
    if (bytes > INITIAL_SCRATCH_BYTES * 4) {
      // A big header block: flush what is there and give it a scratch of its own size.
      this.cut();
      if (bytes > this.scratch.length) this.scratch = Buffer.allocUnsafe(bytes);
      return;
    }
    this.cut();
    if (bytes > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
  }
}
