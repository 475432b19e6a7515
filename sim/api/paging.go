package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fleetsim/fleetsim/sim"
)

// Paging limits of every list operation.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// pagingParams are the parameters that select a page; every other query
// parameter is a filter and is kept in the paging URLs.
var pagingParams = map[string]bool{"PageSize": true, "Page": true, "PageToken": true}

type meta struct {
	FirstPageURL    string  `json:"first_page_url"`
	Key             string  `json:"key"`
	NextPageURL     *string `json:"next_page_url"`
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
}

// writePage answers a list operation with one page of items. seq gives each
// item a position that never changes, so a PageToken stays valid while the
// list grows: "PA<n>" is the page after position n, "PB<n>" the page before.
func writePage[T any](w http.ResponseWriter, r *http.Request, key string, items []T, seq func(int, T) int64, render func(T) any) {
	q := r.URL.Query()
	size, page := DefaultPageSize, 0
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			writeError(w, &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusBadRequest, Message: "PageSize must be an integer from 1 to 1000"})
			return
		case n > MaxPageSize:
			writeError(w, &sim.Error{Code: sim.CodePageSizeTooLarge, Status: http.StatusBadRequest, Message: "Page size too large: the maximum page size is 1000"})
			return
		}
		size = n
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusBadRequest, Message: "Page must be a non-negative integer"})
			return
		}
		page = n
	}
	// lo is the index of the page's first item: past the end for a Page so
	// large that page*size would overflow.
	lo := len(items)
	if page <= len(items)/size {
		lo = page * size
	}
	end := len(items) // the page ends at end at the latest
	if tok := q.Get("PageToken"); tok != "" {
		after, pos, ok := parseToken(tok)
		if !ok {
			writeError(w, &sim.Error{Code: sim.CodeInvalidPageToken, Status: http.StatusBadRequest, Message: "Invalid PageToken"})
			return
		}
		i := 0
		for i < len(items) && seq(i, items[i]) <= pos {
			i++
		}
		if after {
			lo = i
		} else {
			for i > 0 && seq(i-1, items[i-1]) >= pos {
				i--
			}
			// The page before the token holds only items before it,
			// fewer than size near the start of the list.
			lo, end = max(0, i-size), i
		}
	}
	lo = min(lo, len(items))
	hi := min(lo+size, end)
	out := make([]any, 0, hi-lo)
	for _, it := range items[lo:hi] {
		out = append(out, render(it))
	}

	filters := url.Values{}
	for k, v := range q {
		if !pagingParams[k] {
			filters[k] = v
		}
	}
	base := baseURL(r) + r.URL.Path
	prefix := base + "?"
	if len(filters) > 0 {
		prefix += filters.Encode() + "&"
	}
	link := func(page int, token string) string {
		// Filters first, then the paging parameters in Twilio's order.
		u := prefix + "PageSize=" + strconv.Itoa(size) + "&Page=" + strconv.Itoa(page)
		if token != "" {
			u += "&PageToken=" + url.QueryEscape(token)
		}
		return u
	}
	m := meta{
		FirstPageURL: link(0, ""),
		Key:          key,
		Page:         page,
		PageSize:     size,
		URL:          link(page, q.Get("PageToken")),
	}
	if hi < len(items) {
		// The token is the position of the page's last item; an empty page
		// (before a PB token that precedes every item) leads to items[hi].
		pos := seq(hi, items[hi]) - 1
		if hi > lo {
			pos = seq(hi-1, items[hi-1])
		}
		next := link(min(page, math.MaxInt-1)+1, fmt.Sprintf("PA%d", pos)) // no overflow to a negative Page
		m.NextPageURL = &next
	}
	if lo > 0 && page > 0 {
		prev := link(page-1, "") // a page past the end has no first item
		if lo < hi {
			prev = link(page-1, fmt.Sprintf("PB%d", seq(lo, items[lo])))
		}
		m.PreviousPageURL = &prev
	}
	body := map[string]any{key: out, "meta": m}
	writeJSON(w, http.StatusOK, body)
}

func parseToken(tok string) (after bool, pos int64, ok bool) {
	if len(tok) < 3 || (tok[:2] != "PA" && tok[:2] != "PB") {
		return false, 0, false
	}
	n, err := strconv.ParseInt(tok[2:], 10, 64)
	if err != nil || n < 0 {
		return false, 0, false
	}
	return tok[:2] == "PA", n, true
}
