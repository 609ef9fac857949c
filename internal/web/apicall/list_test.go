package apicall

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

// List follows the pages of a list with the caller's query, and stops at
// the last page or at the limit.
func TestList(t *testing.T) {
	const total = 250
	var pages []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		pages = append(pages, q.Get("page"))
		pg, _ := strconv.Atoi(q.Get("page"))
		size, _ := strconv.Atoi(q.Get("page_size"))
		if q.Get("search") != "x" || size != pageSize {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var results []int
		for i := (pg - 1) * size; i < min(pg*size, total); i++ {
			results = append(results, i)
		}
		next := pg + 1
		if pg*size >= total {
			next = 0
		}
		b, _ := json.Marshal(results)
		fmt.Fprintf(w, `{"pagination": {"next": %d}, "results": %s}`, next, b)
	})
	r := httptest.NewRequest(http.MethodGet, "/if/admin/", nil)
	for _, c := range []struct {
		limit, want int
		pages       []string
	}{
		{1000, total, []string{"1", "2", "3"}},
		{150, 150, []string{"1", "2"}},
		{100, 100, []string{"1"}},
	} {
		pages = nil
		got, err := List[int](h, r, "/things/", url.Values{"search": {"x"}}, c.limit)
		if err != nil || len(got) != c.want || got[len(got)-1] != c.want-1 || !slices.Equal(pages, c.pages) {
			t.Errorf("limit %d: %d objects, pages %v, %v; want %d, pages %v", c.limit, len(got), pages, err, c.want, c.pages)
		}
	}
}
