package site

import (
	"fmt"
	"strings"
)

// closest returns the candidate nearest to word, or "" when none is near
// enough to be a plausible typo. Case, and "-" against "_", do not count as
// differences.
func closest(word string, candidates []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	w := norm(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(w, norm(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > maxTypos(len([]rune(w))) {
		return ""
	}
	return best
}

// maxTypos is how many edits a word of n letters may carry and still be
// taken for a misspelling.
func maxTypos(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours each
// cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// suggest returns a hint for a value that is not one of allowed: "did you
// mean X?" when one is close, otherwise the list of allowed values.
func suggest(word string, allowed []string) string {
	if c := closest(word, allowed); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return "allowed: " + strings.Join(allowed, ", ")
}
