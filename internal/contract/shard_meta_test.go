package contract

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

func TestShardMetaRoundTrips(t *testing.T) {
	si := ShardInfo{I: 2, N: 7, First: 285, Rows: 143, Total: 1000}
	m := Meta{MetaKind: KindImages, MetaRows: "143"}.SetShard(si)
	want := Meta{MetaKind: KindImages, MetaRows: "143", MetaShard: "2/7", MetaShardFirst: "285", MetaShardRows: "143", MetaShardTotal: "1000"}
	if !maps.Equal(m, want) {
		t.Fatalf("SetShard: %v, want %v", m, want)
	}
	got, ok, err := m.Shard()
	if !ok || err != nil || got != si {
		t.Fatalf("Shard() = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := (Meta{MetaKind: KindImages, MetaRows: "1000"}).Shard(); ok || err != nil {
		t.Fatalf("a whole stream: ok %v, err %v", ok, err)
	}
}

func TestShardMetaRefusesInconsistentKeys(t *testing.T) {
	good := func() Meta {
		return Meta{MetaKind: KindPairs, MetaRowsPerEpoch: "5"}.SetShard(ShardInfo{I: 1, N: 2, First: 5, Rows: 5, Total: 10})
	}
	for _, c := range []struct {
		key, value string // "" value: delete the key
		want       string
	}{
		{MetaShard, "2/2", `metadata siampipe.shard="2/2" is not I/N with 0 <= I < N`},
		{MetaShard, "x", "is not I/N"},
		{MetaShard, "0/0", "is not I/N"},
		{MetaShardFirst, "", "metadata siampipe.shard.first is missing"},
		{MetaShardTotal, "-1", `metadata siampipe.shard.total="-1" is not a row count`},
		{MetaShardRows, "six", "is not a row count"},
		{MetaShardTotal, "9", "rows 5..10 are not within the 9 rows of the whole"},
		{MetaRowsPerEpoch, "6", `metadata siampipe.rows_per_epoch="6" differs from siampipe.shard.rows="5"`},
	} {
		m := good()
		if c.value == "" {
			delete(m, c.key)
		} else {
			m[c.key] = c.value
		}
		_, ok, err := m.Shard()
		if !ok || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: ok %v, error %v, want %q", c.key, c.value, ok, err, c.want)
		}
	}
}

func TestWholeRestoresTheCountsAndDropsTheShardKeys(t *testing.T) {
	si := ShardInfo{I: 0, N: 3, First: 0, Rows: 333, Total: 1000}
	for _, c := range []struct {
		shard, want Meta
	}{
		{Meta{MetaKind: KindImages, MetaRows: "333", MetaSplit: "test"}, Meta{MetaKind: KindImages, MetaRows: "1000", MetaSplit: "test"}},
		{Meta{MetaKind: KindImages, MetaSplit: "test"}, Meta{MetaKind: KindImages, MetaSplit: "test"}}, // fetch --skip-bad: no count
		{Meta{MetaKind: KindPairs, MetaRowsPerEpoch: "333", MetaEpochs: "3"}, Meta{MetaKind: KindPairs, MetaRowsPerEpoch: "1000", MetaEpochs: "3"}},
		{Meta{MetaKind: KindFeatures, MetaDim: "8"}, Meta{MetaKind: KindFeatures, MetaDim: "8"}},
	} {
		shard := c.shard.Clone().SetShard(si)
		if got := shard.Whole(); !maps.Equal(got, c.want) {
			t.Errorf("Whole of %v: %v, want %v", shard, got, c.want)
		}
		if _, ok := shard[MetaShard]; !ok {
			t.Errorf("Whole changed its receiver")
		}
		if got := c.want.Whole(); !maps.Equal(got, c.want) {
			t.Errorf("Whole of a whole stream %v: %v", c.want, got)
		}
	}
}

func TestShardKeysAreNotInherited(t *testing.T) {
	src := Meta{MetaKind: KindImages, MetaSplit: "train", MetaRows: "5"}.SetShard(ShardInfo{I: 0, N: 2, Rows: 5, Total: 10})
	for _, kind := range []string{KindPairs, KindFeatures, KindCoords} {
		if got := (Meta{}).Inherit(kind, src); !maps.Equal(got, Meta{MetaSplit: "train"}) {
			t.Errorf("%s inherits %v", kind, got)
		}
	}
}

// A shard's schema differs from the whole's by its metadata only: the
// whole's metadata gives the whole's bytes.
func TestWholeOfAShardSchemaIsTheWholeSchema(t *testing.T) {
	whole := Meta{MetaSplit: "test", MetaRows: "10"}
	shard := Meta{MetaSplit: "test", MetaRows: "4"}.SetShard(ShardInfo{I: 1, N: 3, First: 3, Rows: 4, Total: 10})
	write := func(m Meta) []byte {
		var b bytes.Buffer
		w, err := NewImagesWriter(&b, 2, 2, m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	r, err := NewReader(bytes.NewReader(write(shard)), KindImages)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	got := r.Meta().Whole()
	delete(got, MetaKind) // set by the writer
	delete(got, MetaHeight)
	delete(got, MetaWidth)
	if !bytes.Equal(write(got), write(whole)) {
		t.Fatalf("whole metadata of the shard %v gives other bytes than %v", got, whole)
	}
}
