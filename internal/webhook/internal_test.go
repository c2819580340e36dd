package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestEventHandledTwice: the dispatcher may call the handler again for an
// event (a batch retried); the unique delivery key makes the second call
// add neither a delivery nor a job.
func TestEventHandledTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{})
		if _, err := s.SaveSettings(ctx, crm.WebhookSettings{AllowedHosts: []string{"127.0.0.1"}}); err != nil {
			t.Fatal(err)
		}
		w, _, err := s.Create(ctx, crm.WebhookInput{URL: "http://127.0.0.1:9/x", EventTypes: []string{"contact.*"}})
		if err != nil {
			t.Fatal(err)
		}
		ev := crm.Event{Type: "contact.created", SubjectType: "contact", SubjectID: 1}
		for range 3 {
			err := db.Write(ctx, func(tx *store.Tx) error {
				if ev.ID == 0 {
					if err := tx.Emit(ctx, &ev); err != nil {
						return err
					}
				}
				return s.handleEvent(ctx, tx, ev)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		ds, _, err := s.Deliveries(ctx, w.ID, "", crm.Page{})
		if err != nil || len(ds) != 1 {
			t.Fatalf("%d deliveries, %v", len(ds), err)
		}
		var stats map[string]int
		db.Read(ctx, func(tx *store.Tx) error { stats, err = tx.JobStats(ctx); return err })
		if stats["queued"] != 1 {
			t.Fatalf("jobs %v", stats)
		}
	})
}

// TestDialerRefusesInsideAddresses: at delivery time the dialer checks
// what a name resolves to, so a public-looking name pointing inside is
// refused; allowed hosts and ranges pass.
func TestDialerRefusesInsideAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dial := dialContext(net.DefaultResolver, &net.Dialer{Timeout: time.Second})
	try := func(g guard, host string) error {
		ctx := context.WithValue(context.Background(), guardKey{}, g)
		c, err := dial(ctx, "tcp", net.JoinHostPort(host, port))
		if c != nil {
			c.Close()
		}
		return err
	}
	none := newGuard(crm.WebhookSettings{})
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if err := try(none, host); !errors.Is(err, errRefused) {
			t.Errorf("%s: %v, want refused", host, err)
		}
	}
	for _, allow := range []string{"127.0.0.1", "127.0.0.0/8", "localhost"} {
		host := "127.0.0.1"
		if allow == "localhost" {
			host = "localhost"
		}
		if err := try(newGuard(crm.WebhookSettings{AllowedHosts: []string{allow}}), host); err != nil {
			t.Errorf("allowed %s: %v", allow, err)
		}
	}
}

func TestPatterns(t *testing.T) {
	got, err := ParsePatterns([]string{"deal.*, contact.created", "contact.created\\nticket.sla_breached", "*"})
	if err == nil {
		t.Fatalf("a backslash passed: %v", got)
	}
	got, err = ParsePatterns([]string{"deal.*, Contact.Created", "contact.created ticket.sla_breached"})
	if err != nil || !slices.Equal(got, []string{"deal.*", "contact.created", "ticket.sla_breached"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, c := range []struct {
		typ  string
		want bool
	}{{"deal.won", true}, {"deal", false}, {"dealer.won", false}, {"contact.created", true}, {"contact.updated", false}, {"ticket.sla_breached", true}} {
		if Match(got, c.typ) != c.want {
			t.Errorf("Match(%v, %s) = %v", got, c.typ, !c.want)
		}
	}
	for _, bad := range []string{"deal", ".x", "deal..won", "deal.*.x", "1deal.won", "deal.wön", "*.*", "deal.won*", strings.Repeat("a.", 60) + "b"} {
		if _, err := ParsePatterns([]string{bad}); err == nil {
			t.Errorf("%q passed", bad)
		}
	}
	if _, err := ParsePatterns(nil); err == nil {
		t.Error("no pattern passed")
	}
}

// FuzzParsePatterns: whatever comes in, ParsePatterns does not panic, and
// what it returns parses again to itself and matches what it names.
func FuzzParsePatterns(f *testing.F) {
	for _, s := range []string{"deal.*", "contact.created,ticket.*", "*", " a.b \n c.d ", "deal..x", "x.*.*", "ÄÖ.ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ParsePatterns([]string{in})
		if err != nil {
			return
		}
		again, err := ParsePatterns(out)
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("%q → %q → %q %v", in, out, again, err)
		}
		for _, p := range out {
			typ := strings.TrimSuffix(p, "*") + "x"
			if p == "*" || !strings.HasSuffix(p, "*") {
				typ = p
			}
			if !Match(out, typ) {
				t.Fatalf("%q does not match %q", out, typ)
			}
		}
	})
}

// FuzzCheckURL: the target check never panics, and whatever it accepts
// with no hosts allowed is https to a host that is not an inside address.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/x", "http://10.0.0.1/", "https://[::1]:80/", "https://user@host/", "https://%zz", "https://0x7f.1/"} {
		f.Add(s)
	}
	g := newGuard(crm.WebhookSettings{})
	f.Fuzz(func(t *testing.T, raw string) {
		if g.CheckURL(raw) != "" {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" {
			t.Fatalf("%q accepted without https", raw)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && internal(a) {
			t.Fatalf("%q accepted with an inside address", raw)
		}
	})
}
