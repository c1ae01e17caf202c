package ipcguard

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// messageReader frames the messages of an IPC stream like Arrow Go's own
// (ipc.NewMessageReader), but checks every length before it allocates,
// and every batch against its body. Once the reader has the schema, each
// batch is checked against it too, and alloc (the reader's allocator)
// limited to what the batch's body can hold.
type messageReader struct {
	r      io.Reader
	opt    Options
	msg    *ipc.Message
	schema *arrow.Schema
	alloc  *Allocator
}

func (r *messageReader) Retain() {}
func (r *messageReader) Release() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

// Message returns the next message, io.EOF at the end-of-stream marker,
// or io.ErrUnexpectedEOF if the stream ends before it (never io.EOF
// wrapped in another error: ipc.Reader would take that for the end).
func (r *messageReader) Message() (*ipc.Message, error) {
	var b [4]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF // a stream ends with an end-of-stream marker
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(b[:])
	if n == 0xFFFFFFFF { // continuation marker (absent in the pre-0.15 framing)
		if _, err := io.ReadFull(r.r, b[:]); err != nil {
			return nil, noEOF(err)
		}
		n = binary.LittleEndian.Uint32(b[:])
	}
	if n == 0 {
		return nil, io.EOF // end-of-stream marker
	}
	if n > maxMetadata {
		return nil, fmt.Errorf("%w (metadata length %d)", ErrCorruptSchema, n)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(r.r, meta); err != nil {
		return nil, noEOF(err)
	}
	bodyLen, err := bodyLength(meta)
	if err != nil {
		return nil, err
	}
	body := make([]byte, min(bodyLen, bodyPrealloc))
	got, err := io.ReadFull(r.r, body)
	for err == nil && int64(got) < bodyLen {
		body = append(body, make([]byte, min(bodyLen-int64(got), int64(len(body))))...)
		var m int
		m, err = io.ReadFull(r.r, body[got:])
		got += m
	}
	if err != nil {
		return nil, noEOF(err)
	}
	info, err := checkBatch(meta, int64(len(body)), func(off int64) (uint64, error) {
		return binary.LittleEndian.Uint64(body[off:]), nil
	})
	if err == nil {
		err = r.opt.allowed(info)
	}
	if err == nil && r.schema != nil {
		err = info.fits(r.schema)
	}
	if err != nil {
		return nil, err
	}
	r.alloc.limitTo(info)
	r.Release()
	mb, bb := memory.NewBufferBytes(meta), memory.NewBufferBytes(body)
	r.msg = ipc.NewMessage(mb, bb)
	mb.Release()
	bb.Release()
	return r.msg, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
