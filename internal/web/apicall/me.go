package apicall

import (
	"errors"
	"net/http"
	"net/url"
)

// Me asks the API who the visitor of r is (/core/users/me/, decoded into
// out), as both interfaces do before any page. An anonymous visitor (the
// API's 401 or 403) is answered here: a GET goes to the brand's
// authentication flow, which comes back to next; any other method gets a
// 403. Me reports whether the page may go on; when it may not, a non-nil
// error is for the caller's error page.
func Me(h http.Handler, w http.ResponseWriter, r *http.Request, next string, out any) (bool, error) {
	err := Do(h, r, http.MethodGet, "/core/users/me/", nil, out)
	var e *Error
	if errors.As(err, &e) && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized) {
		if r.Method != http.MethodGet {
			http.Error(w, "Not signed in.", http.StatusForbidden)
			return false, nil
		}
		http.Redirect(w, r, "/flows/-/default/authentication/?"+url.Values{"next": {next}}.Encode(), http.StatusFound)
		return false, nil
	}
	return err == nil, err
}
