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
	return err
}
