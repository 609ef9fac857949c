package adminui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The policy test page shows what the expression logged (ak_logger with
// its keyword attributes, print) under the result, escaped; and says so
// when nothing was logged.
func TestPolicyTestLog(t *testing.T) {
	e := newPartA(t)
	// xss has double quotes and no single ones.
	src := `ak_logger.warning('odd ` + xss + `', who=request.user.username, note='` + xss + `')
print("printed", '` + xss + `')
return True`
	b, err := json.Marshal(map[string]string{"name": "logs", "expression": src})
	if err != nil {
		t.Fatal(err)
	}
	pol := e.apiCall(http.MethodPost, "/policies/expression/", string(b), 201)
	body := e.wantForm("/if/admin/policies/"+pol["pk"].(string)+"/test/", url.Values{"username": {"carol"}}, http.StatusOK)
	start := strings.Index(body, `id="test-log"`)
	if start < 0 {
		t.Fatalf("no log: %.3000s", body)
	}
	log := body[start:]
	log = log[:strings.Index(log, "</ul>")]
	esc := html.EscapeString(xss)
	for _, want := range []string{
		`<span class="badge">warning</span>`, "odd " + esc, `<code>who=&#34;carol&#34;</code>`,
		`<code>note=&#34;&lt;script&gt;alert(\&#34;x\&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#34;</code>`,
		`<span class="badge">info</span>`, "printed " + esc,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Errorf("unescaped payload in the page:\n%s", log)
	}
	if strings.Index(log, "odd ") > strings.Index(log, "printed ") {
		t.Errorf("log out of order:\n%s", log)
	}

	body = e.wantForm("/if/admin/policies/"+e.policy+"/test/", url.Values{"username": {"carol"}}, http.StatusOK)
	if !strings.Contains(body, `id="test-log-empty"`) || strings.Contains(body, `id="test-log"`) {
		t.Errorf("silent policy: %.3000s", body)
	}
}
