package main

import (
	"context"
	"fmt"
	"time"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/monitor"
	"github.com/siampipe/siampipe/internal/simsiam"
)

// monitorFlags are the kNN monitor's settings.
type monitorFlags struct {
	query, bank string // images streams
	bankSize    int
	every       int
	seed        uint64
}

// loadSet reads a whole labelled images stream of channels×height×width
// images for the monitor; which names the flag in errors.
func loadSet(which, path string, channels, height, width int) (monitor.Set, error) {
	f, err := cli.Open(path)
	if err != nil {
		return monitor.Set{}, cli.FileError("--"+which, path, err)
	}
	defer f.Close()
	im, err := contract.ReadImages(f)
	if err != nil {
		return monitor.Set{}, fmt.Errorf("--%s %s: %w (give an images stream: fetch's output)", which, path, err)
	}
	if im.N == 0 {
		return monitor.Set{}, fmt.Errorf("--%s %s: the stream has no images", which, path)
	}
	if im.Channels != channels || im.Height != height || im.Width != width {
		return monitor.Set{}, fmt.Errorf("--%s %s: %dx%dx%d images, the pairs are %dx%dx%d (monitor with images of the training shape)", which, path, im.Channels, im.Height, im.Width, channels, height, width)
	}
	if !im.Labelled {
		return monitor.Set{}, fmt.Errorf("--%s %s: the images are unlabelled; the kNN monitor needs labels (drop --monitor for unlabelled data)", which, path)
	}
	return monitor.Set{Channels: channels, Height: height, Width: width, Pixels: im.Pixels, Labels: im.Label}, nil
}

// newMonitor loads the monitor's sets and returns the hook that measures
// the trainer, logging each result with logf.
func newMonitor(ctx context.Context, mf monitorFlags, t *simsiam.Trainer, logf func(string, ...any)) (func(int) (float64, error), error) {
	c, h, w := t.Model.Cfg.InChannels, t.Model.Cfg.Height, t.Model.Cfg.Width
	query, err := loadSet("monitor", mf.query, c, h, w)
	if err != nil {
		return nil, err
	}
	bank, err := loadSet("monitor-bank", mf.bank, c, h, w)
	if err != nil {
		return nil, err
	}
	bank = monitor.Subset(bank, mf.bankSize, mf.seed)
	m, err := monitor.New(bank, query, knn.Config{})
	if err != nil {
		return nil, err
	}
	return func(epoch int) (float64, error) {
		t0 := time.Now()
		acc, err := m.KNN(ctx, t.Cfg.Model.Arch, tensorsOf(t))
		if err != nil {
			return 0, err
		}
		nb, nq := m.Sizes()
		logf("epoch %d: kNN-%d monitor %.4f (%d images against a bank of %d, %.1f s)", epoch, knn.DefaultK, acc, nq, nb, time.Since(t0).Seconds())
		return acc, nil
	}, nil
}

// checkMonitorFlags checks the monitor flags before any work.
func checkMonitorFlags(mf monitorFlags) error {
	switch {
	case mf.query == "" && mf.bank != "":
		return cli.Usagef("--monitor-bank without --monitor: give the images to score too (e.g. fetch --split test)")
	case mf.query != "" && mf.bank == "":
		return cli.Usagef("--monitor needs --monitor-bank, labelled training images (e.g. fetch --split train)")
	}
	return cli.FirstError(
		cli.Int("monitor-bank-size", mf.bankSize, 0, maxMonitorBank, "0: all"),
		cli.Int("monitor-every", mf.every, 1, maxEpochs),
	)
}

// maxMonitorBank bounds --monitor-bank-size.
const maxMonitorBank = 10000000
