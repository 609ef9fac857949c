package adminui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Page sizes: the default, and the cap (the API's maximum).
const (
	defaultPageSize = 25
	maxPageSize     = 100
	maxPage         = 1_000_000
	maxQuery        = 200
)

// pager is a list page's position and its links (which keep the query).
type pager struct {
	Page, PageSize, Count, TotalPages, From, To int
	Prev, Next                                  string
}

// query reads a search-like parameter, trimmed and bounded.
func query(r *http.Request, name string) string {
	q := strings.TrimSpace(r.URL.Query().Get(name))
	if utf8.RuneCountInString(q) > maxQuery {
		q = string([]rune(q)[:maxQuery])
	}
	return q
}

// paging reads page and page_size (page_size capped at maxPageSize).
func paging(r *http.Request) (pg, size int) {
	pg, size = 1, defaultPageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n >= 1 {
		pg = min(n, maxPage)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("page_size")); err == nil && n >= 1 {
		size = min(n, maxPageSize)
	}
	return pg, size
}

type apiPagination struct {
	Count      int `json:"count"`
	TotalPages int `json:"total_pages"`
	StartIndex int `json:"start_index"`
	EndIndex   int `json:"end_index"`
}

// listPage reads one page of an API list, as the request's page and
// page_size ask; q holds the API filters.
func listPage[T any](u *UI, r *http.Request, path string, q url.Values) ([]T, pager, error) {
	pg, size := paging(r)
	if q == nil {
		q = url.Values{}
	}
	q.Set("page", strconv.Itoa(pg))
	q.Set("page_size", strconv.Itoa(size))
	var out struct {
		Pagination apiPagination `json:"pagination"`
		Results    []T           `json:"results"`
	}
	if err := u.do(r, http.MethodGet, path+"?"+q.Encode(), nil, &out); err != nil {
		return nil, pager{}, err
	}
	p := out.Pagination
	return out.Results, makePager(r, pg, size, p.Count, p.TotalPages, p.StartIndex, p.EndIndex), nil
}

func makePager(r *http.Request, pg, size, count, pages, from, to int) pager {
	p := pager{Page: pg, PageSize: size, Count: count, TotalPages: max(pages, 1), From: from, To: to}
	link := func(n int) string {
		q := r.URL.Query()
		q.Del("done")
		q.Set("page", strconv.Itoa(n))
		if size != defaultPageSize {
			q.Set("page_size", strconv.Itoa(size))
		} else {
			q.Del("page_size")
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if pg > 1 {
		p.Prev = link(min(pg-1, max(pages, 1)))
	}
	if pg < pages {
		p.Next = link(pg + 1)
	}
	return p
}

// count is the number of objects an API list has.
func (u *UI) count(r *http.Request, path string, q url.Values) (int, error) {
	var out struct {
		Pagination apiPagination `json:"pagination"`
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("page_size", "1")
	err := u.do(r, http.MethodGet, path+"?"+q.Encode(), nil, &out)
	return out.Pagination.Count, err
}
