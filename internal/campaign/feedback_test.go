package campaign_test

import (
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// headersOf is the header block of a message.
func headersOf(msg string) string {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	h, _, _ := strings.Cut(msg, "\n\n")
	return h + "\n"
}

func dsn(rcpt, action, status, original string) string {
	return "From: MAILER-DAEMON@mx.example\nTo: news@shop.example\nSubject: Undelivered Mail Returned to Sender\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n" +
		"--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\nArrival-Date: Mon, 2 Mar 2026 12:00:00 +0000\n\n" +
		"Final-Recipient: rfc822; " + rcpt + "\nOriginal-Recipient: rfc822;" + rcpt + "\nAction: " + action + "\nStatus: " + status +
		"\nDiagnostic-Code: smtp; 550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown\n\n" +
		"--b1\nContent-Type: text/rfc822-headers\n\n" + original + "\n--b1--\n"
}

func arf(rcpt, original string) string {
	return "From: fbl@mailbox.example\nTo: fbl@shop.example\nSubject: Abuse report\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b2\"\n\n" +
		"--b2\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n" +
		"--b2\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: FBL/1.0\nVersion: 1\nOriginal-Rcpt-To: " + rcpt + "\n\n" +
		"--b2\nContent-Type: message/rfc822\n\n" + original + "\nBody of the original.\n--b2--\n"
}

// TestFeedback: a DSN quoting the campaign's headers bounces the
// delivery and suppresses the address; a delay does nothing; an ARF
// complaint suppresses; a changed token finds no delivery but still
// suppresses the named recipient; a message that is no report is a 422.
func TestFeedback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		ana := f.person("Ana", "ana@example.com", "", "en", nil, "email")
		ben := f.person("Ben", "ben@example.com", "", "en", nil, "email")
		cyd := f.person("Cyd", "cyd@example.com", "", "en", nil, "email")
		c := f.emailCampaign("Spring", welcome)
		f.svc.Start(sys, c.ID)
		f.drain(5)
		anaHdr, benHdr := headersOf(f.sink.message("ana@example.com")), headersOf(f.sink.message("ben@example.com"))
		if !strings.Contains(anaHdr, "/c/u/") {
			t.Fatalf("no unsubscribe token in the headers:\n%s", anaHdr)
		}
		// A delay: nothing happens.
		res, err := f.svc.HandleFeedback(sys, []byte(dsn("ana@example.com", "delayed", "4.2.2", anaHdr)))
		if err != nil || res.Kind != campaign.FeedbackDelay || res.Suppressed != "" {
			t.Fatalf("delay: %+v %v", res, err)
		}
		// The bounce, with the recipient as the mailbox rewrote it.
		res, err = f.svc.HandleFeedback(sys, []byte(dsn("ANA@Example.com", "failed", "5.1.1", anaHdr)))
		ds := f.deliveries(c.ID)
		if err != nil || res.Kind != campaign.FeedbackBounce || res.DeliveryID != ds[ana].ID || res.Suppressed != "ana@example.com" || res.Status != "5.1.1" {
			t.Fatalf("bounce: %+v %v", res, err)
		}
		if ds[ana].BouncedAt == nil {
			t.Errorf("the delivery is not marked bounced")
		}
		// A complaint through the feedback loop.
		res, err = f.svc.HandleFeedback(sys, []byte(arf("ben@example.com", benHdr)))
		if err != nil || res.Kind != campaign.FeedbackComplaint || res.DeliveryID != ds[ben].ID || res.Suppressed != "ben@example.com" {
			t.Fatalf("complaint: %+v %v", res, err)
		}
		// A changed token names no delivery; the recipient is suppressed.
		forged := strings.Replace(headersOf(f.sink.message("cyd@example.com")), "/c/u/", "/c/u/9", 1)
		res, err = f.svc.HandleFeedback(sys, []byte(dsn("cyd@example.com", "failed", "5.2.1", forged)))
		if err != nil || res.DeliveryID != 0 || res.Suppressed != "cyd@example.com" {
			t.Fatalf("forged token: %+v %v", res, err)
		}
		for _, bad := range []string{"hello", "Subject: x\n\nnot a report", dsn("", "failed", "5.1.1", "Subject: x\n")} {
			if _, err := f.svc.HandleFeedback(sys, []byte(bad)); crm.ErrorCode(err) != crm.EINVALID {
				t.Errorf("%.30q: %v", bad, err)
			}
		}
		// The next campaign skips all three.
		c2 := f.emailCampaign("Summer", welcome)
		f.svc.Start(sys, c2.ID)
		f.drain(5)
		d2 := f.deliveries(c2.ID)
		for id, want := range map[int64]string{ana: "hard_bounce", ben: "complaint", cyd: "hard_bounce"} {
			if d2[id].Status != crm.MessageSkipped || d2[id].Reason != want {
				t.Errorf("contact %d in the next campaign: %s %s, want skipped %s", id, d2[id].Status, d2[id].Reason, want)
			}
		}
		r, _ := f.svc.Results(sys, c.ID)
		if r.Bounced != 1 {
			t.Errorf("bounced %d, want 1", r.Bounced)
		}
	})
}

// FuzzParseFeedback: no input panics, and what parses has a kind.
func FuzzParseFeedback(f *testing.F) {
	f.Add([]byte(dsn("a@example.com", "failed", "5.1.1", "List-Unsubscribe: <https://crm.example.com/c/u/12.abcdefghijklmnop>\n")))
	f.Add([]byte(arf("a@example.com", "Subject: hi\n")))
	f.Add([]byte("Content-Type: multipart/report; boundary=x\n\n--x\n"))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nAction: failed\n--x--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb, err := campaign.ParseFeedback(raw)
		if err == nil && fb.Kind == "" {
			t.Fatalf("parsed without a kind: %+v", fb)
		}
	})
}
