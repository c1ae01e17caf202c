// Package arch holds the facts about siampipe's models that training
// (internal/simsiam, internal/nnops), inference (internal/infer) and the
// stages share: the architecture and training-method names, the backbone's
// convolution geometry, the default sizes and temperature, the BatchNorm
// constants and how pixels enter the model.
// It has no dependencies, so gorgonia-free code (infer, embed) can import it.
package arch

import (
	"strconv"
	"strings"
)

// Architecture names, the values of a checkpoint's siampipe.arch.
const (
	Seed    = "seed"    // backbone + predictor fc–BN–ReLU–fc (the reference article)
	SimSiam = "simsiam" // backbone + projector (BN on every fc) + bottleneck predictor
)

// Names lists the architectures.
func Names() []string { return []string{Seed, SimSiam} }

// Known reports whether name is an architecture.
func Known(name string) bool { return name == Seed || name == SimSiam }

// Training methods, the values of a checkpoint's siampipe.train.method. An
// architecture is the backbone and its heads; a method is how they are
// trained. simclr needs a projector, so only the SimSiam architecture
// (without its predictor) trains with it.
const (
	MethodSimSiam = "simsiam" // predictor, stop-gradient, negative cosine (Chen & He 2020)
	MethodSimCLR  = "simclr"  // NT-Xent over the 2N views, no predictor (Chen et al. 2020)
)

// Methods lists the training methods.
func Methods() []string { return []string{MethodSimSiam, MethodSimCLR} }

// KnownMethod reports whether name is a training method.
func KnownMethod(name string) bool { return name == MethodSimSiam || name == MethodSimCLR }

// DefaultTemperature is SimCLR's NT-Xent temperature when none is given.
// The paper uses 0.5 for CIFAR-10 at small batches; on a short run here
// (README, train) 0.2 beat 0.5 with each of three weight seeds, by 0.4
// kNN points on average, and 0.1, 0.3 and 1.0 once each.
const DefaultTemperature = 0.2

// The backbone's convolution geometry: every block is a Kernel×Kernel
// convolution with stride Stride and zero padding Pad, then ReLU, then
// BatchNorm.
const (
	Kernel = 3
	Stride = 2
	Pad    = 1
)

// ConvOut returns the output height (or width) of a backbone convolution
// whose input has that height (or width): (n + 2·Pad − Kernel)/Stride + 1.
func ConvOut(n int) int { return (n+2*Pad-Kernel)/Stride + 1 }

// Default sizes (chosen by kNN accuracy, bench/train.md).
const (
	DefaultPredHidden = 64 // the predictor's hidden width, both architectures
	DefaultHeight     = 28 // image height when none is given
	DefaultWidth      = 28 // image width when none is given
	DefaultInChannels = 1  // image channels when none are recorded (grey)
)

// DefaultChannels returns the backbone's conv widths, one per stride-2 block:
// 32, 64, 128 (a fresh slice each call).
func DefaultChannels() []int { return []int{32, 64, 128} }

// DefaultProjDims returns the simsiam projector's fc widths: 256, 256 (a
// fresh slice each call).
func DefaultProjDims() []int { return []int{256, 256} }

// BatchNorm constants: PyTorch's defaults, which training and inference
// must agree on.
const (
	BNEps      = 1e-5 // added to the variance
	BNMomentum = 0.1  // weight of the batch statistics in the running averages
)

// Input names how pixels enter the model (a checkpoint's
// siampipe.train.input): each byte divided by 255.
const Input = "pixels/255"

// FormatSizes writes sizes as train's flags take them: "32,64,128".
func FormatSizes(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, n := range sizes {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
