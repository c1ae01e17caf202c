package contract

// Metadata keys of a model checkpoint that record the training
// hyperparameters and the identity of the pairs stream trained on (added by
// the train stage's author; internal/checkpoint reads and writes them).
// MetaArch, MetaEpoch, MetaStep, MetaSeed, MetaHeight, MetaWidth and
// MetaChannels are written too. The pairs_* keys copy the stream's values
// verbatim, "" where the stream had none; checkpoints written before they
// existed have only pairs_seed.
const (
	MetaTrainBatchSize      = "siampipe.train.batch_size"         // pairs per step
	MetaTrainLR             = "siampipe.train.lr"                 // base lr for batch 256
	MetaTrainPeakLR         = "siampipe.train.peak_lr"            // lr × batch/256
	MetaTrainMomentum       = "siampipe.train.momentum"           // SGD momentum
	MetaTrainWeightDecay    = "siampipe.train.weight_decay"       // SGD weight decay (on every parameter)
	MetaTrainWarmupEpochs   = "siampipe.train.warmup_epochs"      // linear warm-up before the cosine
	MetaTrainFixedPredLR    = "siampipe.train.fixed_predictor_lr" // "true": predictor kept at the peak lr
	MetaTrainEpochs         = "siampipe.train.epochs"             // epochs of the schedule (of the pairs stream)
	MetaTrainRowsPerEpoch   = "siampipe.train.rows_per_epoch"     // pairs per epoch of the pairs stream
	MetaTrainStepsPerEpoch  = "siampipe.train.steps_per_epoch"    // full batches per epoch
	MetaTrainInput          = "siampipe.train.input"              // how pixels enter the model: "pixels/255"
	MetaTrainPairsSeed      = "siampipe.train.pairs_seed"         // siampipe.seed of the pairs stream
	MetaTrainPairsSplit     = "siampipe.train.pairs_split"        // siampipe.split of the pairs stream
	MetaTrainPairsSource    = "siampipe.train.pairs_source"       // siampipe.source of the pairs stream
	MetaTrainPairsAugment   = "siampipe.train.pairs_augment"      // siampipe.augment of the pairs stream (policy)
	MetaTrainPairsNumOps    = "siampipe.train.pairs_num_ops"      // siampipe.augment.num_ops of the pairs stream
	MetaTrainPairsMagnitude = "siampipe.train.pairs_magnitude"    // siampipe.augment.magnitude of the pairs stream
	MetaTrainPairsBins      = "siampipe.train.pairs_bins"         // siampipe.augment.bins of the pairs stream
	MetaTrainPairsOps       = "siampipe.train.pairs_ops"          // siampipe.augment.ops of the pairs stream
	MetaTrainPairsCropScale = "siampipe.train.pairs_crop_scale"   // siampipe.augment.crop_scale of the pairs stream
	MetaTrainPairsFlip      = "siampipe.train.pairs_flip"         // siampipe.augment.flip of the pairs stream
	MetaTrainBNMomentum     = "siampipe.train.bn_momentum"        // BatchNorm running-statistics momentum
	MetaTrainBNEps          = "siampipe.train.bn_eps"             // BatchNorm epsilon
	MetaTrainMethod         = "siampipe.train.method"             // training method, arch.Methods(); absent: simsiam
	MetaTrainTemperature    = "siampipe.train.temperature"        // simclr's NT-Xent temperature; 0 for simsiam
)
