// tables.mjs writes the image tables that internal/table reads in its tests,
// with implementations other than Arrow Go: apache-arrow (JavaScript) for
// Arrow IPC, and parquet-wasm (arrow-rs's Parquet writer compiled to
// WebAssembly) for Parquet. They stand in for tables made by pyarrow and
// Hugging Face `datasets`, which cannot be installed on the project's
// machines.
//
//	node tables.mjs DIR
//
// writes into DIR (the tests' copies live in internal/table/testdata):
//
//	binary.arrow, binary.arrows, binary.parquet
//	    image: binary (PNG bytes), label: int64; two record batches
//	hf.arrows, hf.parquet, hf-rs.parquet
//	    image: struct<bytes: binary, path: string> and label: int64, with
//	    the schema metadata "huggingface" that datasets writes (Image and
//	    ClassLabel features, the class names of Fashion-MNIST). In
//	    hf.parquet it is a key of the Parquet file's metadata, as pyarrow
//	    writes it; in hf-rs.parquet only inside the Arrow schema that
//	    arrow-rs stores under "ARROW:schema"
//	strings.arrow, strings.parquet
//	    image: binary, label: utf8 (class names, one non-ASCII)
//	dict.arrows
//	    image: large_binary, label: dictionary<int32, utf8>
//	rowgroups.parquet
//	    the binary table in row groups of 2 rows (4 row groups)
//	snappy.parquet, zstd.parquet, gzip.parquet, brotli.parquet
//	    the binary table compressed with each codec Arrow Go reads (the
//	    others are uncompressed, arrow-rs's default; pyarrow's is snappy)
//	nolabel.arrows
//	    img: binary only (no "image", no "label" column)
//	bad.arrows, bad.parquet
//	    one column per defect, each with the fault in row 1 of 3:
//	    image_int (int32), image_null (binary, null), image_path (struct
//	    whose bytes are null and path is set), label_300, label_neg (-1),
//	    label_null (int64), label_float (float64); plus good image and
//	    label columns
//
// Row i's image is a 4x4 8-bit grayscale PNG whose pixel j is
// (37*i + 11*j + 5) mod 256, encoded here (zlib from Node.js); the Go test
// decodes it with image/png and checks every pixel.

import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import {
  Field, Schema, Int32, Int64, Float64, Utf8, Binary, LargeBinary, Struct, Dictionary,
  RecordBatch, Table, makeData, vectorFromArray, tableToIPC,
  RecordBatchFileWriter, RecordBatchStreamWriter,
} from 'apache-arrow';
import { Table as WasmTable, WriterPropertiesBuilder, Compression, writeParquet } from 'parquet-wasm';

const W = 4, H = 4;

export function pixel(i, j) {
  return (37 * i + 11 * j + 5) % 256;
}

function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

// png encodes row i's image: 8-bit grayscale, no interlace, filter 0.
function png(i) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc(H * (W + 1));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) raw[y * (W + 1) + 1 + x] = pixel(i, y * W + x);
  }
  return new Uint8Array(Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw, { level: 9 })), pngChunk('IEND', Buffer.alloc(0)),
  ]));
}

const N = 7;
const images = Array.from({ length: N }, (_, i) => png(i));
const LABELS = [9, 0, 3, 255, 7, 0, 2]; // 255: a reader must not read uint8 as signed
const HF_LABELS = [9, 0, 3, 1, 7, 0, 2];
const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const STRINGS = ['dog', 'cat', 'émeu', 'cat', 'ant', 'dog', 'bird'];

// table builds a table of the given fields (name, type, values) in record
// batches of the given sizes.
function table(fields, sizes, metadata = new Map()) {
  const schema = new Schema(fields.map(([name, type]) => new Field(name, type, true)), metadata);
  const batches = [];
  let lo = 0;
  for (const n of sizes) {
    const children = fields.map(([, type, values]) => vectorFromArray(values.slice(lo, lo + n), type).data[0]);
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children })));
    lo += n;
  }
  return new Table(schema, batches);
}

const imageStruct = () => new Struct([new Field('bytes', new Binary(), true), new Field('path', new Utf8(), true)]);

function hfMetadata(features) {
  return new Map([['huggingface', JSON.stringify({ info: { features } })]]);
}

function writeArrowFile(dir, name, t) {
  writeFileSync(join(dir, name), RecordBatchFileWriter.writeAll(t).toUint8Array(true));
}

function writeArrowStream(dir, name, t) {
  writeFileSync(join(dir, name), RecordBatchStreamWriter.writeAll(t).toUint8Array(true));
}

// writeParquetFile converts the table to Parquet with arrow-rs (parquet-wasm).
// kv is extra key-value metadata of the Parquet file.
function writeParquetFile(dir, name, t, rowGroupRows, kv, codec) {
  let b = new WriterPropertiesBuilder().setCreatedBy('siampipe interop/tables.mjs (parquet-wasm)');
  if (rowGroupRows) b = b.setMaxRowGroupSize(rowGroupRows);
  if (kv) b = b.setKeyValueMetadata(kv);
  if (codec) b = b.setCompression(codec);
  const pq = writeParquet(WasmTable.fromIPCStream(tableToIPC(t, 'stream')), b.build());
  writeFileSync(join(dir, name), pq);
}

function main() {
  const [dir] = process.argv.slice(2);
  if (!dir) throw new Error('usage: node tables.mjs DIR');
  mkdirSync(dir, { recursive: true });

  const binary = table([
    ['image', new Binary(), images],
    ['label', new Int64(), LABELS.map(BigInt)],
  ], [4, 3]);
  writeArrowFile(dir, 'binary.arrow', binary);
  writeArrowStream(dir, 'binary.arrows', binary);
  writeParquetFile(dir, 'binary.parquet', binary);
  writeParquetFile(dir, 'rowgroups.parquet', binary, 2);
  for (const [name, codec] of [['snappy', Compression.SNAPPY], ['zstd', Compression.ZSTD], ['gzip', Compression.GZIP], ['brotli', Compression.BROTLI]]) {
    writeParquetFile(dir, `${name}.parquet`, binary, 0, null, codec);
  }

  const hfColumns = [
    ['image', imageStruct(), images.map((bytes, i) => ({ bytes, path: `train/${i}.png` }))],
    ['label', new Int64(), HF_LABELS.map(BigInt)],
  ];
  const hfMeta = hfMetadata({ image: { _type: 'Image' }, label: { names: FASHION, _type: 'ClassLabel' } });
  const hf = table(hfColumns, [N], hfMeta);
  writeArrowStream(dir, 'hf.arrows', hf);
  writeParquetFile(dir, 'hf-rs.parquet', hf);
  writeParquetFile(dir, 'hf.parquet', table(hfColumns, [N]), 0, hfMeta);

  const strings = table([
    ['image', new Binary(), images],
    ['label', new Utf8(), STRINGS],
  ], [3, 4]);
  writeArrowFile(dir, 'strings.arrow', strings);
  writeParquetFile(dir, 'strings.parquet', strings);

  const dict = table([
    ['image', new LargeBinary(), images],
    ['label', new Dictionary(new Utf8(), new Int32()), STRINGS],
  ], [N]);
  writeArrowStream(dir, 'dict.arrows', dict);

  const nolabel = table([['img', new Binary(), images]], [N]);
  writeArrowStream(dir, 'nolabel.arrows', nolabel);

  const bad = table([
    ['image', new Binary(), images.slice(0, 3)],
    ['label', new Int64(), [1n, 2n, 3n]],
    ['image_int', new Int32(), [1, 2, 3]],
    ['image_null', new Binary(), [images[0], null, images[2]]],
    ['image_path', imageStruct(), [{ bytes: images[0], path: null }, { bytes: null, path: 'train/1.png' }, { bytes: images[2], path: null }]],
    ['label_300', new Int64(), [1n, 300n, 3n]],
    ['label_neg', new Int64(), [1n, -1n, 3n]],
    ['label_null', new Int64(), [1n, null, 3n]],
    ['label_float', new Float64(), [1, 2, 3]],
  ], [3]);
  writeArrowStream(dir, 'bad.arrows', bad);
  writeParquetFile(dir, 'bad.parquet', bad);
}

main();
