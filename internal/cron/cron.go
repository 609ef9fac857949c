// Package cron parses crontab expressions (the five fields of cron(5):
// minute hour day-of-month month day-of-week) and computes their next time,
// for the task schedules.
//
// A field is "*", a number, a range "a-b", any of those with a step "/n",
// or a comma-separated list of them; months and weekdays may be named
// (jan-dec, sun-sat; 7 is Sunday too). As in Vixie cron, when both the day
// of the month and the day of the week are restricted, a day matching
// either runs. The macros @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly stand for their usual expressions.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed expression: one bit per allowed value of each field.
type Schedule struct {
	minute, hour, dom, month, dow uint64
	// domStar, dowStar: the field was "*" (unrestricted).
	domStar, dowStar bool
}

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	fMinute = field{name: "minute", min: 0, max: 59}
	fHour   = field{name: "hour", min: 0, max: 23}
	fDom    = field{name: "day of month", min: 1, max: 31}
	fMonth  = field{name: "month", min: 1, max: 12, names: map[string]int{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}
	fDow = field{name: "day of week", min: 0, max: 7, names: map[string]int{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}
)

var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// Parse parses a crontab expression.
func Parse(spec string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if m, ok := macros[strings.ToLower(spec)]; ok {
		spec = m
	}
	fs := strings.Fields(spec)
	if len(fs) != 5 {
		return nil, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), have %d", spec, len(fs))
	}
	var s Schedule
	var err error
	if s.minute, err = parseField(fs[0], fMinute); err != nil {
		return nil, err
	}
	if s.hour, err = parseField(fs[1], fHour); err != nil {
		return nil, err
	}
	if s.dom, err = parseField(fs[2], fDom); err != nil {
		return nil, err
	}
	if s.month, err = parseField(fs[3], fMonth); err != nil {
		return nil, err
	}
	if s.dow, err = parseField(fs[4], fDow); err != nil {
		return nil, err
	}
	if s.dow&(1<<7) != 0 {
		s.dow |= 1 // 7 is Sunday
	}
	s.domStar, s.dowStar = strings.HasPrefix(fs[2], "*"), strings.HasPrefix(fs[4], "*")
	return &s, nil
}

func parseField(text string, f field) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(text, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 || n > f.max {
				return 0, fmt.Errorf("cron %s: bad step %q", f.name, part)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, f); err != nil {
				return 0, err
			}
			if hi, err = value(b, f); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("cron %s: range %q runs backwards", f.name, rng)
			}
		default:
			v, err := value(rng, f)
			if err != nil {
				return 0, err
			}
			lo = v
			if hasStep {
				hi = f.max // "5/15" is 5-max/15
			} else {
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func value(s string, f field) (int, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Errorf("cron %s: %q is not a value from %d to %d", f.name, s, f.min, f.max)
	}
	return v, nil
}

func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	switch {
	case s.domStar && s.dowStar:
		return true
	case s.domStar:
		return dow
	case s.dowStar:
		return dom
	}
	return dom || dow
}

// Next is the first time after t that the schedule matches, in t's
// location, or the zero time if there is none within five years (Feb 30).
func (s *Schedule) Next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		if s.month&(1<<int(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !s.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if s.hour&(1<<t.Hour()) == 0 {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if s.minute&(1<<t.Minute()) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}
