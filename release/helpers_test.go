package release_test

import (
	"errors"
	"os"
	"testing"
)

// errorsAs is errors.As, for brevity in assertions.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// unsetEnv unsets an environment variable for the test.
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // restores the old value after the test
	os.Unsetenv(key)
}
