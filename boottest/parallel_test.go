package boottest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInParallel checks that inParallel runs its calls at once (each waits
// for all to have started) and returns their errors in order.
func TestInParallel(t *testing.T) {
	const n = 4
	var started sync.WaitGroup
	started.Add(n)
	errs := inParallel(n, func(i int) error {
		started.Done()
		started.Wait()
		if i%2 == 1 {
			return fmt.Errorf("call %d", i)
		}
		return nil
	})
	require.Len(t, errs, n)
	assert.NoError(t, errs[0])
	assert.EqualError(t, errs[1], "call 1")
	assert.NoError(t, errs[2])
	assert.EqualError(t, errs[3], "call 3")
}

// TestPendingWait: wait gives the background command's result once it has
// finished, and gives up with the context.
func TestPendingWait(t *testing.T) {
	p := &pending{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.wait(ctx)
	require.ErrorIs(t, err, context.Canceled, "not finished: the context ends the wait")

	p.out, p.err = "rabbit\n", errors.New("exit status 1")
	close(p.done)
	out, err := p.wait(t.Context())
	assert.Equal(t, "rabbit\n", out)
	assert.EqualError(t, err, "exit status 1")
}
