package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/webhook"
)

var sys = context.Background()

// fixture is the webhook service on a real database with the real event
// dispatcher and job runner, a clock the test moves, and an admin.
type fixture struct {
	t      *testing.T
	db     *store.DB
	svc    *webhook.Service
	disp   *event.Dispatcher
	runner *jobs.Runner
	admin  *crm.User

	mu  sync.Mutex
	now time.Time
}

var quiet = slog.New(slog.DiscardHandler)

func newFixture(t *testing.T, db *store.DB, opts webhook.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	db.Now = f.clock
	opts.Logger = quiet
	f.svc = webhook.New(db, opts)
	f.disp = event.NewDispatcher(db, quiet)
	f.svc.Subscribe(f.disp)
	f.runner = f.newRunner()
	f.admin = &crm.User{Email: "admin@example.com", Name: "Admin", Role: crm.RoleAdmin, Active: true, Preferences: crm.DefaultPreferences("en")}
	if err := db.Write(sys, func(tx *store.Tx) error { return tx.CreateUser(sys, f.admin, "x") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SaveSettings(f.as(), crm.WebhookSettings{AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.disp.Drain(sys); err != nil { // the subscriber starts at the newest event
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newRunner() *jobs.Runner {
	r := jobs.NewRunner(f.db, quiet, jobs.Options{PollInterval: 5 * time.Millisecond, Workers: 1})
	f.svc.RegisterJobs(r)
	return r
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) as() context.Context { return crm.NewContextWithUser(sys, f.admin) }

// subscribe makes a subscription to url for types and returns it with its secret.
func (f *fixture) subscribe(url string, types ...string) (*crm.WebhookSubscription, string) {
	f.t.Helper()
	w, secret, err := f.svc.Create(f.as(), crm.WebhookInput{Name: "Receiver", URL: url, EventTypes: types})
	if err != nil {
		f.t.Fatalf("subscribe: %v", err)
	}
	return w, secret
}

// emit commits an event as a module would.
func (f *fixture) emit(typ string, subjectID int64, data any) crm.Event {
	f.t.Helper()
	b, _ := json.Marshal(data)
	ev := crm.Event{Type: typ, SubjectType: "contact", SubjectID: subjectID, ContactID: subjectID, Payload: b}
	if err := f.db.Write(sys, func(tx *store.Tx) error { return tx.Emit(sys, &ev) }); err != nil {
		f.t.Fatal(err)
	}
	return ev
}

// pump hands committed events to the subscriber and works the jobs due now.
func (f *fixture) pump() int {
	f.t.Helper()
	if err := f.disp.Drain(sys); err != nil {
		f.t.Fatal(err)
	}
	n, err := f.runner.RunOnce(sys)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) deliveries(subID int64) []*crm.WebhookDelivery {
	f.t.Helper()
	ds, _, err := f.svc.Deliveries(f.as(), subID, "", crm.Page{Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

func (f *fixture) delivery(subID, id int64) *crm.WebhookDelivery {
	f.t.Helper()
	d, err := f.svc.Delivery(f.as(), subID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an httptest server answering with the statuses in answers,
// in order (200 once they run out), after delay.
type receiver struct {
	srv *httptest.Server

	mu         sync.Mutex
	got        []received
	answers    []int
	retryAfter string
	delay      time.Duration
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		delay := r.delay
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		ra := r.retryAfter
		r.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return
			}
		}
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		r.mu.Unlock()
		if status == http.StatusTooManyRequests && ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(status)
		io.WriteString(w, "answer "+strconv.Itoa(status))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }
