package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// dealEventTypes lists the types of the events about deal id, oldest first.
func (e *env) dealEventTypes(id int64) string {
	e.t.Helper()
	var types []string
	err := e.db.Read(e.t.Context(), func(tx *store.Tx) error {
		rows, err := tx.Query(e.t.Context(), `SELECT type FROM events WHERE subject_type = 'deal' AND subject_id = ? ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			types = append(types, s)
		}
		return rows.Err()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Join(types, " ")
}

// POST /deals into the won or lost stage closes the deal as a move there
// would: the lost reason is required (422 naming lost_reason_id) and
// deal.won or deal.lost follows deal.created.
func TestDealCreateClosedAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSalesEnv(t, db)
		var p crm.Pipeline
		res := e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Main","currency":"IRR","stages":[{"name":"Lead in","probability":10}]}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create pipeline: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &p)
		won, lost := p.Stages[1].ID, p.Stages[2].ID
		if p.Stages[1].Kind != crm.StageWon || p.Stages[2].Kind != crm.StageLost {
			t.Fatalf("stages %+v", p.Stages)
		}
		var reason crm.LostReason
		e.do("POST", "/api/v1/lost-reasons", e.rw, `{"name":"Price"}`).JSON(t, &reason)

		res = e.do("POST", "/api/v1/deals", e.rw, fmt.Sprintf(`{"title":"Lost at once","stage_id":%d}`, lost))
		if res.problem(t, http.StatusUnprocessableEntity).field("lost_reason_id") == "" {
			t.Fatalf("create lost without a reason: %s", res.Body)
		}
		if n := strings.Count(string(e.do("GET", "/api/v1/deals", e.ro, "").Body), `"title"`); n != 0 {
			t.Fatalf("a refused create left %d deals", n)
		}

		res = e.do("POST", "/api/v1/deals", e.rw, fmt.Sprintf(`{"title":"Lost at once","stage_id":%d,"lost_reason_id":%d,"lost_note":"cheaper elsewhere"}`, lost, reason.ID))
		if res.Status != http.StatusCreated {
			t.Fatalf("create lost: %d %s", res.Status, res.Body)
		}
		var d crm.Deal
		res.JSON(t, &d)
		if d.Status != crm.DealLost || d.LostReasonID != reason.ID || d.LostNote != "cheaper elsewhere" || d.ClosedAt == nil {
			t.Fatalf("created lost: %s", res.Body)
		}
		if got := e.dealEventTypes(d.ID); got != "deal.created deal.lost" {
			t.Fatalf("events of a deal created lost: %s", got)
		}

		res = e.do("POST", "/api/v1/deals", e.rw, fmt.Sprintf(`{"title":"Won at once","stage_id":%d,"value":5000}`, won))
		res.JSON(t, &d)
		if res.Status != http.StatusCreated || d.Status != crm.DealWon || d.ClosedAt == nil {
			t.Fatalf("create won: %d %s", res.Status, res.Body)
		}
		if got := e.dealEventTypes(d.ID); got != "deal.created deal.won" {
			t.Fatalf("events of a deal created won: %s", got)
		}
	})
}

// PATCH /deals/{id} moving a deal into another pipeline's lost stage takes
// lost_reason_id and lost_note as a move does: without a required reason
// it is a 422 naming lost_reason_id that changes nothing.
func TestDealPatchIntoLostStageAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSalesEnv(t, db)
		var main, other crm.Pipeline
		e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Main","currency":"IRR","stages":[{"name":"Lead in","probability":10}]}`).JSON(t, &main)
		res := e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Other","currency":"IRR","stages":[{"name":"Start","probability":10}]}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create pipeline: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &other)
		otherLost := other.Stages[2].ID
		if other.Stages[2].Kind != crm.StageLost {
			t.Fatalf("stages %+v", other.Stages)
		}
		var reason crm.LostReason
		e.do("POST", "/api/v1/lost-reasons", e.rw, `{"name":"Price"}`).JSON(t, &reason)
		var d crm.Deal
		e.do("POST", "/api/v1/deals", e.rw, fmt.Sprintf(`{"title":"Across","pipeline_id":%d}`, main.ID)).JSON(t, &d)
		if d.ID == 0 || d.PipelineID != main.ID {
			t.Fatalf("deal %+v", d)
		}
		path := fmt.Sprintf("/api/v1/deals/%d", d.ID)

		res = e.do("PATCH", path, e.rw, fmt.Sprintf(`{"title":"Renamed","pipeline_id":%d,"stage_id":%d,"version":%d}`, other.ID, otherLost, d.Version))
		if res.problem(t, http.StatusUnprocessableEntity).field("lost_reason_id") == "" {
			t.Fatalf("patch into lost without a reason: %s", res.Body)
		}
		var now crm.Deal
		e.do("GET", path, e.ro, "").JSON(t, &now)
		if now.Title != "Across" || now.Version != d.Version || now.PipelineID != main.ID {
			t.Fatalf("a refused patch changed the deal: %+v", now)
		}

		res = e.do("PATCH", path, e.rw, fmt.Sprintf(`{"title":"Renamed","pipeline_id":%d,"stage_id":%d,"lost_reason_id":%d,"lost_note":"cheaper elsewhere","version":%d}`,
			other.ID, otherLost, reason.ID, d.Version))
		if res.Status != http.StatusOK {
			t.Fatalf("patch into lost: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &now)
		if now.Title != "Renamed" || now.PipelineID != other.ID || now.StageID != otherLost || now.Status != crm.DealLost ||
			now.LostReasonID != reason.ID || now.LostNote != "cheaper elsewhere" || now.ClosedAt == nil {
			t.Fatalf("patched into lost: %s", res.Body)
		}
		if got := e.dealEventTypes(d.ID); got != "deal.created deal.updated deal.stage_changed deal.lost" {
			t.Fatalf("events: %s", got)
		}
	})
}
