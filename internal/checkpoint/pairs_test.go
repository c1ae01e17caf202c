package checkpoint

import (
	"slices"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

// streamMeta is the metadata augment writes on a pairs stream.
func streamMeta() contract.Meta {
	return contract.Meta{
		contract.MetaKind: contract.KindPairs, contract.MetaHeight: "28", contract.MetaWidth: "28",
		contract.MetaEpochs: "20", contract.MetaRowsPerEpoch: "60000", contract.MetaSeed: "1",
		contract.MetaSplit: "train", contract.MetaSource: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
		contract.MetaAugment: "randaugment (torchvision 0.14.1)", contract.MetaAugNumOps: "5", contract.MetaAugMagnitude: "9",
		contract.MetaAugBins: "31", contract.MetaAugOps: "Identity,ShearX,Rotate", contract.MetaAugCropScale: "0.4",
		contract.MetaAugFlip: "true", contract.MetaStage: "augment", contract.MetaVersion: "v1.2.3",
	}
}

func TestPairsOfTakesTheStreamsIdentity(t *testing.T) {
	p, err := PairsOf(streamMeta())
	if err != nil {
		t.Fatal(err)
	}
	if want := full().Pairs; p != want {
		t.Errorf("PairsOf = %+v, want %+v", p, want)
	}
}

func TestPairsOfNeedsTheSchedule(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"no epochs", contract.MetaEpochs, "", contract.MetaEpochs},
		{"rows not a number", contract.MetaRowsPerEpoch, "many", contract.MetaRowsPerEpoch},
		{"zero epochs", contract.MetaEpochs, "0", "0 epochs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := streamMeta()
			if tc.value == "" {
				delete(m, tc.key)
			} else {
				m[tc.key] = tc.value
			}
			if _, err := PairsOf(m); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestComparePairsNamesEachDifference(t *testing.T) {
	h := full()
	for _, tc := range []struct {
		name string
		key  string // stream key changed
		to   string
		want []Mismatch
	}{
		{"the same stream", "", "", nil},
		{"another seed", contract.MetaSeed, "2", []Mismatch{{contract.MetaSeed, "1", "2"}}},
		{"another split", contract.MetaSplit, "test", []Mismatch{{contract.MetaSplit, "train", "test"}}},
		{"another source", contract.MetaSource, "/home/me/fmnist/train-images-idx3-ubyte.gz", []Mismatch{{contract.MetaSource, h.Pairs.Source, "/home/me/fmnist/train-images-idx3-ubyte.gz"}}},
		{"no crop", contract.MetaAugCropScale, "0", []Mismatch{{contract.MetaAugCropScale, "0.4", "0"}}},
		{"no flip", contract.MetaAugFlip, "false", []Mismatch{{contract.MetaAugFlip, "true", "false"}}},
		{"no flip recorded", contract.MetaAugFlip, "", []Mismatch{{contract.MetaAugFlip, "true", ""}}},
		{"other ops", contract.MetaAugOps, "Identity", []Mismatch{{contract.MetaAugOps, "Identity,ShearX,Rotate", "Identity"}}},
		{"another magnitude", contract.MetaAugMagnitude, "10", []Mismatch{{contract.MetaAugMagnitude, "9", "10"}}},
		{"more epochs", contract.MetaEpochs, "21", []Mismatch{{contract.MetaEpochs, "20", "21"}}},
		{"fewer rows", contract.MetaRowsPerEpoch, "1000", []Mismatch{{contract.MetaRowsPerEpoch, "60000", "1000"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := streamMeta()
			if tc.key != "" {
				if tc.to == "" {
					delete(m, tc.key)
				} else {
					m[tc.key] = tc.to
				}
			}
			p, err := PairsOf(m)
			if err != nil {
				t.Fatal(err)
			}
			diff, unchecked := h.ComparePairs(p)
			if !slices.Equal(diff, tc.want) || unchecked != nil {
				t.Errorf("diff %v, unchecked %v; want %v, none", diff, unchecked, tc.want)
			}
		})
	}
}

func TestMismatchReadsAsStreamThenCheckpoint(t *testing.T) {
	got := Mismatch{contract.MetaAugFlip, "true", ""}.String()
	if got != `augment.flip "" (checkpoint: true)` {
		t.Errorf("%q", got)
	}
}
