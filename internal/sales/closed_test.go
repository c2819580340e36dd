package sales_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
)

// dealEvents returns the types of the events about deal id, oldest first,
// and their payloads by type.
func (f *fixture) dealEvents(id int64) ([]string, map[string]map[string]any) {
	f.t.Helper()
	var types []string
	payloads := map[string]map[string]any{}
	err := f.db.Read(sys, func(tx *store.Tx) error {
		rows, err := tx.Query(sys, `SELECT type, payload FROM events WHERE subject_type = 'deal' AND subject_id = ? ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var typ string
			var raw []byte
			if err := rows.Scan(&typ, &raw); err != nil {
				return err
			}
			m := map[string]any{}
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			types = append(types, typ)
			payloads[typ] = m
		}
		return rows.Err()
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return types, payloads
}

func keysOf(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// A deal created in a won or lost stage is closed as a move there closes
// one: the lost reason is checked the same way, and deal.won or deal.lost
// (with the payload a move writes) follows deal.created.
func TestCreateDealClosed(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, admin := f.as(f.rep), f.as(f.admin)
		c, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Ali"}, false)
		reason, err := f.sales.CreateLostReason(admin, "Too expensive")
		if err != nil {
			t.Fatal(err)
		}
		retired, _ := f.sales.CreateLostReason(admin, "Old reason")
		if _, err := f.sales.UpdateLostReason(admin, retired.ID, sales.LostReasonUpdate{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		lost, won := f.stage("Lost"), f.stage("Won")

		// The settings require a reason: none, or a retired one, is a 422
		// naming lost_reason_id, and nothing is written.
		before := f.snapshot()
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "Lost at once", Value: ptr(int64(700)), StageID: lost.ID})
		fieldErr(t, err, crm.EINVALID, "lost_reason_id")
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "Lost at once", StageID: lost.ID, LostReasonID: retired.ID})
		fieldErr(t, err, crm.EINVALID, "lost_reason_id")
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "", StageID: lost.ID, LostNote: strings.Repeat("x", 2001)})
		fieldErr(t, err, crm.EINVALID, "title", "lost_reason_id", "lost_note")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused create changed something:\n%s\n%s", before, after)
		}

		// With a reason: lost, closed, and deal.lost as a move writes it.
		dl, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Lost at once", Value: ptr(int64(700)), StageID: lost.ID, ContactID: c.ID,
			LostReasonID: reason.ID, LostNote: "bought elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		if dl.Status != crm.DealLost || dl.ClosedAt == nil || dl.LostReasonID != reason.ID || dl.LostNote != "bought elsewhere" {
			t.Fatalf("created lost: %+v", dl)
		}
		types, pl := f.dealEvents(dl.ID)
		if strings.Join(types, " ") != "deal.created deal.lost" {
			t.Fatalf("events of a deal created lost: %v", types)
		}
		if p := pl["deal.lost"]; p["reason"] != "Too expensive" || p["reason_id"] != float64(reason.ID) || p["note"] != "bought elsewhere" || p["status"] != crm.DealLost {
			t.Fatalf("deal.lost payload = %v", p)
		}
		if n := f.count(`SELECT COUNT(*) FROM events WHERE type = 'deal.lost' AND subject_id = ? AND contact_id = ?`, dl.ID, c.ID); n != 1 {
			t.Fatalf("deal.lost on the person's timeline: %d", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deal.create' AND entity_id = ?`, dl.ID); n != 1 {
			t.Fatalf("audit entries: %d", n)
		}
		// The same payload as losing a deal by a move.
		moved := f.deal(rep, "Lost by a move", 100, "Proposal")
		if _, err := f.sales.Lose(rep, moved.ID, sales.MoveInput{LostReasonID: reason.ID, LostNote: "n"}); err != nil {
			t.Fatal(err)
		}
		_, mpl := f.dealEvents(moved.ID)
		if keysOf(pl["deal.lost"]) != keysOf(mpl["deal.lost"]) {
			t.Fatalf("deal.lost payloads differ: created %v, moved %v", pl["deal.lost"], mpl["deal.lost"])
		}

		// A won stage: won, closed, deal.won; a lost reason sent is dropped
		// as a move to a won stage drops it.
		dw, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Won at once", Value: ptr(int64(900)), StageID: won.ID, LostReasonID: reason.ID})
		if err != nil {
			t.Fatal(err)
		}
		if dw.Status != crm.DealWon || dw.ClosedAt == nil || dw.LostReasonID != 0 {
			t.Fatalf("created won: %+v", dw)
		}
		types, pl = f.dealEvents(dw.ID)
		if strings.Join(types, " ") != "deal.created deal.won" {
			t.Fatalf("events of a deal created won: %v", types)
		}
		movedWon := f.deal(rep, "Won by a move", 100, "Proposal")
		if _, err := f.sales.Win(rep, movedWon.ID, 0); err != nil {
			t.Fatal(err)
		}
		_, mpl = f.dealEvents(movedWon.ID)
		if keysOf(pl["deal.won"]) != keysOf(mpl["deal.won"]) || pl["deal.won"]["status"] != crm.DealWon {
			t.Fatalf("deal.won payloads differ: created %v, moved %v", pl["deal.won"], mpl["deal.won"])
		}
		// An open stage writes deal.created only.
		open := f.deal(rep, "Open", 100, "Lead in")
		if types, _ := f.dealEvents(open.ID); strings.Join(types, " ") != "deal.created" {
			t.Fatalf("events of an open deal: %v", types)
		}

		// The reports count them: two won, two lost for "Too expensive".
		o, err := f.sales.Outcomes(rep, 0, sales.Period{From: f.now.AddDate(0, 0, -1), To: f.now.AddDate(0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if o.Won != 2 || o.Lost != 2 || len(o.Reasons) != 1 || o.Reasons[0].Name != "Too expensive" {
			t.Fatalf("outcomes %+v", o)
		}

		// Without the requirement, a deal may be created lost with no reason.
		set, err := f.sales.Settings(admin)
		if err != nil {
			t.Fatal(err)
		}
		set.RequireLostReason = false
		if _, err := f.sales.SaveSettings(admin, set); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Minute)
		dn, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "No reason", StageID: lost.ID})
		if err != nil || dn.Status != crm.DealLost || dn.LostReasonID != 0 {
			t.Fatalf("created lost without a required reason: %+v %v", dn, err)
		}
		if types, _ := f.dealEvents(dn.ID); strings.Join(types, " ") != "deal.created deal.lost" {
			t.Fatalf("events: %v", types)
		}
	})
}

// Converting a lead into a lost deal takes the lost reason the same way
// (errors named deal.<field>).
func TestConvertLeadIntoLostStage(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, admin := f.as(f.rep), f.as(f.admin)
		reason, _ := f.sales.CreateLostReason(admin, "No budget")
		l, err := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "Nima", CompanyName: "Azadi Co"})
		if err != nil {
			t.Fatal(err)
		}
		before := f.snapshot()
		_, err = f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{Deal: sales.DealInput{StageID: f.stage("Lost").ID}})
		fieldErr(t, err, crm.EINVALID, "deal.lost_reason_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("failed conversion changed something:\n%s\n%s", before, after)
		}
		conv, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{Deal: sales.DealInput{StageID: f.stage("Lost").ID, LostReasonID: reason.ID}})
		if err != nil || conv.Deal.Status != crm.DealLost || conv.Deal.LostReasonID != reason.ID {
			t.Fatalf("conversion into lost: %+v %v", conv, err)
		}
		if types, _ := f.dealEvents(conv.Deal.ID); strings.Join(types, " ") != "deal.created deal.lost" {
			t.Fatalf("events: %v", types)
		}
	})
}
