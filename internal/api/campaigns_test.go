package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

type apiSink struct {
	mu sync.Mutex
	to []string
}

type apiSinkSession struct{ k *apiSink }

func (s apiSinkSession) Reset()                               {}
func (s apiSinkSession) Logout() error                        { return nil }
func (s apiSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s apiSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.k.mu.Lock()
	s.k.to = append(s.k.to, to)
	s.k.mu.Unlock()
	return nil
}
func (s apiSinkSession) Data(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }

// newCampaignEnv is newEnv with campaigns installed, sending into an SMTP
// server of the test.
func newCampaignEnv(t *testing.T, db *store.DB) (*env, *campaign.Service, *jobs.Runner, *apiSink) {
	t.Helper()
	ctx := context.Background()
	as := auth.New(db, auth.Options{})
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	acts := activity.New(db)
	cp := campaign.New(db, campaign.Options{BaseURL: "https://crm.example.com", Logger: slog.New(slog.DiscardHandler)})
	a, err := New(Options{Auth: as, Idempotency: idempotency.New(db), Contacts: cs, Activity: acts, Campaigns: cp,
		Logger: slog.New(slog.DiscardHandler), Version: "test", MaxBodyBytes: 1 << 20, ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, auth: as, contacts: cs, activity: acts, api: a}
	e.admin, err = as.SetupFirstAdmin(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Admin", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.rw = e.mustToken(e.admin.ID, crm.ScopeRead, crm.ScopeWrite)
	e.ro = e.mustToken(e.admin.ID, crm.ScopeRead)
	e.doc, e.router = loadDoc(t, a.openapi)
	k := &apiSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return apiSinkSession{k}, nil }))
	srv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	st := campaign.DefaultSettings()
	st.SMTP = campaign.SMTPConfig{Host: ln.Addr().String(), TLS: "none"}
	st.FromAddress, st.QuietStart, st.QuietEnd = "news@shop.example", 0, 0
	if _, err := cp.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(db, slog.New(slog.DiscardHandler), jobs.Options{})
	cp.RegisterJobs(r)
	return e, cp, r, k
}

// fieldErrors maps a problem's errors by field.
func fieldErrors(pb problemBody) map[string]string {
	m := map[string]string{}
	for _, e := range pb.Errors {
		m[e.Field] = e.Detail
	}
	return m
}

func TestCampaignAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, runner, sink := newCampaignEnv(t, db)
		// Every campaign route is documented and needs a token.
		n := 0
		for _, rt := range e.api.routes {
			if !strings.Contains(rt.path(), "campaign") && !strings.Contains(rt.path(), "sms-count") {
				continue
			}
			n++
			if it := e.doc.Paths.Value(strings.TrimPrefix(rt.path(), apiBase)); it == nil || it.GetOperation(rt.method()) == nil {
				t.Errorf("%s is not documented", rt.pattern)
			}
			if res := e.do(rt.method(), strings.ReplaceAll(rt.path(), "{id}", "1"), "", ""); res.Status != http.StatusUnauthorized {
				t.Errorf("%s without a token = %d", rt.pattern, res.Status)
			}
		}
		if n < 14 {
			t.Fatalf("%d campaign routes", n)
		}
		for _, p := range []struct{ first, email string }{{"Sara", "sara@example.com"}, {"Ali", "ali@example.com"}} {
			c := e.mustContact(t, `{"first_name":"`+p.first+`","emails":[{"value":"`+p.email+`"}]}`)
			if p.first == "Sara" {
				if _, err := e.contacts.SetConsent(context.Background(), c.ID, "email", crm.ConsentGranted, "api", ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Bad input names each field.
		pb := e.do("POST", "/api/v1/campaigns", e.rw, `{"name":"","channel":"fax","default_language":"de","attribution_days":500,
			"content":{"en":{"subject":"{{.Nope}}"}}}`).problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "channel", "default_language", "attribution_days"} {
			if fieldErrors(pb)[f] == "" {
				t.Errorf("no error on %s: %v", f, pb.Errors)
			}
		}
		pb = e.do("POST", "/api/v1/campaigns", e.rw, `{"name":"x","channel":"email","content":{"en":{"subject":"Hi {{.Nope}}","text":"x"}}}`).
			problem(t, http.StatusUnprocessableEntity)
		if !strings.Contains(fieldErrors(pb)["content.en.subject"], "unknown field .Nope") {
			t.Errorf("template error: %v", pb.Errors)
		}
		var c crm.Campaign
		e.call(t, "POST", "/api/v1/campaigns", e.rw, `{"name":"Spring","channel":"email","content":{"en":{"subject":"Hi {{.FirstName}}","text":"Sale: https://shop.example/"}}}`,
			http.StatusCreated, &c)
		id := strconv.FormatInt(c.ID, 10)
		var pv campaignPreview
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/preview", e.ro, "", http.StatusOK, &pv)
		if pv.Subject != "Hi Sara" || pv.ContactID != 0 {
			t.Errorf("preview %+v", pv)
		}
		e.call(t, "PUT", "/api/v1/campaigns/"+id+"?version=99", e.rw, `{"name":"Spring","channel":"email","content":{"en":{"subject":"x","text":"y"}}}`, http.StatusConflict, nil)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send", e.ro, "", http.StatusForbidden, nil)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send", e.rw, "", http.StatusOK, &c)
		if c.Status != crm.CampaignSending {
			t.Fatalf("status %s", c.Status)
		}
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/resume", e.rw, "", http.StatusConflict, nil)
		for range 5 {
			runner.RunOnce(context.Background())
		}
		var res campaignReport
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/results", e.ro, "", http.StatusOK, &res)
		if res.Results.Audience != 2 || res.Results.Sent != 1 || res.Results.Skipped != 1 || res.Results.SkipReasons["no_consent"] != 1 || len(res.Series) != 1 {
			t.Errorf("results %+v %+v", res.Results, res.Series)
		}
		var dl struct {
			Data []crm.CampaignDelivery `json:"data"`
			Next *string                `json:"next"`
		}
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/deliveries?status=skipped&limit=1", e.ro, "", http.StatusOK, &dl)
		if len(dl.Data) != 1 || dl.Data[0].Reason != "no_consent" || dl.Next != nil {
			t.Errorf("deliveries %+v", dl)
		}
		e.do("GET", "/api/v1/campaigns/"+id+"/deliveries?status=lost", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		if len(sink.to) != 1 || sink.to[0] != "sara@example.com" {
			t.Errorf("sink got %v", sink.to)
		}
		e.call(t, "DELETE", "/api/v1/campaigns/"+id, e.rw, "", http.StatusConflict, nil)
		var cnt campaign.SMSCount
		e.call(t, "GET", "/api/v1/sms-count?text="+strings.Repeat("%D8%B3", 71), e.ro, "", http.StatusOK, &cnt)
		if cnt.Parts != 2 || cnt.Encoding != "ucs2" {
			t.Errorf("count %+v", cnt)
		}
		var st campaign.Settings
		e.call(t, "GET", "/api/v1/campaign-settings", e.ro, "", http.StatusOK, &st)
		if st.SMTP.Password != "" || st.FromAddress != "news@shop.example" {
			t.Errorf("settings %+v", st)
		}
		pb = e.do("PUT", "/api/v1/campaign-settings", e.rw, `{"smtp":{"host":"nohost","tls":"ssl3"},"time_zone":"Mars/Base","quiet_start":25}`).
			problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"smtp.host", "smtp.tls", "time_zone", "quiet_start"} {
			if fieldErrors(pb)[f] == "" {
				t.Errorf("no error on %s: %v", f, pb.Errors)
			}
		}
	})
}

// TestCampaignABAPI: an A/B test through the API: its errors by field,
// the test sent, results per variant, the rest sent variant B by hand.
func TestCampaignABAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, runner, sink := newCampaignEnv(t, db)
		for i := range 20 {
			c := e.mustContact(t, `{"first_name":"P`+strconv.Itoa(i)+`","emails":[{"value":"p`+strconv.Itoa(i)+`@example.com"}]}`)
			if _, err := e.contacts.SetConsent(context.Background(), c.ID, "email", crm.ConsentGranted, "api", ""); err != nil {
				t.Fatal(err)
			}
		}
		pb := e.do("POST", "/api/v1/campaigns", e.rw, `{"name":"AB","channel":"email","content":{"en":{"subject":"A","text":"x"}},
			"ab_test":{"variants":[{"content":{"en":{"subject":"{{.Nope}}"}}}],"test_percent":0,"metric":"likes","wait_hours":1}}`).
			problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"ab_test.variants[0].content.en.subject", "ab_test.test_percent", "ab_test.metric"} {
			if fieldErrors(pb)[f] == "" {
				t.Errorf("no error on %s: %v", f, pb.Errors)
			}
		}
		var c crm.Campaign
		e.call(t, "POST", "/api/v1/campaigns", e.rw, `{"name":"AB","channel":"email","content":{"en":{"subject":"Subject A","text":"x"}},
			"ab_test":{"variants":[{"name":"Short","content":{"en":{"subject":"Subject B"}}}],"test_percent":50,"metric":"open_rate","wait_hours":24}}`,
			http.StatusCreated, &c)
		if c.AB == nil || c.AB.Variants[0].Name != "Short" || c.ABWinner != -1 {
			t.Fatalf("created %+v", c)
		}
		id := strconv.FormatInt(c.ID, 10)
		var pv campaignPreview
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/preview?variant=1", e.ro, "", http.StatusOK, &pv)
		if pv.Subject != "Subject B" {
			t.Errorf("preview of B: %+v", pv)
		}
		e.do("GET", "/api/v1/campaigns/"+id+"/preview?variant=3", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send-rest", e.rw, `{"variant":1}`, http.StatusConflict, nil)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send", e.rw, "", http.StatusOK, &c)
		for range 5 {
			runner.RunOnce(context.Background())
		}
		e.call(t, "GET", "/api/v1/campaigns/"+id, e.ro, "", http.StatusOK, &c)
		if c.Status != crm.CampaignWaiting || c.ABDecideAt == nil {
			t.Fatalf("after the test: %s", c.Status)
		}
		var res campaignReport
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/results", e.ro, "", http.StatusOK, &res)
		if len(res.Results.Variants) != 2 || res.Results.Held == 0 || res.Results.Sent+res.Results.Held != 20 ||
			res.Results.Variants[1].Name != "Short" || res.Results.Revenue == nil {
			t.Errorf("results while waiting %+v", res.Results)
		}
		var dl struct {
			Data []crm.CampaignDelivery `json:"data"`
		}
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/deliveries?status=held", e.ro, "", http.StatusOK, &dl)
		if int64(len(dl.Data)) != res.Results.Held || dl.Data[0].Variant != -1 || !dl.Data[0].ABRest {
			t.Errorf("held deliveries %+v", dl.Data)
		}
		pb = e.do("POST", "/api/v1/campaigns/"+id+"/send-rest", e.rw, `{}`).problem(t, http.StatusUnprocessableEntity)
		if fieldErrors(pb)["variant"] == "" {
			t.Errorf("send-rest without a variant: %v", pb.Errors)
		}
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send-rest", e.rw, `{"variant":1}`, http.StatusOK, &c)
		if c.Status != crm.CampaignSending || c.ABWinner != 1 {
			t.Errorf("after send-rest: %s winner %d", c.Status, c.ABWinner)
		}
		for range 5 {
			runner.RunOnce(context.Background())
		}
		e.call(t, "GET", "/api/v1/campaigns/"+id+"/results", e.ro, "", http.StatusOK, &res)
		if res.Results.Sent != 20 || res.Results.Held != 0 || !res.Results.Variants[1].Winner {
			t.Errorf("final results %+v", res.Results)
		}
		if len(sink.to) != 20 {
			t.Errorf("%d messages for 20 people", len(sink.to))
		}
		e.call(t, "GET", "/api/v1/campaigns?status=waiting", e.ro, "", http.StatusOK, nil)
	})
}

// TestCampaignFeedbackAPI: a DSN posted to /campaign-feedback suppresses
// the address; a message that is no report is a 422 naming message.
func TestCampaignFeedbackAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, _, _ := newCampaignEnv(t, db)
		report := "From: MAILER-DAEMON@mx.example\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n" +
			"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
		body, _ := json.Marshal(map[string]string{"message": report})
		var res campaign.FeedbackResult
		e.call(t, "POST", "/api/v1/campaign-feedback", e.ro, string(body), http.StatusForbidden, nil)
		e.call(t, "POST", "/api/v1/campaign-feedback", e.rw, string(body), http.StatusOK, &res)
		if res.Kind != campaign.FeedbackBounce || res.Suppressed != "gone@example.com" || res.DeliveryID != 0 {
			t.Errorf("result %+v", res)
		}
		err := db.Read(context.Background(), func(tx *store.Tx) error {
			reason, err := tx.CampaignSuppressed(context.Background(), "email", "gone@example.com")
			if reason != "hard_bounce" {
				t.Errorf("suppression %q", reason)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pb := e.do("POST", "/api/v1/campaign-feedback", e.rw, `{"message":"Subject: hello\r\n\r\nthanks"}`).problem(t, http.StatusUnprocessableEntity)
		if fieldErrors(pb)["message"] == "" {
			t.Errorf("no error on message: %v", pb.Errors)
		}
	})
}

// TestCampaignScheduleAPI: a campaign scheduled, listed as scheduled,
// unscheduled, scheduled again and sent now; bad times name the field.
func TestCampaignScheduleAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, _, _ := newCampaignEnv(t, db)
		var c crm.Campaign
		e.call(t, "POST", "/api/v1/campaigns", e.rw, `{"name":"Friday","channel":"email","content":{"en":{"subject":"Hi","text":"x"}}}`, http.StatusCreated, &c)
		id := strconv.FormatInt(c.ID, 10)
		for _, body := range []string{`{}`, `{"scheduled_at":"tomorrow"}`, `{"scheduled_at":"2001-01-01T10:00:00Z"}`} {
			pb := e.do("POST", "/api/v1/campaigns/"+id+"/schedule", e.rw, body).problem(t, http.StatusUnprocessableEntity)
			if fieldErrors(pb)["scheduled_at"] == "" {
				t.Errorf("%s: no error on scheduled_at: %+v", body, pb)
			}
		}
		at := time.Now().Add(2 * time.Hour).Truncate(time.Second)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/schedule", e.rw, `{"scheduled_at":"`+at.In(time.FixedZone("IRST", 12600)).Format(time.RFC3339)+`"}`, http.StatusOK, &c)
		if c.Status != crm.CampaignScheduled || c.ScheduledAt == nil || !c.ScheduledAt.Equal(at) {
			t.Fatalf("scheduled: %s %v, want %v", c.Status, c.ScheduledAt, at)
		}
		var l struct {
			Data []crm.Campaign `json:"data"`
		}
		e.call(t, "GET", "/api/v1/campaigns?status=scheduled", e.ro, "", http.StatusOK, &l)
		if len(l.Data) != 1 || l.Data[0].ID != c.ID {
			t.Errorf("scheduled list: %+v", l.Data)
		}
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/schedule", e.ro, `{"scheduled_at":"`+at.Format(time.RFC3339)+`"}`, http.StatusForbidden, nil)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/unschedule", e.rw, "", http.StatusOK, &c)
		if c.Status != crm.CampaignDraft || c.ScheduledAt != nil {
			t.Errorf("unscheduled: %s %v", c.Status, c.ScheduledAt)
		}
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/unschedule", e.rw, "", http.StatusConflict, nil)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/schedule", e.rw, `{"scheduled_at":"`+at.Format(time.RFC3339)+`"}`, http.StatusOK, &c)
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/send", e.rw, "", http.StatusOK, &c)
		if c.Status != crm.CampaignSending {
			t.Errorf("sent now: %s", c.Status)
		}
		e.call(t, "POST", "/api/v1/campaigns/"+id+"/schedule", e.rw, `{"scheduled_at":"`+at.Format(time.RFC3339)+`"}`, http.StatusConflict, nil)
	})
}
