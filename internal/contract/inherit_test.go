package contract

import (
	"maps"
	"testing"
)

func TestInheritCarriesTheKindsKeysAndNothingElse(t *testing.T) {
	upstream := Meta{
		MetaKind: "upstream", MetaSplit: "test", MetaSource: "t10k-images-idx3-ubyte.gz",
		MetaModel: "ab12", MetaLayer: "backbone", MetaArch: "conv", MetaSeed: "7", MetaDim: "512",
		MetaStage: "embed", MetaVersion: "0.0.1", MetaRows: "10000",
	}
	tests := []struct {
		kind string
		src  Meta
		want []string // keys taken from src
	}{
		{KindPairs, upstream, []string{MetaSplit, MetaSource}},
		{KindFeatures, upstream, []string{MetaSplit, MetaSource}},
		{KindCoords, upstream, []string{MetaSplit, MetaSource, MetaModel, MetaLayer}},
		{KindCoords, Meta{MetaSplit: "train"}, []string{MetaSplit}}, // missing keys stay missing
		{KindCoords, nil, nil},
		{KindImages, upstream, nil}, // made from files, not a stream
		{KindModel, upstream, nil},
	}
	for _, tt := range tests {
		own := Meta{MetaStage: "reduce", MetaVersion: "9.9.9", MetaSeed: "1"}
		want := maps.Clone(own)
		for _, k := range tt.want {
			want[k] = tt.src[k]
		}
		got := own.Inherit(tt.kind, tt.src)
		if !maps.Equal(got, want) {
			t.Errorf("%s from %v:\n got %v\nwant %v", tt.kind, tt.src, got, want)
		}
		if !maps.Equal(own, want) {
			t.Errorf("%s: Inherit did not fill the receiver: %v", tt.kind, own)
		}
	}
}
