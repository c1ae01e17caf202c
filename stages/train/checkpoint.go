package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/simsiam"
)

func tensors(t *simsiam.Trainer) []contract.Tensor {
	var ts []contract.Tensor
	for _, p := range t.Tensors() {
		ts = append(ts, contract.Tensor{Name: p.Name, Shape: p.Shape, Values: p.Value})
	}
	return ts
}

func modelMeta(t *simsiam.Trainer, pairs contract.Meta) contract.Meta {
	c := t.Cfg
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return contract.Meta{
		contract.MetaStage: "train", contract.MetaVersion: cli.Version,
		contract.MetaArch: c.Model.Arch, contract.MetaEpoch: strconv.Itoa(t.EpochsDone()),
		contract.MetaStep: strconv.Itoa(t.Step), contract.MetaSeed: strconv.FormatUint(c.Seed, 10),
		contract.MetaHeight: strconv.Itoa(c.Model.Height), contract.MetaWidth: strconv.Itoa(c.Model.Width),
		contract.MetaTrainBatchSize: strconv.Itoa(c.BatchSize), contract.MetaTrainLR: g(c.LR),
		contract.MetaTrainPeakLR: g(c.PeakLR()), contract.MetaTrainMomentum: g(c.Momentum),
		contract.MetaTrainWeightDecay: g(c.WeightDecay), contract.MetaTrainWarmupEpochs: g(c.WarmupEpochs),
		contract.MetaTrainFixedPredLR: strconv.FormatBool(c.FixedPredictorLR), contract.MetaTrainEpochs: strconv.Itoa(c.Epochs),
		contract.MetaTrainRowsPerEpoch: strconv.Itoa(c.RowsPerEpoch), contract.MetaTrainStepsPerEpoch: strconv.Itoa(c.StepsPerEpoch()),
		contract.MetaTrainInput: arch.Input, contract.MetaTrainPairsSeed: pairs[contract.MetaSeed],
		contract.MetaTrainBNMomentum: g(arch.BNMomentum), contract.MetaTrainBNEps: g(arch.BNEps),
	}
}

// save writes a checkpoint atomically (temporary file + rename).
func save(path string, t *simsiam.Trainer, pairs contract.Meta, opt contract.Options) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := cli.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := contract.WriteModel(out, modelMeta(t, pairs), tensors(t), opt); err != nil {
		return err
	}
	return out.Commit()
}

// restore loads a checkpoint; hyperparameters come from it, and a flag set
// explicitly to a different value is an error.
func restore(path string, flagCfg simsiam.TrainConfig, fs *flag.FlagSet) (*simsiam.Trainer, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	defer fh.Close()
	meta, ts, err := contract.ReadModel(io.Reader(fh))
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	num := func(key string) float64 {
		v, _ := strconv.ParseFloat(meta[key], 64)
		return v
	}
	step, err := strconv.Atoi(meta[contract.MetaStep])
	if err != nil {
		return nil, fmt.Errorf("resume %s: no %s in its metadata (not a train checkpoint?)", path, contract.MetaStep)
	}
	seed, _ := strconv.ParseUint(meta[contract.MetaSeed], 10, 64)
	c := simsiam.TrainConfig{
		BatchSize: int(num(contract.MetaTrainBatchSize)), LR: num(contract.MetaTrainLR),
		Momentum: orNeg(num(contract.MetaTrainMomentum)), WeightDecay: orNeg(num(contract.MetaTrainWeightDecay)),
		WarmupEpochs: num(contract.MetaTrainWarmupEpochs), FixedPredictorLR: meta[contract.MetaTrainFixedPredLR] == "true",
		Seed: seed, Epochs: int(num(contract.MetaTrainEpochs)), RowsPerEpoch: int(num(contract.MetaTrainRowsPerEpoch)),
	}
	if c.Epochs != flagCfg.Epochs || c.RowsPerEpoch != flagCfg.RowsPerEpoch {
		return nil, fmt.Errorf("resume %s: it was trained on %d epochs of %d pairs, the input has %d of %d (feed the same pairs stream)",
			path, c.Epochs, c.RowsPerEpoch, flagCfg.Epochs, flagCfg.RowsPerEpoch)
	}
	params := make([]simsiam.Param, len(ts))
	for i, t := range ts {
		params[i] = simsiam.Param{Name: t.Name, Shape: t.Shape, Value: t.Values}
	}
	c.Model, err = simsiam.ConfigFromTensors(meta[contract.MetaArch], params)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	c.Model.Height, c.Model.Width = flagCfg.Model.Height, flagCfg.Model.Width
	// What the checkpoint says of each flag: its metadata for the
	// hyperparameters, its tensors for the model's sizes. A flag set
	// explicitly to something else is an error, not silently ignored.
	list := func(v []int) string { return strings.Trim(fmt.Sprint(v), "[]") }
	want := map[string]string{"arch": meta[contract.MetaArch], "batch-size": meta[contract.MetaTrainBatchSize],
		"lr": meta[contract.MetaTrainLR], "momentum": meta[contract.MetaTrainMomentum], "weight-decay": meta[contract.MetaTrainWeightDecay],
		"warmup-epochs": meta[contract.MetaTrainWarmupEpochs], "fixed-predictor-lr": meta[contract.MetaTrainFixedPredLR], "seed": meta[contract.MetaSeed],
		"channels": list(c.Model.Channels), "proj-dims": list(c.Model.ProjDims), "pred-hidden": strconv.Itoa(c.Model.PredHidden)}
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
	t, err := simsiam.RestoreTrainer(c, params, step)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return t, nil
}

func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, e1 := strconv.ParseFloat(a, 64)
	y, e2 := strconv.ParseFloat(b, 64)
	return e1 == nil && e2 == nil && x == y
}
