package sim

import (
	"slices"
	"sort"
	"time"
)

// A List is a list the API reads one page at a time, so that paging
// through a whole fleet costs time in proportion to the fleet, not to its
// square: only the asked page is computed. Every item has a position, and
// positions increase along the list (a resource's Seq, or a rank for
// computed lists); page tokens carry positions.
type List[T any] interface {
	// After returns at most n items whose positions are above pos, in
	// order, with their positions.
	After(pos int64, n int) ([]T, []int64)
	// Before returns the last n items (at most) whose positions are below
	// pos, in order, with their positions.
	Before(pos int64, n int) ([]T, []int64)
}

// All collects every item of l.
func All[T any](l List[T]) []T {
	var out []T
	pos := int64(-1)
	for {
		items, ps := l.After(pos, 1024)
		out = append(out, items...)
		if len(items) < 1024 {
			return out
		}
		pos = ps[len(ps)-1]
	}
}

// SliceList is a List over a computed slice; pos gives the positions
// (increasing), or nil for the index plus one.
func SliceList[T any](items []T, pos func(i int, v T) int64) List[T] {
	if pos == nil {
		pos = func(i int, _ T) int64 { return int64(i) + 1 }
	}
	return sliceList[T]{items, pos}
}

type sliceList[T any] struct {
	items []T
	pos   func(int, T) int64
}

func (l sliceList[T]) search(pos int64) int {
	return sort.Search(len(l.items), func(i int) bool { return l.pos(i, l.items[i]) > pos })
}

func (l sliceList[T]) After(pos int64, n int) ([]T, []int64) {
	lo := l.search(pos)
	return l.span(lo, min(len(l.items), lo+n))
}

func (l sliceList[T]) Before(pos int64, n int) ([]T, []int64) {
	hi := l.search(pos - 1)
	return l.span(max(0, hi-n), hi)
}

func (l sliceList[T]) span(lo, hi int) ([]T, []int64) {
	ps := make([]int64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		ps = append(ps, l.pos(i, l.items[i]))
	}
	return l.items[lo:hi], ps
}

// tableList pages a table in creation order (positions are the Seqs):
// pick returns the item to list for a stored resource, as of now, or false
// to leave it out. It runs under c.mu, read-locked for each page.
type tableList[T any] struct {
	c    *Control
	t    *table[T]
	pick func(v *T, now time.Time) (*T, bool)
}

func (l tableList[T]) After(pos int64, n int) ([]*T, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	now := l.c.Now()
	var out []*T
	var ps []int64
	for i := l.t.search(pos); i < len(l.t.order) && len(out) < n; i++ {
		if v, ok := l.pick(l.t.byID[l.t.order[i]], now); ok {
			out = append(out, v)
			ps = append(ps, l.t.seqs[i])
		}
	}
	return out, ps
}

func (l tableList[T]) Before(pos int64, n int) ([]*T, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	now := l.c.Now()
	var out []*T
	var ps []int64
	for i := l.t.search(pos-1) - 1; i >= 0 && len(out) < n; i-- {
		if v, ok := l.pick(l.t.byID[l.t.order[i]], now); ok {
			out = append(out, v)
			ps = append(ps, l.t.seqs[i])
		}
	}
	slices.Reverse(out)
	slices.Reverse(ps)
	return out, ps
}

// emptyList is the List of a filter that matches nothing.
func emptyList[T any]() List[T] { return SliceList[T](nil, nil) }

// mergeList is the list of the items of a and b in the order of their
// positions, which are distinct.
type mergeList[T any] struct{ a, b List[T] }

func (l mergeList[T]) After(pos int64, n int) ([]T, []int64) {
	ai, ap := l.a.After(pos, n)
	bi, bp := l.b.After(pos, n)
	return mergeFirst(ai, ap, bi, bp, n)
}

func (l mergeList[T]) Before(pos int64, n int) ([]T, []int64) {
	ai, ap := l.a.Before(pos, n)
	bi, bp := l.b.Before(pos, n)
	items, ps := mergeFirst(ai, ap, bi, bp, len(ai)+len(bi))
	if k := len(items) - n; k > 0 {
		items, ps = items[k:], ps[k:]
	}
	return items, ps
}

// mergeFirst merges two runs sorted by position and keeps the first n.
func mergeFirst[T any](ai []T, ap []int64, bi []T, bp []int64, n int) ([]T, []int64) {
	items := make([]T, 0, min(n, len(ai)+len(bi)))
	ps := make([]int64, 0, cap(items))
	for len(items) < n && (len(ai) > 0 || len(bi) > 0) {
		if len(bi) == 0 || len(ai) > 0 && ap[0] < bp[0] {
			items, ps = append(items, ai[0]), append(ps, ap[0])
			ai, ap = ai[1:], ap[1:]
		} else {
			items, ps = append(items, bi[0]), append(ps, bp[0])
			bi, bp = bi[1:], bp[1:]
		}
	}
	return items, ps
}
