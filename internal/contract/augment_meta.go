package contract

// Metadata keys of a pairs stream that record how augment made the views
// (added by the augment stage's author; see stages/augment/README.md).
const (
	MetaAugment      = "siampipe.augment"            // augmentation policy, e.g. "randaugment (torchvision 0.14.1)"
	MetaAugNumOps    = "siampipe.augment.num_ops"    // ops applied per view
	MetaAugMagnitude = "siampipe.augment.magnitude"  // magnitude bin
	MetaAugBins      = "siampipe.augment.bins"       // number of magnitude bins
	MetaAugOps       = "siampipe.augment.ops"        // comma-separated op names drawn from
	MetaAugCropScale = "siampipe.augment.crop_scale" // RandomResizedCrop's smallest area fraction before RandAugment; "0": no crop
	MetaAugFlip      = "siampipe.augment.flip"       // "true": horizontal flip with probability 1/2 after the crop
)
