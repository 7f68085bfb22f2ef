package site

import "dario.cat/mergo"

// mergeSizing overwrites dst's fields with every non-zero field of src.
func mergeSizing(dst *Sizing, src Sizing) {
	// mergo only fails on mismatched types, which cannot happen here.
	if err := mergo.Merge(dst, src, mergo.WithOverride); err != nil {
		panic("site: merging sizing: " + err.Error())
	}
}
