package site

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnit is one suffix of a size notation and how many bytes it stands for.
type sizeUnit struct {
	suffix string
	bytes  int64
}

// sizeNotation is how one program writes memory sizes: a whole number and a
// unit suffix. A unit is required even where the program would take a bare
// number, because a bare number means different units in different places.
type sizeNotation struct {
	what    string     // "a PostgreSQL size", for messages
	units   []sizeUnit // the suffixes the program accepts
	fold    bool       // whether the program ignores the suffix's case
	example string     // a typical value
}

// The size notations the site file uses.
var (
	// postgresSize is PostgreSQL's memory units, which are case-sensitive.
	postgresSize = sizeNotation{
		what:    "a PostgreSQL size",
		units:   []sizeUnit{{"kB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}},
		example: "512MB",
	}
	// heapSize is the JVM's -Xmx notation.
	heapSize = sizeNotation{
		what:    "a JVM heap size",
		units:   []sizeUnit{{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}},
		fold:    true,
		example: "4g",
	}
	// redisSize is Redis' notation, where "k" is 1000 bytes and "kb" 1024.
	redisSize = sizeNotation{
		what: "a Redis size",
		units: []sizeUnit{{"k", 1e3}, {"kb", 1 << 10}, {"m", 1e6}, {"mb", 1 << 20},
			{"g", 1e9}, {"gb", 1 << 30}},
		fold:    true,
		example: "1gb",
	}
	// nginxSize is NGINX's notation for client_max_body_size.
	nginxSize = sizeNotation{
		what:    "an NGINX size",
		units:   []sizeUnit{{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}},
		fold:    true,
		example: "50G",
	}
)

// parse returns the number of bytes s stands for.
func (n sizeNotation) parse(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	digits := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	suffix := s[len(digits):]
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, errors.New("is not a whole number and a unit")
	}
	if suffix == "" {
		return 0, errors.New("has no unit")
	}
	if strings.HasPrefix(suffix, " ") {
		return 0, errors.New("has a space before its unit")
	}
	unit, ok := n.unit(suffix)
	if !ok {
		return 0, fmt.Errorf("has an unknown unit %q", suffix)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > math.MaxInt64/unit.bytes {
		return 0, errors.New("is too large")
	}
	if v == 0 {
		return 0, errors.New("is zero")
	}
	return v * unit.bytes, nil
}

// unit finds the unit that suffix names.
func (n sizeNotation) unit(suffix string) (sizeUnit, bool) {
	for _, u := range n.units {
		if u.suffix == suffix || n.fold && strings.EqualFold(u.suffix, suffix) {
			return u, true
		}
	}
	return sizeUnit{}, false
}

// hint says how to write a size in this notation, with the corrected value
// when s only has its unit in the wrong case or with a B the program does
// not take.
func (n sizeNotation) hint(s string) string {
	digits := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	suffix := s[len(digits):]
	if fixed, ok := n.nearUnit(suffix); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
		if typed := strings.TrimSpace(suffix); !n.fold && typed != fixed && strings.EqualFold(typed, fixed) {
			return fmt.Sprintf("units are case-sensitive here: write %s%s", digits, fixed)
		}
		return fmt.Sprintf("write %s%s", digits, fixed)
	}
	suffixes := make([]string, len(n.units))
	for i, u := range n.units {
		suffixes[i] = u.suffix
	}
	return fmt.Sprintf("write a whole number and one of the units %s, without a space, e.g. %s",
		strings.Join(suffixes, ", "), n.example)
}

// nearUnit returns the unit suffix a wrong one was probably meant as: the
// same letters without spaces around them, in another case, or without a
// trailing B. Where the program ignores case, the writer's case is kept.
func (n sizeNotation) nearUnit(suffix string) (string, bool) {
	if _, ok := n.unit(suffix); ok || suffix == "" {
		return "", false
	}
	trimmed := strings.TrimSpace(suffix)
	for _, cand := range []string{trimmed, strings.TrimRight(trimmed, "bB")} {
		if cand == "" {
			continue
		}
		if _, ok := n.unit(cand); ok {
			return cand, true
		}
		for _, u := range n.units {
			if strings.EqualFold(cand, u.suffix) {
				return u.suffix, true
			}
		}
	}
	return "", false
}
