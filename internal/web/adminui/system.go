package adminui

import (
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

type taskRun struct {
	MessageID string     `json:"message_id"`
	ActorName string     `json:"actor_name"`
	UID       string     `json:"uid"`
	Status    string     `json:"status"`
	Retries   int        `json:"retries"`
	Worker    string     `json:"worker"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished"`
	Duration  float64    `json:"duration"`
	Messages  []struct {
		Level   string `json:"log_level"`
		Message string `json:"event"`
	} `json:"messages"`
	Error string `json:"error"`
}

// Took is the run's duration for people.
func (t taskRun) Took() string {
	if t.Finished == nil {
		return "running"
	}
	d := time.Duration(t.Duration * float64(time.Second))
	if d < time.Millisecond {
		return "< 1ms"
	}
	return d.Round(time.Millisecond).String()
}

type schedule struct {
	ID             string     `json:"id"`
	Identifier     string     `json:"identifier"`
	ActorName      string     `json:"actor_name"`
	Crontab        string     `json:"crontab"`
	Paused         bool       `json:"paused"`
	NextRun        time.Time  `json:"next_run"`
	LastRun        *time.Time `json:"last_run"`
	Description    string     `json:"description"`
	LastTaskStatus *string    `json:"last_task_status"`
}

type tasksData struct {
	Runs      []taskRun
	Pager     pager
	Schedules []schedule
	Workers   []workerStatus
}

func (u *UI) tasks(w http.ResponseWriter, r *http.Request) {
	var d tasksData
	var err error
	if d.Runs, d.Pager, err = listPage[taskRun](u, r, "/tasks/tasks/", url.Values{"ordering": {"-started"}}); err != nil {
		u.fail(w, r, err)
		return
	}
	var ss struct {
		Results []schedule `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/tasks/schedules/?page_size=100", nil, &ss); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Schedules = ss.Results
	if err := u.do(r, http.MethodGet, "/tasks/workers/", nil, &d.Workers); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "tasks", page{Title: "System tasks", Section: "tasks", Notice: noticeOf(r), Data: d})
}

func (u *UI) runSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	if err := u.do(r, http.MethodPost, "/tasks/schedules/"+id.String()+"/send/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"system/tasks/", "schedule-sent")
}

// expiryWarning is how long before expiry a certificate is flagged.
const expiryWarning = 30 * 24 * time.Hour

type certificate struct {
	PK                  string     `json:"pk"`
	Name                string     `json:"name"`
	FingerprintSHA256   *string    `json:"fingerprint_sha256"`
	CertExpiry          *time.Time `json:"cert_expiry"`
	CertSubject         *string    `json:"cert_subject"`
	PrivateKeyAvailable bool       `json:"private_key_available"`
	KeyType             *string    `json:"key_type"`
	Managed             *string    `json:"managed"`
}

// Expired is whether the certificate's validity has ended.
func (c certificate) Expired() bool { return c.CertExpiry != nil && c.CertExpiry.Before(time.Now()) }

// Warn is whether the certificate has expired or expires within 30 days.
func (c certificate) Warn() bool {
	return c.CertExpiry != nil && time.Until(*c.CertExpiry) < expiryWarning
}

// Fingerprint is the SHA-256 fingerprint, "" when unknown.
func (c certificate) Fingerprint() string {
	if c.FingerprintSHA256 == nil {
		return ""
	}
	return *c.FingerprintSHA256
}

type certsData struct {
	Query string
	Certs []certificate
	Pager pager
}

func (u *UI) certificates(w http.ResponseWriter, r *http.Request) {
	d := certsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Certs, d.Pager, err = listPage[certificate](u, r, "/crypto/certificatekeypairs/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "certificates", page{Title: "Certificates", Section: "certificates", Notice: noticeOf(r), Data: d})
}
