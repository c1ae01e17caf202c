package contract

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	flatbuffers "github.com/google/flatbuffers/go"
)

// The attacks internal/table's FuzzArrow found on Arrow Go's IPC reader,
// made against the contract reader with siampipe streams: hostile bytes
// that survive its checks of each message and still make Arrow Go
// allocate by numbers it never checks, or hand out a batch whose row
// count and columns disagree.

// Flatbuffer slots of a RecordBatch table.
const (
	slotRecordBatchLength = 4
	slotRecordBatchNodes  = 6
)

// firstBatch returns the flatbuffer of the first record batch message of
// the IPC stream (or IPC file, whose messages follow its 8-byte magic) in
// data, its RecordBatch table and its body: views into data, so writes to
// them patch data.
func firstBatch(t *testing.T, data []byte) (meta []byte, batch flatbuffers.Table, body []byte) {
	t.Helper()
	pos := 0
	if bytes.HasPrefix(data, fileMagic) {
		pos = 8
	}
	for pos+8 <= len(data) {
		if binary.LittleEndian.Uint32(data[pos:]) != 0xFFFFFFFF {
			t.Fatalf("no continuation marker at %d", pos)
		}
		n := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if n == 0 {
			break
		}
		meta = data[pos+8 : pos+8+n]
		msg := root(meta)
		var bodyLen int64
		if o := msg.Offset(slotMessageBodyLength); o != 0 {
			bodyLen = msg.GetInt64(flatbuffers.UOffsetT(o) + msg.Pos)
		}
		if o := msg.Offset(slotMessageHeaderType); o != 0 && msg.GetByte(flatbuffers.UOffsetT(o)+msg.Pos) == headerTypeRecordBatch {
			msg.Union(&batch, flatbuffers.UOffsetT(msg.Offset(slotMessageHeader)))
			return meta, batch, data[pos+8+n : pos+8+n+int(bodyLen)]
		}
		pos += 8 + n + int(bodyLen)
	}
	t.Fatal("no record batch")
	return nil, batch, nil
}

// vector returns the offset in b.Bytes of the first element of the
// vector in slot, and its length.
func vector(t *testing.T, b flatbuffers.Table, slot flatbuffers.VOffsetT) (start, n int) {
	t.Helper()
	o := b.Offset(slot)
	if o == 0 {
		t.Fatalf("no vector in slot %d", slot)
	}
	return int(b.Vector(flatbuffers.UOffsetT(o))), b.VectorLen(flatbuffers.UOffsetT(o))
}

// shortenBuffers drops the last buffer of the first record batch in data
// from the batch's buffer list, and makes the 16 bytes where its entry
// was (which Arrow Go still reads as that buffer: it takes as many as the
// schema's types need, without looking at the list's length) claim
// length bytes at offset 0 of the body.
func shortenBuffers(t *testing.T, data []byte, length int64) {
	t.Helper()
	meta, b, _ := firstBatch(t, data)
	start, n := vector(t, b, slotRecordBatchBuffers)
	binary.LittleEndian.PutUint32(meta[start-4:], uint32(n-1))
	last := meta[start+16*(n-1):]
	binary.LittleEndian.PutUint64(last, 0)
	binary.LittleEndian.PutUint64(last[8:], uint64(length))
}

// readAllocating reads data through NewReader and Next, returning the
// error (from either) and how many bytes the Go heap allocated meanwhile.
func readAllocating(data []byte) (rows int, err error, allocated uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	r, err := NewReader(bytes.NewReader(data))
	if err == nil {
		for r.Next() {
			rows += int(r.Record().NumRows())
		}
		err = r.Err()
		r.Release()
	}
	runtime.ReadMemStats(&ms)
	return rows, err, ms.TotalAlloc - before
}

// plainIPCFile is imagesStream(n) rewritten, uncompressed, as an IPC file.
func plainIPCFile(t *testing.T, n int) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(imagesStream(t, n, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	f, err := os.CreateTemp(t.TempDir(), "*.arrow")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(r.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		if err := fw.Write(r.Record()); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReaderRefusesABatchWithTooFewBuffers: an images batch whose buffer
// list is one short of the seven its columns take, the bytes after the
// list claiming a 1 GiB buffer. Arrow Go allocates by that claim (with 96
// GiB, as FuzzArrow once made it ask, the process dies: a failed
// allocation of the Go runtime cannot be recovered); the reader must
// refuse the batch before.
func TestReaderRefusesABatchWithTooFewBuffers(t *testing.T) {
	const claim = 1 << 30
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"stream", imagesStream(t, 4, Options{})},
		{"file", plainIPCFile(t, 4)},
	} {
		t.Run(c.name, func(t *testing.T) {
			shortenBuffers(t, c.data, claim)
			rows, err, allocated := readAllocating(c.data)
			t.Logf("%d rows, error %v; %d bytes allocated", rows, err, allocated)
			if allocated >= claim/4 {
				t.Errorf("reading a %d-byte %s allocated %d bytes", len(c.data), c.name, allocated)
			}
			if err == nil {
				t.Errorf("a batch with too few buffers read without error (%d rows)", rows)
			}
		})
	}
}

// TestReaderRefusesABatchShorterThanItsColumns: a batch that says it has
// 2 rows, of columns of 4. Arrow Go accepts a batch whose columns are
// longer than it; the batch's rows and columns must agree.
func TestReaderRefusesABatchShorterThanItsColumns(t *testing.T) {
	data := imagesStream(t, 4, Options{})
	_, b, _ := firstBatch(t, data)
	o := b.Offset(slotRecordBatchLength)
	if o == 0 {
		t.Fatal("no batch length")
	}
	b.MutateInt64(flatbuffers.UOffsetT(o)+b.Pos, 2)
	r, err := NewReader(bytes.NewReader(data), KindImages)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		im := r.Images()
		if len(im.Index) != im.N || len(im.Label) != im.N || len(im.Pixels) != im.N*r.Dim() {
			t.Fatalf("a batch of %d images has %d indices, %d labels and %d pixels", im.N, len(im.Index), len(im.Label), len(im.Pixels))
		}
	}
	if r.Err() == nil {
		t.Fatal("a batch shorter than its columns read without error")
	}
	t.Log(r.Err())
}

// TestReaderRefusesAPixelListShorterThanItsRows: the pixel column's
// values (the child of its fixed-size list) hold fewer than rows*C*H*W
// bytes, in a buffer as short. Arrow Go takes the list as it is;
// Images would slice past the values' capacity and panic in the caller.
func TestReaderRefusesAPixelListShorterThanItsRows(t *testing.T) {
	const rows, dim, short = 20, 12, 24
	data := imagesStream(t, rows, Options{})
	meta, b, _ := firstBatch(t, data)
	start, n := vector(t, b, slotRecordBatchNodes)
	if n != 4 {
		t.Fatalf("%d field nodes, want 4", n)
	}
	binary.LittleEndian.PutUint64(meta[start+16*3:], short) // index, label, pixels, pixels' values
	start, n = vector(t, b, slotRecordBatchBuffers)
	if n != 7 {
		t.Fatalf("%d buffers, want 7", n)
	}
	binary.LittleEndian.PutUint64(meta[start+16*6+8:], short) // the values' data
	r, err := NewReader(bytes.NewReader(data), KindImages)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("Images panicked on a batch Next returned: %v", p)
				}
			}()
			im := r.Images()
			if len(im.Index) != im.N || len(im.Pixels) != im.N*dim {
				t.Fatalf("a batch of %d images has %d indices and %d pixels", im.N, len(im.Index), len(im.Pixels))
			}
		}()
	}
	if r.Err() == nil {
		t.Fatal("a pixel list shorter than its rows read without error")
	}
	t.Log(r.Err())
}

// TestReadModelRefusesListOffsetsPastTheValues: a checkpoint whose last
// tensor's values end (an offset of the values list) past the values
// array. Arrow Go does not look at list offsets; ReadModel would slice
// past the values and panic in the caller.
func TestReadModelRefusesListOffsetsPastTheValues(t *testing.T) {
	var b bytes.Buffer
	ts := []Tensor{{Name: "a", Shape: []int{2}, Values: []float32{1, 2}}, {Name: "b", Shape: []int{3}, Values: []float32{3, 4, 5}}}
	if err := WriteModel(&b, Meta{MetaArch: "test"}, ts, Options{}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	meta, batch, body := firstBatch(t, data)
	start, n := vector(t, batch, slotRecordBatchBuffers)
	if n != 11 {
		t.Fatalf("%d buffers, want 11", n)
	}
	// name: validity, offsets, data; shape: validity, offsets, values'
	// validity and data; values: validity, offsets (8), ...
	off := binary.LittleEndian.Uint64(meta[start+16*8:])
	binary.LittleEndian.PutUint32(body[off+4*2:], 1<<20) // the end of tensor b
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("ReadModel panicked: %v", p)
			}
		}()
		_, _, err = ReadModel(bytes.NewReader(data))
	}()
	if err == nil {
		t.Fatal("a values offset past the values read without error")
	}
	t.Log(err)
}

// TestReaderRefusesDictionaryBatches: an IPC file with a dictionary
// (here of a column the kind does not have) is refused, in the
// contract's words, before its schema is looked at.
func TestReaderRefusesDictionaryBatches(t *testing.T) {
	md := arrow.NewMetadata([]string{MetaKind, MetaDim}, []string{KindFeatures, "2"})
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "class", Type: dt}}, &md)
	b := array.NewDictionaryBuilder(memory.NewGoAllocator(), dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	if err := b.AppendString("cat"); err != nil {
		t.Fatal(err)
	}
	col := b.NewArray()
	rec := array.NewRecord(schema, []arrow.Array{col}, 1)
	col.Release()
	defer rec.Release()
	f, err := os.CreateTemp(t.TempDir(), "*.arrow")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewReader(bytes.NewReader(data))
	if !errors.Is(err, ErrNotArrow) || !strings.Contains(err.Error(), "dictionary batches are not part of the siampipe contract") {
		t.Fatalf("error %v", err)
	}
}
