package ipcguard

import (
	"encoding/binary"
	"fmt"
	"io"

	flatbuffers "github.com/google/flatbuffers/go"
)

// fileMagic closes (and opens) the Arrow IPC file format.
const fileMagic = "ARROW1"

// blockMessage returns the flatbuffer of the message in an IPC file's
// block, whose first metaLen (at least 8) bytes are frame, exactly as
// ipc.FileReader takes it (fileBlock.NewMessage): after a prefix of 8
// bytes (a continuation marker and a length), 4 (a length, before Arrow
// 0.15) or none (a first word of zero), up to the block's metadata
// length.
func blockMessage(frame []byte) []byte {
	switch binary.LittleEndian.Uint32(frame) {
	case 0:
		return frame
	case 0xFFFFFFFF:
		return frame[8:]
	}
	return frame[4:]
}

// fileInfo is what checkFile learns of an IPC file's batches.
type fileInfo struct {
	dicts, records []batchInfo
	rows           int64 // of all the record batches
}

// checkFile validates an IPC file of size bytes before ipc.NewFileReader
// reads it: the footer, its schema, and every block it lists (dictionary
// and record batches), as messageReader does for a stream's messages.
func checkFile(ra io.ReaderAt, size int64, opt Options) (f fileInfo, err error) {
	var tail [10]byte
	if size < int64(len(tail))+8 {
		return f, fmt.Errorf("%w (a file of %d bytes)", ErrCorruptSchema, size)
	}
	if _, err := ra.ReadAt(tail[:], size-10); err != nil {
		return f, err
	}
	if string(tail[4:]) != fileMagic {
		return f, ErrNoFooter
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if n <= 0 || n > size-10-8 || n > maxMetadata {
		return f, fmt.Errorf("%w (footer length %d)", ErrCorruptSchema, n)
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-10-n); err != nil {
		return f, err
	}
	if err := checkFooter(footer); err != nil {
		return f, err
	}
	if f.dicts, err = checkBlocks(ra, footer, slotFooterDictionaries, size); err != nil {
		return f, err
	}
	if len(f.dicts) > 0 {
		if err := opt.allowed(f.dicts[0]); err != nil {
			return f, err
		}
	}
	if f.records, err = checkBlocks(ra, footer, slotFooterRecords, size); err != nil {
		return f, err
	}
	for _, b := range f.records {
		f.rows += b.rows
	}
	return f, nil
}

// checkBlocks checks the blocks listed in the footer's vector in slot.
func checkBlocks(ra io.ReaderAt, footer []byte, slot flatbuffers.VOffsetT, size int64) (infos []batchInfo, err error) {
	defer func() {
		if recover() != nil {
			infos, err = nil, ErrCorruptBatch
		}
	}()
	t := root(footer)
	o := t.Offset(slot)
	if o == 0 {
		return nil, nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	if n < 0 || int(start)+24*n > len(footer) {
		return nil, ErrCorruptBatch
	}
	rows := int64(0)
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(24*i)
		off := flatbuffers.GetInt64(footer[p:])
		metaLen := int64(flatbuffers.GetInt32(footer[p+8:]))
		bodyLen := flatbuffers.GetInt64(footer[p+16:])
		if off < 0 || metaLen < 8 || metaLen > maxMetadata || bodyLen < 0 || off > size || metaLen > size-off || bodyLen > size-off-metaLen {
			return nil, fmt.Errorf("%w (block %d outside the file)", ErrCorruptBatch, i)
		}
		frame := make([]byte, metaLen)
		if _, err := ra.ReadAt(frame, off); err != nil {
			return nil, err
		}
		bodyAt := off + metaLen
		info, err := checkBatch(blockMessage(frame), bodyLen, func(at int64) (uint64, error) {
			var w [8]byte
			_, err := ra.ReadAt(w[:], bodyAt+at)
			return binary.LittleEndian.Uint64(w[:]), err
		})
		if err != nil {
			return nil, err
		}
		if slot == slotFooterDictionaries && !info.dict || slot == slotFooterRecords && !info.batch {
			return nil, fmt.Errorf("%w (block %d holds another kind of message)", ErrCorruptBatch, i)
		}
		if rows += info.rows; rows > maxFileRows {
			return nil, fmt.Errorf("%w (%d rows)", ErrCorruptBatch, rows)
		}
		infos = append(infos, info)
	}
	return infos, nil
}
