// Minimal CBOR codec for the SurrealDB 3 RPC wire format.
//
// The decoder keeps every distinction the server's JSON/CBOR output depends on:
// int vs float (floats are wrapped in F64), NONE vs NULL, object key order (Map),
// and the SurrealDB custom tags (record ids, datetimes, durations, decimals, ...).
// The encoder writes that representation back (used for Accept: application/cbor).

export const NONE = Symbol.for('surreal-dev.none');

export class F64 {
  constructor(v) { this.v = v; }
}
export class Table {
  constructor(name) { this.name = name; }
}
export class RecordId {
  constructor(table, key) { this.table = table; this.key = key; }
}
export class Uuid {
  // bytes: Uint8Array(16) or null; str: textual form (tag 9)
  constructor(bytes, str) { this.bytes = bytes; this.str = str; }
}
export class Decimal {
  constructor(str) { this.str = str; }
}
export class Datetime {
  // secs: number | bigint, nanos: number; or str (tag 0)
  constructor(secs, nanos, str) { this.secs = secs; this.nanos = nanos; this.str = str; }
}
export class Duration {
  constructor(secs, nanos, str) { this.secs = secs; this.nanos = nanos; this.str = str; }
}
export class Bound {
  constructor(included, value) { this.included = included; this.value = value; }
}
export class Range {
  // start/end: Bound | null (unbounded)
  constructor(start, end) { this.start = start; this.end = end; }
}
export class File {
  constructor(bucket, key) { this.bucket = bucket; this.key = key; }
}
export class SetV {
  constructor(items) { this.items = items; }
}
export class Geometry {
  // kind: Point | LineString | Polygon | MultiPoint | MultiLineString | MultiPolygon | GeometryCollection
  constructor(kind, data) { this.kind = kind; this.data = data; }
}
export class Tagged {
  constructor(tag, value) { this.tag = tag; this.value = value; }
}

export const TAG = {
  DATETIME_STR: 0,
  NONE: 6,
  TABLE: 7,
  RECORDID: 8,
  UUID_STR: 9,
  DECIMAL_STR: 10,
  DATETIME: 12,
  DURATION_STR: 13,
  DURATION: 14,
  FUTURE: 15,
  UUID: 37,
  RANGE: 49,
  BOUND_INC: 50,
  BOUND_EXC: 51,
  FILE: 55,
  SET: 56,
  GEO_POINT: 88,
  GEO_LINE: 89,
  GEO_POLYGON: 90,
  GEO_MULTIPOINT: 91,
  GEO_MULTILINE: 92,
  GEO_MULTIPOLYGON: 93,
  GEO_COLLECTION: 94,
};

const GEO_KINDS = {
  88: 'Point', 89: 'LineString', 90: 'Polygon', 91: 'MultiPoint',
  92: 'MultiLineString', 93: 'MultiPolygon', 94: 'GeometryCollection',
};
const GEO_TAGS = Object.fromEntries(Object.entries(GEO_KINDS).map(([t, k]) => [k, Number(t)]));

const BREAK = Symbol('break');

class Decoder {
  constructor(buf) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
  }

  fail(msg) {
    throw new Error(`CBOR decode error at ${this.pos}: ${msg}`);
  }

  readArg(ai) {
    if (ai < 24) return ai;
    const v = this.view;
    let p = this.pos;
    let r;
    switch (ai) {
      case 24: r = v.getUint8(p); this.pos = p + 1; return r;
      case 25: r = v.getUint16(p); this.pos = p + 2; return r;
      case 26: r = v.getUint32(p); this.pos = p + 4; return r;
      case 27: {
        const big = v.getBigUint64(p);
        this.pos = p + 8;
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 31: return -1; // indefinite
      default: this.fail(`invalid additional info ${ai}`);
    }
    return 0;
  }

  item() {
    if (this.pos >= this.buf.length) this.fail('unexpected end');
    const ib = this.buf[this.pos++];
    const mt = ib >> 5;
    const ai = ib & 31;
    switch (mt) {
      case 0: return this.readArg(ai);
      case 1: {
        const n = this.readArg(ai);
        return typeof n === 'bigint' ? -1n - n : (n >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n);
      }
      case 2: {
        const n = this.readArg(ai);
        if (n === -1) {
          const parts = [];
          for (;;) {
            if (this.buf[this.pos] === 0xff) { this.pos++; break; }
            const p = this.item();
            if (!(p instanceof Uint8Array)) this.fail('bad bytes chunk');
            parts.push(p);
          }
          return new Uint8Array(Buffer.concat(parts));
        }
        const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + n));
        this.pos += n;
        return out;
      }
      case 3: {
        const n = this.readArg(ai);
        if (n === -1) {
          let s = '';
          for (;;) {
            if (this.buf[this.pos] === 0xff) { this.pos++; break; }
            const p = this.item();
            if (typeof p !== 'string') this.fail('bad text chunk');
            s += p;
          }
          return s;
        }
        const s = this.buf.toString('utf8', this.pos, this.pos + n);
        this.pos += n;
        return s;
      }
      case 4: {
        const n = this.readArg(ai);
        const arr = [];
        if (n === -1) {
          for (;;) {
            const x = this.item();
            if (x === BREAK) break;
            arr.push(x);
          }
        } else {
          for (let i = 0; i < n; i++) arr.push(this.item());
        }
        return arr;
      }
      case 5: {
        const n = this.readArg(ai);
        const m = new Map();
        if (n === -1) {
          for (;;) {
            const k = this.item();
            if (k === BREAK) break;
            m.set(k, this.item());
          }
        } else {
          for (let i = 0; i < n; i++) {
            const k = this.item();
            m.set(k, this.item());
          }
        }
        return m;
      }
      case 6: {
        const tag = this.readArg(ai);
        return this.tagged(Number(tag), this.item());
      }
      case 7: {
        switch (ai) {
          case 20: return false;
          case 21: return true;
          case 22: return null;
          case 23: return NONE;
          case 25: { const x = halfToFloat(this.view.getUint16(this.pos)); this.pos += 2; return new F64(x); }
          case 26: { const x = this.view.getFloat32(this.pos); this.pos += 4; return new F64(x); }
          case 27: { const x = this.view.getFloat64(this.pos); this.pos += 8; return new F64(x); }
          case 31: return BREAK;
          default: return NONE;
        }
      }
      default: this.fail('bad major type');
    }
    return null;
  }

  tagged(tag, v) {
    switch (tag) {
      case TAG.NONE: return NONE;
      case TAG.TABLE: return new Table(String(v));
      case TAG.RECORDID:
        if (Array.isArray(v) && v.length === 2) return new RecordId(v[0], v[1]);
        if (typeof v === 'string') return new Tagged(tag, v);
        return new Tagged(tag, v);
      case TAG.UUID: return new Uuid(v instanceof Uint8Array ? v : null, v instanceof Uint8Array ? null : String(v));
      case TAG.UUID_STR: return new Uuid(null, String(v));
      case TAG.DECIMAL_STR: return new Decimal(String(v));
      case TAG.DATETIME:
        if (Array.isArray(v)) return new Datetime(v[0] ?? 0, Number(v[1] ?? 0), null);
        return new Tagged(tag, v);
      case TAG.DATETIME_STR: return new Datetime(null, null, String(v));
      case TAG.DURATION:
        if (Array.isArray(v)) return new Duration(v[0] ?? 0, Number(v[1] ?? 0), null);
        return new Tagged(tag, v);
      case TAG.DURATION_STR: return new Duration(null, null, String(v));
      case TAG.RANGE:
        if (Array.isArray(v) && v.length === 2) return new Range(v[0] instanceof Bound ? v[0] : null, v[1] instanceof Bound ? v[1] : null);
        return new Tagged(tag, v);
      case TAG.BOUND_INC: return new Bound(true, v);
      case TAG.BOUND_EXC: return new Bound(false, v);
      case TAG.FILE:
        if (Array.isArray(v) && v.length === 2) return new File(String(v[0]), String(v[1]));
        return new Tagged(tag, v);
      case TAG.SET: return new SetV(Array.isArray(v) ? v : [v]);
      default:
        if (tag >= 88 && tag <= 94) return new Geometry(GEO_KINDS[tag], v);
        return new Tagged(tag, v);
    }
  }
}

function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function decode(bytes) {
  const d = new Decoder(bytes);
  const v = d.item();
  return v;
}

// ---------------------------------------------------------------------------
// Encoder

class Encoder {
  constructor() {
    this.chunks = [];
    this.buf = Buffer.allocUnsafe(4096);
    this.pos = 0;
  }

  ensure(n) {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(4096, n));
    this.pos = 0;
  }

  head(mt, n) {
    if (typeof n === 'bigint') {
      this.ensure(9);
      this.buf[this.pos++] = (mt << 5) | 27;
      this.buf.writeBigUInt64BE(n, this.pos);
      this.pos += 8;
      return;
    }
    if (n < 24) { this.ensure(1); this.buf[this.pos++] = (mt << 5) | n; return; }
    if (n < 0x100) { this.ensure(2); this.buf[this.pos++] = (mt << 5) | 24; this.buf[this.pos++] = n; return; }
    if (n < 0x10000) { this.ensure(3); this.buf[this.pos++] = (mt << 5) | 25; this.buf.writeUInt16BE(n, this.pos); this.pos += 2; return; }
    if (n < 0x100000000) { this.ensure(5); this.buf[this.pos++] = (mt << 5) | 26; this.buf.writeUInt32BE(n, this.pos); this.pos += 4; return; }
    this.head(mt, BigInt(n));
  }

  bytes(b) {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  tag(t) { this.head(6, t); }

  int(n) {
    if (typeof n === 'bigint') {
      if (n >= 0n) this.head(0, n); else this.head(1, -1n - n);
    } else if (n >= 0) this.head(0, n);
    else this.head(1, -1 - n);
  }

  float(x) {
    // ciborium writes the shortest lossless width
    const h = floatToHalf(x);
    if (h !== null) { this.ensure(3); this.buf[this.pos++] = 0xf9; this.buf.writeUInt16BE(h, this.pos); this.pos += 2; return; }
    if (Number.isNaN(x) || Math.fround(x) === x) { this.ensure(5); this.buf[this.pos++] = 0xfa; this.buf.writeFloatBE(x, this.pos); this.pos += 4; return; }
    this.ensure(9); this.buf[this.pos++] = 0xfb; this.buf.writeDoubleBE(x, this.pos); this.pos += 8;
  }

  text(s) {
    const b = Buffer.from(s, 'utf8');
    this.head(3, b.length);
    this.bytes(b);
  }

  value(v) {
    if (v === null) { this.ensure(1); this.buf[this.pos++] = 0xf6; return; }
    if (v === NONE || v === undefined) { this.tag(TAG.NONE); this.ensure(1); this.buf[this.pos++] = 0xf6; return; }
    switch (typeof v) {
      case 'boolean': this.ensure(1); this.buf[this.pos++] = v ? 0xf5 : 0xf4; return;
      case 'number':
        if (Number.isInteger(v)) this.int(v); else this.float(v);
        return;
      case 'bigint': this.int(v); return;
      case 'string': this.text(v); return;
      default: break;
    }
    if (v instanceof F64) { this.float(v.v); return; }
    if (Array.isArray(v)) { this.head(4, v.length); for (const x of v) this.value(x); return; }
    if (v instanceof Map) {
      this.head(5, v.size);
      for (const [k, x] of v) { this.value(k); this.value(x); }
      return;
    }
    if (v instanceof Uint8Array) { this.head(2, v.length); this.bytes(v); return; }
    if (v instanceof Table) { this.tag(TAG.TABLE); this.text(v.name); return; }
    if (v instanceof RecordId) { this.tag(TAG.RECORDID); this.head(4, 2); this.value(v.table); this.value(v.key); return; }
    if (v instanceof Uuid) {
      if (v.bytes) { this.tag(TAG.UUID); this.head(2, 16); this.bytes(v.bytes); } else { this.tag(TAG.UUID_STR); this.text(v.str); }
      return;
    }
    if (v instanceof Decimal) { this.tag(TAG.DECIMAL_STR); this.text(v.str); return; }
    if (v instanceof Datetime) {
      if (v.str !== null && v.str !== undefined) { this.tag(TAG.DATETIME_STR); this.text(v.str); return; }
      this.tag(TAG.DATETIME); this.head(4, 2); this.int(v.secs); this.int(v.nanos); return;
    }
    if (v instanceof Duration) {
      if (v.str !== null && v.str !== undefined) { this.tag(TAG.DURATION_STR); this.text(v.str); return; }
      this.tag(TAG.DURATION);
      const s = v.secs; const n = v.nanos;
      const zero = (s === 0 || s === 0n);
      if (zero && n === 0) this.head(4, 0);
      else if (n === 0) { this.head(4, 1); this.int(s); }
      else { this.head(4, 2); this.int(s); this.int(n); }
      return;
    }
    if (v instanceof Range) {
      this.tag(TAG.RANGE); this.head(4, 2); this.bound(v.start); this.bound(v.end); return;
    }
    if (v instanceof Bound) { this.bound(v); return; }
    if (v instanceof File) { this.tag(TAG.FILE); this.head(4, 2); this.text(v.bucket); this.text(v.key); return; }
    if (v instanceof SetV) { this.tag(TAG.SET); this.head(4, v.items.length); for (const x of v.items) this.value(x); return; }
    if (v instanceof Geometry) { this.tag(GEO_TAGS[v.kind]); this.value(v.data); return; }
    if (v instanceof Tagged) { this.tag(v.tag); this.value(v.value); return; }
    if (typeof v === 'object') {
      // plain object: encode as a map in insertion order
      const keys = Object.keys(v);
      this.head(5, keys.length);
      for (const k of keys) { this.text(k); this.value(v[k]); }
      return;
    }
    throw new Error(`cannot CBOR-encode ${typeof v}`);
  }

  bound(b) {
    if (!b) { this.ensure(1); this.buf[this.pos++] = 0xf6; return; }
    this.tag(b.included ? TAG.BOUND_INC : TAG.BOUND_EXC);
    this.value(b.value);
  }

  finish() {
    this.chunks.push(this.buf.subarray(0, this.pos));
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}

function floatToHalf(x) {
  if (Number.isNaN(x)) return 0x7e00;
  if (x === Infinity) return 0x7c00;
  if (x === -Infinity) return 0xfc00;
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return null;
  // normal half range
  const e = Math.floor(Math.log2(a));
  if (e >= -14) {
    const m = a / 2 ** e - 1;
    const mi = m * 1024;
    if (!Number.isInteger(mi)) return null;
    const h = sign | ((e + 15) << 10) | mi;
    return halfToFloat(h) === x ? h : null;
  }
  const mi = a / 2 ** -24;
  if (!Number.isInteger(mi) || mi >= 1024) return null;
  const h = sign | mi;
  return halfToFloat(h) === x ? h : null;
}

export function encode(value) {
  const e = new Encoder();
  e.value(value);
  return e.finish();
}
