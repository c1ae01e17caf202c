// write.mjs writes images-kind siampipe data with the Apache Arrow
// JavaScript implementation, for internal/contract/interop_test.go to read
// with the Go contract reader:
//
//	node write.mjs DIR H W N
//
// writes N rows of H x W images as
//
//	DIR/images.arrow        IPC file format (ARROW1 magic), element field "",
//	                        columns not nullable (as siampipe writes them)
//	DIR/images.arrows       IPC stream format, element field "0", columns
//	                        nullable (pyarrow's default) but without nulls
//	DIR/images-legacy.arrows  the stream in the pre-0.15 message framing
//	                        (no 0xFFFFFFFF continuation markers)
//	DIR/images-zstd.arrows  the stream again, with zstd body compression
//
// The element names are the ones apache-arrow itself gives a list's child:
// "" from type inference (vectorFromArray), "0" from Builder.addChild.
// apache-arrow compresses a buffer only when that makes it smaller and
// stores the others raw (length -1), so with images of a few hundred pixels
// the zstd stream has both kinds of buffer.
// Row i has index 1000+i, label LABELS[i % LABELS.length] (values above 127
// catch a signed reading of uint8) and pixel j = (37*i + 11*j + 5) mod 256;
// the Go test computes the same. The rows go in two record batches, so a
// reader must iterate batches.

import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Field, Schema, Int64, Uint8, FixedSizeList, RecordBatch, Struct, makeData,
  RecordBatchFileWriter, RecordBatchStreamWriter, CompressionType, compressionRegistry,
} from 'apache-arrow';

const LABELS = [0, 9, 200, 255, 7];

function pixel(i, j) {
  return (37 * i + 11 * j + 5) % 256;
}

// batch builds rows [lo, hi) of the images schema as one record batch.
function batch(schema, lo, hi, hw) {
  const n = hi - lo;
  const index = new BigInt64Array(n);
  const label = new Uint8Array(n);
  const pixels = new Uint8Array(n * hw);
  for (let r = 0; r < n; r++) {
    const i = lo + r;
    index[r] = BigInt(1000 + i);
    label[r] = LABELS[i % LABELS.length];
    for (let j = 0; j < hw; j++) pixels[r * hw + j] = pixel(i, j);
  }
  const [fIndex, fLabel, fImage] = schema.fields;
  const image = makeData({
    type: fImage.type, length: n, nullCount: 0,
    child: makeData({ type: fImage.type.valueType, length: n * hw, data: pixels }),
  });
  const children = [
    makeData({ type: fIndex.type, length: n, data: index }),
    makeData({ type: fLabel.type, length: n, data: label }),
    image,
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children }));
}

function imagesSchema(h, w, elemName, nullable, extra) {
  const meta = new Map([
    ['siampipe.kind', 'images'],
    ['siampipe.height', String(h)],
    ['siampipe.width', String(w)],
    ['siampipe.split', 'test'],
    ['siampipe.source', 'interop/write.mjs (apache-arrow JS)'],
    ...extra,
  ]);
  return new Schema([
    new Field('index', new Int64(), nullable),
    new Field('label', new Uint8(), nullable),
    new Field('image', new FixedSizeList(h * w, new Field(elemName, new Uint8(), true)), nullable),
  ], meta);
}

function batches(schema, n, hw) {
  const mid = Math.ceil(n / 2);
  return [batch(schema, 0, mid, hw), batch(schema, mid, n, hw)];
}

async function main() {
  const [dir, hs, ws, ns] = process.argv.slice(2);
  const [h, w, n] = [hs, ws, ns].map(Number);
  if (!dir || !(h > 0 && w > 0 && n > 1)) throw new Error('usage: node write.mjs DIR H W N (N >= 2)');
  mkdirSync(dir, { recursive: true });

  const fileSchema = imagesSchema(h, w, '', false, [['siampipe.interop.format', 'file']]);
  writeFileSync(join(dir, 'images.arrow'), RecordBatchFileWriter.writeAll(batches(fileSchema, n, h * w)).toUint8Array(true));

  const streamSchema = imagesSchema(h, w, '0', true, [['siampipe.interop.format', 'stream']]);
  writeFileSync(join(dir, 'images.arrows'), RecordBatchStreamWriter.writeAll(batches(streamSchema, n, h * w)).toUint8Array(true));

  const legacySchema = imagesSchema(h, w, '0', true, [['siampipe.interop.format', 'legacy stream']]);
  const lw = new RecordBatchStreamWriter({ writeLegacyIpcFormat: true });
  lw.writeAll(batches(legacySchema, n, h * w));
  writeFileSync(join(dir, 'images-legacy.arrows'), lw.toUint8Array(true));

  const zstd = await import('@bokuweb/zstd-wasm');
  await zstd.init();
  compressionRegistry.set(CompressionType.ZSTD, {
    encode: (data) => zstd.compress(data, 3),
    decode: (data) => zstd.decompress(data),
  });
  const zSchema = imagesSchema(h, w, '0', true, [['siampipe.interop.format', 'stream+zstd']]);
  const zw = new RecordBatchStreamWriter({ compressionType: CompressionType.ZSTD });
  zw.writeAll(batches(zSchema, n, h * w));
  writeFileSync(join(dir, 'images-zstd.arrows'), zw.toUint8Array(true));
}

main().catch((err) => {
  process.stderr.write(`write.mjs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
