package application

import (
	"fmt"

	"github.com/authd/authd/domain"
)

// PageSize is the page size a listing asks for: 0 means def, anything
// outside 1..maxSize is a validation error on "limit".
func PageSize(v *domain.ValidationError, limit, def, maxSize int) int {
	switch {
	case limit == 0:
		return def
	case limit < 0 || limit > maxSize:
		v.Add("limit", domain.CodeInvalid, fmt.Sprintf("limit must be between 1 and %d", maxSize))
	}
	return limit
}

// OnePage cuts items, read as limit+1 so that a following page shows, to
// the page, and returns its last item (the next cursor's source) when more
// follow.
func OnePage[T any](items []T, limit int) (page []T, last T, more bool) {
	if len(items) <= limit {
		return items, last, false
	}
	return items[:limit], items[limit-1], true
}
