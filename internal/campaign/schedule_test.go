package campaign_test

import (
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// runDue runs the jobs due now and returns how many ran.
func (f *fixture) runDue() int {
	f.t.Helper()
	n, err := f.runner.RunOnce(sys)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) status(id int64) *crm.Campaign {
	f.t.Helper()
	c, err := f.svc.Get(sys, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) auditActions(id int64) []string {
	f.t.Helper()
	var out []string
	err := f.db.Read(sys, func(tx *store.Tx) error {
		es, _, err := tx.ListAudit(sys, crm.AuditFilter{EntityType: "campaign", EntityID: id, Limit: 50})
		for i := len(es) - 1; i >= 0; i-- {
			out = append(out, es[i].Action)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		f.person("Ana", "ana@example.com", "", "en", nil, "email")
		c := f.emailCampaign("Friday", welcome)

		for _, at := range []time.Time{{}, noon.Add(-time.Minute), noon, noon.Add(400 * 24 * time.Hour)} {
			_, err := f.svc.Schedule(sys, c.ID, at)
			if e, ok := err.(*crm.Error); !ok || e.Code != crm.EINVALID || e.Fields["scheduled_at"] == "" {
				t.Fatalf("schedule at %v: %v, want a field error on scheduled_at", at, err)
			}
		}
		at := noon.Add(time.Hour)
		got, err := f.svc.Schedule(sys, c.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != crm.CampaignScheduled || got.ScheduledAt == nil || !got.ScheduledAt.Equal(at) {
			t.Fatalf("scheduled: %s %v", got.Status, got.ScheduledAt)
		}
		if n := f.runDue(); n != 0 {
			t.Fatalf("%d jobs ran an hour early", n)
		}
		// Moved later: the job left for the first time finds it not due.
		later := noon.Add(3 * time.Hour)
		if _, err := f.svc.Schedule(sys, c.ID, later); err != nil {
			t.Fatal(err)
		}
		f.advance(61 * time.Minute)
		if n := f.runDue(); n != 1 {
			t.Fatalf("the first time's job: %d ran", n)
		}
		if got := f.status(c.ID); got.Status != crm.CampaignScheduled || f.sink.total() != 0 {
			t.Fatalf("after the first time: %s, %d sent", got.Status, f.sink.total())
		}
		// Someone added after scheduling is in the audience: it is read at
		// the start.
		f.person("Bahar", "bahar@example.com", "", "fa", nil, "email")
		f.advance(2 * time.Hour)
		f.drain(20)
		got = f.status(c.ID)
		if got.Status != crm.CampaignDone || f.sink.total() != 2 || got.StartedAt == nil || got.StartedAt.Before(later) {
			t.Fatalf("after the time: %s, %d sent, started %v", got.Status, f.sink.total(), got.StartedAt)
		}
		if got.ScheduledAt == nil || !got.ScheduledAt.Equal(later) {
			t.Errorf("scheduled_at after the start: %v", got.ScheduledAt)
		}
		if a := f.auditActions(c.ID); len(a) < 4 || a[1] != "campaign.schedule" || a[2] != "campaign.schedule" || a[3] != "campaign.start" {
			t.Errorf("audit: %v", a)
		}
		if _, err := f.svc.Schedule(sys, c.ID, f.now.Add(time.Hour)); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("scheduling a sent campaign: %v", err)
		}

		// Unscheduled: a draft again, nothing sent when the time comes.
		u := f.emailCampaign("Unscheduled", welcome)
		if _, err := f.svc.Schedule(sys, u.ID, f.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.Unschedule(sys, u.ID); err != nil || got.Status != crm.CampaignDraft || got.ScheduledAt != nil {
			t.Fatalf("unschedule: %v %+v", err, got)
		}
		if _, err := f.svc.Unschedule(sys, u.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("unscheduling a draft: %v", err)
		}
		// Sent now instead: Start works on a scheduled campaign.
		n := f.emailCampaign("Now", welcome)
		if _, err := f.svc.Schedule(sys, n.ID, f.now.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(sys, n.ID); err != nil {
			t.Fatal(err)
		}
		// Cancelled while scheduled.
		x := f.emailCampaign("Cancelled", welcome)
		if _, err := f.svc.Schedule(sys, x.ID, f.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Cancel(sys, x.ID); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Hour)
		f.drain(20)
		if got := f.status(u.ID); got.Status != crm.CampaignDraft {
			t.Errorf("unscheduled campaign: %s", got.Status)
		}
		if got := f.status(n.ID); got.Status != crm.CampaignDone {
			t.Errorf("scheduled then started: %s", got.Status)
		}
		if got := f.status(x.ID); got.Status != crm.CampaignCancelled {
			t.Errorf("cancelled while scheduled: %s", got.Status)
		}
		if f.sink.total() != 4 {
			t.Errorf("%d messages in all, want 4 (2 scheduled, 2 sent now)", f.sink.total())
		}

		// What no longer holds at the time (the sender setting emptied):
		// the campaign is a draft again, with the reason in the audit log.
		b := f.emailCampaign("Broken", welcome)
		if _, err := f.svc.Schedule(sys, b.ID, f.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, err := f.svc.Settings(sys)
		if err != nil {
			t.Fatal(err)
		}
		st.FromAddress = ""
		if _, err := f.svc.SaveSettings(sys, st); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Hour)
		f.drain(20)
		if got := f.status(b.ID); got.Status != crm.CampaignDraft || got.ScheduledAt != nil {
			t.Errorf("broken scheduled campaign: %s %v", got.Status, got.ScheduledAt)
		}
		if a := f.auditActions(b.ID); a[len(a)-1] != "campaign.schedule_failed" {
			t.Errorf("audit: %v", a)
		}
		if f.sink.total() != 4 {
			t.Errorf("%d messages in all after the broken one, want 4", f.sink.total())
		}
	})
}
