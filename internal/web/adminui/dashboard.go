package adminui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

type workerStatus struct {
	WorkerID        string    `json:"worker_id"`
	Hostname        string    `json:"hostname"`
	Version         string    `json:"version"`
	VersionMatching bool      `json:"version_matching"`
	LastSeen        time.Time `json:"last_seen"`
}

type dashboardData struct {
	Users, Groups, Applications, Flows int
	Events                             []event
	Chart                              chart
	Database                           bool
	Workers                            []workerStatus
	WorkersKnown                       bool
	Version                            string
	Expiring                           []certificate
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	var d dashboardData
	var err error
	for _, c := range []struct {
		n    *int
		path string
	}{{&d.Users, "/core/users/"}, {&d.Groups, "/core/groups/"}, {&d.Applications, "/core/applications/"}, {&d.Flows, "/flows/instances/"}} {
		if *c.n, err = u.count(r, c.path, nil); err != nil && !forbidden(err) {
			u.fail(w, r, err)
			return
		}
	}
	d.Database = true // the counts above were read from it
	var evs struct {
		Results []event `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/events/events/?page_size=10", nil, &evs); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	d.Events = evs.Results
	now := u.now()
	logins, err := u.hourly(r, "login", now)
	if err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	failed, err := u.hourly(r, "login_failed", now)
	if err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	d.Chart = makeChart(now, logins, failed)
	if err := u.do(r, http.MethodGet, "/tasks/workers/", nil, &d.Workers); err == nil {
		d.WorkersKnown = true
	} else if !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	var v struct {
		Current string `json:"version_current"`
	}
	if err := u.do(r, http.MethodGet, "/admin/version/", nil, &v); err == nil {
		d.Version = v.Current
	}
	if d.Version == "" {
		d.Version = u.Version
	}
	var certs struct {
		Results []certificate `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/crypto/certificatekeypairs/?page_size=100", nil, &certs); err == nil {
		for _, c := range certs.Results {
			if c.Warn() {
				d.Expiring = append(d.Expiring, c)
			}
		}
	}
	u.render(w, r, "dashboard", page{Title: "Dashboard", Section: "dashboard", Data: d})
}

func forbidden(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden
}

// hourlyCounts are events per hour over the last 24 h: [0] is the oldest
// hour.
type hourlyCounts [24]int

// hourly counts the events with action in each of the last 24 hours
// through events/volume/, which counts them per hour in the database.
func (u *UI) hourly(r *http.Request, action string, now time.Time) (hourlyCounts, error) {
	var h hourlyCounts
	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	var vol []struct {
		Time  time.Time `json:"time"`
		Count int       `json:"count"`
	}
	q := url.Values{"action": {action}, "history_days": {"1"}}
	if err := u.do(r, http.MethodGet, "/events/events/volume/?"+q.Encode(), nil, &vol); err != nil {
		return h, err
	}
	for _, v := range vol {
		if i := int(v.Time.Sub(start) / time.Hour); !v.Time.Before(start) && i < 24 {
			h[i] += v.Count
		}
	}
	return h, nil
}

// chart is the server-rendered bar chart of logins and failed logins.
type chart struct {
	Width, Height, Base int
	Bars                []bar
	Ticks               []tick
	Grid                []tick
	Logins, Failed      int
	Max                 int
}

type bar struct {
	X, Y, W, H int
	Class      string
	Label      string
}

type tick struct {
	X, Y  int
	Label string
}

func makeChart(now time.Time, logins, failed hourlyCounts) chart {
	const (
		left, top, plotH, slot = 30, 8, 120, 16
	)
	c := chart{Width: left + 24*slot + 4, Height: top + plotH + 22, Base: top + plotH}
	for i := range 24 {
		c.Logins += logins[i]
		c.Failed += failed[i]
		c.Max = max(c.Max, logins[i], failed[i])
	}
	scale := max(c.Max, 4)
	// Round the scale up to a multiple of 4 so the grid lines are whole numbers.
	scale = (scale + 3) / 4 * 4
	for g := 0; g <= 4; g++ {
		v := scale * g / 4
		c.Grid = append(c.Grid, tick{X: left, Y: top + plotH - plotH*g/4, Label: strconv.Itoa(v)})
	}
	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	for i := range 24 {
		hour := start.Add(time.Duration(i) * time.Hour).UTC()
		x := left + i*slot + 2
		for j, s := range []struct {
			n     int
			class string
			what  string
		}{{logins[i], "bar-login", "logins"}, {failed[i], "bar-failed", "failed logins"}} {
			h := plotH * s.n / scale
			if s.n > 0 && h < 2 {
				h = 2
			}
			c.Bars = append(c.Bars, bar{X: x + j*6, Y: top + plotH - h, W: 6, H: h, Class: s.class,
				Label: fmt.Sprintf("%s–%s UTC: %d %s", hour.Format("15:04"), hour.Add(time.Hour).Format("15:04"), s.n, s.what)})
		}
		if i%3 == 0 {
			c.Ticks = append(c.Ticks, tick{X: x + 6, Y: top + plotH + 16, Label: hour.Format("15:04")})
		}
	}
	return c
}
