package sales_test

import (
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
)

// An update that moves a deal into a lost stage (another pipeline's, or
// with MoveStage its own) takes the lost reason as a move does; a missing
// required reason refuses the whole update, the other fields included.
// The events are those of an update followed by a move.
func TestUpdateDealIntoLostStage(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, admin := f.as(f.rep), f.as(f.admin)
		reason, err := f.sales.CreateLostReason(admin, "Too expensive")
		if err != nil {
			t.Fatal(err)
		}
		other := f.pipeline("Other", "IRR", []string{"Start"}, []int{10})
		otherLost, _ := other.StageOfKind(crm.StageLost)
		lost, qualified := f.stage("Lost"), f.stage("Qualified")

		// Another pipeline's lost stage: the reason is required.
		d := f.deal(rep, "Across", 100, "Lead in")
		before := f.snapshot()
		_, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Title: ptr("Renamed"), PipelineID: &other.ID, StageID: &otherLost.ID, Version: d.Version})
		fieldErr(t, err, crm.EINVALID, "lost_reason_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused update changed something:\n%s\n%s", before, after)
		}
		got, err := f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Title: ptr("Renamed"), PipelineID: &other.ID, StageID: &otherLost.ID,
			LostReasonID: reason.ID, LostNote: "cheaper elsewhere", Version: d.Version})
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Renamed" || got.PipelineID != other.ID || got.Status != crm.DealLost || got.LostReasonID != reason.ID ||
			got.LostNote != "cheaper elsewhere" || got.ClosedAt == nil {
			t.Fatalf("moved into the other pipeline's lost stage: %+v", got)
		}
		types, pl := f.dealEvents(d.ID)
		if strings.Join(types, " ") != "deal.created deal.updated deal.stage_changed deal.lost" {
			t.Fatalf("events: %v", types)
		}
		if p := pl["deal.lost"]; p["reason"] != "Too expensive" || p["reason_id"] != float64(reason.ID) || p["note"] != "cheaper elsewhere" {
			t.Fatalf("deal.lost payload = %v", p)
		}

		// Its own pipeline's lost stage, with MoveStage: refused without a
		// reason, the new title not saved.
		d = f.deal(rep, "Within", 100, "Lead in")
		before = f.snapshot()
		_, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Title: ptr("Renamed too"), StageID: &lost.ID, MoveStage: true, Version: d.Version})
		fieldErr(t, err, crm.EINVALID, "lost_reason_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused update changed something:\n%s\n%s", before, after)
		}
		if now, _ := f.sales.Deal(rep, d.ID); now.Title != "Within" || now.Version != d.Version {
			t.Fatalf("refused update saved the fields: %+v", now)
		}
		// Without MoveStage a stage of its own pipeline stays refused.
		_, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{StageID: &lost.ID, LostReasonID: reason.ID})
		fieldErr(t, err, crm.EINVALID, "stage_id")
		// With the reason: the update, then the move, as Move makes it.
		got, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Title: ptr("Renamed too"), StageID: &lost.ID, MoveStage: true,
			LostReasonID: reason.ID, LostNote: "n", Version: d.Version})
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Renamed too" || got.Status != crm.DealLost || got.LostReasonID != reason.ID || got.LostNote != "n" || got.Version != d.Version+2 {
			t.Fatalf("moved into the lost stage: %+v", got)
		}
		types, pl = f.dealEvents(d.ID)
		if strings.Join(types, " ") != "deal.created deal.updated deal.stage_changed deal.lost" {
			t.Fatalf("events: %v", types)
		}
		if p := pl["deal.updated"]; p["title"] != "Renamed too" || p["stage_id"] != float64(f.stage("Lead in").ID) {
			t.Fatalf("deal.updated payload = %v", p)
		}
		if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE entity_type = 'deal' AND entity_id = ? AND action IN ('deal.update', 'deal.move')`, d.ID); n != 2 {
			t.Fatalf("audit entries: %d", n)
		}

		// A move to an open stage ignores a lost reason; no other change
		// writes no deal.updated.
		d = f.deal(rep, "Open move", 100, "Lead in")
		got, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Title: ptr("Open move"), StageID: &qualified.ID, MoveStage: true, LostReasonID: reason.ID, LostNote: "x"})
		if err != nil || got.StageID != qualified.ID || got.LostReasonID != 0 || got.LostNote != "" || got.Status != crm.DealOpen {
			t.Fatalf("moved to an open stage: %+v %v", got, err)
		}
		if types, _ := f.dealEvents(d.ID); strings.Join(types, " ") != "deal.created deal.stage_changed" {
			t.Fatalf("events: %v", types)
		}
	})
}
