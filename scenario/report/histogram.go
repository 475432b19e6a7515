package report

import (
	"math"
	"slices"
)

// Round rounds v to digits decimal places, as the report's figures are.
func Round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// LogHistogram puts values into buckets of a 1-2-5 series, from the one
// holding the smallest value to the one holding the largest.
func LogHistogram(vals []float64, unit string) Histogram {
	h := Histogram{Unit: unit, Count: len(vals), Buckets: []Bucket{}}
	if len(vals) == 0 {
		return h
	}
	slices.Sort(vals)
	h.Min, h.Max = Round(vals[0], 3), Round(vals[len(vals)-1], 3)
	h.P50, h.P90, h.P99 = Round(quantile(vals, 50), 3), Round(quantile(vals, 90), 3), Round(quantile(vals, 99), 3)
	edges := []float64{0}
	for e := 0.001; ; {
		for _, m := range []float64{1, 2, 5} {
			v := Round(e*m, 6)
			if v > edges[len(edges)-1] {
				edges = append(edges, v)
			}
		}
		if edges[len(edges)-1] > vals[len(vals)-1] {
			break
		}
		e *= 10
	}
	j := 0
	for i := 1; i < len(edges); i++ {
		b := Bucket{From: edges[i-1], To: edges[i]}
		for j < len(vals) && vals[j] < b.To {
			b.Count++
			j++
		}
		h.Buckets = append(h.Buckets, b)
	}
	// Keep from the first bucket with values to the last.
	lo, hi := 0, len(h.Buckets)-1
	for lo < hi && h.Buckets[lo].Count == 0 {
		lo++
	}
	for hi > lo && h.Buckets[hi].Count == 0 {
		hi--
	}
	h.Buckets = h.Buckets[lo : hi+1]
	return h
}

// LinearHistogram puts values into n equal buckets from 0 to top.
func LinearHistogram(vals []float64, top float64, n int, unit string) Histogram {
	h := Histogram{Unit: unit, Count: len(vals), Buckets: []Bucket{}}
	if len(vals) == 0 || top <= 0 {
		return h
	}
	slices.Sort(vals)
	h.Min, h.Max = Round(vals[0], 3), Round(vals[len(vals)-1], 3)
	h.P50, h.P90, h.P99 = Round(quantile(vals, 50), 3), Round(quantile(vals, 90), 3), Round(quantile(vals, 99), 3)
	w := top / float64(n)
	for i := range n {
		h.Buckets = append(h.Buckets, Bucket{From: Round(float64(i)*w, 6), To: Round(float64(i+1)*w, 6)})
	}
	for _, v := range vals {
		k := min(int(v/w), n-1)
		h.Buckets[k].Count++
	}
	return h
}

// quantile is the p-th percentile of sorted values, nearest rank.
func quantile(sorted []float64, p float64) float64 {
	k := max(int(math.Ceil(p/100*float64(len(sorted))))-1, 0)
	return sorted[min(k, len(sorted)-1)]
}

// NiceCeil rounds v up to 1, 2 or 5 times a power of ten.
func NiceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return m * e
		}
	}
	return 10 * e
}
