// Package idx decodes the IDX format of the MNIST family of data sets: a
// big-endian header (two zero bytes, an element type byte, a dimension count
// byte, then one uint32 per dimension) followed by the elements. Input may be
// plain or gzip-compressed; the gzip magic is detected.
//
// Only unsigned-byte elements (type 0x08) are supported: they are what
// images and labels of MNIST and FashionMNIST use.
package idx

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Errors returned (wrapped) by Decode, for errors.Is.
var (
	ErrMagic     = errors.New("not an IDX file (bad magic number)")
	ErrType      = errors.New("unsupported IDX element type")
	ErrTruncated = errors.New("truncated")
	ErrTrailing  = errors.New("trailing bytes after the data")
	ErrChecksum  = errors.New("gzip checksum mismatch (file corrupt?)")
	ErrTooLarge  = errors.New("IDX dimensions too large")
)

// TypeUint8 is the IDX element type code of unsigned bytes.
const TypeUint8 = 0x08

// MaxElements bounds the element count Decode accepts (1 GiB), so that a
// corrupt header cannot ask for an absurd allocation.
const MaxElements = 1 << 30

// preallocMax is the most Decode allocates before the data arrives.
const preallocMax = 1 << 26

// Array is a decoded IDX array of unsigned bytes.
type Array struct {
	Dims []int  // e.g. [60000 28 28] for images, [60000] for labels
	Data []byte // the elements, row-major
}

// Header is an IDX header.
type Header struct {
	Type byte
	Dims []int
}

// Elements returns the number of elements the header's dimensions call for.
func (h Header) Elements() int {
	n := 1
	for _, d := range h.Dims {
		n *= d
	}
	return n
}

// Magic returns the header's magic number as a uint32 (0x00000803 for a
// 3-dimensional byte array such as a set of images).
func (h Header) Magic() uint32 { return uint32(h.Type)<<8 | uint32(len(h.Dims)) }

// Decode reads a whole IDX array from r, decompressing gzip if r starts with
// the gzip magic. It checks the magic, the element type, that the data is
// complete, that nothing follows it and, for gzip, the CRC.
func Decode(r io.Reader) (*Array, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	src := io.Reader(br)
	var zr *gzip.Reader
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		var err error
		if zr, err = gzip.NewReader(br); err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		zr.Multistream(false)
		src = zr
	}
	a, err := decodeRaw(src)
	if err != nil {
		return nil, gzipErr(err)
	}
	// Anything after the data is an error; reading to EOF also makes gzip
	// check its CRC and length.
	var one [1]byte
	n, err := io.ReadFull(src, one[:])
	if n > 0 {
		return nil, ErrTrailing
	}
	if err != io.EOF {
		return nil, gzipErr(err)
	}
	if zr != nil {
		// Bytes after the gzip member (Multistream off) are trailing garbage.
		if n, _ := br.Read(one[:]); n > 0 {
			return nil, ErrTrailing
		}
	}
	return a, nil
}

func gzipErr(err error) error {
	switch {
	case errors.Is(err, gzip.ErrChecksum):
		return ErrChecksum
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	return err
}

// DecodeHeader reads just the header from an uncompressed reader.
func DecodeHeader(r io.Reader) (Header, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Header{}, headerErr(err)
	}
	if h[0] != 0 || h[1] != 0 || h[3] == 0 {
		return Header{}, fmt.Errorf("%w: % x", ErrMagic, h)
	}
	hd := Header{Type: h[2], Dims: make([]int, h[3])}
	if hd.Type != TypeUint8 {
		return Header{}, fmt.Errorf("%w 0x%02x (only unsigned bytes, 0x08)", ErrType, hd.Type)
	}
	buf := make([]byte, 4*len(hd.Dims))
	if _, err := io.ReadFull(r, buf); err != nil {
		return Header{}, headerErr(err)
	}
	total := 1
	for i := range hd.Dims {
		d := int(binary.BigEndian.Uint32(buf[4*i:]))
		hd.Dims[i] = d
		if d != 0 && total > MaxElements/d {
			return Header{}, fmt.Errorf("%w: %v", ErrTooLarge, hd.Dims)
		}
		total *= d
	}
	return hd, nil
}

func headerErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w header", ErrTruncated)
	}
	return err
}

func decodeRaw(r io.Reader) (*Array, error) {
	h, err := DecodeHeader(r)
	if err != nil {
		return nil, err
	}
	want := h.Elements()
	// Allocate what the header asks for up to preallocMax at once (all of
	// FashionMNIST), and grow beyond that only as data actually arrives, so
	// a corrupt header cannot make us allocate a gigabyte for nothing.
	data := make([]byte, min(want, preallocMax))
	n, err := io.ReadFull(r, data)
	for err == nil && n < want {
		grow := min(want-n, len(data))
		data = append(data, make([]byte, grow)...)
		var m int
		m, err = io.ReadFull(r, data[n:])
		n += m
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%w: %d of %d data bytes", ErrTruncated, n, want)
	}
	if err != nil {
		return nil, err
	}
	return &Array{Dims: h.Dims, Data: data}, nil
}
