package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
)

// relaySink is an SMTP server standing in for the smarthost.
type relaySink struct {
	mu   sync.Mutex
	msgs []string
}

func (r *relaySink) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct{ r *relaySink }

func (s *relaySession) Reset()                               {}
func (s *relaySession) Logout() error                        { return nil }
func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, string(b))
	s.r.mu.Unlock()
	return err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestDeskMailWiring runs the app with the SMTP receiver on and a relay:
// a customer's mail to the support address becomes a ticket, and its
// acknowledgement leaves through the relay, all through the app's wiring
// (config, receiver, desk, job runner).
func TestDeskMailWiring(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole app")
	}
	sink := &relaySink{}
	srv := smtp.NewServer(sink)
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(rl)
	defer srv.Close()

	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.SMTPListen = freeAddr(t)
	cfg.SMTPRelay = rl.Addr().String()
	cfg.SMTPTLS = "none"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	db, err := OpenDB(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := New(ctx, cfg, db, logger, "test")
	if err != nil {
		t.Fatal(err)
	}
	st := desk.DefaultSettings()
	st.SupportAddress = "support@shop.example"
	if _, err := a.Desk.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()

	raw := "From: Sara <sara@example.com>\r\nTo: support@shop.example\r\nSubject: =?utf-8?B?2LPZhNin2YU=?=\r\nMessage-ID: <w1@mail.example.com>\r\n\r\nHello\r\n"
	var sendErr error
	for range 50 { // the receiver starts with the app
		c, err := smtp.Dial(cfg.SMTPListen)
		sendErr = err
		if err == nil {
			sendErr = c.SendMail("sara@example.com", []string{"support@shop.example"}, strings.NewReader(raw))
			c.Close()
			if sendErr == nil {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sendErr != nil {
		t.Fatalf("send to the receiver: %v", sendErr)
	}
	list, _, err := a.Desk.List(ctx, crm.TicketFilter{Channel: crm.ChannelEmail})
	if err != nil || len(list) != 1 || list[0].Subject != "سلام" {
		t.Fatalf("tickets %v %v", list, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.msgs)
		var got string
		if n > 0 {
			got = sink.msgs[0]
		}
		sink.mu.Unlock()
		if n > 0 {
			if !strings.Contains(got, "In-Reply-To: <w1@mail.example.com>") || !strings.Contains(got, "Auto-Submitted: auto-replied") {
				t.Errorf("acknowledgement:\n%s", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement reached the relay")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
