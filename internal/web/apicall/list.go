package apicall

import (
	"net/http"
	"net/url"
	"strconv"
)

// pageSize is the largest page the API serves.
const pageSize = 100

// List reads an API list page by page (query q, with page and page_size
// set here) until its last page or limit objects, whichever comes first.
func List[T any](h http.Handler, r *http.Request, path string, q url.Values, limit int) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("page_size", strconv.Itoa(pageSize))
	var all []T
	for pg := 1; len(all) < limit; pg++ {
		q.Set("page", strconv.Itoa(pg))
		var out struct {
			Pagination struct {
				Next int `json:"next"`
			} `json:"pagination"`
			Results []T `json:"results"`
		}
		if err := Do(h, r, http.MethodGet, path+"?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Results...)
		if out.Pagination.Next == 0 || len(out.Results) == 0 {
			break
		}
	}
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
