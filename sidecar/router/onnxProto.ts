// A minimal reader of the ONNX ModelProto (protobuf wire format): the facts `triage router check` needs that
// onnxruntime does not expose (IR version, opsets, metadata, the operators used). Skips tensors without copying.
// Field numbers: onnx/onnx.proto3.

export interface OnnxValueInfo { name: string; elemType: number | undefined; dims: (number | string)[] | undefined }

export interface OnnxSummary {
  irVersion: number | undefined;
  /** domain ('' = the default ai.onnx domain) → version */
  opsets: Map<string, number>;
  producer: string;
  metadata: Map<string, string>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Set<string>;
  /** op type by domain: 'Gather', 'com.microsoft:FusedMatMul', … */
  ops: Set<string>;
}

/** TensorProto.DataType */
export const ELEM_TYPE: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64' };

class Reader {
  pos: number;
  readonly end: number;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  more(): boolean {
    return this.pos < this.end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw new Error('malformed varint');
  }
  /** [start, end) of a length-delimited field. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new Error(`truncated field: ${len} bytes announced, ${this.end - start} left`);
    this.pos = start + len;
    return [start, start + len];
  }
  string(): string {
    const [s, e] = this.bytes();
    return new TextDecoder().decode(this.buf.subarray(s, e));
  }
  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); break;
      case 1: this.pos += 8; break;
      case 2: this.bytes(); break;
      case 5: this.pos += 4; break;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
  }
  /** Iterates the fields of the message in [pos, end). */
  *fields(): Generator<[number, number]> {
    while (this.more()) {
      const key = this.varint();
      yield [Math.floor(key / 8), key & 7];
    }
  }
  sub(): Reader {
    const [s, e] = this.bytes();
    return new Reader(this.buf, s, e);
  }
}

/** Parses the parts of an ONNX model file named in OnnxSummary. Throws on a malformed or truncated file. */
export function readOnnx(buf: Uint8Array): OnnxSummary {
  const out: OnnxSummary = { irVersion: undefined, opsets: new Map(), producer: '', metadata: new Map(), inputs: [], outputs: [], initializers: new Set(), ops: new Set() };
  const r = new Reader(buf);
  let sawGraph = false;
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 0) out.irVersion = r.varint();
    else if (field === 2 && wire === 2) out.producer = r.string();
    else if (field === 8 && wire === 2) {
      const o = r.sub();
      let domain = '';
      let version = 0;
      for (const [f, w] of o.fields()) {
        if (f === 1 && w === 2) domain = o.string();
        else if (f === 2 && w === 0) version = o.varint();
        else o.skip(w);
      }
      out.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    } else if (field === 14 && wire === 2) {
      const o = r.sub();
      let k = '';
      let v = '';
      for (const [f, w] of o.fields()) {
        if (f === 1 && w === 2) k = o.string();
        else if (f === 2 && w === 2) v = o.string();
        else o.skip(w);
      }
      out.metadata.set(k, v);
    } else if (field === 7 && wire === 2) {
      sawGraph = true;
      readGraph(r.sub(), out);
    } else r.skip(wire);
  }
  if (!sawGraph) throw new Error('no graph in the model');
  return out;
}

function readGraph(g: Reader, out: OnnxSummary): void {
  for (const [field, wire] of g.fields()) {
    if (field === 1 && wire === 2) {
      const n = g.sub();
      let op = '';
      let domain = '';
      for (const [f, w] of n.fields()) {
        if (f === 4 && w === 2) op = n.string();
        else if (f === 7 && w === 2) domain = n.string();
        else n.skip(w);
      }
      out.ops.add(domain && domain !== 'ai.onnx' ? `${domain}:${op}` : op);
    } else if (field === 5 && wire === 2) {
      const t = g.sub();
      for (const [f, w] of t.fields()) {
        if (f === 8 && w === 2) out.initializers.add(t.string());
        else t.skip(w);
      }
    } else if ((field === 11 || field === 12) && wire === 2) {
      (field === 11 ? out.inputs : out.outputs).push(readValueInfo(g.sub()));
    } else g.skip(wire);
  }
}

function readValueInfo(v: Reader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: undefined, dims: undefined };
  for (const [f, w] of v.fields()) {
    if (f === 1 && w === 2) info.name = v.string();
    else if (f === 2 && w === 2) {
      const type = v.sub();
      for (const [tf, tw] of type.fields()) {
        if (tf === 1 && tw === 2) {
          const tensor = type.sub();
          for (const [xf, xw] of tensor.fields()) {
            if (xf === 1 && xw === 0) info.elemType = tensor.varint();
            else if (xf === 2 && xw === 2) {
              info.dims = [];
              const shape = tensor.sub();
              for (const [sf, sw] of shape.fields()) {
                if (sf === 1 && sw === 2) {
                  const d = shape.sub();
                  let dim: number | string = '?';
                  for (const [df, dw] of d.fields()) {
                    if (df === 1 && dw === 0) dim = d.varint();
                    else if (df === 2 && dw === 2) dim = d.string();
                    else d.skip(dw);
                  }
                  info.dims.push(dim);
                } else shape.skip(sw);
              }
            } else tensor.skip(xw);
          }
        } else type.skip(tw);
      }
    } else v.skip(w);
  }
  return info;
}
