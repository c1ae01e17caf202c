package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/simsiam"
)

// header describes the trainer t, trained on the pairs stream p.
func header(t *simsiam.Trainer, p checkpoint.Pairs) checkpoint.Header {
	c := t.Cfg
	return checkpoint.Header{
		Arch: c.Model.Arch, Depth: c.Model.Depth, Epoch: t.EpochsDone(), Step: t.Step, Seed: c.Seed,
		Input: checkpoint.Input{Height: c.Model.Height, Width: c.Model.Width, Channels: c.Model.InChannels, Scaling: arch.Input},
		Train: checkpoint.Train{BatchSize: c.BatchSize, LR: c.LR, Momentum: c.Momentum, WeightDecay: c.WeightDecay,
			WarmupEpochs: c.WarmupEpochs, FixedPredictorLR: c.FixedPredictorLR, Method: c.Model.Method, Temperature: c.Temperature,
			PeakLR: c.PeakLR(), StepsPerEpoch: c.StepsPerEpoch()},
		BN:    checkpoint.BN{Momentum: arch.BNMomentum, Eps: arch.BNEps},
		Pairs: p, Stage: "train", Version: cli.Version,
	}
}

// writeCheckpoint writes the trainer's checkpoint to w.
func writeCheckpoint(w io.Writer, t *simsiam.Trainer, p checkpoint.Pairs, opt contract.Options) error {
	return checkpoint.Write(w, checkpoint.Checkpoint{Header: header(t, p), Tensors: tensorsOf(t)}, opt)
}

// tensorsOf returns the trainer's checkpoint tensors (aliasing its state).
func tensorsOf(t *simsiam.Trainer) []contract.Tensor {
	var ts []contract.Tensor
	for _, x := range t.Tensors() {
		ts = append(ts, contract.Tensor{Name: x.Name, Shape: x.Shape, Values: x.Value})
	}
	return ts
}

// save writes a checkpoint atomically (temporary file + rename, or an
// object's upload completed).
func save(path string, t *simsiam.Trainer, p checkpoint.Pairs, opt contract.Options) error {
	if !cli.IsObject(path) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	}
	out, err := cli.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := writeCheckpoint(out, t, p, opt); err != nil {
		return err
	}
	return out.Commit()
}

// checkpointName matches the names of the checkpoints train writes into
// --checkpoint-dir.
var checkpointName = regexp.MustCompile(`^(epoch-[0-9]{4,}|step-[0-9]{7,})\.arrows$`)

// resumePath returns the checkpoint --resume names: the file or object
// given or, for a directory or an s3:// prefix ending in "/" (such as
// --checkpoint-dir), the checkpoint in it with the most steps, as
// pipeline.sh picks one. A checkpoint whose metadata cannot be read is
// skipped with a log line.
func resumePath(dir string, logf func(string, ...any)) (string, error) {
	if cli.IsObject(dir) {
		if !strings.HasSuffix(dir, "/") {
			return dir, nil
		}
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return dir, nil
	}
	files, err := cli.ListDir(dir)
	if err != nil {
		return "", cli.FileError("--resume", dir, err)
	}
	best, most := "", -1
	for _, f := range files {
		if !checkpointName.MatchString(filepath.Base(f)) {
			continue
		}
		step, err := stepOf(f)
		if err != nil {
			logf("--resume %s: skipping %s: %v", dir, f, err)
			continue
		}
		if step > most {
			best, most = f, step
		}
	}
	if best == "" {
		return "", fmt.Errorf("--resume %s: no checkpoint in it (epoch-NNNN.arrows or step-NNNNNNN.arrows, as train --checkpoint-dir writes)", dir)
	}
	logf("resuming from %s (step %d), the checkpoint of %s with the most steps", best, most, dir)
	return best, nil
}

// stepOf returns the steps a checkpoint records, reading its metadata
// only.
func stepOf(p string) (int, error) {
	f, err := cli.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := contract.NewReader(f, contract.KindModel)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	step, err := strconv.Atoi(r.Meta()[contract.MetaStep])
	if err != nil || step < 0 {
		return 0, fmt.Errorf("no step count in its metadata (%s=%q)", contract.MetaStep, r.Meta()[contract.MetaStep])
	}
	return step, nil
}

// required are the keys a checkpoint must record to be resumed.
var required = []string{
	contract.MetaArch, contract.MetaStep, contract.MetaSeed, contract.MetaTrainBatchSize, contract.MetaTrainLR,
	contract.MetaTrainMomentum, contract.MetaTrainWeightDecay, contract.MetaTrainWarmupEpochs,
	contract.MetaTrainFixedPredLR, contract.MetaTrainEpochs, contract.MetaTrainRowsPerEpoch,
}

// restore loads a checkpoint to continue training on the pairs stream
// (whose identity is stream and images height×width) flagCfg was made
// from. The stream must be the one the checkpoint was trained on; the
// hyperparameters come from the checkpoint, and a flag set explicitly to a
// different value is an error. logf reports what could not be checked.
func restore(path string, flagCfg simsiam.TrainConfig, stream checkpoint.Pairs, fs *flag.FlagSet, logf func(string, ...any)) (*simsiam.Trainer, error) {
	fh, err := cli.Open(path)
	if err != nil {
		return nil, cli.FileError("--resume", path, err)
	}
	defer fh.Close()
	ck, err := checkpoint.Read(fh)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	h := ck.Header
	var lacks []string
	for _, k := range required {
		if !h.Has(k) {
			lacks = append(lacks, k)
		}
	}
	if len(lacks) > 0 {
		return nil, fmt.Errorf("resume %s: its metadata lacks %s (not a checkpoint train wrote? resume from one of --checkpoint-dir's)", path, strings.Join(lacks, ", "))
	}
	if h.Train.Method == arch.MethodSimCLR && !h.Has(contract.MetaTrainTemperature) {
		return nil, fmt.Errorf("resume %s: a simclr checkpoint whose metadata lacks %s (not a checkpoint train wrote? resume from one of --checkpoint-dir's)", path, contract.MetaTrainTemperature)
	}
	if err := h.CheckTraining(); err != nil {
		return nil, fmt.Errorf("resume %s: %w (not a checkpoint train wrote? resume from one of --checkpoint-dir's)", path, err)
	}
	if err := samePairs(path, h, stream, flagCfg.Model.InChannels, flagCfg.Model.Height, flagCfg.Model.Width, logf); err != nil {
		return nil, err
	}
	c := simsiam.TrainConfig{
		BatchSize: h.Train.BatchSize, LR: h.Train.LR, Momentum: orNeg(h.Train.Momentum), WeightDecay: orNeg(h.Train.WeightDecay),
		WarmupEpochs: h.Train.WarmupEpochs, FixedPredictorLR: h.Train.FixedPredictorLR, Temperature: h.Train.Temperature,
		Seed: h.Seed, Epochs: h.Pairs.Epochs, RowsPerEpoch: h.Pairs.RowsPerEpoch,
	}
	params := make([]simsiam.Param, len(ck.Tensors))
	for i, t := range ck.Tensors {
		params[i] = simsiam.Param{Name: t.Name, Shape: t.Shape, Value: t.Values}
	}
	c.Model, err = simsiam.ConfigFromTensors(h.Arch, h.Train.Method, params)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	c.Model.Height, c.Model.Width = flagCfg.Model.Height, flagCfg.Model.Width
	if c.Model.Depth != h.Depth {
		return nil, fmt.Errorf("resume %s: its tensors are of a backbone of depth %d, its metadata says %d (corrupt or hand-edited? resume from one of --checkpoint-dir's)", path, c.Model.Depth, h.Depth)
	}
	// What the checkpoint says of each flag: its header for the
	// hyperparameters, its tensors for the model's sizes. A flag set
	// explicitly to something else is an error, not silently ignored.
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	list := func(v []int) string { return strings.Trim(fmt.Sprint(v), "[]") }
	want := map[string]string{"arch": h.Arch, "batch-size": strconv.Itoa(h.Train.BatchSize),
		"lr": g(h.Train.LR), "momentum": g(h.Train.Momentum), "weight-decay": g(h.Train.WeightDecay),
		"warmup-epochs": g(h.Train.WarmupEpochs), "fixed-predictor-lr": strconv.FormatBool(h.Train.FixedPredictorLR),
		"seed":   strconv.FormatUint(h.Seed, 10),
		"method": h.Train.Method, "temperature": temperatureOf(h),
		"channels": list(c.Model.Channels), "proj-dims": list(c.Model.ProjDims), "pred-hidden": strconv.Itoa(c.Model.PredHidden),
		"depth": strconv.Itoa(c.Model.Depth)}
	got := map[string]string{"channels": list(flagCfg.Model.Channels), "proj-dims": list(flagCfg.Model.ProjDims),
		"pred-hidden": strconv.Itoa(flagCfg.Model.PredHidden)}
	var conflict []string
	fs.Visit(func(fl *flag.Flag) {
		w, ok := want[fl.Name]
		v, parsed := got[fl.Name]
		if !parsed {
			v = fl.Value.String()
		}
		if ok && !sameValue(v, w) {
			conflict = append(conflict, fmt.Sprintf("--%s %s (checkpoint: %s)", fl.Name, fl.Value, w))
		}
	})
	if len(conflict) > 0 {
		return nil, cli.Usagef("--resume uses the checkpoint's hyperparameters and sizes; drop %s", strings.Join(conflict, ", "))
	}
	t, err := simsiam.RestoreTrainer(c, params, h.Step)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return t, nil
}

// samePairs refuses a pairs stream (identity stream, images height×width)
// other than the one the checkpoint at path, with header h, was trained
// on, naming every difference and the flags that make the right stream.
func samePairs(path string, h checkpoint.Header, stream checkpoint.Pairs, channels, height, width int, logf func(string, ...any)) error {
	diff, unchecked := h.ComparePairs(stream)
	var shape []string
	if h.Has(contract.MetaHeight) && h.Has(contract.MetaWidth) && (h.Input.Height != height || h.Input.Width != width) {
		shape = append(shape, fmt.Sprintf("images %dx%d (checkpoint: %dx%d)", height, width, h.Input.Height, h.Input.Width))
	}
	if h.Input.Channels != channels {
		shape = append(shape, fmt.Sprintf("channels %d (checkpoint: %d)", channels, h.Input.Channels))
	}
	if len(diff) > 0 || len(shape) > 0 {
		var what []string
		for _, d := range diff {
			what = append(what, d.String())
		}
		what = append(what, shape...)
		return fmt.Errorf("resume %s: the pairs stream is not the one the checkpoint was trained on: %s; feed the same pairs stream%s",
			path, strings.Join(what, ", "), streamHint(diff))
	}
	if len(unchecked) > 0 {
		logf("resume %s: the checkpoint predates recording its pairs stream's %s; not checked (only seed, epochs and rows per epoch are)",
			path, strings.Join(unchecked, ", "))
	}
	return nil
}

// streamHint returns the fetch and augment flags that make the stream the
// checkpoint was trained on, for the fields in diff: ": fetch --split train
// | augment --seed 1", or "" when no flag sets them.
func streamHint(diff []checkpoint.Mismatch) string {
	var fetch, aug, notes []string
	for _, d := range diff {
		v := shellWord(d.Checkpoint)
		switch d.Key {
		case contract.MetaSplit:
			fetch = append(fetch, "--split "+v)
		case contract.MetaSource:
			if d.Checkpoint != "" {
				fetch = append(fetch, "--dir "+shellWord(filepath.Dir(d.Checkpoint)))
			}
		case contract.MetaRowsPerEpoch:
			fetch = append(fetch, "--limit "+v)
		case contract.MetaEpochs:
			aug = append(aug, "--epochs "+v)
		case contract.MetaSeed:
			aug = append(aug, "--seed "+v)
		case contract.MetaAugNumOps:
			aug = append(aug, "--num-ops "+v)
		case contract.MetaAugMagnitude:
			aug = append(aug, "--magnitude "+v)
		case contract.MetaAugBins:
			aug = append(aug, "--bins "+v)
		case contract.MetaAugOps:
			aug = append(aug, "--ops "+v)
		case contract.MetaAugCropScale:
			if d.Checkpoint == "0" || d.Checkpoint == "" {
				notes = append(notes, "no --crop-scale")
			} else {
				aug = append(aug, "--crop-scale "+v)
			}
		case contract.MetaAugFlip:
			if d.Checkpoint == "" {
				d.Checkpoint = "false"
			}
			aug = append(aug, "--flip="+d.Checkpoint)
		default:
			notes = append(notes, fmt.Sprintf("an augment that writes %s=%s", d.Key, v))
		}
	}
	var parts []string
	if len(fetch) > 0 {
		parts = append(parts, "fetch "+strings.Join(fetch, " "))
	}
	if len(aug) > 0 {
		parts = append(parts, "augment "+strings.Join(aug, " "))
	}
	s := strings.Join(parts, " | ")
	if len(notes) > 0 {
		if s != "" {
			s += ", "
		}
		s += strings.Join(notes, ", ")
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

// shellWord quotes s when a shell would split or expand it.
func shellWord(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n'\"$`\\|&;<>()*?[]#~") {
		return strconv.Quote(s)
	}
	return s
}

// temperatureOf is the checkpoint's temperature as --temperature would
// give it, "none" for simsiam.
func temperatureOf(h checkpoint.Header) string {
	if h.Train.Method != arch.MethodSimCLR {
		return "none"
	}
	return strconv.FormatFloat(h.Train.Temperature, 'g', -1, 64)
}

func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, e1 := strconv.ParseFloat(a, 64)
	y, e2 := strconv.ParseFloat(b, 64)
	return e1 == nil && e2 == nil && x == y
}
