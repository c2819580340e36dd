package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Options say how much to make.
type Options struct {
	Contacts int   // people to add
	Seed     int64 // the same seed gives the same people
	// Companies to add; 0 picks one per 25 people (at least 5, at most
	// 20,000).
	Companies int
	// Progress, when set, is called after each batch with the people
	// added so far.
	Progress func(done, total int)
	// Now is "today" for creation dates (spread over the three years
	// before it) and interaction dates; zero is time.Now.
	Now time.Time
}

// Result counts what Fill added.
type Result struct {
	Contacts     int
	Companies    int
	CustomFields int // custom fields defined (those that did not exist)
	Interactions int
	Notes        int
}

// CustomFields are the fields demo people have values for; Fill defines
// the ones that do not exist.
var CustomFields = []crm.CustomField{
	{Entity: "contact", Key: "vip_level", Label: "VIP level", Type: crm.FieldSelect, Options: vipLevels, ShowInList: true, Position: 1},
	{Entity: "contact", Key: "customer_since", Label: "Customer since", Type: crm.FieldDate, Position: 2},
	{Entity: "contact", Key: "newsletter", Label: "Newsletter", Type: crm.FieldBoolean, Position: 3},
	{Entity: "contact", Key: "lifetime_value", Label: "Lifetime value", Type: crm.FieldMoney, Currency: "IRR", Position: 4},
}

const batchSize = 2000

// Fill adds synthetic companies, people (through the batch insert path of
// the contact service), and interactions and notes for a few percent of
// them (through the activity service, so they show on timelines). Active
// users, if any, own about half of the people.
func Fill(ctx context.Context, db *store.DB, contacts *contact.Service, act *activity.Service, opts Options) (Result, error) {
	var res Result
	if opts.Contacts < 0 {
		return res, crm.Errorf(crm.EINVALID, "The number of people must not be negative.")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	nCompanies := opts.Companies
	if nCompanies == 0 && opts.Contacts > 0 {
		nCompanies = min(max(opts.Contacts/25, 5), 20000)
	}
	g := New(opts.Seed, nCompanies)

	// Custom fields.
	existing, err := contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		return res, err
	}
	for _, f := range CustomFields {
		if slices.ContainsFunc(existing, func(e *crm.CustomField) bool { return e.Key == f.Key }) {
			continue
		}
		if _, err := contacts.CreateCustomField(ctx, &f); err != nil {
			return res, fmt.Errorf("define custom field %s: %w", f.Key, err)
		}
		res.CustomFields++
	}

	// Owners: the active users.
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

	// Companies, in batches of one transaction each.
	companyIDs := make([]int64, 0, nCompanies)
	for lo := 0; lo < nCompanies; lo += batchSize {
		hi := min(lo+batchSize, nCompanies)
		err := db.Write(ctx, func(tx *store.Tx) error {
			for j := lo; j < hi; j++ {
				gc := g.Company(j)
				c := &crm.Company{Name: gc.Name, Domain: gc.Domain, Industry: gc.Industry, Size: gc.Size, Tags: []string{}}
				r, err := contact.PrepareCompany(c, nil, contacts.Region(), false)
				if err != nil {
					return fmt.Errorf("company %d: %w", j, err)
				}
				if err := tx.InsertCompany(ctx, r); err != nil {
					return err
				}
				companyIDs = append(companyIDs, c.ID)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	res.Companies = nCompanies

	// People: batches are made and validated on one goroutine (using all
	// cores) while the previous batch is written, in order, so ids grow
	// with creation dates as they do in real life.
	span := 3 * 365 * 24 * time.Hour
	start := opts.Now.Add(-span)
	type prepared struct {
		lo  int
		p   *contact.PreparedPeople
		err error
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan prepared, 1)
	go func() {
		defer close(ready)
		for lo := 0; lo < opts.Contacts && pctx.Err() == nil; lo += batchSize {
			hi := min(lo+batchSize, opts.Contacts)
			people := make([]*crm.Contact, 0, hi-lo)
			for i := lo; i < hi; i++ {
				p := g.Person(i)
				c := p.Contact
				if p.Company >= 0 {
					c.Memberships = []crm.Membership{{CompanyID: companyIDs[p.Company], Role: p.Role}}
				}
				if len(owners) > 0 && i%2 == 0 {
					o := owners[(i/2)%len(owners)]
					c.OwnerID = &o
				}
				c.CreatedAt = start.Add(time.Duration(float64(span) * float64(i) / float64(max(opts.Contacts, 1)))).UTC().Truncate(time.Microsecond)
				people = append(people, &c)
			}
			pp, err := contacts.PreparePeople(pctx, people)
			select {
			case ready <- prepared{lo, pp, err}:
			case <-pctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var sample []int64 // some people's ids, for the timeline
	for b := range ready {
		err := b.err
		if err == nil {
			err = contacts.InsertPeople(ctx, b.p)
		}
		if err != nil {
			cancel()
			for range ready {
			}
			return res, err
		}
		for k, c := range b.p.People() {
			if (b.lo+k)%50 == 0 {
				sample = append(sample, c.ID)
			}
			res.Contacts++
		}
		if opts.Progress != nil {
			opts.Progress(res.Contacts, opts.Contacts)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	// Timeline: an interaction for one person in 50 (at most 20,000), a
	// note for every other one of those.
	slices.Sort(sample)
	if len(sample) > 20000 {
		sample = sample[:20000]
	}
	channels := []string{"phone", "email", "sms", "in_store", "whatsapp", "telegram", "web"}
	subjects := map[string][]string{
		"fa": {"پیگیری سفارش", "درخواست پیش‌فاکتور", "تماس برای تمدید قرارداد", "شکایت از تاخیر ارسال"},
		"ar": {"متابعة الطلب", "طلب عرض سعر", "تجديد العقد", "استفسار عن الشحن"},
		"en": {"Order follow-up", "Quote request", "Contract renewal call", "Question about delivery"},
	}
	for k, id := range sample {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		r := g.rng(3, uint64(id))
		loc := locale(r)
		ch := channels[k%len(channels)]
		in := crm.Interaction{ContactID: id, Channel: ch, Direction: []string{"inbound", "outbound"}[k%2],
			Subject: pick(r, subjects[loc]), Body: pick(r, notesByLang[loc]),
			OccurredAt:      opts.Now.Add(-time.Duration(r.IntN(365*24)) * time.Hour),
			DurationSeconds: 60 + r.IntN(1200)}
		if ch != "phone" {
			in.DurationSeconds = 0
		}
		if len(owners) > 0 {
			in.UserID = owners[k%len(owners)]
		}
		if _, err := act.LogInteraction(ctx, in); err != nil {
			return res, fmt.Errorf("interaction for person %d: %w", id, err)
		}
		res.Interactions++
		if k%2 == 0 {
			n := crm.Note{ContactID: id, Body: pick(r, notesByLang[loc])}
			if len(owners) > 0 {
				n.AuthorID = owners[k%len(owners)]
			}
			if _, err := act.AddNote(ctx, n); err != nil {
				return res, fmt.Errorf("note for person %d: %w", id, err)
			}
			res.Notes++
		}
	}
	return res, nil
}
