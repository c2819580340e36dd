package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
)

// SalesResult counts what FillSales added.
type SalesResult struct {
	Pipeline    bool // a pipeline was made (there was none)
	Products    int
	LostReasons int
	Deals       int
	Won, Lost   int
}

// demoProducts are the catalogue of a café supplier, priced in rials.
var demoProducts = []sales.ProductInput{
	{Name: "Espresso machine, two groups", SKU: "ESP-2", Price: 1_200_000_000, Currency: "IRR", TaxRate: 1000},
	{Name: "Coffee grinder", SKU: "GRD-1", Price: 180_000_000, Currency: "IRR", TaxRate: 1000},
	{Name: "Arabica beans, 1 kg", SKU: "BEAN-AR", Price: 9_500_000, Currency: "IRR", TaxRate: 1000},
	{Name: "Barista training day", SKU: "TRN-1", Price: 45_000_000, Currency: "IRR"},
	{Name: "Yearly maintenance", SKU: "SRV-Y", Price: 150_000_000, Currency: "IRR", TaxRate: 1000},
}

var demoLostReasons = []string{"Price", "Chose a competitor", "No budget", "No answer"}

// FillSales gives the sales module something to show: a pipeline (when
// there is none), lost reasons and products (when there are none), and
// deals about the newest people (up to one per person, half with line
// items), spread over the open stages with close dates around now, and
// about one in five won and one in six lost. Owners are the active users.
// Everything goes through the sales service, so deals have their history,
// audit entries and events (they show on the people's timelines).
func FillSales(ctx context.Context, db *store.DB, contacts *contact.Service, s *sales.Service, deals int, seed int64, now time.Time) (SalesResult, error) {
	var res SalesResult
	if deals <= 0 {
		return res, nil
	}
	if now.IsZero() {
		now = time.Now()
	}
	pipes, err := s.Pipelines(ctx)
	if err != nil {
		return res, err
	}
	if len(pipes) == 0 {
		pct := func(n int) *int { return &n }
		p, err := s.CreatePipeline(ctx, sales.PipelineInput{Name: "Sales", Currency: "IRR", Stages: []sales.StageInput{
			{Name: "New lead", Probability: pct(10)}, {Name: "Qualified", Probability: pct(30)},
			{Name: "Proposal sent", Probability: pct(60)}, {Name: "Negotiation", Probability: pct(80)}}})
		if err != nil {
			return res, fmt.Errorf("pipeline: %w", err)
		}
		pipes, res.Pipeline = []*crm.Pipeline{p}, true
	}
	pipe := pipes[0]
	var open []crm.Stage
	var won, lost crm.Stage
	for _, st := range pipe.Stages {
		switch st.Kind {
		case crm.StageOpen:
			open = append(open, st)
		case crm.StageWon:
			won = st
		case crm.StageLost:
			lost = st
		}
	}

	reasons, err := s.LostReasons(ctx, true)
	if err != nil {
		return res, err
	}
	if len(reasons) == 0 {
		for _, name := range demoLostReasons {
			r, err := s.CreateLostReason(ctx, name)
			if err != nil {
				return res, fmt.Errorf("lost reason: %w", err)
			}
			reasons = append(reasons, r)
			res.LostReasons++
		}
	}

	products, _, err := s.Products(ctx, sales.ProductFilter{Limit: 100})
	if err != nil {
		return res, err
	}
	if len(products) == 0 {
		for _, in := range demoProducts {
			p, err := s.CreateProduct(ctx, in)
			if err != nil {
				return res, fmt.Errorf("product %s: %w", in.SKU, err)
			}
			products = append(products, p)
			res.Products++
		}
	}
	var priced []*crm.Product // those in the pipeline's currency
	for _, p := range products {
		if p.Active && p.Currency == pipe.Currency {
			priced = append(priced, p)
		}
	}

	var owners []int64
	err = db.Read(ctx, func(tx *store.Tx) error {
		refs, err := tx.ActiveUserRefs(ctx)
		for _, u := range refs {
			owners = append(owners, u.ID)
		}
		return err
	})
	if err != nil {
		return res, err
	}

	people, _, err := contacts.ListContacts(ctx, crm.ContactFilter{Limit: min(deals, 500)})
	if err != nil {
		return res, err
	}
	names := map[int64]string{}
	for after := ""; ; {
		cs, next, err := contacts.ListCompanies(ctx, crm.CompanyFilter{Limit: 500, After: after})
		if err != nil {
			return res, err
		}
		for _, c := range cs {
			names[c.ID] = c.Name
		}
		if next == "" || len(names) >= 20000 {
			break
		}
		after = next
	}

	g := New(seed, 0)
	for i, person := range people {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		r := g.rng(9, uint64(person.ID))
		in := sales.DealInput{PipelineID: pipe.ID, StageID: open[r.IntN(len(open))].ID, ContactID: person.ID, Source: "demo",
			ExpectedClose: now.AddDate(0, 0, r.IntN(150)-30).Format(time.DateOnly)}
		party := person.DisplayName()
		if len(person.Memberships) > 0 {
			in.CompanyID = person.Memberships[0].CompanyID
			if n := names[in.CompanyID]; n != "" {
				party = n
			}
		}
		if len(owners) > 0 {
			o := owners[i%len(owners)]
			in.OwnerID = &o
		}
		if i%2 == 0 && len(priced) > 0 {
			p := pick(r, priced)
			q := int64(1 + r.IntN(3))
			in.Lines = []sales.LineInput{{ProductID: p.ID, Quantity: &q}}
			in.ValueFromLines = true
			in.Title = p.Name + " — " + party
		} else {
			v := int64(5+r.IntN(400)) * 10_000_000
			in.Value = &v
			in.Title = pick(r, []string{"Café fit-out", "Yearly supply", "Second branch", "Machines upgrade", "Office coffee"}) + " — " + party
		}
		d, err := s.CreateDeal(ctx, in)
		if err != nil {
			return res, fmt.Errorf("deal for person %d: %w", person.ID, err)
		}
		res.Deals++
		switch n := r.IntN(30); {
		case n < 6:
			if _, err := s.Move(ctx, d.ID, sales.MoveInput{StageID: won.ID, Version: d.Version}); err != nil {
				return res, fmt.Errorf("win deal %d: %w", d.ID, err)
			}
			res.Won++
		case n < 11:
			if _, err := s.Move(ctx, d.ID, sales.MoveInput{StageID: lost.ID, Version: d.Version, LostReasonID: pick(r, reasons).ID}); err != nil {
				return res, fmt.Errorf("lose deal %d: %w", d.ID, err)
			}
			res.Lost++
		}
		if res.Deals >= deals {
			break
		}
	}
	return res, nil
}
