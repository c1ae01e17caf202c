package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// Metadata keys of a shard: the part of an images, pairs or features stream
// that fetch, augment or embed wrote with --shard I/N (or --shards N), rows
// [I*n/N, (I+1)*n/N) of the n rows of the whole stream (of each epoch's n
// for pairs). A whole stream has none of them. In a shard, the count keys
// count the shard's rows: siampipe.rows (images, when present) and
// siampipe.rows_per_epoch (pairs) equal siampipe.shard.rows. The concat
// stage checks the shards against these keys and joins them into the whole
// stream (see Meta.Whole).
const (
	MetaShard      = "siampipe.shard"       // "I/N": shard I (0-based) of N
	MetaShardFirst = "siampipe.shard.first" // the whole's row the shard starts at (pairs: in each epoch)
	MetaShardRows  = "siampipe.shard.rows"  // the whole's rows in the shard (pairs: per epoch); fetch --skip-bad may write fewer
	MetaShardTotal = "siampipe.shard.total" // rows of the whole (pairs: per epoch)
)

// shardKeys are the keys only a shard has.
var shardKeys = []string{MetaShard, MetaShardFirst, MetaShardRows, MetaShardTotal}

// ShardInfo is what a shard's metadata records: it is shard I of N, the
// rows [First, First+Rows) of the whole's Total (per epoch for pairs).
type ShardInfo struct {
	I, N               int
	First, Rows, Total int64
}

// SetShard records si in m and returns m. The stage sets the count keys
// (MetaRows, MetaRowsPerEpoch) to the shard's rows itself.
func (m Meta) SetShard(si ShardInfo) Meta {
	m[MetaShard] = strconv.Itoa(si.I) + "/" + strconv.Itoa(si.N)
	m[MetaShardFirst] = strconv.FormatInt(si.First, 10)
	m[MetaShardRows] = strconv.FormatInt(si.Rows, 10)
	m[MetaShardTotal] = strconv.FormatInt(si.Total, 10)
	return m
}

// Shard returns what m records of the shard its stream is; ok is false for a
// whole stream (no MetaShard). It fails, naming the key, on a value that
// does not parse, on rows outside the whole, and on a count key other than
// the shard's rows.
func (m Meta) Shard() (si ShardInfo, ok bool, err error) {
	v, ok := m[MetaShard]
	if !ok {
		return si, false, nil
	}
	a, b, found := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return si, true, fmt.Errorf("metadata %s=%q is not I/N with 0 <= I < N", MetaShard, v)
	}
	si.I, si.N = i, n
	for _, f := range []struct {
		key string
		v   *int64
	}{{MetaShardFirst, &si.First}, {MetaShardRows, &si.Rows}, {MetaShardTotal, &si.Total}} {
		s, has := m[f.key]
		if !has {
			return si, true, fmt.Errorf("metadata %s is missing (a shard records %s)", f.key, strings.Join(shardKeys, ", "))
		}
		if *f.v, err = strconv.ParseInt(s, 10, 64); err != nil || *f.v < 0 {
			return si, true, fmt.Errorf("metadata %s=%q is not a row count", f.key, s)
		}
	}
	if si.First+si.Rows > si.Total || si.First+si.Rows < si.First {
		return si, true, fmt.Errorf("metadata %s, %s and %s: rows %d..%d are not within the %d rows of the whole", MetaShardFirst, MetaShardRows, MetaShardTotal, si.First, si.First+si.Rows, si.Total)
	}
	if k := countKey(m); k != "" {
		if _, has := m[k]; has && m[k] != m[MetaShardRows] {
			return si, true, fmt.Errorf("metadata %s=%q differs from %s=%q", k, m[k], MetaShardRows, m[MetaShardRows])
		}
	}
	return si, true, nil
}

// countKey is the key that counts a stream's rows, by its kind: MetaRows
// for images, MetaRowsPerEpoch for pairs, "" for the others.
func countKey(m Meta) string {
	switch m[MetaKind] {
	case KindImages:
		return MetaRows
	case KindPairs:
		return MetaRowsPerEpoch
	}
	return ""
}

// Whole returns the metadata of the whole stream that m's is a shard of: a
// copy of m without the shard keys, its count key (MetaRows for images, if
// present, MetaRowsPerEpoch for pairs) set to MetaShardTotal. It is a plain
// copy of a whole stream's metadata.
func (m Meta) Whole() Meta {
	w := m.Clone()
	total, isShard := m[MetaShardTotal]
	for _, k := range shardKeys {
		delete(w, k)
	}
	if k := countKey(m); k != "" && isShard {
		if _, has := m[k]; has || k == MetaRowsPerEpoch {
			w[k] = total
		}
	}
	return w
}
