// Sequence packing for teacher pretraining (docs/method.md, "Data"): consecutive encoded lines fill
// a sequence up to max-len, as RoBERTa's input formats do, so the model sees context beyond one
// sentence and every batch is full-length (one line a sequence averages ~35 tokens on our corpus).
//   doc  (DOC-SENTENCES): a sequence holds lines of one document; a document's last sequence may
//        be shorter.
//   full (FULL-SENTENCES): documents follow each other, a [SEP] between two documents.
// Lines are kept whole: a line that does not fit in what is left starts the next sequence. A line
// longer than a whole sequence is cut: its full chunks stand alone and its tail stays open for the
// lines after it. Every token of every line lands in exactly one sequence, in order.

export type PackMode = 'doc' | 'full';

export const PACK_MODES: readonly PackMode[] = ['doc', 'full'];

export class Packer {
  /** Inner tokens (no [CLS]/[SEP] around them) of the sequence being filled. */
  private cur: number[] = [];
  /** A document ended since the last line (FULL-SENTENCES puts a [SEP] before the next one). */
  private docEnded = false;
  /** Lines longer than a whole sequence, cut into chunks. */
  cutLines = 0;

  constructor(
    private readonly maxLen: number,
    private readonly clsId: number,
    private readonly sepId: number,
    private readonly mode: PackMode,
    /** Receives each finished sequence, [CLS] ... [SEP]. */
    private readonly emit: (seq: Int32Array) => void,
  ) {
    if (maxLen < 3) throw new Error(`packing needs max-len >= 3, got ${maxLen}`);
  }

  /** One encoded line, `[CLS] t1 ... tn [SEP]`. */
  add(ids: ArrayLike<number>): void {
    const cap = this.maxLen - 2;
    let inner = Array.prototype.slice.call(ids, 1, ids.length - 1) as number[];
    if (inner.length === 0) return;
    let sep = this.mode === 'full' && this.docEnded && this.cur.length > 0 ? 1 : 0;
    this.docEnded = false;
    if (this.cur.length + sep + inner.length > cap) {
      this.flush();
      sep = 0;
    }
    if (inner.length > cap) {
      this.cutLines++;
      let start = 0;
      for (; inner.length - start > cap; start += cap) this.emit(this.wrap(inner.slice(start, start + cap)));
      inner = inner.slice(start);
    }
    if (sep) this.cur.push(this.sepId);
    for (const id of inner) this.cur.push(id);
  }

  /** A document boundary (a blank line in the text). */
  endDocument(): void {
    if (this.mode === 'doc') this.flush();
    else this.docEnded = true;
  }

  /** Emit what is left. */
  finish(): void {
    this.flush();
  }

  private flush(): void {
    if (this.cur.length > 0) this.emit(this.wrap(this.cur));
    this.cur = [];
  }

  private wrap(inner: number[]): Int32Array {
    const seq = new Int32Array(inner.length + 2);
    seq[0] = this.clsId;
    seq.set(inner, 1);
    seq[seq.length - 1] = this.sepId;
    return seq;
  }
}
