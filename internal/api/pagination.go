package api

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Every list endpoint pages the same way:
//
//	page, err := parsePage(r)            // ?limit=1..500 (default 50) &after=<cursor>
//	items, next, err := svc.ListX(ctx, crm.XFilter{Limit: page.Limit, After: page.After})
//	writeList(a, w, r, items, next)      // {"data": [...], "next": "<cursor>" | null}
//
// A service that returns everything is paged in the handler with pageByID.
// Mark the route Paged: true so the OpenAPI document lists limit and after.

// list is the envelope of every list response. Next is the cursor for the
// following page, null on the last one.
type list[T any] struct {
	Data []T     `json:"data" openapi:"nonnull"`
	Next *string `json:"next"`
}

// parsePage reads the limit and after query parameters.
func parsePage(r *http.Request) (crm.Page, error) {
	var v crm.Validation
	p := readPage(r, &v)
	return p, v.Err()
}

// readPage is parsePage for handlers that collect other query errors too.
// An absent limit is crm.DefaultLimit; a present one must be 1..MaxLimit
// (Persian and Arabic digits are accepted). The cursor is opaque here; the
// code that made it decodes it and answers EINVALID naming "after".
func readPage(r *http.Request, v *crm.Validation) crm.Page {
	q := r.URL.Query()
	p := crm.Page{Limit: crm.DefaultLimit, After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := text.ParseInt(s)
		if err != nil || n < 1 || n > crm.MaxLimit {
			v.Add("limit", "Use a whole number from 1 to %d.", crm.MaxLimit)
		} else {
			p.Limit = int(n)
		}
	}
	return p
}

// writeList answers 200 with one page of items and the cursor to the next
// page ("" when this is the last).
func writeList[T any](a *API, w http.ResponseWriter, r *http.Request, items []T, next string) {
	out := list[T]{Data: items}
	if out.Data == nil {
		out.Data = []T{}
	}
	if next != "" {
		out.Next = &next
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// pageByID cuts one page out of a complete list from a service that does
// not page: items ordered by ascending id, those after the cursor, at most
// p.Limit of them, and the cursor to the next page.
func pageByID[T any](items []T, id func(T) int64, p crm.Page) ([]T, string, error) {
	after, err := crm.DecodeIDCursor(p.After)
	if err != nil {
		return nil, "", err
	}
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	i, _ := slices.BinarySearchFunc(sorted, after, func(it T, after int64) int {
		if id(it) <= after {
			return -1
		}
		return 1
	})
	rest := sorted[i:]
	limit := crm.ClampLimit(p.Limit)
	if len(rest) <= limit {
		return rest, "", nil
	}
	return rest[:limit], crm.EncodeIDCursor(id(rest[limit-1])), nil
}
