package adminui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

type group struct {
	PK          string  `json:"pk"`
	Name        string  `json:"name"`
	IsSuperuser bool    `json:"is_superuser"`
	Parent      *string `json:"parent"`
	Users       []int64 `json:"users"`
	RolesObj    []struct {
		Name string `json:"name"`
	} `json:"roles_obj"`
}

type groupsData struct {
	Query string
	// Tree is the tree view (the default without a search): the groups
	// depth first, a page of them at a time. Otherwise the list is flat,
	// by name.
	Tree bool
	// Parent is the group whose subgroups a flat list shows (?parent=).
	Parent *group
	Rows   []groupRow
	// Above are the ancestors of the page's first group when they are on
	// earlier pages, root first.
	Above []group
	Pager pager
}

// groupRow is a group of the list with its place in the tree.
type groupRow struct {
	group
	// Depth is the number of the group's ancestors (0 for a root).
	Depth int
	// ParentName is its parent's name, "" for a root.
	ParentName string
}

// Indent is the indentation step of the row (the stylesheet has eight).
func (g groupRow) Indent() int { return min(g.Depth, 8) }

func (u *UI) groups(w http.ResponseWriter, r *http.Request) {
	d := groupsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	if id, err := uuid.Parse(query(r, "parent")); err == nil {
		var p group
		if err := u.do(r, http.MethodGet, "/core/groups/"+id.String()+"/", nil, &p); err != nil {
			u.fail(w, r, err)
			return
		}
		d.Parent = &p
		q.Set("parent", p.PK)
	}
	d.Tree = d.Query == "" && d.Parent == nil && query(r, "view") != "flat"
	if d.Tree {
		q.Set("ordering", "tree")
	}
	groups, pg, err := listPage[group](u, r, "/core/groups/", q)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Pager = pg
	if !d.Tree {
		for _, g := range groups {
			d.Rows = append(d.Rows, groupRow{group: g})
		}
	} else if d.Rows, d.Above, err = u.treeRows(r, groups); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "groups", page{Title: "Groups", Section: "groups", Notice: noticeOf(r), Data: d})
}

// treeRows places a page of groups in tree order (the API's
// ordering=tree): each row's depth is the number of its ancestors, known
// from the rows above it. The first row's ancestors are on earlier pages:
// they are read, and returned to show where the page starts.
func (u *UI) treeRows(r *http.Request, groups []group) ([]groupRow, []group, error) {
	var above []group
	if len(groups) > 0 {
		var err error
		if above, err = u.ancestors(r, &groups[0]); err != nil {
			return nil, nil, err
		}
	}
	stack := append([]group(nil), above...)
	rows := make([]groupRow, 0, len(groups))
	for _, g := range groups {
		// Leave the subtrees that ended above g. A parent that is not on
		// the stack (one the caller may not view) leaves g at the top.
		for len(stack) > 0 && (g.Parent == nil || stack[len(stack)-1].PK != *g.Parent) {
			stack = stack[:len(stack)-1]
		}
		row := groupRow{group: g, Depth: len(stack)}
		if len(stack) > 0 {
			row.ParentName = stack[len(stack)-1].Name
		}
		rows = append(rows, row)
		stack = append(stack, g)
	}
	return rows, above, nil
}

// ancestors are g's parent, its parent's parent and so on, root first, at
// most maxGroupDepth of them (the store keeps parents acyclic; the bound
// guards the page all the same). The walk stops below a group the caller
// may not view.
func (u *UI) ancestors(r *http.Request, g *group) ([]group, error) {
	var out []group
	for next := g.Parent; next != nil && len(out) < maxGroupDepth; {
		var p group
		err := u.do(r, http.MethodGet, "/core/groups/"+url.PathEscape(*next)+"/", nil, &p)
		var ae *apiError
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusForbidden) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		next = p.Parent
	}
	slices.Reverse(out)
	return out, nil
}

func groupID(r *http.Request) string {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return ""
	}
	return id.String()
}

func (u *UI) loadGroup(w http.ResponseWriter, r *http.Request) (*group, bool) {
	id := groupID(r)
	if id == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var g group
	if err := u.do(r, http.MethodGet, "/core/groups/"+id+"/", nil, &g); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &g, true
}

type groupData struct {
	Group *group
	// Ancestors are the group's parents up to its root, root first.
	Ancestors []group
	// Children are the group's first subgroups, by name, of
	// ChildCount.
	Children   []group
	ChildCount int
	Members    []user
	Pager      pager
	Form       memberForm
}

// groupChildren is how many subgroups the group page lists; the rest are
// a link away.
const groupChildren = 25

type memberForm struct {
	Username string
	Errors   map[string][]string
}

func (u *UI) groupPage(w http.ResponseWriter, r *http.Request, g *group, f memberForm, status int) {
	pks := append([]int64(nil), g.Users...)
	sort.Slice(pks, func(i, j int) bool { return pks[i] < pks[j] })
	pg, size := paging(r)
	from := min((pg-1)*size, len(pks))
	to := min(from+size, len(pks))
	d := groupData{Group: g, Form: f, Pager: makePager(r, pg, size, len(pks), (len(pks)+size-1)/size, from+1, to)}
	var err error
	if d.Ancestors, err = u.ancestors(r, g); err != nil {
		u.fail(w, r, err)
		return
	}
	var children struct {
		Pagination apiPagination `json:"pagination"`
		Results    []group       `json:"results"`
	}
	q := url.Values{"parent": {g.PK}, "ordering": {"name"}, "page_size": {strconv.Itoa(groupChildren)}}
	if err := u.do(r, http.MethodGet, "/core/groups/?"+q.Encode(), nil, &children); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Children, d.ChildCount = children.Results, children.Pagination.Count
	for _, pk := range pks[from:to] {
		var m user
		err := u.do(r, http.MethodGet, fmt.Sprintf("/core/users/%d/", pk), nil, &m)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			continue
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Members = append(d.Members, m)
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	u.render(w, r, "group", page{Title: g.Name, Section: "groups", Notice: noticeOf(r), Data: d})
}

func (u *UI) group(w http.ResponseWriter, r *http.Request) {
	g, ok := u.loadGroup(w, r)
	if !ok {
		return
	}
	u.groupPage(w, r, g, memberForm{}, 0)
}

func (u *UI) addMember(w http.ResponseWriter, r *http.Request) {
	g, ok := u.loadGroup(w, r)
	if !ok {
		return
	}
	f := memberForm{Username: strings.TrimSpace(r.PostForm.Get("username"))}
	var found struct {
		Results []user `json:"results"`
	}
	err := u.do(r, http.MethodGet, "/core/users/?"+url.Values{"username": {f.Username}}.Encode(), nil, &found)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if f.Username == "" || len(found.Results) != 1 {
		f.Errors = map[string][]string{"username": {"No user has this username."}}
		u.groupPage(w, r, g, f, http.StatusBadRequest)
		return
	}
	members := append([]int64{}, g.Users...)
	pk := found.Results[0].PK
	for _, m := range members {
		if m == pk {
			f.Errors = map[string][]string{"username": {"This user is already a member."}}
			u.groupPage(w, r, g, f, http.StatusBadRequest)
			return
		}
	}
	err = u.do(r, http.MethodPatch, "/core/groups/"+g.PK+"/", map[string]any{"users": append(members, pk)}, nil)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = errs
		if us := errs["users"]; us != nil {
			f.Errors["username"] = us
		}
		u.groupPage(w, r, g, f, http.StatusBadRequest)
	}) {
		return
	}
	back(w, r, Prefix+"groups/"+g.PK+"/", "member-added")
}

func (u *UI) confirmRemoveMember(w http.ResponseWriter, r *http.Request) {
	g, ok := u.loadGroup(w, r)
	if !ok {
		return
	}
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Remove member", Section: "groups", Data: confirmation{
		Heading: "Remove “" + us.Username + "” from “" + g.Name + "”?",
		Text:    "They lose the permissions and application access the group gives them.",
		Action:  r.URL.Path, Button: "Remove from group", Back: Prefix + "groups/" + g.PK + "/"}})
}

func (u *UI) removeMember(w http.ResponseWriter, r *http.Request) {
	g, ok := u.loadGroup(w, r)
	if !ok {
		return
	}
	pk := userPK(r)
	members := []int64{}
	for _, m := range g.Users {
		if m != pk {
			members = append(members, m)
		}
	}
	if err := u.do(r, http.MethodPatch, "/core/groups/"+g.PK+"/", map[string]any{"users": members}, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"groups/"+g.PK+"/", "member-removed")
}

type groupForm struct {
	Name        string
	IsSuperuser bool
	Errors      map[string][]string
}

func (u *UI) newGroup(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "group-form", page{Title: "New group", Section: "groups", Data: groupForm{}})
}

func (u *UI) createGroup(w http.ResponseWriter, r *http.Request) {
	f := groupForm{Name: strings.TrimSpace(r.PostForm.Get("name")), IsSuperuser: r.PostForm.Get("is_superuser") == "on"}
	var created group
	err := u.do(r, http.MethodPost, "/core/groups/", map[string]any{"name": f.Name, "is_superuser": f.IsSuperuser}, &created)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "group-form", page{Title: "New group", Section: "groups", Data: f})
	}) {
		return
	}
	back(w, r, Prefix+"groups/"+url.PathEscape(created.PK)+"/", "group-created")
}

func (u *UI) confirmDeleteGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := u.loadGroup(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete group", Section: "groups", Data: confirmation{
		Heading: "Delete the group “" + g.Name + "”?",
		Text:    fmt.Sprintf("Its %s lose what the group gives them (permissions, roles, application access). The users themselves are kept.", plural(len(g.Users), "member")),
		Action:  r.URL.Path, Button: "Delete group", Back: Prefix + "groups/" + g.PK + "/"}})
}

func (u *UI) deleteGroup(w http.ResponseWriter, r *http.Request) {
	path := ""
	if id := groupID(r); id != "" {
		path = "/core/groups/" + id + "/"
	}
	u.deleteAt(w, r, path, Prefix+"groups/", "group-deleted")
}
