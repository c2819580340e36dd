package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/webhook"
)

// TestWebhookWiring runs the whole app: a person created through the API
// reaches a subscribed receiver, signed, and a document posted to an
// inbound hook through the server's root handler is kept.
func TestWebhookWiring(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole app")
	}
	var (
		mu     sync.Mutex
		got    []*http.Request
		bodies [][]byte
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer rcv.Close()

	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := OpenDB(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := New(ctx, cfg, db, slog.New(slog.DiscardHandler), "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Webhooks.SaveSettings(ctx, crm.WebhookSettings{AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := a.Webhooks.Create(ctx, crm.WebhookInput{URL: rcv.URL + "/in", EventTypes: []string{"contact.created"}})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := a.Webhooks.CreateInbound(ctx, crm.InboundHookInput{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	// The webhooks subscriber starts at the newest event when it first
	// runs: let it take its place before anything happens.
	if err := a.Events.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	if _, err := a.Contacts.CreateContact(ctx, &crm.Contact{FirstName: "Sara"}, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 1 || webhook.Verify(secret, got[0].Header.Get(webhook.HeaderTimestamp), got[0].Header.Get(webhook.HeaderSignature), bodies[0], time.Now(), time.Minute) != nil {
		t.Errorf("receiver got %d requests", len(got))
	}
	mu.Unlock()

	res, err := http.Post(base+webhook.InboundPath+token, "application/json", strings.NewReader(`{"order":17}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("inbound: %d", res.StatusCode)
	}
	hooks, err := a.Webhooks.InboundHooks(ctx)
	if err != nil || len(hooks) != 1 || hooks[0].Received != 1 {
		t.Fatalf("hooks %+v %v", hooks, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
