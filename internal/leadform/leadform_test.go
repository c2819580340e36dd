package leadform_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// mailbox keeps the confirmation messages the service sends.
type mailbox struct {
	mu   sync.Mutex
	sent []string // to + "\n" + subject + "\n" + body
}

func (m *mailbox) send(_ context.Context, to, subject, body, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, to+"\n"+subject+"\n"+body)
	return nil
}

type env struct {
	db       *store.DB
	contacts *contact.Service
	sales    *sales.Service
	forms    *leadform.Service
	events   *event.Dispatcher
	runner   *jobs.Runner
	mail     *mailbox
}

func newEnv(t *testing.T, db *store.DB, opts leadform.Options) *env {
	e := &env{db: db, contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), mail: &mailbox{}}
	e.sales = sales.New(db, sales.Options{Region: "IR", Logger: quiet})
	opts.Person = e.contacts.PersonForForm
	opts.Lead = func(ctx context.Context, tx *store.Tx, l leadform.Lead) (int64, error) {
		owner := l.OwnerID
		lead, err := e.sales.LeadForForm(ctx, tx, sales.LeadInput{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, Phone: l.Phone,
			CompanyName: l.CompanyName, JobTitle: l.JobTitle, Notes: l.Notes, Source: l.Source, OwnerID: &owner})
		if err != nil {
			return 0, err
		}
		return lead.ID, nil
	}
	opts.Mail = e.mail.send
	opts.Validate = func(ctx context.Context, tx *store.Tx, root crm.Rule) (crm.Rule, error) {
		fields, err := tx.ConditionFields(ctx)
		if err != nil {
			return crm.Rule{}, err
		}
		return segment.Validate(root, fields)
	}
	opts.BaseURL = "https://crm.example.com"
	opts.Region = "IR"
	opts.Logger = quiet
	e.forms = leadform.New(db, opts)
	e.events = event.NewDispatcher(db, quiet)
	e.forms.Subscribe(e.events)
	e.runner = jobs.NewRunner(db, quiet, jobs.Options{})
	e.forms.RegisterJobs(e.runner)
	return e
}

func (e *env) drain(t *testing.T) {
	t.Helper()
	if err := e.events.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.runner.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if err := e.events.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func label(en, fa string) map[string]string { return map[string]string{"en": en, "fa": fa} }

// TestSubmit fills a form: bad input is refused per field, a good one
// makes a person with consent in the form's words, a lead, a submission
// and form.submitted on the timeline; a second one finds the same
// person; the honeypot and the rate limits hold.
func TestSubmit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db, leadform.Options{PerIP: 3})
		if _, err := e.contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "budget", Label: "Budget", Type: crm.FieldNumber}); err != nil {
			t.Fatal(err)
		}
		const wording = "بله، خبرنامه را برایم بفرستید."
		f, err := e.forms.Create(ctx, leadform.FormInput{Name: "Contact us", Language: "fa", ConsentChannel: crm.ChannelEmail, ConsentText: wording,
			LeadSource: "website", Fields: []crm.FormField{
				{Key: "first_name", Required: true, Labels: label("Name", "نام")}, {Key: "email", Required: true}, {Key: "phone"},
				{Key: "company"}, {Key: "custom.budget"}, {Key: "message"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.PublicID) != 16 || f.Language != "fa" || !f.Active {
			t.Fatalf("form: %+v", f)
		}
		_, err = e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "a", Values: map[string]string{
			"email": "not-an-email", "custom.budget": "lots", "phone": "12"}})
		codes := leadform.ProblemCodes(err)
		want := map[string]string{"first_name": "required", "email": "email", "custom.budget": "invalid", "phone": "phone"}
		if crm.ErrorCode(err) != crm.EINVALID || len(codes) != len(want) {
			t.Fatalf("bad input: %v %v", codes, err)
		}
		for k, c := range want {
			if codes[k] != c || crm.ErrorFields(err)[k] == "" {
				t.Fatalf("bad input %s: %v %v", k, codes, crm.ErrorFields(err))
			}
		}
		res, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "a", Consent: true, Values: map[string]string{
			"first_name": "سارا", "email": " Sara@Example.com ", "company": "Pars Tile", "custom.budget": "۲۵۰۰", "message": "Call me"}})
		if err != nil {
			t.Fatal(err)
		}
		sub := res.Submission
		if sub == nil || sub.ContactID == 0 || sub.LeadID == 0 || sub.Status != crm.SubmissionReceived || sub.ConsentText != wording ||
			sub.Values["email"] != "sara@example.com" {
			t.Fatalf("submission: %+v", sub)
		}
		c, err := e.contacts.FindContactByID(ctx, sub.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if c.FirstName != "سارا" || c.Language != "fa" || c.Source != "website" || c.Custom["budget"] != 2500.0 {
			t.Fatalf("person: %+v", c)
		}
		if len(c.Consents) != 1 || c.Consents[0].Status != crm.ConsentGranted || c.Consents[0].Note != wording || c.Consents[0].Source != "form" {
			t.Fatalf("consent: %+v", c.Consents)
		}
		leads, _, err := e.sales.ListLeads(ctx, crm.LeadFilter{Source: "website"})
		if err != nil || len(leads) != 1 || leads[0].CompanyName != "Pars Tile" || leads[0].Notes != "Call me" || leads[0].Status != crm.LeadNew {
			t.Fatalf("leads: %+v %v", leads, err)
		}
		items, _, err := activity.New(db).Timeline(ctx, activity.EntityContact, c.ID, crm.Page{Limit: 50})
		if err != nil || !slices.ContainsFunc(items, func(i activity.Item) bool { return i.Kind == crm.EventFormSubmitted }) {
			t.Fatalf("timeline: %v", err)
		}

		// The same email with a phone: the same person, who gains the phone.
		res2, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "a", Values: map[string]string{
			"first_name": "Sara", "email": "sara@example.com", "phone": "0912 123 4567"}})
		if err != nil || res2.Submission.ContactID != c.ID {
			t.Fatalf("second: %+v %v", res2, err)
		}
		c, _ = e.contacts.FindContactByID(ctx, c.ID)
		if len(c.Phones) != 1 || c.Phones[0].Value != "+989121234567" || c.FirstName != "سارا" {
			t.Fatalf("updated person: %+v", c)
		}
		// Rate limit: three per address per minute.
		_, err = e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "a", Values: map[string]string{"first_name": "X", "email": "x@example.com"}})
		if crm.ErrorCode(err) != crm.ETOOMANY {
			t.Fatalf("fourth from one address: %v", err)
		}
		// The honeypot: thanked, nothing stored.
		res3, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "b", Honeypot: "http://spam",
			Values: map[string]string{"first_name": "Bot", "email": "bot@example.com"}})
		if err != nil || res3.Submission != nil {
			t.Fatalf("honeypot: %+v %v", res3, err)
		}
		subs, _, err := e.forms.Submissions(ctx, f.ID, crm.Page{Limit: 10})
		if err != nil || len(subs) != 2 {
			t.Fatalf("submissions: %d %v", len(subs), err)
		}
		// A closed form says so.
		in := leadform.InputOf(f)
		off := false
		in.Active = &off
		if _, err := e.forms.Update(ctx, f.ID, in); err != nil {
			t.Fatal(err)
		}
		_, err = e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "c", Values: map[string]string{"first_name": "Y", "email": "y@example.com"}})
		if crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("closed: %v", err)
		}
		if _, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: "nosuchform", IP: "d"}); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("unknown form: %v", err)
		}
	})
}

// TestDoubleOptIn: consent waits for the emailed link, which grants it
// once; a changed link is refused.
func TestDoubleOptIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db, leadform.Options{})
		_, err := e.forms.Create(ctx, leadform.FormInput{Name: "News", ConsentChannel: crm.ChannelEmail, ConsentText: "Yes", DoubleOptIn: true,
			Fields: []crm.FormField{{Key: "phone", Required: true}}})
		if crm.ErrorFields(err)["double_opt_in"] == "" {
			t.Fatalf("double opt-in without an email field: %v", err)
		}
		f, err := e.forms.Create(ctx, leadform.FormInput{Name: "News", Language: "en", ConsentChannel: crm.ChannelEmail,
			ConsentText: "Send me the monthly news.", DoubleOptIn: true, Fields: []crm.FormField{{Key: "email", Required: true}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "a", Consent: true, Values: map[string]string{"email": "nima@example.com"}})
		if err != nil || !res.Pending || res.Submission.Status != crm.SubmissionPending {
			t.Fatalf("submit: %+v %v", res, err)
		}
		c, _ := e.contacts.FindContactByID(ctx, res.Submission.ContactID)
		if len(c.Consents) != 0 {
			t.Fatalf("consent before confirmation: %+v", c.Consents)
		}
		e.drain(t)
		if len(e.mail.sent) != 1 || !strings.HasPrefix(e.mail.sent[0], "nima@example.com\n") {
			t.Fatalf("mail: %q", e.mail.sent)
		}
		m := regexp.MustCompile(`https://crm\.example\.com/f/([a-z0-9]+)/confirm/(\S+)`).FindStringSubmatch(e.mail.sent[0])
		if m == nil || m[1] != f.PublicID {
			t.Fatalf("no link in %q", e.mail.sent[0])
		}
		if _, err := e.forms.Confirm(ctx, f.PublicID, m[2]+"x"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("changed token: %v", err)
		}
		if _, err := e.forms.Confirm(ctx, "otherform", m[2]); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("other form: %v", err)
		}
		info, err := e.forms.Confirmation(ctx, f.PublicID, m[2])
		if err != nil || info.Confirmed || info.Address != "n***@example.com" {
			t.Fatalf("confirmation page: %+v %v", info, err)
		}
		for range 2 {
			if info, err = e.forms.Confirm(ctx, f.PublicID, m[2]); err != nil || !info.Confirmed {
				t.Fatalf("confirm: %+v %v", info, err)
			}
		}
		c, _ = e.contacts.FindContactByID(ctx, c.ID)
		if len(c.Consents) != 1 || c.Consents[0].Status != crm.ConsentGranted || c.Consents[0].Note != "Send me the monthly news." {
			t.Fatalf("consent after confirmation: %+v", c.Consents)
		}
		var n int
		db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE type = 'form.confirmed' AND contact_id = ?`, c.ID).Scan(&n)
		})
		if n != 1 {
			t.Fatalf("form.confirmed events: %d", n)
		}
	})
}

// TestScoring: attribute and behaviour rules, the full recompute, the
// per-person update from events, and lead.score in a segment.
func TestScoring(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		e := newEnv(t, db, leadform.Options{})
		f, err := e.forms.Create(ctx, leadform.FormInput{Name: "Demo", Fields: []crm.FormField{{Key: "email", Required: true}, {Key: "company"}}})
		if err != nil {
			t.Fatal(err)
		}
		vip, err := e.contacts.CreateContact(ctx, &crm.Contact{FirstName: "Vip", Tags: []string{"vip"}, Emails: []crm.Labeled{{Value: "vip@example.com"}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := e.contacts.CreateContact(ctx, &crm.Contact{FirstName: "Plain", Source: "fair"}, true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.forms.CreateRule(ctx, leadform.ScoreRuleInput{Name: "Loop", Kind: crm.ScoreAttribute,
			Condition: &crm.Rule{Field: "lead.score", Op: "gte", Value: 1.0}, Points: 5})
		if crm.ErrorFields(err)["condition"] == "" {
			t.Fatalf("a rule on the score itself: %v", err)
		}
		_, err = e.forms.CreateRule(ctx, leadform.ScoreRuleInput{Name: "Bad", Kind: crm.ScoreAttribute,
			Condition: &crm.Rule{Match: "all", Conditions: []crm.Rule{{Field: "shoe_size", Op: "eq", Value: 1.0}}}, Points: 5})
		if crm.ErrorFields(err)["condition.conditions[0].field"] == "" {
			t.Fatalf("unknown field: %v", crm.ErrorFields(err))
		}
		rules := []leadform.ScoreRuleInput{
			{Name: "VIP", Kind: crm.ScoreAttribute, Condition: &crm.Rule{Field: "tags", Op: "has_any", Value: []any{"vip"}}, Points: 30},
			{Name: "From the fair", Kind: crm.ScoreAttribute, Condition: &crm.Rule{Field: "source", Op: "eq", Value: "fair"}, Points: 7},
			{Name: "Forms", Kind: crm.ScoreBehaviour, EventType: crm.EventFormSubmitted, Points: 15, MaxPoints: 25},
		}
		for _, in := range rules {
			if _, err := e.forms.CreateRule(ctx, in); err != nil {
				t.Fatalf("%s: %v", in.Name, err)
			}
		}
		e.drain(t) // the recompute job
		score := func(id int64) int64 {
			n, err := e.forms.Score(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if score(vip.ID) != 30 || score(plain.ID) != 7 {
			t.Fatalf("after recompute: vip %d plain %d", score(vip.ID), score(plain.ID))
		}
		// Two submissions by the VIP: 30 + min(2×15, 25) = 55, kept by the subscriber.
		for range 2 {
			if _, err := e.forms.Submit(ctx, leadform.SubmitInput{PublicID: f.PublicID, IP: "x", Values: map[string]string{"email": "vip@example.com"}}); err != nil {
				t.Fatal(err)
			}
		}
		e.drain(t)
		if score(vip.ID) != 55 {
			t.Fatalf("after two submissions: %d", score(vip.ID))
		}
		// A full recompute agrees with the per-person one.
		if _, err := e.forms.Recompute(ctx); err != nil || score(vip.ID) != 55 || score(plain.ID) != 7 {
			t.Fatalf("recompute again: %d %d %v", score(vip.ID), score(plain.ID), err)
		}
		// lead.score in a segment.
		fields, err := e.segmentFields(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count := func(op string, v any) int64 {
			root, err := segment.Validate(crm.Rule{Match: "all", Conditions: []crm.Rule{{Field: "lead.score", Op: op, Value: v}}}, fields)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			err = db.Read(ctx, func(tx *store.Tx) error {
				q, err := tx.CompileRules(ctx, &root, tx.Now())
				if err != nil {
					return err
				}
				n, err = tx.CountMatching(ctx, q)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if count("gte", 50.0) != 1 || count("lt", 10.0) != 1 || count("eq", 0.0) != 0 || count("between", []any{5.0, 30.0}) != 1 {
			t.Fatalf("segments: gte50 %d lt10 %d eq0 %d", count("gte", 50.0), count("lt", 10.0), count("eq", 0.0))
		}
		// Deleting a rule recomputes.
		all, _ := e.forms.Rules(ctx)
		for _, r := range all {
			if r.Name == "VIP" {
				if err := e.forms.DeleteRule(ctx, r.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.drain(t)
		if score(vip.ID) != 25 {
			t.Fatalf("after deleting the VIP rule: %d", score(vip.ID))
		}
	})
}

func (e *env) segmentFields(ctx context.Context) ([]crm.ConditionField, error) {
	var out []crm.ConditionField
	err := e.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ConditionFields(ctx)
		return err
	})
	return out, err
}

// TestScoreCondition checks lead.score against hand-checked scores on
// both engines: people without a stored score count as 0.
func TestScoreCondition(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		cs := contact.New(db, contact.Options{})
		scores := map[string]int64{"none": 0, "low": 15, "high": 60, "neg": -5}
		ids := map[string]int64{}
		for name, s := range scores {
			c, err := cs.CreateContact(ctx, &crm.Contact{FirstName: name}, true)
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = c.ID
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetContactScore(ctx, c.ID, s) }); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			op   string
			v    any
			want []string
		}{
			{"gte", 50.0, []string{"high"}},
			{"gte", 0.0, []string{"high", "low", "none"}},
			{"lt", 20.0, []string{"low", "neg", "none"}},
			{"eq", 0.0, []string{"none"}},
			{"neq", 0.0, []string{"high", "low", "neg"}},
			{"between", []any{-10.0, 15.0}, []string{"low", "neg", "none"}},
			{"gt", 100.0, nil},
		}
		var fields []crm.ConditionField
		db.Read(ctx, func(tx *store.Tx) error { var err error; fields, err = tx.ConditionFields(ctx); return err })
		for _, c := range cases {
			root, err := segment.Validate(crm.Rule{Match: "all", Conditions: []crm.Rule{{Field: "lead.score", Op: c.op, Value: c.v}}}, fields)
			if err != nil {
				t.Fatalf("%s %v: %v", c.op, c.v, err)
			}
			var got []string
			err = db.Read(ctx, func(tx *store.Tx) error {
				q, err := tx.CompileRules(ctx, &root, tx.Now())
				if err != nil {
					return err
				}
				found, err := tx.MatchingIDs(ctx, q, 0, 100)
				for name, id := range ids {
					if slices.Contains(found, id) {
						got = append(got, name)
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("lead.score %s %v: %v, want %v", c.op, c.v, got, c.want)
			}
		}
	})
}
