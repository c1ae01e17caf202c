package main

import (
	"errors"
	"fmt"

	"github.com/siampipe/siampipe/internal/simsiam"
)

// flagHint adds to a training error the flags that fix it (the library
// names none).
func flagHint(err error) error {
	if errors.Is(err, simsiam.ErrNonFinite) {
		return fmt.Errorf("%w; lower --lr or add --warmup-epochs", err)
	}
	if _, ok := errors.AsType[*simsiam.EpochError](err); ok {
		return fmt.Errorf("%w (lower --batch-size)", err)
	}
	switch {
	case errors.Is(err, simsiam.ErrNeedsProjector):
		return fmt.Errorf("%w (use --arch simsiam)", err)
	case errors.Is(err, simsiam.ErrNoPredictor):
		return fmt.Errorf("%w (drop --pred-hidden)", err)
	case errors.Is(err, simsiam.ErrTemperature):
		return fmt.Errorf("%w (fix --temperature)", err)
	}
	return err
}
