package desk_test

import (
	"context"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy() // first response 60, resolution 240 working minutes
		admin := as(f.admin)
		start := f.now
		// Ali answers in 10 minutes and solves in 30; Bita answers in 90
		// (late) and solves in 120; one ticket stays open; one by email.
		fast := f.ticket("fast", func(in *desk.TicketInput) { in.AssigneeID = f.ali.ID; in.Category = "billing" })
		slow := f.ticket("slow", func(in *desk.TicketInput) { in.AssigneeID = f.bita.ID; in.Category = "billing" })
		f.ticket("open", func(in *desk.TicketInput) { in.Channel = crm.ChannelEmail; in.Priority = crm.PriorityHigh })
		f.advance(10 * time.Minute)
		f.desk.Reply(as(f.ali), fast.ID, desk.ReplyInput{Body: "on it"})
		f.advance(20 * time.Minute)
		f.desk.SetStatus(as(f.ali), fast.ID, crm.TicketSolved, 0)
		f.advance(60 * time.Minute)
		f.work()
		f.desk.Reply(as(f.bita), slow.ID, desk.ReplyInput{Body: "sorry"})
		f.advance(30 * time.Minute)
		f.desk.SetStatus(as(f.bita), slow.ID, crm.TicketSolved, 0)
		f.desk.CreateReturn(admin, slow.ID, desk.ReturnInput{Product: "Printer", Reason: crm.ReturnDefect, Quantity: 2})
		f.desk.CreateReturn(admin, fast.ID, desk.ReturnInput{Product: "Printer", Reason: crm.ReturnLate})
		svs, _ := f.desk.TicketSurveys(admin, fast.ID)
		link, _ := f.desk.SurveyLink(admin, svs[0].ID)
		token := link[len("https://crm.example.com/survey/"):]
		if _, err := f.desk.AnswerSurvey(context.Background(), token, 5, ""); err != nil {
			t.Fatal(err)
		}
		r, err := f.desk.Report(admin, desk.ReportPeriod{From: start.Add(-time.Hour), To: f.now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Active != 1 || r.Backlog[crm.TicketNew][crm.PriorityHigh] != 1 || r.NewCount != 3 || r.SolvedN != 2 {
			t.Errorf("backlog %v active %d created %d solved %d", r.Backlog, r.Active, r.NewCount, r.SolvedN)
		}
		if len(r.ByChannel) != 2 || r.ByChannel[0] != (desk.ReportCount{Key: crm.ChannelPhone, N: 2}) || r.ByCategory[0] != (desk.ReportCount{Key: "billing", N: 2}) {
			t.Errorf("volume %v %v", r.ByChannel, r.ByCategory)
		}
		if len(r.Agents) != 2 || r.Agents[0].ID != f.ali.ID || r.Agents[0].FirstResponse.Median != 10*time.Minute ||
			r.Agents[0].Resolution.Median != 30*time.Minute || r.Agents[1].Resolution.Median != 120*time.Minute {
			t.Errorf("agents %+v", r.Agents)
		}
		if len(r.Teams) != 0 || r.Overall.Solved != 2 || r.Overall.Resolution.Average != 75*time.Minute {
			t.Errorf("teams %+v overall %+v", r.Teams, r.Overall)
		}
		fr := r.SLA[0]
		if fr.Metric != crm.MetricFirstResponse || fr.Hit != 1 || fr.Missed != 1 || fr.Breached != 1 || fr.Rate != 1.0/3 {
			t.Errorf("sla %+v", r.SLA)
		}
		if r.CSAT.Answers != 1 || r.CSAT.Sent != 2 || r.CSAT.Average != 5 || r.CSAT.Ratings[4] != 1 || r.CSAT.ByAgent[0].ID != f.ali.ID {
			t.Errorf("csat %+v", r.CSAT)
		}
		if len(r.Returns) != 1 || r.Returns[0].Total != 3 || r.Returns[0].Reasons[crm.ReturnDefect] != 2 {
			t.Errorf("returns %+v", r.Returns)
		}
	})
}
