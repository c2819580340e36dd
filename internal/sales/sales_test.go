package sales_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
)

func TestPipelines(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		p := f.pipe
		if len(p.Stages) != 6 || p.Stages[4].Kind != crm.StageWon || p.Stages[5].Kind != crm.StageLost || p.Stages[0].Probability != 10 {
			t.Fatalf("stages = %+v", p.Stages)
		}
		admin := f.as(f.admin)
		if _, err := f.sales.CreatePipeline(f.as(f.rep), sales.PipelineInput{Name: "X", Currency: "IRR", Stages: []sales.StageInput{{Name: "a"}}}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("a sales user creates a pipeline: %v", err)
		}
		_, err := f.sales.CreatePipeline(admin, sales.PipelineInput{Name: "", Currency: "XX", Stages: []sales.StageInput{{Name: ""}, {Name: "b", Probability: ptr(140)}}})
		fieldErr(t, err, crm.EINVALID, "name", "currency", "stages[0].name", "stages[1].probability")

		// Add, rename, reorder.
		st, err := f.sales.AddStage(admin, p.ID, sales.StageInput{Name: "Demo", Probability: ptr(45)}, 3)
		if err != nil || st.Position != 3 {
			t.Fatalf("add stage: %+v %v", st, err)
		}
		if _, err := f.sales.UpdateStage(admin, f.stage("Lead in").ID, sales.StageUpdate{Name: ptr("New lead"), Position: ptr(2)}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.sales.Pipeline(sys, p.ID)
		var names []string
		for _, s := range got.OpenStages() {
			names = append(names, s.Name)
		}
		if strings.Join(names, ",") != "Qualified,New lead,Demo,Proposal,Negotiation" {
			t.Fatalf("order = %v", names)
		}
		if _, err := f.sales.UpdateStage(admin, f.stage("Won").ID, sales.StageUpdate{Probability: ptr(50)}); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("won stage probability: %v", err)
		}
		if err := f.sales.RemoveStage(admin, f.stage("Won").ID, 0); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("remove won stage: %v", err)
		}
		// A pipeline with deals cannot be deleted; an empty one can.
		f.deal(admin, "Tea for the office", 1000, "Demo")
		if err := f.sales.DeletePipeline(admin, p.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("delete pipeline with deals: %v", err)
		}
		empty := f.pipeline("Empty", "USD", []string{"One"}, []int{50})
		if err := f.sales.DeletePipeline(admin, empty.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCreateDeal(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		c, err := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Sara", LastName: "Karimi", Phones: []crm.Labeled{{Value: "09121234567"}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		co, err := f.contacts.CreateCompany(sys, &crm.Company{Name: "Karimi Trading"})
		if err != nil {
			t.Fatal(err)
		}
		f.field("floor", crm.FieldText, nil)
		f.field("seats", crm.FieldNumber, nil)
		d, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "  Office chairs ", Value: ptr(int64(12_000_000)), ContactID: c.ID, CompanyID: co.ID,
			ExpectedClose: "۲۰۲۵-۰۴-۳۰", Tags: []string{"b2b", "b2b", "chairs"}, Custom: map[string]any{"floor": "3", "seats": 40.0}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Title != "Office chairs" || d.Currency != "IRR" || d.OwnerID != f.rep.ID || d.Status != crm.DealOpen || d.StageID != f.stage("Lead in").ID ||
			d.ExpectedClose != "2025-04-30" || strings.Join(d.Tags, ",") != "b2b,chairs" || d.Version != 1 || d.Source != "manual" {
			t.Fatalf("deal = %+v", d)
		}
		// deal.created lands on the person's and the company's timelines.
		if n := f.count(`SELECT COUNT(*) FROM events WHERE type = ? AND contact_id = ? AND company_id = ?`, crm.EventDealCreated, c.ID, co.ID); n != 1 {
			t.Fatalf("deal.created on the timelines: %d", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'deal.create' AND entity_id = ?`, d.ID); n != 1 {
			t.Fatalf("audit entries: %d", n)
		}
		other := f.pipeline("Other", "USD", []string{"Start"}, []int{20})
		before := f.snapshot()
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "", Value: ptr(int64(-5)), Currency: "RIAL", ContactID: 999, CompanyID: 998,
			OwnerID: ptr(int64(12345)), ExpectedClose: "2025-02-30", Custom: map[string]any{"Bad Key": 1.0}})
		fieldErr(t, err, crm.EINVALID, "title", "value", "currency", "contact_id", "company_id", "owner_id", "expected_close", "custom.Bad Key")
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "x", PipelineID: f.pipe.ID, StageID: other.Stages[0].ID})
		fieldErr(t, err, crm.EINVALID, "stage_id")
		if !strings.Contains(crm.ErrorFields(err)["stage_id"], `pipeline "Other"`) {
			t.Errorf("stage_id message: %v", err)
		}
		if after := f.snapshot(); after != before {
			t.Fatalf("a refused deal changed something:\n%s\n%s", before, after)
		}
		support := f.user("support@example.com", "S", crm.RoleSupport)
		if _, err := f.sales.CreateDeal(f.as(support), sales.DealInput{Title: "x"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("support creates a deal: %v", err)
		}
		if _, err := f.sales.Deal(f.as(support), d.ID); err != nil {
			t.Fatalf("support reads a deal: %v", err)
		}
	})
}

func TestMoveWinLoseAndHistory(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		admin := f.as(f.admin)
		c, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Ali"}, false)
		d, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Tea", Value: ptr(int64(500)), ContactID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(48 * time.Hour)
		d, err = f.sales.Move(rep, d.ID, sales.MoveInput{StageID: f.stage("Proposal").ID, Version: d.Version})
		if err != nil || d.Version != 2 || d.StageID != f.stage("Proposal").ID {
			t.Fatalf("move: %+v %v", d, err)
		}
		// A stage of another pipeline: 422 naming stage_id, nothing changed.
		other := f.pipeline("Other", "IRR", []string{"Start"}, []int{20})
		before := f.snapshot()
		_, err = f.sales.Move(rep, d.ID, sales.MoveInput{StageID: other.Stages[0].ID, Version: d.Version})
		fieldErr(t, err, crm.EINVALID, "stage_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused move changed something:\n%s\n%s", before, after)
		}
		// A stale version: 409 with the deal as it is now.
		_, err = f.sales.Move(rep, d.ID, sales.MoveInput{StageID: f.stage("Qualified").ID, Version: 1})
		var ce *sales.ConflictError
		if crm.ErrorCode(err) != crm.ECONFLICT || !asConflict(err, &ce) || ce.Deal.Version != 2 || ce.Deal.StageID != f.stage("Proposal").ID {
			t.Fatalf("stale move: %v", err)
		}
		// Losing needs a reason once there are reasons.
		reason, err := f.sales.CreateLostReason(admin, "Price too high")
		if err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(24 * time.Hour)
		_, err = f.sales.Lose(rep, d.ID, sales.MoveInput{})
		fieldErr(t, err, crm.EINVALID, "lost_reason_id")
		d, err = f.sales.Lose(rep, d.ID, sales.MoveInput{LostReasonID: reason.ID, LostNote: "went elsewhere"})
		if err != nil || d.Status != crm.DealLost || d.ClosedAt == nil || d.LostReasonID != reason.ID {
			t.Fatalf("lose: %+v %v", d, err)
		}
		if err := f.sales.DeleteLostReason(admin, reason.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("delete a used reason: %v", err)
		}
		f.now = f.now.Add(time.Hour)
		d, err = f.sales.Reopen(rep, d.ID, 0, 0)
		if err != nil || d.Status != crm.DealOpen || d.StageID != f.stage("Proposal").ID || d.ClosedAt != nil || d.LostReasonID != 0 {
			t.Fatalf("reopen: %+v %v", d, err)
		}
		f.now = f.now.Add(3 * time.Hour)
		d, err = f.sales.Win(rep, d.ID, d.Version)
		if err != nil || d.Status != crm.DealWon {
			t.Fatalf("win: %+v %v", d, err)
		}
		// Events: created, 4 stage changes, lost, reopened, won; all on the person's timeline.
		var types []string
		_ = f.db.Read(sys, func(tx *store.Tx) error {
			rows, err := tx.Query(sys, `SELECT type FROM events WHERE subject_type = 'deal' AND subject_id = ? AND contact_id = ? ORDER BY id`, d.ID, c.ID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				rows.Scan(&s)
				types = append(types, s)
			}
			return nil
		})
		want := "deal.created deal.stage_changed deal.stage_changed deal.lost deal.stage_changed deal.reopened deal.stage_changed deal.won"
		if strings.Join(types, " ") != want {
			t.Fatalf("events:\n%s\nwant\n%s", strings.Join(types, " "), want)
		}
		// Renaming and removing a stage keep the history.
		if _, err := f.sales.UpdateStage(admin, f.stage("Proposal").ID, sales.StageUpdate{Name: ptr("Offer")}); err != nil {
			t.Fatal(err)
		}
		if err := f.sales.RemoveStage(admin, f.stage("Lead in").ID, 0); err != nil {
			t.Fatal(err)
		}
		view, err := f.sales.DealPage(rep, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(view.History) != 5 || view.History[0].StageName != "Lead in" || view.History[1].StageName != "Proposal" {
			t.Fatalf("history = %+v", view.History)
		}
		var got []string
		for _, st := range view.Durations {
			got = append(got, st.Name+"="+st.Time.String())
		}
		// Lead in 48h (removed, its old name); Offer (renamed) 24h + 3h; Lost 1h; Won now.
		if strings.Join(got, " ") != "Lead in=48h0m0s Offer=27h0m0s Lost=1h0m0s Won=0s" || !view.Durations[0].Removed || !view.Durations[3].Current {
			t.Fatalf("time in stages: %v %+v", got, view.Durations)
		}
	})
}

func asConflict(err error, ce **sales.ConflictError) bool {
	for err != nil {
		if c, ok := err.(*sales.ConflictError); ok {
			*ce = c
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestRemoveStageMovesDeals(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		admin := f.as(f.admin)
		a := f.deal(admin, "A", 100, "Qualified")
		f.deal(admin, "B", 200, "Qualified")
		if err := f.sales.RemoveStage(admin, f.stage("Qualified").ID, 0); crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["move_to"] == "" {
			t.Fatalf("remove a stage with deals and nowhere to move them: %v", err)
		}
		target := f.stage("Proposal").ID
		if err := f.sales.RemoveStage(admin, f.stage("Qualified").ID, target); err != nil {
			t.Fatal(err)
		}
		d, _ := f.sales.Deal(admin, a.ID)
		if d.StageID != target || d.Version != 2 {
			t.Fatalf("moved deal: %+v", d)
		}
		hist, _ := f.sales.History(admin, a.ID)
		if len(hist) != 2 || hist[0].StageName != "Qualified" || hist[0].LeftAt == nil {
			t.Fatalf("history = %+v", hist)
		}
		p, _ := f.sales.Pipeline(admin, f.pipe.ID)
		if len(p.OpenStages()) != 3 || p.OpenStages()[1].Position != 2 {
			t.Fatalf("stages after removal: %+v", p.Stages)
		}
	})
}

// TestConcurrentMoves moves one card from two sessions at once with the
// version both saw: exactly one wins, the other gets a conflict with the
// winner's state, and the history holds one move.
func TestConcurrentMoves(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, mate := f.as(f.rep), f.as(f.mate)
		for round := range 10 {
			d := f.deal(rep, "Race", 1000, "Lead in")
			targets := []int64{f.stage("Qualified").ID, f.stage("Proposal").ID}
			var wg sync.WaitGroup
			results := make([]*crm.Deal, 2)
			errs := make([]error, 2)
			for i, ctx := range []any{rep, mate} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := rep
					if ctx == any(mate) {
						c = mate
					}
					results[i], errs[i] = f.sales.Move(c, d.ID, sales.MoveInput{StageID: targets[i], Version: d.Version})
				}()
			}
			wg.Wait()
			won := -1
			for i := range 2 {
				switch crm.ErrorCode(errs[i]) {
				case "":
					if won >= 0 {
						t.Fatalf("round %d: both moves succeeded", round)
					}
					won = i
				case crm.ECONFLICT:
				default:
					t.Fatalf("round %d: move %d: %v", round, i, errs[i])
				}
			}
			if won < 0 {
				t.Fatalf("round %d: no move succeeded: %v", round, errs)
			}
			lost := 1 - won
			var ce *sales.ConflictError
			if !asConflict(errs[lost], &ce) || ce.Deal.StageID != targets[won] || ce.Deal.Version != 2 {
				t.Fatalf("round %d: the loser sees %+v, want the winner's stage", round, ce)
			}
			final, _ := f.sales.Deal(rep, d.ID)
			if final.StageID != targets[won] || final.Version != 2 {
				t.Fatalf("round %d: final %+v", round, final)
			}
			if n := f.count(`SELECT COUNT(*) FROM deal_stage_history WHERE deal_id = ?`, d.ID); n != 2 {
				t.Fatalf("round %d: %d history rows", round, n)
			}
			if n := f.count(`SELECT COUNT(*) FROM events WHERE type = ? AND subject_id = ?`, crm.EventDealStageChanged, d.ID); n != 1 {
				t.Fatalf("round %d: %d stage_changed events", round, n)
			}
		}
	})
}

func TestLinesAndProducts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, admin := f.as(f.rep), f.as(f.admin)
		if _, err := f.sales.CreateProduct(rep, sales.ProductInput{Name: "x", Price: 1, Currency: "IRR"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("a sales user edits the catalogue: %v", err)
		}
		tea, err := f.sales.CreateProduct(admin, sales.ProductInput{Name: "Tea 1kg", SKU: "TEA-1", Price: 1_200_000, Currency: "irr", TaxRate: 900})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.sales.CreateProduct(admin, sales.ProductInput{Name: "Other tea", SKU: "TEA-1", Price: 1, Currency: "IRR"}); crm.ErrorCode(err) != crm.ECONFLICT || crm.ErrorFields(err)["sku"] == "" {
			t.Fatalf("duplicate SKU: %v", err)
		}
		usd, _ := f.sales.CreateProduct(admin, sales.ProductInput{Name: "Teapot", Price: 2500, Currency: "USD"})
		d, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Café supply", ValueFromLines: true, Lines: []sales.LineInput{
			{ProductID: tea.ID, Quantity: ptr(int64(3)), Discount: 100_000},
			{Name: "Delivery", UnitPrice: ptr(int64(250_000))},
		}})
		if err != nil {
			t.Fatal(err)
		}
		// 3 × 1,200,000 − 100,000 = 3,500,000 + 9% = 315,000 tax; delivery 250,000 untaxed.
		if len(d.Lines) != 2 || d.Lines[0].Subtotal != 3_500_000 || d.Lines[0].Tax != 315_000 || d.Lines[0].Total != 3_815_000 ||
			d.Lines[0].SKU != "TEA-1" || d.Lines[1].Total != 250_000 || d.Value != 3_750_000 {
			t.Fatalf("deal %+v lines %+v", d, d.Lines)
		}
		// The rules: negative quantity, a line in another currency, an unknown product, a product in another currency.
		before := f.snapshot()
		_, err = f.sales.SetLines(rep, d.ID, []sales.LineInput{
			{ProductID: tea.ID, Quantity: ptr(int64(-2))},
			{Name: "Cups", UnitPrice: ptr(int64(10)), Currency: "USD"},
			{ProductID: 999_999},
			{ProductID: usd.ID},
		}, 0)
		fieldErr(t, err, crm.EINVALID, "lines[0].quantity", "lines[1].currency", "lines[2].product_id", "lines[3].product_id")
		if !strings.Contains(crm.ErrorFields(err)["lines[0].quantity"], "negative") || !strings.Contains(crm.ErrorFields(err)["lines[3].product_id"], "USD") {
			t.Errorf("messages: %v", err)
		}
		_, err = f.sales.AddLine(rep, d.ID, sales.LineInput{ProductID: usd.ID})
		fieldErr(t, err, crm.EINVALID, "product_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused lines changed something:\n%s\n%s", before, after)
		}
		// Changing the currency of a deal with lines is refused.
		_, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Currency: ptr("USD")})
		fieldErr(t, err, crm.EINVALID, "currency")
		_, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Value: ptr(int64(5))})
		fieldErr(t, err, crm.EINVALID, "value")
		// Removing a line recomputes the value; typing a value turns the sum off.
		d, err = f.sales.RemoveLine(rep, d.ID, d.Lines[1].ID)
		if err != nil || d.Value != 3_500_000 || len(d.Lines) != 1 {
			t.Fatalf("remove line: %+v %v", d, err)
		}
		d, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{ValueFromLines: ptr(false), Value: ptr(int64(4_000_000))})
		if err != nil || d.Value != 4_000_000 {
			t.Fatalf("typed value: %+v %v", d, err)
		}
		d, err = f.sales.AddLine(rep, d.ID, sales.LineInput{Name: "Sugar", UnitPrice: ptr(int64(1000)), Quantity: ptr(int64(2))})
		if err != nil || d.Value != 4_000_000 || len(d.Lines) != 2 {
			t.Fatalf("a line on a typed value: %+v %v", d, err)
		}
		// A product's later price change leaves the lines alone.
		if _, err := f.sales.UpdateProduct(admin, tea.ID, sales.ProductUpdate{Price: ptr(int64(9))}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.sales.Deal(rep, d.ID)
		if got.Lines[0].UnitPrice != 1_200_000 {
			t.Fatalf("line price followed the product: %+v", got.Lines[0])
		}
		keys, err := f.sales.ItemKeys(rep, d.ID)
		if err != nil || strings.Join(keys, "|") != "sku:TEA-1|name:Sugar" {
			t.Fatalf("item keys: %v %v", keys, err)
		}
	})
}

func TestQuotes(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		d := f.deal(rep, "Empty", 10, "Lead in")
		_, err := f.sales.CreateQuote(rep, d.ID, sales.QuoteInput{})
		fieldErr(t, err, crm.EINVALID, "lines")
		if _, err := f.sales.AddLine(rep, d.ID, sales.LineInput{Name: "Chair", UnitPrice: ptr(int64(100_00)), Quantity: ptr(int64(4)), TaxRate: ptr(int64(1000))}); err != nil {
			t.Fatal(err)
		}
		q1, err := f.sales.CreateQuote(rep, d.ID, sales.QuoteInput{Notes: "Delivery in a week"})
		if err != nil {
			t.Fatal(err)
		}
		if q1.Number != 1 || q1.Status != crm.QuoteDraft || q1.Total != 44_000 || q1.Tax != 4_000 || q1.ValidUntil != "2025-04-09" {
			t.Fatalf("quote = %+v", q1)
		}
		q2, _ := f.sales.CreateQuote(rep, d.ID, sales.QuoteInput{ValidUntil: "2025-05-01"})
		if q2.Number != 2 {
			t.Fatalf("second quote number %d", q2.Number)
		}
		// A quote keeps its lines when the deal's change; a draft can be refreshed.
		if _, err := f.sales.AddLine(rep, d.ID, sales.LineInput{Name: "Desk", UnitPrice: ptr(int64(1000))}); err != nil {
			t.Fatal(err)
		}
		v, _ := f.sales.Quote(rep, q1.ID)
		if len(v.Quote.Lines) != 1 || v.Number != "Q-1" {
			t.Fatalf("quote view %+v", v)
		}
		q1, err = f.sales.UpdateQuote(rep, q1.ID, sales.QuoteUpdate{Refresh: true})
		if err != nil || len(q1.Lines) != 2 || q1.Total != 45_000 {
			t.Fatalf("refresh: %+v %v", q1, err)
		}
		if q1, err = f.sales.SetQuoteStatus(rep, q1.ID, crm.QuoteSent); err != nil || q1.SentAt == nil {
			t.Fatalf("send: %+v %v", q1, err)
		}
		if _, err := f.sales.UpdateQuote(rep, q1.ID, sales.QuoteUpdate{Notes: ptr("x")}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("edit a sent quote: %v", err)
		}
		if q1, err = f.sales.SetQuoteStatus(rep, q1.ID, crm.QuoteAccepted); err != nil || q1.DecidedAt == nil {
			t.Fatalf("accept: %+v %v", q1, err)
		}
		if _, err := f.sales.SetQuoteStatus(rep, q1.ID, crm.QuoteDraft); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("accepted back to draft: %v", err)
		}
		if _, err := f.sales.SetQuoteStatus(rep, q2.ID, "maybe"); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("unknown status: %v", err)
		}
		if n := f.count(`SELECT COUNT(*) FROM events WHERE type = ?`, crm.EventQuoteStatus); n != 2 {
			t.Fatalf("quote.status_changed events: %d", n)
		}
	})
}

func TestConcurrentQuoteNumbers(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		d := f.deal(rep, "Many quotes", 10, "Lead in")
		if _, err := f.sales.AddLine(rep, d.ID, sales.LineInput{Name: "X", UnitPrice: ptr(int64(1))}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		nums := make([]int64, 8)
		for i := range nums {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for attempt := 0; attempt < 20; attempt++ {
					q, err := f.sales.CreateQuote(rep, d.ID, sales.QuoteInput{})
					if crm.ErrorCode(err) == crm.EUNAVAILABLE {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					nums[i] = q.Number
					return
				}
			}()
		}
		wg.Wait()
		slices.Sort(nums)
		for i, n := range nums {
			if n != int64(i+1) {
				t.Fatalf("numbers = %v", nums)
			}
		}
	})
}

func TestLeadConversion(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		_, err := f.sales.CreateLead(rep, sales.LeadInput{Email: "nope", Phone: "12", Status: "hot"})
		fieldErr(t, err, crm.EINVALID, "email", "phone", "status")
		l, err := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "Nima", LastName: "Azadi", Email: "Nima@Example.com", Phone: "۰۹۱۲۱۱۱۲۲۳۳",
			CompanyName: "Azadi Co", JobTitle: "Buyer", Source: "web form", Value: 50_000_000, Currency: "IRR"})
		if err != nil {
			t.Fatal(err)
		}
		if l.Phone != "+989121112233" || l.Email != "nima@example.com" || l.Status != crm.LeadNew || l.OwnerID != f.rep.ID {
			t.Fatalf("lead = %+v", l)
		}
		if _, err := f.sales.UpdateLead(rep, l.ID, sales.LeadUpdate{Status: ptr(crm.LeadQualified)}); err != nil {
			t.Fatal(err)
		}
		// A bad deal stage: nothing is created.
		before := f.snapshot()
		other := f.pipeline("Other", "IRR", []string{"S"}, []int{5})
		before = f.snapshot()
		_, err = f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{Deal: sales.DealInput{PipelineID: f.pipe.ID, StageID: other.Stages[0].ID}})
		fieldErr(t, err, crm.EINVALID, "deal.stage_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("failed conversion changed something:\n%s\n%s", before, after)
		}
		conv, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !conv.ContactCreated || !conv.CompanyCreated || conv.Deal == nil || conv.Deal.Title != "Azadi Co" || conv.Deal.Value != 50_000_000 ||
			conv.Deal.ContactID != conv.ContactID || conv.Deal.CompanyID != conv.CompanyID || conv.Deal.LeadID != l.ID || conv.Deal.Source != "web form" {
			t.Fatalf("conversion = %+v deal %+v", conv, conv.Deal)
		}
		person, err := f.contacts.FindContactByID(sys, conv.ContactID)
		if err != nil || person.FirstName != "Nima" || len(person.Memberships) != 1 || person.Memberships[0].Role != "Buyer" || person.Source != "lead" {
			t.Fatalf("person = %+v %v", person, err)
		}
		// The lead's history is on the person's timeline now, with the conversion.
		var types []string
		_ = f.db.Read(sys, func(tx *store.Tx) error {
			rows, _ := tx.Query(sys, `SELECT type FROM events WHERE subject_type = 'lead' AND contact_id = ? AND company_id = ? ORDER BY id`, conv.ContactID, conv.CompanyID)
			defer rows.Close()
			for rows.Next() {
				var s string
				rows.Scan(&s)
				types = append(types, s)
			}
			return nil
		})
		if strings.Join(types, " ") != "lead.created lead.updated lead.converted" {
			t.Fatalf("lead history on the timeline: %v", types)
		}
		if _, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("convert twice: %v", err)
		}
		if _, err := f.sales.UpdateLead(rep, l.ID, sales.LeadUpdate{Notes: ptr("x")}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("edit a converted lead: %v", err)
		}
		// A second lead with the same phone and company finds them.
		l2, _ := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "N.", Phone: "+98 912 111 2233", CompanyName: "AZADI  co"})
		conv2, err := f.sales.ConvertLead(rep, l2.ID, sales.ConvertInput{NoDeal: true})
		if err != nil || conv2.ContactCreated || conv2.CompanyCreated || conv2.ContactID != conv.ContactID || conv2.CompanyID != conv.CompanyID || conv2.Deal != nil {
			t.Fatalf("second conversion = %+v %v", conv2, err)
		}
		// Converting needs contacts:write too.
		l3, _ := f.sales.CreateLead(sys, sales.LeadInput{FirstName: "X"})
		support := f.user("s@example.com", "S", crm.RoleSupport)
		if _, err := f.sales.ConvertLead(f.as(support), l3.ID, sales.ConvertInput{}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("support converts: %v", err)
		}
	})
}

func TestTeamVisibility(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, mate, other, admin := f.as(f.rep), f.as(f.mate), f.as(f.other), f.as(f.admin)
		mine := f.deal(rep, "Mine", 100, "Lead in")
		theirs := f.deal(other, "Theirs", 200, "Lead in")
		list := func(ctx any) int {
			ds, _, _, err := f.sales.ListDeals(f.as(ctx.(*crm.User)), crm.DealFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(ds)
		}
		if list(f.rep) != 2 {
			t.Fatal("with visibility all, a rep sees every deal")
		}
		st := sales.DefaultSettings()
		st.Visibility = crm.SalesSeeTeam
		if _, err := f.sales.SaveSettings(rep, st); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("a rep changes the settings: %v", err)
		}
		if _, err := f.sales.SaveSettings(admin, st); err != nil {
			t.Fatal(err)
		}
		if list(f.rep) != 1 || list(f.mate) != 1 || list(f.other) != 1 || list(f.admin) != 2 {
			t.Fatalf("team visibility: rep %d mate %d other %d admin %d", list(f.rep), list(f.mate), list(f.other), list(f.admin))
		}
		if _, err := f.sales.Deal(mate, mine.ID); err != nil {
			t.Fatalf("a teammate reads the rep's deal: %v", err)
		}
		if _, err := f.sales.Move(mate, mine.ID, sales.MoveInput{StageID: f.stage("Proposal").ID}); err != nil {
			t.Fatalf("a teammate moves it: %v", err)
		}
		if _, err := f.sales.Deal(rep, theirs.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("a rep reads another team's deal: %v", err)
		}
		if _, err := f.sales.Move(rep, theirs.ID, sales.MoveInput{StageID: f.stage("Proposal").ID}); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("a rep moves another team's deal: %v", err)
		}
		b, err := f.sales.Board(rep, f.pipe.ID, crm.DealFilter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, c := range b.Columns {
			n += c.Count
		}
		if n != 1 {
			t.Fatalf("the rep's board counts %d deals", n)
		}
		_ = other
	})
}

func TestBoardAndFilters(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, mate := f.as(f.rep), f.as(f.mate)
		usd := "USD"
		for i := range 7 {
			in := sales.DealInput{Title: "Deal " + string(rune('A'+i)), Value: ptr(int64(1000 * (i + 1))), StageID: f.stage("Qualified").ID,
				ExpectedClose: "2025-04-0" + string(rune('1'+i)), Tags: []string{"t" + string(rune('0'+i%2))}}
			if i == 6 {
				in.Currency = usd
			}
			ctx := rep
			if i%3 == 0 {
				ctx = mate
			}
			if _, err := f.sales.CreateDeal(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		f.deal(rep, "Later", 5, "Proposal")
		b, err := f.sales.Board(rep, f.pipe.ID, crm.DealFilter{}, 4)
		if err != nil {
			t.Fatal(err)
		}
		col := b.Columns[1]
		if col.Stage.Name != "Qualified" || col.Count != 7 || len(col.Cards) != 4 || col.Next == "" || len(col.Totals) != 2 {
			t.Fatalf("column = %+v", col)
		}
		// IRR: 1000+…+6000 = 21,000; weighted at 30%: 300+600+…+1800 = 6,300. USD: 7000, 2100.
		if a := col.Totals[0]; a.Currency != "IRR" || a.Value != 21_000 || a.Weighted != 6_300 || a.Count != 6 {
			t.Fatalf("IRR total %+v", a)
		}
		if a := col.Totals[1]; a.Currency != "USD" || a.Value != 7000 || a.Weighted != 2100 {
			t.Fatalf("USD total %+v", a)
		}
		more, _, next, err := f.sales.BoardCards(rep, col.Stage.ID, crm.DealFilter{}, col.Next)
		if err != nil || len(more) != 3 || next != "" {
			t.Fatalf("more cards: %d %q %v", len(more), next, err)
		}
		seen := map[int64]bool{}
		for _, c := range append(col.Cards, more...) {
			if seen[c.ID] {
				t.Fatal("a card twice")
			}
			seen[c.ID] = true
		}
		// Filters: owner, tag, close dates.
		owner := f.mate.ID
		b, _ = f.sales.Board(rep, f.pipe.ID, crm.DealFilter{OwnerID: &owner}, 0)
		if b.Columns[1].Count != 3 {
			t.Fatalf("owner filter: %d", b.Columns[1].Count)
		}
		b, _ = f.sales.Board(rep, f.pipe.ID, crm.DealFilter{Tag: "t1", CloseFrom: "2025-04-02", CloseTo: "2025-04-04"}, 0)
		if b.Columns[1].Count != 2 || b.Columns[2].Count != 0 {
			t.Fatalf("tag and dates: %d %d", b.Columns[1].Count, b.Columns[2].Count)
		}
		_, err = f.sales.Board(rep, f.pipe.ID, crm.DealFilter{CloseFrom: "2025-13-01", CloseTo: "x"}, 0)
		fieldErr(t, err, crm.EINVALID, "close_from", "close_to")
		ds, names, _, err := f.sales.ListDeals(rep, crm.DealFilter{Tag: "t0", Status: crm.DealOpen})
		if err != nil || len(ds) != 4 || names.Stages[ds[0].StageID].Name != "Qualified" {
			t.Fatalf("list: %d %v", len(ds), err)
		}
		var streamed int
		err = f.sales.StreamDeals(rep, crm.DealFilter{Q: "deal"}, func(*crm.Deal, *store.SalesNames) error { streamed++; return nil })
		if err != nil || streamed != 7 {
			t.Fatalf("stream: %d %v", streamed, err)
		}
	})
}

// TestForecastByHand checks the weighted forecast against figures worked
// out by hand, in Gregorian and in Jalali months.
func TestForecastByHand(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, mate := f.as(f.rep), f.as(f.mate)
		mk := func(ctx any, value int64, stage, closeDate string) {
			_, err := f.sales.CreateDeal(f.as(ctx.(*crm.User)), sales.DealInput{Title: "F", Value: &value, StageID: f.stage(stage).ID, ExpectedClose: closeDate})
			if err != nil {
				t.Fatal(err)
			}
		}
		// Stages: Lead in 10%, Qualified 30%, Proposal 60%, Negotiation 80%.
		mk(f.rep, 1_000_005, "Lead in", "2025-03-20")      // 100,000.5 → 100,001; Jalali 1403/12/30 (Esfand)
		mk(f.rep, 2_500_000, "Proposal", "2025-03-21")     // 1,500,000; Jalali 1404/01/01 (Farvardin)
		mk(f.mate, 3_000_000, "Negotiation", "2025-04-20") // 2,400,000; Jalali 1404/01/31 (Farvardin)
		mk(f.mate, 4_000_000, "Qualified", "2025-04-21")   // 1,200,000; Jalali 1404/02/01 (Ordibehesht)
		mk(f.rep, 9_999, "Qualified", "2025-02-01")        // overdue: 2,999.7 → 3,000
		mk(f.rep, 7_000, "Proposal", "")                   // no date: 4,200
		mk(f.rep, 1, "Negotiation", "2025-09-01")          // after the window: left out
		won := f.deal(rep, "Won already", 8_000_000, "Proposal")
		if _, err := f.sales.Win(rep, won.ID, 0); err != nil {
			t.Fatal(err)
		}
		_ = mate
		start := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
		g, err := f.sales.Forecast(rep, sales.ForecastQuery{Calendar: "gregorian", Start: start, Months: 3})
		if err != nil {
			t.Fatal(err)
		}
		weighted := func(line sales.ForecastLine) []int64 {
			var out []int64
			for _, c := range line.Cells {
				var n int64
				for _, a := range c {
					n += a.Weighted
				}
				out = append(out, n)
			}
			return out
		}
		// March: 100,001 + 1,500,000; April: 2,400,000 + 1,200,000; May: 0.
		if got := weighted(g.Totals); !slices.Equal(got, []int64{1_600_001, 3_600_000, 0}) || g.Months[0].First != "2025-03-01" || g.Months[2].Last != "2025-05-31" {
			t.Fatalf("gregorian = %v %+v", got, g.Months)
		}
		if g.Totals.Overdue[0].Weighted != 3_000 || g.Totals.NoDate[0].Weighted != 4_200 || g.Totals.Total[0].Weighted != 1_600_001+3_600_000+3_000+4_200 {
			t.Fatalf("overdue %+v no date %+v total %+v", g.Totals.Overdue, g.Totals.NoDate, g.Totals.Total)
		}
		// By owner, by name: Mina Mate (April), Reza Rep (March).
		if len(g.Owners) != 2 || g.Owners[0].ID != f.mate.ID || weighted(g.Owners[0])[1] != 3_600_000 || weighted(g.Owners[1])[0] != 1_600_001 {
			t.Fatalf("by owner: %+v", g.Owners)
		}
		j, err := f.sales.Forecast(rep, sales.ForecastQuery{Calendar: "jalali", Start: start, Months: 3})
		if err != nil {
			t.Fatal(err)
		}
		// 2025-03-10 is 1403/12/20: Esfand 1403, Farvardin 1404, Ordibehesht 1404.
		if j.Months[0].Year != 1403 || j.Months[0].Month != 12 || j.Months[0].First != "2025-02-19" || j.Months[1].First != "2025-03-21" {
			t.Fatalf("jalali months %+v", j.Months)
		}
		if got := weighted(j.Totals); !slices.Equal(got, []int64{100_001, 1_500_000 + 2_400_000, 1_200_000}) {
			t.Fatalf("jalali = %v", got)
		}
		// 2025-02-01 is before 1403/12/01 (2025-02-19): overdue.
		if j.Totals.Overdue[0].Weighted != 3_000 {
			t.Fatalf("jalali overdue %+v", j.Totals.Overdue)
		}
		pipeOnly, _ := f.sales.Forecast(rep, sales.ForecastQuery{Start: start, Months: 3, OwnerID: f.mate.ID})
		if got := weighted(pipeOnly.Totals); !slices.Equal(got, []int64{0, 3_600_000, 0}) {
			t.Fatalf("mate's forecast = %v", got)
		}
		if _, err := f.sales.Forecast(rep, sales.ForecastQuery{Start: start, Months: 40, Calendar: "lunar"}); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("bad query: %v", err)
		}
	})
}

func TestReports(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep, mate, admin := f.as(f.rep), f.as(f.mate), f.as(f.admin)
		reason, _ := f.sales.CreateLostReason(admin, "Too expensive")
		p := sales.Period{From: f.now.AddDate(0, 0, -1), To: f.now.AddDate(0, 1, 0)}
		// Four deals: won after passing every stage; lost in Qualified; open in Proposal; open in Lead in.
		a := f.deal(rep, "A", 100, "Lead in")
		b := f.deal(rep, "B", 200, "Lead in")
		c := f.deal(mate, "C", 300, "Lead in")
		f.deal(mate, "D", 400, "Lead in")
		f.now = f.now.Add(24 * time.Hour)
		for _, st := range []string{"Qualified", "Proposal", "Negotiation"} {
			if _, err := f.sales.Move(rep, a.ID, sales.MoveInput{StageID: f.stage(st).ID}); err != nil {
				t.Fatal(err)
			}
		}
		f.now = f.now.Add(24 * time.Hour)
		if _, err := f.sales.Win(rep, a.ID, 0); err != nil {
			t.Fatal(err)
		}
		f.sales.Move(rep, b.ID, sales.MoveInput{StageID: f.stage("Qualified").ID})
		if _, err := f.sales.Lose(rep, b.ID, sales.MoveInput{LostReasonID: reason.ID}); err != nil {
			t.Fatal(err)
		}
		f.sales.Move(mate, c.ID, sales.MoveInput{StageID: f.stage("Proposal").ID})
		fu, err := f.sales.Funnel(rep, f.pipe.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		var reached []int64
		for _, s := range fu.Steps {
			reached = append(reached, s.Reached)
		}
		if fu.Deals != 4 || fu.Won != 1 || fu.Lost != 1 || !slices.Equal(reached, []int64{4, 3, 2, 1}) || fu.Steps[1].Conversion != 0.75 || !math.IsNaN(fu.Steps[0].Conversion) {
			t.Fatalf("funnel %+v reached %v", fu, reached)
		}
		o, err := f.sales.Outcomes(rep, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		if o.Won != 1 || o.Lost != 1 || o.WinRate != 0.5 || o.Cycle != 48*time.Hour || len(o.Owners) != 1 || o.Owners[0].OwnerID != f.rep.ID ||
			len(o.Reasons) != 1 || o.Reasons[0].Name != "Too expensive" || o.Reasons[0].Value[0].Value != 200 {
			t.Fatalf("outcomes %+v", o)
		}
		// Activity per rep: calls, meetings and tasks done, overdue ones.
		acts := activity.New(f.db)
		due := f.now.Add(-time.Hour)
		for _, in := range []crm.Task{{Kind: crm.ActivityCall, Title: "Call A", DealID: a.ID}, {Kind: crm.ActivityMeeting, Title: "Visit"}, {Title: "Send brochure", DueAt: &due}} {
			tk, err := acts.CreateTask(rep, in)
			if err != nil {
				t.Fatal(err)
			}
			if in.DueAt == nil {
				if _, err := acts.CompleteTask(rep, tk.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		ra, err := f.sales.ActivityPerRep(admin, p)
		if err != nil || len(ra) != 1 || ra[0].Calls != 1 || ra[0].Meetings != 1 || ra[0].Tasks != 0 || ra[0].Overdue != 1 || ra[0].Name != "Reza Rep" {
			t.Fatalf("activity per rep %+v %v", ra, err)
		}
		_, err = f.sales.Funnel(rep, f.pipe.ID, sales.Period{From: f.now, To: f.now})
		fieldErr(t, err, crm.EINVALID, "to")
	})
}

func TestDealActivities(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		c, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Ali"}, false)
		d, _ := f.sales.CreateDeal(rep, sales.DealInput{Title: "X", ContactID: c.ID})
		acts := activity.New(f.db)
		tk, err := acts.CreateTask(rep, crm.Task{Kind: crm.ActivityCall, Title: "Call Ali", DealID: d.ID})
		if err != nil || tk.ContactID != c.ID || tk.Kind != crm.ActivityCall {
			t.Fatalf("task on a deal: %+v %v", tk, err)
		}
		_, err = acts.CreateTask(rep, crm.Task{Kind: "fax", Title: "x", DealID: 99999})
		fieldErr(t, err, crm.EINVALID, "kind", "deal_id")
		list, _, err := acts.ListTasks(rep, crm.TaskFilter{DealID: d.ID})
		if err != nil || len(list) != 1 || list[0].ID != tk.ID {
			t.Fatalf("deal's tasks: %v %v", list, err)
		}
		// Deleting the deal leaves the task, unlinked.
		if err := f.sales.DeleteDeal(rep, d.ID); err != nil {
			t.Fatal(err)
		}
		got, err := acts.FindTask(rep, tk.ID)
		if err != nil || got.DealID != 0 {
			t.Fatalf("task after the deal: %+v %v", got, err)
		}
	})
}

func TestMergeAndEraseFollowPeople(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		a, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "A", Emails: []crm.Labeled{{Value: "a@example.com"}}}, false)
		b, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "B", Emails: []crm.Labeled{{Value: "b@example.com"}}}, false)
		d, _ := f.sales.CreateDeal(rep, sales.DealInput{Title: "X", ContactID: b.ID})
		if _, err := f.contacts.Merge(sys, []int64{a.ID, b.ID}, a.ID, nil); err != nil {
			t.Fatal(err)
		}
		f.drain()
		got, _ := f.sales.Deal(rep, d.ID)
		if got.ContactID != a.ID {
			t.Fatalf("merged deal's person: %d", got.ContactID)
		}
		l, _ := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "Lead", Email: "a@example.com"})
		conv, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{NoDeal: true})
		if err != nil || conv.ContactID != a.ID {
			t.Fatalf("conversion onto a: %+v %v", conv, err)
		}
		// An unrelated event after the person's: on SQLite the events
		// table reuses the ids of deleted rows, so erasing the newest
		// events would give contact.erased an id the subscriber's cursor
		// has passed (a platform issue, reported; not the sales module's).
		if _, err := f.contacts.CreateCompany(sys, &crm.Company{Name: "Unrelated"}); err != nil {
			t.Fatal(err)
		}
		if err := f.contacts.ErasePerson(sys, a.ID); err != nil {
			t.Fatal(err)
		}
		f.drain()
		got, _ = f.sales.Deal(rep, d.ID)
		lead, _ := f.sales.Lead(rep, l.ID)
		if got.ContactID != 0 || lead.Email != "" || lead.FirstName != "" || lead.ContactID != 0 {
			t.Fatalf("after erasure: deal %+v lead %+v", got, lead)
		}
	})
}

func TestSettingsAndLogo(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		admin := f.as(f.admin)
		st := sales.DefaultSettings()
		st.Visibility, st.QuoteValidDays = "everyone", 0
		_, err := f.sales.SaveSettings(admin, st)
		fieldErr(t, err, crm.EINVALID, "visibility", "quote_valid_days")
		png := []byte("\x89PNG\r\n\x1a\n....")
		if err := f.sales.SetLogo(admin, png, "text/html"); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("html logo: %v", err)
		}
		if err := f.sales.SetLogo(admin, png, "image/png"); err != nil {
			t.Fatal(err)
		}
		logo, _ := f.sales.Logo(admin)
		got, _ := f.sales.Settings(admin)
		if !strings.HasPrefix(logo, "data:image/png;base64,") || !got.HasLogo {
			t.Fatalf("logo %q settings %+v", logo, got)
		}
		b, _ := json.Marshal(got)
		if !strings.Contains(string(b), `"quote_prefix":"Q-"`) {
			t.Fatalf("settings json %s", b)
		}
	})
}
