package adminui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
	Query  string
	Groups []group
	Pager  pager
}

func (u *UI) groups(w http.ResponseWriter, r *http.Request) {
	d := groupsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Groups, d.Pager, err = listPage[group](u, r, "/core/groups/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "groups", page{Title: "Groups", Section: "groups", Notice: noticeOf(r), Data: d})
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
	Group   *group
	Members []user
	Pager   pager
	Form    memberForm
}

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
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		if us := errs["users"]; us != nil {
			f.Errors["username"] = us
		}
		u.groupPage(w, r, g, f, http.StatusBadRequest)
		return
	}
	if err != nil {
		u.fail(w, r, err)
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
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "group-form", page{Title: "New group", Section: "groups", Data: f})
		return
	}
	if err != nil {
		u.fail(w, r, err)
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
	id := groupID(r)
	if id == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	if err := u.do(r, http.MethodDelete, "/core/groups/"+id+"/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"groups/", "group-deleted")
}
