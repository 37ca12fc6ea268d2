// A protobuf reader that returns one string for the short strings decoded
// objects repeat: a pod decoded by an informer or the watch cache holds some
// sixty strings, and most ("v1", "Always", "NoExecute", the image, the
// namespace, the scheduler's name, condition types, timestamps of the same
// second) are the same in every pod. Each decode otherwise makes its own
// copy, about 5 KiB per decoded pod.
//
// The table is a fixed, direct-mapped cache (a slot per hash of the bytes),
// so unique strings (names, UIDs, IPs) only take a slot for a while and the
// table never grows; a frequent string evicted that way is back at its next
// decode. Generated decoders take a BinaryReader and pass it on to nested
// messages, so one InterningReader covers a whole object.

import { BinaryReader } from '@bufbuild/protobuf/wire';

/** Longer strings are rarely repeated (an image ID with its digest, about 100 bytes, is). */
const MAX_INTERNED_LENGTH = 128;
const SLOTS = 8192;
const table = new Array<string | undefined>(SLOTS).fill(undefined);

export class InterningReader extends BinaryReader {
  private readonly data: Uint8Array;

  constructor(buf: Uint8Array) {
    super(buf);
    this.data = buf;
  }

  override string(strict?: boolean): string {
    const at = this.pos;
    const len = this.uint32();
    const start = this.pos;
    const b = this.data;
    if (len === 0 || len > MAX_INTERNED_LENGTH || start + len > this.len) {
      this.pos = at;
      return super.string(strict);
    }
    // FNV-1a over the bytes; anything not ASCII is left to the library.
    let h = 0x811c9dc5;
    for (let i = start; i < start + len; i++) {
      const c = b[i]!;
      if (c > 0x7f) {
        this.pos = at;
        return super.string(strict);
      }
      h = Math.imul(h ^ c, 0x01000193);
    }
    const slot = (h >>> 0) % SLOTS;
    const known = table[slot];
    if (known !== undefined && known.length === len && sameAscii(known, b, start)) {
      this.pos = start + len;
      return known;
    }
    this.pos = at;
    const s = super.string(strict);
    table[slot] = s;
    return s;
  }
}

function sameAscii(s: string, b: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[start + i]) return false;
  return true;
}
