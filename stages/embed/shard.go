package main

import (
	"fmt"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/shard"
)

// images is what embed reads its batches from: a contract.Reader, or the
// rows of one shard of its stream.
type images interface {
	Next() bool
	Images() contract.ImagesBatch
	Err() error
}

// shardReader hands out the rows [lo, hi) of the n rows of an images
// stream, in batches cut from the stream's, and checks that the stream has
// n rows.
type shardReader struct {
	rd       *contract.Reader
	mem      *contract.ImagesBatch // the whole stream, read ahead; nil: read as it comes
	n        int64
	lo, hi   int64
	pos      int64 // rows of the stream read so far
	cur      contract.ImagesBatch
	err      error
	finished bool
}

// shardRows returns the reader of shard part of rd's stream and what the
// shard's metadata records. The row count n of the stream is its
// siampipe.rows, checked at the end of the stream; a stream that does not
// record it (fetch --skip-bad) is read into memory first and counted.
func shardRows(rd *contract.Reader, part shard.Shard) (*shardReader, contract.ShardInfo, error) {
	s := &shardReader{rd: rd}
	if _, ok := rd.Meta()[contract.MetaRows]; ok {
		n, err := rd.Meta().Int(contract.MetaRows)
		if err != nil || n < 0 {
			return nil, contract.ShardInfo{}, fmt.Errorf("input images stream is malformed: metadata %s=%q is not a row count", contract.MetaRows, rd.Meta()[contract.MetaRows])
		}
		s.n = int64(n)
	} else {
		all := &contract.ImagesBatch{}
		for rd.Next() {
			b := rd.Images()
			all.N += b.N
			all.Index = append(all.Index, b.Index...)
			all.Label = append(all.Label, b.Label...)
			all.Pixels = append(all.Pixels, b.Pixels...)
		}
		if err := rd.Err(); err != nil {
			return nil, contract.ShardInfo{}, err
		}
		s.mem, s.n = all, int64(all.N)
	}
	var err error
	if s.lo, s.hi, err = part.Rows(s.n); err != nil {
		return nil, contract.ShardInfo{}, err
	}
	return s, contract.ShardInfo{I: part.I, N: part.N, First: s.lo, Rows: s.hi - s.lo, Total: s.n}, nil
}

// Next advances to the next batch of the shard's rows.
func (s *shardReader) Next() bool {
	if s.err != nil || s.finished {
		return false
	}
	if s.mem != nil {
		if s.pos > 0 {
			s.finished = true
			return false
		}
		s.cur, s.pos = cut(*s.mem, s.lo, s.hi), s.n
		return true
	}
	for s.pos < s.hi {
		if !s.rd.Next() {
			s.fail()
			return false
		}
		b := s.rd.Images()
		start := s.pos
		s.pos += int64(b.N)
		if lo, hi := max(start, s.lo), min(s.pos, s.hi); lo < hi {
			s.cur = cut(b, lo-start, hi-start)
			return true
		}
	}
	// Past the shard: read the rest, to check the stream's row count.
	for s.rd.Next() {
		s.pos += int64(s.rd.Images().N)
	}
	s.fail()
	s.finished = true
	return false
}

// fail notes the error of a stream that ended: the reader's, or a row count
// other than the one its metadata records.
func (s *shardReader) fail() {
	if s.err = s.rd.Err(); s.err == nil && s.pos != s.n {
		s.err = fmt.Errorf("the stream has %d rows, its metadata %s says %d (truncated?)", s.pos, contract.MetaRows, s.n)
	}
}

// Images returns the current batch.
func (s *shardReader) Images() contract.ImagesBatch { return s.cur }

// Err returns the first error met by Next.
func (s *shardReader) Err() error { return s.err }

// cut returns the rows [lo, hi) of b.
func cut(b contract.ImagesBatch, lo, hi int64) contract.ImagesBatch {
	size := int64(0)
	if b.N > 0 {
		size = int64(len(b.Pixels) / b.N)
	}
	return contract.ImagesBatch{N: int(hi - lo), Index: b.Index[lo:hi], Label: b.Label[lo:hi], Pixels: b.Pixels[lo*size : hi*size]}
}
