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

// The backbone's convolution geometry: every stage (one per conv width) is
// a Kernel×Kernel convolution with stride Stride and zero padding Pad, then
// depth−1 more at stride InnerStride (which keep the size) and the same
// width, each followed by ReLU, then BatchNorm.
const (
	Kernel      = 3
	Stride      = 2
	InnerStride = 1
	Pad         = 1
)

// The backbone's depth, its convolutions per stage: DefaultDepth when none
// is given (the seed backbone, one convolution per stage), at most
// MaxDepth.
const (
	DefaultDepth = 1
	MaxDepth     = 4
)

// ConvOut returns the output height (or width) of a stage's first
// convolution whose input has that height (or width):
// (n + 2·Pad − Kernel)/Stride + 1. The stage's other convolutions keep it.
func ConvOut(n int) int { return (n+2*Pad-Kernel)/Stride + 1 }

// ConvStride returns the stride of convolution j (1..depth) of a stage:
// Stride for the first, InnerStride for the others.
func ConvStride(j int) int {
	if j == 1 {
		return Stride
	}
	return InnerStride
}

// ConvName returns the tensor-name prefix (PyTorch state_dict style) of
// convolution j (1..depth) of backbone stage i (1-based): "backbone.conv2"
// for a stage's first convolution, the only one at depth 1, and
// "backbone.conv2_3" for its third. Its .weight is [Cout,Cin,3,3], its
// .bias [Cout].
func ConvName(i, j int) string { return backboneName("conv", i, j) }

// BNName returns the tensor-name prefix of the BatchNorm after convolution
// j of stage i: "backbone.bn2", "backbone.bn2_3".
func BNName(i, j int) string { return backboneName("bn", i, j) }

func backboneName(kind string, i, j int) string {
	s := "backbone." + kind + strconv.Itoa(i)
	if j > 1 {
		s += "_" + strconv.Itoa(j)
	}
	return s
}

// Default sizes (chosen by kNN accuracy, bench/train.md).
const (
	DefaultPredHidden = 64 // the predictor's hidden width, both architectures
	DefaultHeight     = 28 // image height when none is given
	DefaultWidth      = 28 // image width when none is given
	DefaultInChannels = 1  // image channels when none are recorded (grey)
)

// DefaultChannels returns the backbone's conv widths, one per stage:
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
