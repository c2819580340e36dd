package desk_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
)

// TestSurvey: one survey per resolution, through a link; the agent who
// solved the ticket cannot answer it, the customer can, once; the rating
// lands on the ticket and on the customer's timeline.
func TestSurvey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		relay := startSink(t)
		d := f.newDesk(desk.MailConfig{Relay: relay.addr, TLS: "none"})
		f.desk, f.runner = d, f.newRunner(d)
		admin := as(f.admin)
		st := desk.DefaultSettings()
		st.SupportAddress = "support@shop.example"
		if _, err := d.SaveSettings(admin, st); err != nil {
			t.Fatal(err)
		}
		tk := f.ticket("Late delivery", func(in *desk.TicketInput) { in.Channel = crm.ChannelEmail; in.AssigneeID = f.ali.ID })
		if _, err := d.SetStatus(as(f.ali), tk.ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		f.work()
		var link string
		for _, m := range relay.all() {
			if strings.Contains(m.msg.Text, "https://crm.example.com/survey/") {
				i := strings.Index(m.msg.Text, "https://crm.example.com/survey/")
				link = strings.Fields(m.msg.Text[i:])[0]
				if m.msg.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(m.msg.Subject, tk.SubjectToken()) {
					t.Errorf("survey mail %q %q", m.msg.Header.Get("Auto-Submitted"), m.msg.Subject)
				}
			}
		}
		if link == "" {
			t.Fatalf("no survey link mailed (%d messages)", len(relay.all()))
		}
		token := strings.TrimPrefix(link, "https://crm.example.com/survey/")
		ps, err := d.SurveyByToken(context.Background(), token)
		if err != nil || ps.Ticket != tk.ID || ps.Survey.AgentID != f.ali.ID || ps.Expired {
			t.Fatalf("survey %+v %v", ps, err)
		}
		if _, err := d.SurveyByToken(context.Background(), token[:len(token)-2]+"xx"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("forged token: %v", err)
		}
		if _, err := d.AnswerSurvey(as(f.ali), token, 5, "great"); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("the assigned agent answered their own survey: %v", err)
		}
		if _, err := d.AnswerSurvey(as(f.bita), token, 5, ""); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("another agent answered: %v", err)
		}
		if _, err := d.AnswerSurvey(context.Background(), token, 9, ""); crm.ErrorFields(err)["rating"] == "" {
			t.Errorf("rating 9: %v", err)
		}
		sv, err := d.AnswerSurvey(context.Background(), token, 4, "سریع بود، ممنون")
		if err != nil || sv.Rating != 4 || sv.AnsweredAt == nil {
			t.Fatalf("answer %+v %v", sv, err)
		}
		if _, err := d.AnswerSurvey(context.Background(), token, 1, "changed my mind"); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("second answer: %v", err)
		}
		tk, _ = d.Ticket(admin, tk.ID)
		if tk.Rating != 4 {
			t.Errorf("ticket rating %d", tk.Rating)
		}
		evs, _, err := timelineOf(f, tk.ContactID)
		if err != nil || count(evs, crm.EventSurveyAnswered) != 1 {
			t.Errorf("timeline %v %v", evs, err)
		}
		// Reopened and solved again: a second survey, for resolution 2.
		if _, err := d.SetStatus(admin, tk.ID, crm.TicketOpen, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SetStatus(admin, tk.ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		svs, err := d.TicketSurveys(admin, tk.ID)
		if err != nil || len(svs) != 2 || svs[1].Resolution != 2 || svs[1].Rating != 0 {
			t.Fatalf("surveys %+v %v", svs, err)
		}
		link2, err := d.SurveyLink(admin, svs[1].ID)
		if err != nil || link2 == link || !strings.HasPrefix(link2, "https://crm.example.com/survey/") {
			t.Errorf("second link %q %v", link2, err)
		}
		// Expired links are refused.
		f.advance(15 * 24 * time.Hour)
		if _, err := d.AnswerSurvey(context.Background(), strings.TrimPrefix(link2, "https://crm.example.com/survey/"), 3, ""); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("expired survey: %v", err)
		}
	})
}

func timelineOf(f *fixture, contactID int64) ([]string, string, error) {
	var out []string
	err := f.db.Read(sys, func(tx *store.Tx) error {
		evs, _, err := tx.FindTimeline(sys, "contact", contactID, crm.Page{Limit: 500})
		for _, e := range evs {
			out = append(out, e.Type)
		}
		return err
	})
	return out, "", err
}

func TestReturns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		orders := order.New(db, order.Options{Resolve: f.contacts.ResolveCustomer})
		o, _, err := orders.Create(admin, order.Input{Currency: "IRR", Customer: crm.CustomerRef{Email: "sara@example.com"},
			Lines: []order.LineInput{{SKU: "P-1", Name: "Printer", Quantity: 2, UnitPrice: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := orders.Create(admin, order.Input{Currency: "IRR", Customer: crm.CustomerRef{Email: "omid@example.com"},
			Lines: []order.LineInput{{SKU: "P-2", Name: "Toner", Quantity: 1, UnitPrice: 100}}})
		if err != nil {
			t.Fatal(err)
		}
		tk := f.ticket("Printer jams")
		if tk.ContactID != o.ContactID {
			t.Fatalf("ticket customer %d, order customer %d", tk.ContactID, o.ContactID)
		}
		r, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: o.Lines[0].ID, Quantity: 1, Reason: crm.ReturnDefect, Notes: "Jams on thick paper"})
		if err != nil || r.OrderID != o.ID || r.Product != "Printer" || r.SKU != "P-1" || r.Resolution != "" {
			t.Fatalf("return %+v %v", r, err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: other.Lines[0].ID, Reason: crm.ReturnDefect}); crm.ErrorFields(err)["order_line_id"] == "" {
			t.Errorf("someone else's order line: %v", err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: o.Lines[0].ID, Quantity: 3, Reason: crm.ReturnDefect}); crm.ErrorFields(err)["quantity"] == "" {
			t.Errorf("more than bought: %v", err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{Reason: "meh"}); crm.ErrorFields(err)["reason"] == "" || crm.ErrorFields(err)["product"] == "" {
			t.Errorf("bad return: %v", err)
		}
		free, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{Product: "کابل USB", Reason: crm.ReturnWrongItem})
		if err != nil || free.OrderID != 0 || free.Quantity != 1 {
			t.Fatalf("free-text return %+v %v", free, err)
		}
		refund := crm.ResolutionRefund
		r, err = f.desk.UpdateReturn(admin, r.ID, desk.ReturnPatch{Resolution: &refund})
		if err != nil || r.Resolution != refund || r.ResolvedAt == nil {
			t.Fatalf("resolve %+v %v", r, err)
		}
		bad := "eaten"
		if _, err := f.desk.UpdateReturn(admin, r.ID, desk.ReturnPatch{Resolution: &bad}); crm.ErrorFields(err)["resolution"] == "" {
			t.Errorf("bad resolution: %v", err)
		}
		list, _, err := f.desk.Returns(admin, store.ReturnRequestFilter{Open: true})
		if err != nil || len(list) != 1 || list[0].ID != free.ID {
			t.Errorf("open returns %+v %v", list, err)
		}
		evs := f.events(tk.ID)
		if count(evs, crm.EventReturnRequested) != 2 || count(evs, crm.EventReturnResolved) != 1 {
			t.Errorf("events %v", evs)
		}
	})
}

func TestCannedReplies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.ali)
		c, err := f.desk.SaveCannedReply(ctx, crm.CannedReply{Name: "Thanks", Bodies: map[string]string{
			"en": "Hello {customer_name}, about {ticket_number} ({subject}): done. — {agent_name}",
			"fa": "سلام {customer_name}، درخواست {ticket_number} انجام شد. — {agent_name}",
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SaveCannedReply(ctx, crm.CannedReply{Name: "x", Bodies: map[string]string{"de": "Hallo"}}); crm.ErrorFields(err)["bodies"] == "" {
			t.Errorf("German body: %v", err)
		}
		tk := f.ticket("Order status", func(in *desk.TicketInput) {
			in.Customer = crm.CustomerRef{Email: "reza@example.com", FirstName: "رضا", LastName: "کریمی"}
		})
		body, lang, err := f.desk.RenderCanned(ctx, c.ID, tk.ID, "fa")
		want := "سلام رضا کریمی، درخواست #" + persian(tk.ID) + " انجام شد. — Ali"
		if err != nil || lang != "fa" || body != want {
			t.Errorf("fa: %q (%s) %v, want %q", body, lang, err, want)
		}
		body, lang, _ = f.desk.RenderCanned(ctx, c.ID, tk.ID, "ar") // no Arabic text: English
		if lang != "en" || !strings.Contains(body, "Order status") {
			t.Errorf("ar fallback: %q (%s)", body, lang)
		}
	})
}

func persian(n int64) string { return text.ToPersianDigits(strconv.FormatInt(n, 10)) }
