package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// unsubSink is an SMTP server in the test that keeps the last message to
// each recipient.
type unsubSink struct {
	mu   sync.Mutex
	msgs map[string]string
}

type unsubSession struct {
	k  *unsubSink
	to []string
}

func (s *unsubSession) Reset()                               { s.to = nil }
func (s *unsubSession) Logout() error                        { return nil }
func (s *unsubSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *unsubSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *unsubSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	for _, to := range s.to {
		s.k.msgs[to] = string(b)
	}
	return nil
}

// TestUnsubscribeBrowserPersian: a Persian-speaking recipient of a sent
// campaign opens the unsubscribe link of their message in Chromium (whose
// own language is English), sees the page in Persian, right to left,
// confirms, and their email consent is withdrawn; the next campaign skips
// them. Skipped without Chromium unless PIVAND_TEST_BROWSER=require.
func TestUnsubscribeBrowserPersian(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db := storetest.Open(t, store.SQLite)
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})

	sink := &unsubSink{msgs: map[string]string{}}
	smtpSrv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &unsubSession{k: sink}, nil }))
	smtpSrv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go smtpSrv.Serve(ln)
	defer smtpSrv.Close()

	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	camps := campaign.New(db, campaign.Options{BaseURL: srv.URL, Logger: quiet})
	h, err := web.New(web.Options{Auth: auth.New(db, auth.Options{}), Contacts: contacts, Activity: activity.New(db), Campaigns: camps, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h

	st := campaign.DefaultSettings()
	st.SMTP = campaign.SMTPConfig{Host: ln.Addr().String(), TLS: "none", Pool: 1}
	st.FromAddress, st.FromName, st.QuietStart, st.QuietEnd = "news@shop.example", "فروشگاه", 0, 0
	if _, err := camps.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	sara, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: "سارا", LastName: "محمدی", Language: "fa",
		Emails: []crm.Labeled{{Value: "sara@example.com"}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contacts.SetConsent(ctx, sara.ID, crm.ChannelEmail, crm.ConsentGranted, "manual", ""); err != nil {
		t.Fatal(err)
	}
	runner := jobs.NewRunner(db, quiet, jobs.Options{})
	camps.RegisterJobs(runner)
	send := func(name string) *crm.Campaign {
		t.Helper()
		c, err := camps.Create(ctx, campaign.Input{Name: name, Channel: campaign.ChannelEmail, AudienceKind: campaign.AudienceAll, DefaultLanguage: "fa",
			Content: map[string]crm.CampaignContent{"fa": {Subject: "سلام {{.FirstName}}", Text: "حراج بهاره: https://shop.example/spring",
				HTML: `<p>سلام {{.FirstName}}، <a href="https://shop.example/spring">حراج بهاره</a></p>`}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := camps.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			n, err := runner.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		return c
	}
	send("حراج بهاره")
	sink.mu.Lock()
	msg := sink.msgs["sara@example.com"]
	sink.mu.Unlock()
	m := regexp.MustCompile(`List-Unsubscribe: <(https?://[^>]+/c/u/[^>]+)>`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no unsubscribe link in the message:\n%s", msg)
	}
	link := m[1]
	if !strings.HasPrefix(link, srv.URL) {
		t.Fatalf("the link %q is not on the test server %s", link, srv.URL)
	}

	br := newBrowser(t, shots, 120*time.Second)
	do, eval, use, shot, fits, submit := br.do, br.eval, br.use, br.shot, br.fits, br.submit
	do("open the link", use(desktop), chromedp.Navigate(link))
	if lang, dir := eval(`document.documentElement.lang`), eval(`document.documentElement.dir`); lang != "fa" || dir != "rtl" {
		t.Fatalf("the page is lang=%q dir=%q, want fa and rtl", lang, dir)
	}
	if got := eval(`document.querySelector("h1").textContent.trim()`); got != "لغو اشتراک" {
		t.Fatalf("heading %q is not Persian", got)
	}
	if body := eval(`document.querySelector("main").innerText`); !strings.Contains(body, "حراج بهاره") || !strings.Contains(body, "s***@example.com") {
		t.Fatalf("the page does not name the campaign and the masked address:\n%s", body)
	}
	if eval(`getComputedStyle(document.querySelector("main")).direction`) != "rtl" {
		t.Fatal("the page is not laid out right to left")
	}
	fits("unsubscribe page")
	shot("unsubscribe-fa")
	submit("confirm", `form[action^="/c/u/"] button[type="submit"]`, 200)
	if got := eval(`(document.querySelector('.alert-ok[role="status"]') || {}).textContent || ""`); !strings.Contains(got, "s***@example.com") {
		t.Fatalf("no confirmation after unsubscribing: %q", eval(`document.querySelector("main").innerText`))
	}
	if eval(`document.documentElement.lang`) != "fa" {
		t.Fatal("the confirmation is not in Persian")
	}
	shot("unsubscribe-fa-done")
	// Reloading the link shows the same confirmation, not the button again.
	do("open the link again", chromedp.Navigate(link))
	if eval(`String(!!document.querySelector('form[action^="/c/u/"]'))`) != "false" {
		t.Fatal("the link offers to unsubscribe again")
	}

	c, err := contacts.FindContactByID(ctx, sara.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Consents) != 1 || c.Consents[0].Channel != crm.ChannelEmail || c.Consents[0].Status != crm.ConsentWithdrawn {
		t.Fatalf("consent after unsubscribing: %+v", c.Consents)
	}
	// The next campaign skips her.
	sink.mu.Lock()
	delete(sink.msgs, "sara@example.com")
	sink.mu.Unlock()
	next := send("حراج تابستانه")
	res, err := camps.Results(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	_, got := sink.msgs["sara@example.com"]
	sink.mu.Unlock()
	if got || res.Sent != 0 {
		t.Fatalf("the next campaign reached her: sent %d, mail %v", res.Sent, got)
	}
}
