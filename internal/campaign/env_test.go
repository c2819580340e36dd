package campaign_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

var sys = context.Background()

// sink is a real SMTP server (go-smtp) that keeps what it is given.
// Recipients whose address starts with "bounce" are refused at RCPT with
// 550, "later" with 451.
type sink struct {
	srv  *smtp.Server
	Addr string

	mu   sync.Mutex
	msgs map[string][]string // recipient → messages
	n    int
	hook func(n int) // called after each accepted message, with the count
}

func newSink(t testing.TB) *sink {
	k := &sink{msgs: map[string][]string{}}
	k.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	k.srv.Domain = "sink.test"
	k.srv.AllowInsecureAuth = true
	k.srv.MaxRecipients = 10
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.Addr = ln.Addr().String()
	go k.srv.Serve(ln)
	t.Cleanup(func() { k.srv.Close() })
	return k
}

func (k *sink) count(rcpt string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.msgs[rcpt])
}

func (k *sink) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

func (k *sink) message(rcpt string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if m := k.msgs[rcpt]; len(m) > 0 {
		return m[len(m)-1]
	}
	return ""
}

type sinkSession struct {
	k  *sink
	to []string
}

func (s *sinkSession) Reset()                                      { s.to = nil }
func (s *sinkSession) Logout() error                               { return nil }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "bounce"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	case strings.HasPrefix(to, "later"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try later"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.k.mu.Lock()
	for _, to := range s.to {
		s.k.msgs[to] = append(s.k.msgs[to], string(b))
	}
	s.k.n++
	n, hook := s.k.n, s.k.hook
	s.k.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return nil
}

// fixture is the campaign service on a real database with the real
// contact service making people, and a job runner.
type fixture struct {
	t        testing.TB
	db       *store.DB
	contacts *contact.Service
	svc      *campaign.Service
	runner   *jobs.Runner
	sink     *sink
	now      time.Time
	mu       sync.Mutex
}

// noon is 12:00 in Tehran, outside the default quiet hours.
var noon = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

func newFixture(t testing.TB, db *store.DB, opts campaign.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: noon}
	db.Now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	f.sink = newSink(t)
	f.contacts = contact.New(db, contact.Options{DefaultRegion: "IR"})
	if opts.BaseURL == "" {
		opts.BaseURL = "https://crm.example.com"
	}
	f.svc = campaign.New(db, opts)
	f.runner = jobs.NewRunner(db, nil, jobs.Options{})
	f.svc.RegisterJobs(f.runner)
	st := campaign.DefaultSettings()
	st.SMTP = campaign.SMTPConfig{Host: f.sink.Addr, TLS: "none", Pool: 2}
	st.FromAddress, st.FromName = "news@shop.example", "Shop"
	st.PerSecond = 0
	st.FrequencyCap = 0
	if _, err := f.svc.SaveSettings(sys, st); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// person makes a contact with an email, phone, language, tags and
// consents ("email", "sms" granted; "-email" withdrawn).
func (f *fixture) person(first, email, phone, lang string, tags []string, consents ...string) int64 {
	f.t.Helper()
	c := &crm.Contact{FirstName: first, Language: lang, Tags: tags}
	if email != "" {
		c.Emails = []crm.Labeled{{Value: email}}
	}
	if phone != "" {
		c.Phones = []crm.Labeled{{Value: phone}}
	}
	c, err := f.contacts.CreateContact(sys, c, true)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, ch := range consents {
		status := crm.ConsentGranted
		if strings.HasPrefix(ch, "-") {
			ch, status = ch[1:], crm.ConsentWithdrawn
		}
		if _, err := f.contacts.SetConsent(sys, c.ID, ch, status, "manual", ""); err != nil {
			f.t.Fatal(err)
		}
	}
	return c.ID
}

// drain runs due jobs until none is left, moving the clock past delayed
// ones, at most rounds times.
func (f *fixture) drain(rounds int) {
	f.t.Helper()
	for range rounds {
		n, err := f.runner.RunOnce(sys)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			var queued int
			f.db.Read(sys, func(tx *store.Tx) error {
				return tx.QueryRow(sys, `SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')`).Scan(&queued)
			})
			if queued == 0 {
				return
			}
			f.advance(time.Minute)
		}
	}
}

func (f *fixture) emailCampaign(name string, content map[string]crm.CampaignContent) *crm.Campaign {
	f.t.Helper()
	c, err := f.svc.Create(sys, campaign.Input{Name: name, Channel: campaign.ChannelEmail, Content: content})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) deliveries(id int64) map[int64]*crm.CampaignDelivery {
	f.t.Helper()
	out := map[int64]*crm.CampaignDelivery{}
	after := ""
	for {
		ds, next, err := f.svc.Deliveries(sys, id, "", crm.Page{Limit: 500, After: after})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, d := range ds {
			if out[d.ContactID] != nil {
				f.t.Fatalf("two deliveries for contact %d", d.ContactID)
			}
			out[d.ContactID] = d
		}
		if next == "" {
			return out
		}
		after = next
	}
}

var errStop = errors.New("stop")
