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
	writeList(w, r, key, sim.SliceList(items, seq), render)
}

// writeList is writePage over a List: it reads only the page (and one item
// on either side, to know whether there is a next and a previous page), so
// that paging through a whole list costs time in proportion to the list.
// Only a Page number without a PageToken makes it step over the items of
// the pages before.
func writeList[T any](w http.ResponseWriter, r *http.Request, key string, l sim.List[T], render func(T) any) {
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
	var (
		items  []T
		pos    []int64
		more   bool  // an item follows the page
		before bool  // an item precedes the page
		next   int64 // with more and an empty page: the position of the item after it
	)
	if tok := q.Get("PageToken"); tok != "" {
		after, p, ok := parseToken(tok)
		if !ok {
			writeError(w, &sim.Error{Code: sim.CodeInvalidPageToken, Status: http.StatusBadRequest, Message: "Invalid PageToken"})
			return
		}
		if after {
			items, pos = l.After(p, size+1)
			more = len(items) > size
			prior, _ := l.Before(min(p, math.MaxInt64-1)+1, 1)
			before = len(prior) > 0
		} else {
			// The page before the token holds only items before it,
			// fewer than size near the start of the list.
			items, pos = l.Before(p, size+1)
			if before = len(items) > size; before {
				items, pos = items[1:], pos[1:]
			}
			following, fpos := l.After(p-1, 1)
			if more = len(following) > 0; more {
				next = fpos[0]
			}
		}
	} else {
		// Step over the pages before: all of the list for a Page so
		// large that page*size would overflow.
		skip := math.MaxInt
		if page <= math.MaxInt/size {
			skip = page * size
		}
		p := int64(-1)
		for skipped := 0; skipped < skip; {
			its, ps := l.After(p, min(skip-skipped, MaxPageSize))
			if len(its) == 0 {
				break
			}
			skipped += len(its)
			p = ps[len(ps)-1]
			before = true
		}
		items, pos = l.After(p, size+1)
		more = len(items) > size
	}
	if len(items) > size {
		items, pos = items[:size], pos[:size]
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
	if more {
		// The token is the position of the page's last item; an empty page
		// (before a PB token that precedes every item) leads to the item
		// after it.
		p := next - 1
		if len(items) > 0 {
			p = pos[len(pos)-1]
		}
		nextURL := link(min(page, math.MaxInt-1)+1, fmt.Sprintf("PA%d", p)) // no overflow to a negative Page
		m.NextPageURL = &nextURL
	}
	if before && page > 0 {
		prev := link(page-1, "") // a page past the end has no first item
		if len(items) > 0 {
			prev = link(page-1, fmt.Sprintf("PB%d", pos[0]))
		}
		m.PreviousPageURL = &prev
	}
	writeJSON(w, http.StatusOK, pageJSON[T]{key: key, items: items, render: render, meta: &m})
}

// pageJSON is a page as Twilio writes it: the items under key and meta,
// the two keys in sorted order (as encoding/json sorts a map's).
type pageJSON[T any] struct {
	key    string
	items  []T
	render func(T) any
	meta   *meta
}

func (p pageJSON[T]) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if p.key < "meta" {
		b = p.appendItems(b)
		b = append(b, ',')
		b = p.meta.appendJSON(b)
	} else {
		b = p.meta.appendJSON(b)
		b = append(b, ',')
		b = p.appendItems(b)
	}
	return append(b, '}')
}

func (p pageJSON[T]) appendItems(b []byte) []byte {
	b = appendString(b, p.key)
	b = append(b, ":["...)
	for i, it := range p.items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, p.render(it))
	}
	return append(b, ']')
}

// appendJSON appends "meta": and the object.
func (m *meta) appendJSON(b []byte) []byte {
	b = append(b, `"meta":{"first_page_url":`...)
	b = appendString(b, m.FirstPageURL)
	b = append(b, `,"key":`...)
	b = appendString(b, m.Key)
	b = append(b, `,"next_page_url":`...)
	b = appendStringPtr(b, m.NextPageURL)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(m.Page), 10)
	b = append(b, `,"page_size":`...)
	b = strconv.AppendInt(b, int64(m.PageSize), 10)
	b = append(b, `,"previous_page_url":`...)
	b = appendStringPtr(b, m.PreviousPageURL)
	b = append(b, `,"url":`...)
	b = appendString(b, m.URL)
	return append(b, '}')
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
