// read.mjs reads an Arrow IPC stream or file with the Apache Arrow
// JavaScript implementation and prints a JSON summary of it on stdout, for
// internal/contract/interop_test.go to compare with what siampipe wrote.
//
//	node read.mjs FILE...          no codec registered (apache-arrow's default)
//	node read.mjs --zstd FILE...   register a zstd codec for IPC body compression
//
// It prints one JSON line per file, in order (one node start for many files
// keeps the Go test fast). A summary holds the file's path, the format
// (stream or file), the schema (field names, types, nullability and list
// element fields), the schema metadata, the row and batch counts and, per
// column, a digest: for integer columns the sum (as a decimal string: int64
// sums need BigInt) and the first value; for utf8 the values; for
// (fixed-size) lists the total number of child values, their sum in float64
// (row by row, in order), the first row's values and the typed array that
// holds them.
// A file that cannot be read gives {"path", "error": message}; the exit
// status is then 1.

import { readFileSync } from 'node:fs';
import { RecordBatchReader, Type, CompressionType, compressionRegistry } from 'apache-arrow';

// The package does not export its package.json; read it from node_modules.
const arrowVersion = JSON.parse(
  readFileSync(new URL('./node_modules/apache-arrow/package.json', import.meta.url), 'utf8'),
).version;

// typeInfo describes an Arrow data type the way the Go test checks it.
function typeInfo(t) {
  const info = { id: Type[t.typeId], str: String(t) };
  if (t.typeId === Type.Int) {
    info.bitWidth = t.bitWidth;
    info.signed = t.isSigned;
  } else if (t.typeId === Type.Float) {
    info.precision = t.precision; // 0 half, 1 single, 2 double
  } else if (t.typeId === Type.FixedSizeList) {
    info.listSize = t.listSize;
  }
  if (t.children && t.children.length > 0) {
    info.children = t.children.map(fieldInfo);
  }
  return info;
}

function fieldInfo(f) {
  return { name: f.name, nullable: f.nullable, type: typeInfo(f.type) };
}

// listValues returns a row of a list or fixed-size list column as plain numbers.
function listValues(v) {
  return Array.from(v.toArray(), Number);
}

// digest summarises one column (a chunked Vector of the whole table).
function digest(col) {
  const t = col.type;
  const d = { nullCount: col.nullCount };
  switch (t.typeId) {
    case Type.Int: {
      let s = 0n;
      for (const x of col) s += BigInt(x);
      d.sum = s.toString();
      d.first = col.length > 0 ? String(col.get(0)) : null;
      break;
    }
    case Type.Utf8:
      d.values = col.toArray();
      break;
    case Type.List:
    case Type.FixedSizeList: {
      let n = 0;
      let s = 0;
      const lengths = [];
      for (const row of col) {
        const vals = row.toArray();
        lengths.push(vals.length);
        for (const x of vals) s += Number(x);
        n += vals.length;
      }
      d.childValues = n;
      d.sum = s;
      d.first = col.length > 0 ? listValues(col.get(0)) : null;
      if (t.typeId === Type.List) d.lengths = lengths;
      d.childArray = col.length > 0 ? col.get(0).toArray().constructor.name : null;
      break;
    }
    default:
      throw new Error(`read.mjs: no digest for column type ${t}`);
  }
  return d;
}

async function registerZstd() {
  const zstd = await import('@bokuweb/zstd-wasm');
  await zstd.init();
  compressionRegistry.set(CompressionType.ZSTD, {
    encode: (data) => zstd.compress(data, 3),
    decode: (data) => zstd.decompress(data),
  });
}

// summarize reads one IPC stream or file.
function summarize(path) {
  const reader = RecordBatchReader.from(readFileSync(path));
  reader.open();
  // Take the schema and format before iterating: the reader resets itself
  // when it reaches the end.
  const schema = reader.schema;
  const format = reader.isFile() ? 'file' : 'stream';
  const batches = [];
  for (const b of reader) batches.push(b);
  const out = {
    path,
    arrowVersion,
    format,
    fields: schema.fields.map(fieldInfo),
    metadata: Object.fromEntries(schema.metadata),
    numBatches: batches.length,
    batchRows: batches.map((b) => b.numRows),
    numRows: batches.reduce((n, b) => n + b.numRows, 0),
    columns: {},
  };
  for (const [i, f] of schema.fields.entries()) {
    // Concatenate the column over the batches without building a Table, so a
    // schema mismatch between batches cannot be papered over.
    let col = null;
    for (const b of batches) {
      const c = b.getChildAt(i);
      col = col === null ? c : col.concat(c);
    }
    out.columns[f.name] = col === null ? null : digest(col);
  }
  return out;
}

function message(err) {
  return String(err && err.message ? err.message : err);
}

async function main() {
  const args = process.argv.slice(2);
  const paths = args.filter((a) => !a.startsWith('--'));
  if (paths.length === 0) throw new Error('usage: node read.mjs [--zstd] FILE...');
  if (args.includes('--zstd')) await registerZstd();
  let failed = false;
  for (const path of paths) {
    let line;
    try {
      line = summarize(path);
    } catch (err) {
      line = { path, error: message(err) };
      failed = true;
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  if (failed) process.exit(1);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: message(err) }) + '\n');
  process.exit(1);
});
