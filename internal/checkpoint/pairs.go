package checkpoint

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/contract"
)

// Pairs is the identity of a pairs stream: everything augment records of
// how it made the pairs, and the schedule the stream sets. A checkpoint
// records the Pairs it was trained on, so that a resumed run can refuse
// another stream. The string fields are the stream's metadata values
// verbatim ("" where the stream has none).
type Pairs struct {
	Seed      string // siampipe.seed
	Split     string // siampipe.split
	Source    string // siampipe.source
	Augment   string // siampipe.augment: the policy and its reference
	NumOps    string // siampipe.augment.num_ops
	Magnitude string // siampipe.augment.magnitude
	Bins      string // siampipe.augment.bins
	Ops       string // siampipe.augment.ops
	CropScale string // siampipe.augment.crop_scale
	Flip      string // siampipe.augment.flip

	Epochs       int // siampipe.epochs
	RowsPerEpoch int // siampipe.rows_per_epoch
}

// pairsField ties a string field of Pairs to the stream's key and the
// checkpoint's.
type pairsField struct {
	stream, ckpt string
	of           func(*Pairs) *string
}

var pairsFields = []pairsField{
	{contract.MetaSeed, contract.MetaTrainPairsSeed, func(p *Pairs) *string { return &p.Seed }},
	{contract.MetaSplit, contract.MetaTrainPairsSplit, func(p *Pairs) *string { return &p.Split }},
	{contract.MetaSource, contract.MetaTrainPairsSource, func(p *Pairs) *string { return &p.Source }},
	{contract.MetaAugment, contract.MetaTrainPairsAugment, func(p *Pairs) *string { return &p.Augment }},
	{contract.MetaAugNumOps, contract.MetaTrainPairsNumOps, func(p *Pairs) *string { return &p.NumOps }},
	{contract.MetaAugMagnitude, contract.MetaTrainPairsMagnitude, func(p *Pairs) *string { return &p.Magnitude }},
	{contract.MetaAugBins, contract.MetaTrainPairsBins, func(p *Pairs) *string { return &p.Bins }},
	{contract.MetaAugOps, contract.MetaTrainPairsOps, func(p *Pairs) *string { return &p.Ops }},
	{contract.MetaAugCropScale, contract.MetaTrainPairsCropScale, func(p *Pairs) *string { return &p.CropScale }},
	{contract.MetaAugFlip, contract.MetaTrainPairsFlip, func(p *Pairs) *string { return &p.Flip }},
}

// PairsOf returns the identity of the pairs stream whose metadata is meta.
// Its epochs and rows per epoch must be recorded: they set the schedule.
func PairsOf(meta contract.Meta) (Pairs, error) {
	var p Pairs
	for _, pf := range pairsFields {
		*pf.of(&p) = meta[pf.stream]
	}
	var err error
	if p.Epochs, err = meta.Int(contract.MetaEpochs); err != nil {
		return Pairs{}, err
	}
	if p.RowsPerEpoch, err = meta.Int(contract.MetaRowsPerEpoch); err != nil {
		return Pairs{}, err
	}
	if p.Epochs < 1 || p.RowsPerEpoch < 1 {
		return Pairs{}, fmt.Errorf("metadata says %d epochs of %d pairs: want both positive", p.Epochs, p.RowsPerEpoch)
	}
	return p, nil
}

// Mismatch is one field in which a pairs stream differs from the one a
// checkpoint was trained on.
type Mismatch struct {
	Key        string // the stream's metadata key, e.g. contract.MetaAugCropScale
	Checkpoint string // the value the checkpoint records
	Stream     string // the stream's value
}

// Field is the key without "siampipe.", e.g. "augment.crop_scale".
func (m Mismatch) Field() string { return short(m.Key) }

// String reads "augment.flip false (checkpoint: true)".
func (m Mismatch) String() string {
	return fmt.Sprintf("%s %s (checkpoint: %s)", m.Field(), quoteEmpty(m.Stream), quoteEmpty(m.Checkpoint))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func short(key string) string { return strings.TrimPrefix(key, "siampipe.") }

// ComparePairs compares the pairs stream a checkpoint with header h was
// trained on with stream. It returns the fields that differ and, for a
// checkpoint that predates recording some of them, the fields it could not
// check (the stream's metadata keys without "siampipe.").
func (h Header) ComparePairs(stream Pairs) (diff []Mismatch, unchecked []string) {
	for _, pf := range pairsFields {
		if !h.Has(pf.ckpt) {
			unchecked = append(unchecked, short(pf.stream))
			continue
		}
		a, b := *pf.of(&h.Pairs), *pf.of(&stream)
		if a != b {
			diff = append(diff, Mismatch{Key: pf.stream, Checkpoint: a, Stream: b})
		}
	}
	for _, c := range []struct {
		key, ckpt string
		a, b      int
	}{
		{contract.MetaEpochs, contract.MetaTrainEpochs, h.Pairs.Epochs, stream.Epochs},
		{contract.MetaRowsPerEpoch, contract.MetaTrainRowsPerEpoch, h.Pairs.RowsPerEpoch, stream.RowsPerEpoch},
	} {
		switch {
		case !h.Has(c.ckpt):
			unchecked = append(unchecked, short(c.key))
		case c.a != c.b:
			diff = append(diff, Mismatch{Key: c.key, Checkpoint: strconv.Itoa(c.a), Stream: strconv.Itoa(c.b)})
		}
	}
	return diff, unchecked
}
