package desk_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/desk/email"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// sink is a real SMTP server started in the test: the smarthost the
// desk's replies go to. It keeps every message it accepts and refuses
// recipients at refuse.example.
type sink struct {
	mu   sync.Mutex
	msgs []sunk
	addr string
}

type sunk struct {
	from string
	to   []string
	msg  *email.Message
}

func startSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) all() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

type sinkSession struct {
	s    *sink
	from string
	to   []string
}

func (x *sinkSession) Reset()        {}
func (x *sinkSession) Logout() error { return nil }
func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasSuffix(to, "@refuse.example") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := email.Parse(bytes.NewReader(b), email.Limits{})
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, sunk{from: x.from, to: x.to, msg: m})
	x.s.mu.Unlock()
	return nil
}

// sendMail delivers a raw message to the desk's receiver over SMTP.
func sendMail(t *testing.T, addr, from, to, raw string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c.SendMail(from, []string{to}, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestEmailRoundTrip: a customer's mail comes in over SMTP and becomes a
// ticket (acknowledged through the smarthost), an agent answers, the
// answer leaves with threading headers, and the customer's reply to it
// threads into the same ticket; replies that lost their headers find it
// by the subject token; auto-replies, bounces and our own mail coming
// back are kept out of the conversation's flow and never answered.
func TestEmailRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		relay := startSink(t)
		d := f.newDesk(desk.MailConfig{Relay: relay.addr, TLS: "none", Helo: "crm.test"})
		f.desk, f.runner = d, f.newRunner(d)
		admin := as(f.admin)
		st := desk.DefaultSettings()
		st.SupportAddress, st.SupportName = "Support@Shop.example", "پشتیبانی فروشگاه"
		if _, err := d.SaveSettings(admin, st); err != nil {
			t.Fatal(err)
		}
		rcv := d.NewReceiver("mx.shop.example")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go rcv.Serve(ln)
		t.Cleanup(func() { rcv.Close() })
		mx := ln.Addr().String()

		subject := "خرابی چاپگر"
		first := `From: =?UTF-8?B?` + b64("سارا رضایی") + `?= <Sara@Example.com>
To: support@shop.example
Subject: ` + mime.BEncoding.Encode("utf-8", subject) + `
Message-ID: <c1@mail.example.com>
Date: Mon, 02 Mar 2026 09:00:00 +0330
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + b64("سلام، چاپگری که خریدم کاغذ را گیر می‌اندازد.") + `
--b
Content-Type: image/png; name=photo.png
Content-Transfer-Encoding: base64

` + b64("\x89PNG\r\n\x1a\nfake image") + `
--b--
`
		if err := sendMail(t, mx, "sara@example.com", "support@shop.example", first); err != nil {
			t.Fatal(err)
		}
		// Mail for anyone else is refused: the receiver is not a relay.
		var se *smtp.SMTPError
		if err := sendMail(t, mx, "x@example.com", "someone@elsewhere.example", first); !errors.As(err, &se) || se.Code != 550 {
			t.Errorf("mail for another address: %v", err)
		}
		list, _, err := d.List(admin, crm.TicketFilter{Channel: crm.ChannelEmail})
		if err != nil || len(list) != 1 {
			t.Fatalf("tickets %v %v", list, err)
		}
		tk := list[0]
		if tk.Subject != subject || tk.Status != crm.TicketNew || tk.ContactID == 0 {
			t.Fatalf("ticket %+v", tk)
		}
		c, err := f.contacts.FindContactByID(admin, tk.ContactID)
		if err != nil || c.DisplayName() != "سارا رضایی" || len(c.Emails) != 1 || c.Emails[0].Value != "sara@example.com" {
			t.Fatalf("customer %+v %v", c, err)
		}
		msgs, _ := d.Messages(admin, tk.ID)
		if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Body, "سلام، چاپگری") || len(msgs[0].Attachments) != 1 ||
			msgs[0].Attachments[0].ContentType != "image/png" {
			t.Fatalf("messages %+v", msgs)
		}
		// The acknowledgement goes out through the smarthost.
		f.work()
		out := relay.all()
		if len(out) != 1 {
			t.Fatalf("%d messages at the relay", len(out))
		}
		ack := out[0].msg
		if out[0].to[0] != "sara@example.com" || !slices1(ack.InReplyTo, "c1@mail.example.com") || ack.Header.Get("Auto-Submitted") != "auto-replied" ||
			!strings.Contains(ack.Subject, tk.SubjectToken()) || !strings.Contains(ack.Text, "۱") {
			t.Fatalf("acknowledgement: to %v, %q %q %q\n%s", out[0].to, ack.InReplyTo, ack.Header.Get("Auto-Submitted"), ack.Subject, ack.Text)
		}
		// The agent answers and waits for the customer.
		reply, err := d.Reply(as(f.ali), tk.ID, desk.ReplyInput{Body: "سلام سارا، لطفاً مدل چاپگر را بفرمایید.", Status: crm.TicketPending})
		if err != nil {
			t.Fatal(err)
		}
		if reply.Delivery != crm.DeliveryQueued || reply.ToAddress != "sara@example.com" {
			t.Fatalf("reply %+v", reply)
		}
		f.work()
		out = relay.all()
		if len(out) != 2 {
			t.Fatalf("%d messages at the relay", len(out))
		}
		sent := out[1].msg
		if sent.MessageID != reply.MessageID || !slices1(sent.InReplyTo, "c1@mail.example.com") || !slices1(sent.References, "c1@mail.example.com") ||
			!slices1(sent.References, ack.MessageID) || sent.Subject != "Re: "+subject+" "+tk.SubjectToken() || sent.Header.Get("Auto-Submitted") != "" ||
			sent.From.Address != "support@shop.example" || sent.From.Name != "پشتیبانی فروشگاه" {
			t.Fatalf("reply sent: id %q in-reply-to %q refs %q subject %q from %+v", sent.MessageID, sent.InReplyTo, sent.References, sent.Subject, sent.From)
		}
		msgs, _ = d.Messages(admin, tk.ID)
		if msgs[len(msgs)-1].Delivery != crm.DeliverySent {
			t.Errorf("delivery %q", msgs[len(msgs)-1].Delivery)
		}
		// The customer answers the reply: it threads by In-Reply-To.
		second := `From: Sara <sara@example.com>
To: support@shop.example
Subject: Re: ` + mime.BEncoding.Encode("utf-8", subject) + `
Message-ID: <c2@mail.example.com>
In-Reply-To: <` + sent.MessageID + `>
References: <c1@mail.example.com> <` + sent.MessageID + `>
Content-Type: text/plain; charset=utf-8

مدل HP 1020 است.

On Mon, 2 Mar 2026 at 10:00, Support <support@shop.example> wrote:
> سلام سارا
`
		if err := sendMail(t, mx, "sara@example.com", "support@shop.example", second); err != nil {
			t.Fatal(err)
		}
		// Delivered twice (a retry of the sender): stored once.
		if err := sendMail(t, mx, "sara@example.com", "support@shop.example", second); err != nil {
			t.Fatal(err)
		}
		tk, _ = d.Ticket(admin, tk.ID)
		msgs, _ = d.Messages(admin, tk.ID)
		if n, _, _ := d.List(admin, crm.TicketFilter{Channel: crm.ChannelEmail}); len(n) != 1 {
			t.Fatalf("the reply made another ticket: %d", len(n))
		}
		if tk.Status != crm.TicketOpen || len(msgs) != 4 || msgs[3].Body != "مدل HP 1020 است." {
			t.Fatalf("after the customer's reply: %s, %d messages, last %q", tk.Status, len(msgs), msgs[len(msgs)-1].Body)
		}
		// A reply whose client dropped the headers finds the ticket by
		// the token in the subject; a forged token does not.
		third := "From: sara@example.com\nTo: support@shop.example\nSubject: Re: printer " + tk.SubjectToken() + "\nMessage-ID: <c3@mail.example.com>\n\nThanks!\n"
		if err := sendMail(t, mx, "sara@example.com", "support@shop.example", third); err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(strings.Replace(third, tk.Ref, "ZZZZZ", 1), "<c3@", "<c3x@", 1)
		if err := sendMail(t, mx, "sara@example.com", "support@shop.example", forged); err != nil {
			t.Fatal(err)
		}
		msgs, _ = d.Messages(admin, tk.ID)
		all, _, _ := d.List(admin, crm.TicketFilter{Channel: crm.ChannelEmail})
		if len(msgs) != 5 || len(all) != 2 {
			t.Fatalf("token threading: %d messages, %d tickets", len(msgs), len(all))
		}
		sentBefore := len(relay.all())
		f.work() // the forged one got an acknowledgement of its own ticket
		if len(relay.all()) != sentBefore+1 {
			t.Fatalf("relay %d, want %d", len(relay.all()), sentBefore+1)
		}
		// Automatic mail: an out-of-office on the thread, a bounce, our own
		// message coming back. Stored at most, never answered, no reopen.
		if _, err := d.SetStatus(admin, tk.ID, crm.TicketPending, 0); err != nil {
			t.Fatal(err)
		}
		sentBefore = len(relay.all())
		ooo := "From: sara@example.com\nTo: support@shop.example\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <ooo@mail.example.com>\n" +
			"In-Reply-To: <" + sent.MessageID + ">\n\nI am away.\n"
		bounce := "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\nTo: support@shop.example\nSubject: Undelivered Mail\n" +
			"Message-ID: <bounce1@mx.example.com>\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\nContent-Type: text/plain\n\nfailed\n--r--\n"
		loop := "From: someone@example.org\nTo: support@shop.example\nSubject: Re: x\nMessage-ID: <" + email.NewMessageID(tk.ID, "shop.example") + ">\n\nloop\n"
		for i, raw := range []string{ooo, bounce, loop} {
			from := "sara@example.com"
			if i == 1 {
				from = ""
			}
			if err := sendMail(t, mx, from, "support@shop.example", raw); err != nil {
				t.Fatal(err)
			}
		}
		f.work()
		tk, _ = d.Ticket(admin, tk.ID)
		msgs, _ = d.Messages(admin, tk.ID)
		all, _, _ = d.List(admin, crm.TicketFilter{Channel: crm.ChannelEmail})
		if tk.Status != crm.TicketPending || len(relay.all()) != sentBefore || len(all) != 2 {
			t.Errorf("automatic mail changed things: status %s, relay %d (was %d), tickets %d", tk.Status, len(relay.all()), sentBefore, len(all))
		}
		if last := msgs[len(msgs)-1]; !last.Auto || last.Body != "I am away." {
			t.Errorf("the out-of-office is not kept as automatic: %+v", last)
		}
		// The events: on the customer's timeline, one per message.
		evs := f.events(tk.ID)
		if count(evs, crm.EventTicketMessage) != 3 { // the first mail is ticket.created; then the reply and two customer mails
			t.Errorf("message events %v", evs)
		}
	})
}

func slices1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestOutgoingFailures: without a relay a reply says it was not sent; a
// relay's 5xx refusal fails the delivery at once.
func TestOutgoingFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		st := desk.DefaultSettings()
		st.SupportAddress = "support@shop.example"
		if _, err := f.desk.SaveSettings(admin, st); err != nil {
			t.Fatal(err)
		}
		tk := f.ticket("no relay", func(in *desk.TicketInput) { in.Channel = crm.ChannelEmail })
		m, err := f.desk.Reply(admin, tk.ID, desk.ReplyInput{Body: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		f.work()
		msgs, _ := f.desk.Messages(admin, tk.ID)
		if last := msgs[len(msgs)-1]; last.ID != m.ID || last.Delivery != crm.DeliveryFailed || !strings.Contains(last.DeliveryError, "PIVAND_SMTP_RELAY") {
			t.Errorf("without a relay: %+v", last)
		}
		relay := startSink(t)
		d := f.newDesk(desk.MailConfig{Relay: relay.addr, TLS: "none"})
		f.runner = f.newRunner(d)
		tk2 := f.ticket("refused", func(in *desk.TicketInput) {
			in.Channel = crm.ChannelEmail
			in.Customer = crm.CustomerRef{Email: "nobody@refuse.example"}
		})
		if _, err := d.Reply(admin, tk2.ID, desk.ReplyInput{Body: "hi"}); err != nil {
			t.Fatal(err)
		}
		f.work()
		msgs, _ = d.Messages(admin, tk2.ID)
		if last := msgs[len(msgs)-1]; last.Delivery != crm.DeliveryFailed || !strings.Contains(last.DeliveryError, "550") {
			t.Errorf("refused by the relay: %+v", last)
		}
		// A phone ticket's public reply is a record, not an email.
		tk3 := f.ticket("phone")
		m3, err := d.Reply(admin, tk3.ID, desk.ReplyInput{Body: "told them on the phone"})
		if err != nil || m3.Delivery != "" {
			t.Errorf("phone reply %+v %v", m3, err)
		}
	})
}
