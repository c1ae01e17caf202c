package table

// The Arrow Go Parquet reader (v15) allocates by sizes declared in the file
// before it reads the bytes they describe: a Thrift list's element count
// in the footer, a column chunk's length (make([]byte, n) with n from the
// metadata, unchecked for files of recent writers), a page's compressed
// and uncompressed sizes, a dictionary page's number of values. A few
// corrupt bytes can so ask for gigabytes. The checks here run first: the
// footer's Thrift structure is walked with every count bounded by the
// bytes that remain, and every page header of the column chunks we read is
// parsed and its sizes bounded by the chunk and by maxPage, before the
// library sees them.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/metadata"
)

var (
	errThriftShort   = errors.New("thrift: truncated")
	errThriftCorrupt = errors.New("thrift: corrupt")
)

const (
	// maxFooter bounds the Parquet footer (file metadata).
	maxFooter = 64 << 20
	// maxPage bounds a page's uncompressed size.
	maxPage = 256 << 20
	// maxPageHeader is the Arrow Go reader's own bound on a page header.
	maxPageHeader = 16 << 20
	// maxDictValues bounds a dictionary page's number of values (the
	// reader allocates a slice of that capacity).
	maxDictValues = 1 << 22
	// maxRowGroupRows bounds a row group's number of rows.
	maxRowGroupRows = 1 << 30
	// maxDepth bounds the nesting of Thrift structures.
	maxDepth = 64
)

// thriftReader walks Thrift compact-protocol bytes.
type thriftReader struct {
	b     []byte
	pos   int
	short bool // b is a prefix of the message: running out means "read more"
}

func (t *thriftReader) fail() error {
	if t.short {
		return errThriftShort
	}
	return errThriftCorrupt
}

func (t *thriftReader) byte() (byte, error) {
	if t.pos >= len(t.b) {
		return 0, t.fail()
	}
	t.pos++
	return t.b[t.pos-1], nil
}

func (t *thriftReader) varint() (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c, err := t.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errThriftCorrupt
}

func (t *thriftReader) zigzag() (int64, error) {
	v, err := t.varint()
	return int64(v>>1) ^ -int64(v&1), err
}

func (t *thriftReader) skipBytes(n uint64) error {
	if n > uint64(len(t.b)-t.pos) {
		return t.fail()
	}
	t.pos += int(n)
	return nil
}

// Compact-protocol types.
const (
	tcStop   = 0
	tcTrue   = 1
	tcFalse  = 2
	tcByte   = 3
	tcI16    = 4
	tcI32    = 5
	tcI64    = 6
	tcDouble = 7
	tcBinary = 8
	tcList   = 9
	tcSet    = 10
	tcMap    = 11
	tcStruct = 12
	tcUUID   = 13
)

// field reads a field header after the field numbered last; typ is tcStop
// at the end of a struct.
func (t *thriftReader) field(last int16) (id int16, typ byte, err error) {
	b, err := t.byte()
	if err != nil || b == tcStop {
		return 0, tcStop, err
	}
	typ = b & 0x0f
	if d := int16(b >> 4); d != 0 {
		return last + d, typ, nil
	}
	v, err := t.zigzag()
	return int16(v), typ, err
}

// skip skips a value of type typ; inList tells that a bool takes a byte.
func (t *thriftReader) skip(typ byte, inList bool, depth int) error {
	if depth > maxDepth {
		return errThriftCorrupt
	}
	switch typ {
	case tcTrue, tcFalse:
		if inList {
			return t.skipBytes(1)
		}
		return nil
	case tcByte:
		return t.skipBytes(1)
	case tcI16, tcI32, tcI64:
		_, err := t.varint()
		return err
	case tcDouble:
		return t.skipBytes(8)
	case tcUUID:
		return t.skipBytes(16)
	case tcBinary:
		n, err := t.varint()
		if err != nil {
			return err
		}
		return t.skipBytes(n)
	case tcList, tcSet:
		h, err := t.byte()
		if err != nil {
			return err
		}
		n, elem := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, err = t.varint(); err != nil {
				return err
			}
		}
		if n > uint64(len(t.b)-t.pos) { // every element takes a byte at least
			return t.fail()
		}
		for i := uint64(0); i < n; i++ {
			if err := t.skip(elem, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcMap:
		n, err := t.varint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := t.byte()
		if err != nil {
			return err
		}
		if n > uint64(len(t.b)-t.pos)/2 {
			return t.fail()
		}
		for i := uint64(0); i < n; i++ {
			if err := t.skip(kv>>4, true, depth+1); err != nil {
				return err
			}
			if err := t.skip(kv&0x0f, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcStruct:
		return t.skipStruct(depth + 1)
	}
	return errThriftCorrupt
}

func (t *thriftReader) skipStruct(depth int) error {
	var last int16
	for {
		id, typ, err := t.field(last)
		if err != nil || typ == tcStop {
			return err
		}
		if err := t.skip(typ, false, depth); err != nil {
			return err
		}
		last = id
	}
}

// i32 reads an i32 field's value.
func (t *thriftReader) i32(typ byte) (int32, error) {
	if typ != tcI32 {
		return 0, errThriftCorrupt
	}
	v, err := t.zigzag()
	if v < -1<<31 || v > 1<<31-1 {
		return 0, errThriftCorrupt
	}
	return int32(v), err
}

// checkThriftFooter checks that the file metadata in buf is one Thrift
// struct whose lists all fit in it.
func checkThriftFooter(buf []byte) error {
	t := thriftReader{b: buf}
	return t.skipStruct(0)
}

// pageHeader holds what we check of a Parquet page header.
type pageHeader struct {
	typ                        int32
	uncompressed, compressed   int32
	numValues                  int32 // data or dictionary page
	defLevelBytes, repLvlBytes int32 // data page v2
	v2Raw                      bool  // data page v2 with is_compressed false
	size                       int   // of the header itself
}

// Parquet page types.
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3
)

// parsePageHeader parses a PageHeader struct at the start of buf.
func parsePageHeader(buf []byte, short bool) (h pageHeader, err error) {
	t := thriftReader{b: buf, short: short}
	var last int16
	h.typ = -1
	for {
		id, typ, err := t.field(last)
		if err != nil {
			return h, err
		}
		if typ == tcStop {
			break
		}
		last = id
		switch {
		case id == 1:
			h.typ, err = t.i32(typ)
		case id == 2:
			h.uncompressed, err = t.i32(typ)
		case id == 3:
			h.compressed, err = t.i32(typ)
		case (id == 5 || id == 7 || id == 8) && typ == tcStruct:
			err = t.pageSubHeader(id, &h)
		default:
			err = t.skip(typ, false, 0)
		}
		if err != nil {
			return h, err
		}
	}
	h.size = t.pos
	return h, nil
}

// pageSubHeader reads the data (5), dictionary (7) or data v2 (8) page
// header in field id of a PageHeader.
func (t *thriftReader) pageSubHeader(id int16, h *pageHeader) error {
	var last int16
	for {
		fid, typ, err := t.field(last)
		if err != nil || typ == tcStop {
			return err
		}
		last = fid
		switch {
		case fid == 1:
			h.numValues, err = t.i32(typ)
		case id == 8 && fid == 5:
			h.defLevelBytes, err = t.i32(typ)
		case id == 8 && fid == 6:
			h.repLvlBytes, err = t.i32(typ)
		case id == 8 && fid == 7 && (typ == tcTrue || typ == tcFalse):
			h.v2Raw = typ == tcFalse
		default:
			err = t.skip(typ, false, 1)
		}
		if err != nil {
			return err
		}
	}
}

// checkChunk checks a column chunk of a file of size bytes before the
// Parquet reader reads it: its place in the file and every page header the
// reader will parse, in the order it parses them (from the chunk's first
// page until the data pages hold the chunk's number of values). old is
// set for files of writers before PARQUET-816, whose chunk lengths the
// reader pads.
func checkChunk(ra io.ReaderAt, size int64, cc *metadata.ColumnChunkMetaData, old bool) error {
	if p := cc.FilePath(); p != "" {
		return fmt.Errorf("column chunk data in another file (%q) is not supported", p)
	}
	if cc.CryptoMetadata() != nil {
		return errors.New("encrypted columns are not supported")
	}
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	n := cc.TotalCompressedSize()
	if start < 0 || n < 0 || start > size || n > size-start {
		return fmt.Errorf("column chunk at %d of %d bytes lies outside the file of %d bytes", start, n, size)
	}
	if old {
		n += min(100, size-(start+n)) // as file.RowGroupReader pads it
	}
	values := cc.NumValues()
	pos, end := start, start+n
	for seen := int64(0); seen < values && pos < end; {
		h, err := readPageHeader(ra, pos, end)
		if err != nil {
			return fmt.Errorf("page header at %d: %v", pos, err)
		}
		pos += int64(h.size)
		switch {
		case h.typ != pageData && h.typ != pageDictionary && h.typ != pageDataV2:
			return fmt.Errorf("page at %d has unsupported type %d", pos, h.typ)
		case h.compressed < 0 || int64(h.compressed) > end-pos:
			return fmt.Errorf("page at %d claims %d bytes, the column chunk has %d left", pos, h.compressed, end-pos)
		case h.uncompressed < 0 || h.uncompressed > maxPage:
			return fmt.Errorf("page at %d claims %d bytes uncompressed (at most %d)", pos, h.uncompressed, maxPage)
		case h.numValues < 0:
			return fmt.Errorf("page at %d claims %d values", pos, h.numValues)
		case h.typ == pageDictionary && (h.numValues > maxDictValues || int64(h.numValues)*4 > int64(h.uncompressed)):
			return fmt.Errorf("dictionary page at %d claims %d values in %d bytes", pos, h.numValues, h.uncompressed)
		case h.typ == pageDataV2 && (h.defLevelBytes < 0 || h.repLvlBytes < 0 ||
			int64(h.defLevelBytes)+int64(h.repLvlBytes) > int64(min(h.compressed, h.uncompressed))):
			return fmt.Errorf("page at %d claims %d+%d bytes of levels in %d bytes", pos, h.defLevelBytes, h.repLvlBytes, h.compressed)
		}
		if err := checkPageData(ra, pos, h, cc.Compression()); err != nil {
			return fmt.Errorf("page at %d: %v", pos, err)
		}
		if h.typ != pageDictionary {
			seen += int64(h.numValues)
		}
		pos += int64(h.compressed)
	}
	return nil
}

// checkPageData checks the sizes that a page's compressed data, at pos,
// declares itself, which the codecs of the Parquet reader allocate by
// before the page's own sizes are compared: the decoded length that leads
// snappy data, the content size in a zstd frame header. A gzip or brotli
// page of 0 bytes is read to its end, however long that is (the others
// stop at the page's size), so it must be short.
//
// What is not checked: zstd data whose frame does not declare its size
// (streaming writers, parquet-mr) decodes as far as it goes.
func checkPageData(ra io.ReaderAt, pos int64, h pageHeader, codec compress.Compression) error {
	at, n, want := pos, int64(h.compressed), int64(h.uncompressed)
	if h.typ == pageDataV2 {
		if h.v2Raw {
			return nil
		}
		lv := int64(h.defLevelBytes) + int64(h.repLvlBytes)
		at, n, want = at+lv, n-lv, want-lv
	}
	var head [18]byte
	k, err := ra.ReadAt(head[:min(n, int64(len(head)))], at)
	if err != nil && err != io.EOF {
		return err
	}
	b := head[:k]
	switch codec {
	case compress.Codecs.Snappy:
		if v, m := binary.Uvarint(b); m <= 0 || v != uint64(want) {
			return fmt.Errorf("snappy data declares %d bytes, the page %d", v, want)
		}
	case compress.Codecs.Zstd:
		if fcs, ok := zstdContentSize(b); ok && fcs > uint64(want) {
			return fmt.Errorf("zstd frame declares %d bytes, the page %d", fcs, want)
		}
	case compress.Codecs.Gzip, compress.Codecs.Brotli:
		if want <= 0 && n > 64 {
			return fmt.Errorf("%d compressed bytes for an empty page", n)
		}
	}
	return nil
}

// zstdContentSize returns the content size that the zstd frame header at
// the start of b declares, if it does (RFC 8878, 3.1.1.1).
func zstdContentSize(b []byte) (uint64, bool) {
	if len(b) < 5 || binary.LittleEndian.Uint32(b) != 0xFD2FB528 {
		return 0, false
	}
	fhd := b[4]
	single := fhd>>5&1 == 1
	p := 5
	if !single {
		p++ // window descriptor
	}
	p += []int{0, 1, 2, 4}[fhd&3] // dictionary ID
	size := []int{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && single {
		size = 1
	}
	if size == 0 || len(b) < p+size {
		return 0, false
	}
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[p+i])
	}
	if size == 2 {
		v += 256
	}
	return v, true
}

// readPageHeader reads and parses the page header at pos, which ends
// before end, reading more of the file while the header needs it.
func readPageHeader(ra io.ReaderAt, pos, end int64) (pageHeader, error) {
	for n := int64(16 << 10); ; n *= 2 {
		avail := min(end-pos, maxPageHeader)
		short := n < avail
		buf := make([]byte, min(n, avail))
		if _, err := ra.ReadAt(buf, pos); err != nil && err != io.EOF {
			return pageHeader{}, err
		}
		h, err := parsePageHeader(buf, short)
		if err != errThriftShort {
			return h, err
		}
	}
}
