package contract

// Metadata keys of a model checkpoint that record the training
// hyperparameters (added by the train stage's author; see
// stages/train/README.md). MetaArch, MetaEpoch, MetaStep and MetaSeed are
// written too.
const (
	MetaTrainBatchSize     = "siampipe.train.batch_size"         // pairs per step
	MetaTrainLR            = "siampipe.train.lr"                 // base lr for batch 256
	MetaTrainPeakLR        = "siampipe.train.peak_lr"            // lr × batch/256
	MetaTrainMomentum      = "siampipe.train.momentum"           // SGD momentum
	MetaTrainWeightDecay   = "siampipe.train.weight_decay"       // SGD weight decay (on every parameter)
	MetaTrainWarmupEpochs  = "siampipe.train.warmup_epochs"      // linear warm-up before the cosine
	MetaTrainFixedPredLR   = "siampipe.train.fixed_predictor_lr" // "true": predictor kept at the peak lr
	MetaTrainEpochs        = "siampipe.train.epochs"             // epochs of the schedule (of the pairs stream)
	MetaTrainRowsPerEpoch  = "siampipe.train.rows_per_epoch"     // pairs per epoch of the pairs stream
	MetaTrainStepsPerEpoch = "siampipe.train.steps_per_epoch"    // full batches per epoch
	MetaTrainInput         = "siampipe.train.input"              // how pixels enter the model: "pixels/255"
	MetaTrainPairsSeed     = "siampipe.train.pairs_seed"         // siampipe.seed of the pairs stream
	MetaTrainBNMomentum    = "siampipe.train.bn_momentum"        // BatchNorm running-statistics momentum
	MetaTrainBNEps         = "siampipe.train.bn_eps"             // BatchNorm epsilon
)
