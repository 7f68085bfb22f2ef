// Package progress reports the steps of long work: one plain line per step
// for people and CI logs, or one JSON object per step for machines. It is a
// log/slog handler, so every package reports through a *slog.Logger.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Format selects how steps are written.
type Format string

// The formats New understands.
const (
	// Text writes "[  1.2s] message key=value" lines.
	Text Format = "text"
	// JSON writes one JSON object per line with time, level, msg and the attributes.
	JSON Format = "json"
)

// ParseFormat returns the format named s, or an error naming the choices.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Text, JSON:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown progress format %q; use text or json", s)
}

// New returns a logger that writes steps to w in format f. Text lines carry
// the time elapsed since New; Discard silences everything.
func New(w io.Writer, f Format) *slog.Logger {
	if f == JSON {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(&textHandler{w: w, start: time.Now(), mu: &sync.Mutex{}})
}

// Discard returns a logger that writes nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// textHandler writes one human-readable line per record.
type textHandler struct {
	w      io.Writer
	start  time.Time
	mu     *sync.Mutex
	attrs  []slog.Attr
	prefix string
}

func (h *textHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%6.1fs] ", time.Since(h.start).Seconds())
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		if !a.Equal(slog.Attr{}) {
			fmt.Fprintf(&b, " %s%s=%v", h.prefix, a.Key, a.Value.Resolve())
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
