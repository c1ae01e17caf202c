package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/shard"
)

// input is one shard stream to join, with the name messages give it.
type input struct {
	name string
	r    io.Reader
}

// part is an open shard.
type part struct {
	input
	rd *contract.Reader
	si contract.ShardInfo
}

// summary is what concat wrote.
type summary struct {
	kind   string
	shards int
	rows   int64
}

// kinds are the kinds concat joins: the outputs of the map stages.
var kinds = []string{contract.KindImages, contract.KindPairs, contract.KindFeatures}

// concat joins the shard streams ins, given in any order, into the whole
// stream on out: the bytes the unsharded stage writes (with opt's
// compression). It checks that the shards are of one stream (one kind, the
// same metadata but for the shard keys and counts, the same schema), each
// exactly once, every shard of it, with the rows the shard formula gives,
// and says in one line which input is wrong.
func concat(ctx context.Context, ins []input, out io.Writer, opt contract.Options, progress func(int64)) (summary, error) {
	parts := make([]*part, 0, len(ins))
	defer func() {
		for _, p := range parts {
			p.rd.Release()
		}
	}()
	for _, in := range ins {
		rd, err := contract.NewReader(in.r, kinds...)
		if err != nil {
			return summary{}, fmt.Errorf("%s: %w", in.name, err)
		}
		p := &part{input: in, rd: rd}
		parts = append(parts, p)
		si, ok, err := rd.Meta().Shard()
		switch {
		case err != nil:
			return summary{}, fmt.Errorf("%s: %w", in.name, err)
		case !ok:
			return summary{}, fmt.Errorf("%s is not a shard: its %s stream has no %s metadata (write shards with --shard I/N or --shards N)", in.name, rd.Kind(), contract.MetaShard)
		}
		p.si = si
	}
	if err := sameStream(parts); err != nil {
		return summary{}, err
	}
	sorted := append([]*part(nil), parts...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].si.I < sorted[b].si.I })
	if err := complete(sorted); err != nil {
		return summary{}, err
	}
	w, err := newSink(out, sorted[0].rd, opt)
	if err != nil {
		return summary{}, err
	}
	if progress == nil {
		progress = func(int64) {}
	}
	sum := summary{kind: w.kind, shards: len(sorted)}
	if w.kind == contract.KindPairs {
		sum.rows, err = joinEpochs(ctx, sorted, w, progress)
	} else {
		sum.rows, err = join(ctx, sorted, w, progress)
	}
	if err != nil {
		return summary{}, err
	}
	if err := w.close(); err != nil {
		return summary{}, fmt.Errorf("write %s: %w", w.kind, err)
	}
	return sum, nil
}

// sameStream checks that every part is a shard of the first one's stream.
func sameStream(parts []*part) error {
	ref := parts[0]
	want := ref.rd.Meta().Whole()
	for _, p := range parts[1:] {
		switch {
		case p.rd.Kind() != ref.rd.Kind():
			return fmt.Errorf("%s is %s %s stream, %s %s %s stream: shards of one stream are of one kind", p.name, article(p.rd.Kind()), p.rd.Kind(), ref.name, article(ref.rd.Kind()), ref.rd.Kind())
		case p.si.N != ref.si.N:
			return fmt.Errorf("%s is shard %d/%d, %s shard %d/%d: not shards of one --shards N", p.name, p.si.I, p.si.N, ref.name, ref.si.I, ref.si.N)
		case p.si.Total != ref.si.Total:
			return fmt.Errorf("%s is a shard of %d rows, %s of %d: not shards of one stream", p.name, p.si.Total, ref.name, ref.si.Total)
		}
		if k, got, exp, differ := firstDifference(p.rd.Meta().Whole(), want); differ {
			return fmt.Errorf("%s is not a shard of the stream %s is a shard of: its %s is %s, %s's %s", p.name, ref.name, k, got, ref.name, exp)
		}
		if labelled(p.rd) != labelled(ref.rd) {
			return fmt.Errorf("%s is %s, %s %s: not shards of one stream", p.name, labelWord(labelled(p.rd)), ref.name, labelWord(labelled(ref.rd)))
		}
		if !p.rd.Schema().Equal(ref.rd.Schema()) {
			return fmt.Errorf("%s has other columns than %s: not shards of one stream", p.name, ref.name)
		}
	}
	return nil
}

// firstDifference returns the first key, in sorted order, whose values in a
// and b differ, and the two values quoted ("none" when absent).
func firstDifference(a, b contract.Meta) (key, av, bv string, differ bool) {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	quote := func(m contract.Meta, k string) string {
		if v, ok := m[k]; ok {
			return fmt.Sprintf("%q", v)
		}
		return "not set"
	}
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if va != vb || oka != okb {
			return k, quote(a, k), quote(b, k), true
		}
	}
	return "", "", "", false
}

// labelled reports whether a stream's schema declares labels (a nullable
// label field is unlabelled data; see contract.Options.Unlabelled).
func labelled(rd *contract.Reader) bool {
	fs, ok := rd.Schema().FieldsByName(contract.ColLabel)
	return !ok || len(fs) == 0 || !fs[0].Nullable
}

func labelWord(l bool) string {
	if l {
		return "labelled"
	}
	return "unlabelled"
}

// complete checks that sorted (by shard index) holds every shard once, each
// with the rows the shard formula gives.
func complete(sorted []*part) error {
	n := sorted[0].si.N
	for k, p := range sorted {
		if k > 0 && p.si.I == sorted[k-1].si.I && p.name == sorted[k-1].name {
			return fmt.Errorf("%s is given twice (shard %d/%d)", p.name, p.si.I, n)
		}
		if k > 0 && p.si.I == sorted[k-1].si.I {
			return fmt.Errorf("%s is shard %d/%d again (so is %s)", p.name, p.si.I, n, sorted[k-1].name)
		}
	}
	have := make(map[int]bool, len(sorted))
	for _, p := range sorted {
		have[p.si.I] = true
	}
	for i := range n {
		if !have[i] {
			return fmt.Errorf("shard %d/%d is missing: got %s", i, n, given(sorted))
		}
	}
	for _, p := range sorted {
		s := shard.Shard{I: p.si.I, N: p.si.N}
		lo, hi := s.Range(p.si.Total)
		if p.si.First != lo || p.si.Rows != hi-lo {
			return fmt.Errorf("%s: shard %s records rows [%d, %d) of %d; that shard is rows [%d, %d)", p.name, s, p.si.First, p.si.First+p.si.Rows, p.si.Total, lo, hi)
		}
	}
	return nil
}

// given lists the parts as "a.arrows (0/3), c.arrows (2/3)", the first
// eight of them.
func given(parts []*part) string {
	var b strings.Builder
	for k, p := range parts {
		if k == 8 {
			fmt.Fprintf(&b, " and %d more", len(parts)-k)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d/%d)", p.name, p.si.I, p.si.N)
	}
	return b.String()
}

// join copies every part's rows, part after part, and checks each part's
// row count against its metadata.
func join(ctx context.Context, sorted []*part, w *sink, progress func(int64)) (int64, error) {
	var total int64
	_, counted := sorted[0].rd.Meta()[contract.MetaRows]
	exact := w.kind == contract.KindFeatures || counted // fetch --skip-bad writes up to its rows
	for _, p := range sorted {
		c := &cursor{part: p, kind: w.kind}
		n, err := c.copy(ctx, w, -1, -1, progress)
		if err != nil {
			return 0, err
		}
		if n > p.si.Rows || exact && n != p.si.Rows {
			return 0, fmt.Errorf("%s has %d rows, its metadata %s says %d (truncated?)", p.name, n, contract.MetaShardRows, p.si.Rows)
		}
		total += n
	}
	return total, nil
}

// joinEpochs copies pairs epoch by epoch: epoch e of shard 0, of shard 1,
// ..., then epoch e+1, and checks each part's rows and epochs.
func joinEpochs(ctx context.Context, sorted []*part, w *sink, progress func(int64)) (int64, error) {
	epochs, err := sorted[0].rd.Meta().Int(contract.MetaEpochs)
	if err != nil || epochs < 1 {
		return 0, fmt.Errorf("%s: metadata %s=%q is not a number of epochs", sorted[0].name, contract.MetaEpochs, sorted[0].rd.Meta()[contract.MetaEpochs])
	}
	cs := make([]*cursor, len(sorted))
	for k, p := range sorted {
		cs[k] = &cursor{part: p, kind: w.kind}
	}
	var total int64
	for e := range epochs {
		for _, c := range cs {
			n, err := c.copy(ctx, w, c.si.Rows, int32(e), progress)
			if err != nil {
				return 0, err
			}
			if n != c.si.Rows {
				return 0, fmt.Errorf("%s ends in epoch %d after %d rows; its metadata says %d epochs of %d rows (truncated?)", c.name, e, c.read, epochs, c.si.Rows)
			}
			total += n
		}
	}
	for _, c := range cs {
		more, err := c.more()
		if err != nil {
			return 0, err
		}
		if more {
			return 0, fmt.Errorf("%s has more than the %d epochs of %d rows its metadata says", c.name, epochs, c.si.Rows)
		}
	}
	return total, nil
}

// cursor reads a part row by row.
type cursor struct {
	*part
	kind     string
	n, pos   int   // rows of the current batch, the next of them
	read     int64 // rows handed out
	images   contract.ImagesBatch
	pairs    contract.PairsBatch
	features contract.FeaturesBatch
}

// more reports whether the part has another row, reading its next batch
// when the current one is used up.
func (c *cursor) more() (bool, error) {
	for c.pos == c.n {
		if !c.rd.Next() {
			if err := c.rd.Err(); err != nil {
				return false, fmt.Errorf("%s: %w", c.name, err)
			}
			return false, nil
		}
		switch c.kind {
		case contract.KindImages:
			c.images = c.rd.Images()
			c.n = c.images.N
		case contract.KindPairs:
			c.pairs = c.rd.Pairs()
			c.n = c.pairs.N
		case contract.KindFeatures:
			c.features = c.rd.Features()
			c.n = c.features.N
		}
		c.pos = 0
	}
	return true, nil
}

// copy writes up to max rows (max < 0: all) to w and returns how many it
// wrote; epoch >= 0 requires pairs of that epoch.
func (c *cursor) copy(ctx context.Context, w *sink, max int64, epoch int32, progress func(int64)) (int64, error) {
	var n int64
	for max < 0 || n < max {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		more, err := c.more()
		if err != nil || !more {
			return n, err
		}
		k := c.n - c.pos
		if max >= 0 {
			k = int(min(int64(k), max-n))
		}
		if epoch >= 0 {
			for j := c.pos; j < c.pos+k; j++ {
				if e := c.pairs.Epoch[j]; e != epoch {
					return n, fmt.Errorf("%s: row %d is of epoch %d, expected epoch %d (its metadata says %d rows per epoch)", c.name, c.read+int64(j-c.pos), e, epoch, c.si.Rows)
				}
			}
		}
		if err := w.write(c, k); err != nil {
			return n, fmt.Errorf("write %s: %w", w.kind, err)
		}
		c.pos += k
		c.read += int64(k)
		n += int64(k)
		progress(int64(k))
	}
	return n, nil
}

// sink writes the whole stream.
type sink struct {
	kind     string
	dim      int
	images   *contract.ImagesWriter
	pairs    *contract.PairsWriter
	features *contract.FeaturesWriter
}

// newSink starts the whole stream of the shard rd is a shard of: its
// metadata without the shard keys, its counts the whole's, record batches
// of the size its stage writes.
func newSink(out io.Writer, rd *contract.Reader, opt contract.Options) (*sink, error) {
	meta := rd.Meta().Whole()
	opt.Unlabelled = !labelled(rd)
	w := &sink{kind: rd.Kind(), dim: rd.Dim()}
	var err error
	switch w.kind {
	case contract.KindImages:
		w.images, err = contract.NewImagesWriter(out, rd.Height(), rd.Width(), meta, opt)
	case contract.KindPairs:
		w.pairs, err = contract.NewPairsWriter(out, rd.Height(), rd.Width(), meta, opt)
	case contract.KindFeatures:
		if opt.BatchRows == 0 {
			opt.BatchRows = contract.FeaturesBatchRows(rd.Dim())
		}
		w.features, err = contract.NewFeaturesWriter(out, rd.Dim(), meta, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", w.kind, err)
	}
	return w, nil
}

// write appends k rows of c's current batch from c.pos on.
func (w *sink) write(c *cursor, k int) error {
	d := w.dim
	for j := c.pos; j < c.pos+k; j++ {
		var err error
		switch w.kind {
		case contract.KindImages:
			b := &c.images
			err = w.images.Append(b.Index[j], label(b.Label, j), b.Pixels[j*d:(j+1)*d])
		case contract.KindPairs:
			b := &c.pairs
			err = w.pairs.Append(b.Index[j], label(b.Label, j), b.Epoch[j], b.View1[j*d:(j+1)*d], b.View2[j*d:(j+1)*d])
		case contract.KindFeatures:
			b := &c.features
			err = w.features.Append(b.Index[j], label(b.Label, j), b.Values[j*d:(j+1)*d])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// label returns row j's label; an unlabelled stream's null labels may have
// no values at all (the writer ignores them).
func label(l []uint8, j int) uint8 {
	if j < len(l) {
		return l[j]
	}
	return 0
}

func (w *sink) close() error {
	switch w.kind {
	case contract.KindImages:
		return w.images.Close()
	case contract.KindPairs:
		return w.pairs.Close()
	}
	return w.features.Close()
}

func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an"
	}
	return "a"
}
