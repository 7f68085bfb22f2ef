//go:build !linux

package atomicdir

import "errors"

var errExchangeUnsupported = errors.New("atomic exchange is not supported")

// exchange is not available here; Write moves the old directory aside instead.
func exchange(a, b string) error { return errExchangeUnsupported }
