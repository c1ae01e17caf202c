//go:build !linux

package gemm

import "time"

// processCPU reports false: CPU time is read on Linux only.
func processCPU() (time.Duration, bool) { return 0, false }
