package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
)

// TestPeopleAreValidAndUnique checks generated people against the
// service's own rules (Prepare) and that emails and phones never repeat.
func TestPeopleAreValidAndUnique(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	g := New(7, 100)
	emails, phones := map[string]int{}, map[string]int{}
	locales := map[string]int{}
	countries := map[string]int{}
	var fields []*crm.CustomField
	for i := range CustomFields {
		fields = append(fields, &CustomFields[i])
	}
	for i := range n {
		p := g.Person(i)
		c := p.Contact
		if _, err := contact.Prepare(&c, fields, "IR", false); err != nil {
			t.Fatalf("person %d %+v: %v", i, p.Contact, err)
		}
		for _, e := range c.Emails {
			if j, dup := emails[e.Value]; dup {
				t.Fatalf("email %s of person %d repeats person %d", e.Value, i, j)
			}
			emails[e.Value] = i
		}
		for _, ph := range c.Phones {
			if j, dup := phones[ph.Value]; dup {
				t.Fatalf("phone %s of person %d repeats person %d", ph.Value, i, j)
			}
			phones[ph.Value] = i
			countries[ph.Value[:4]]++
		}
		locales[p.Locale]++
	}
	for _, loc := range []string{"fa", "ar", "en"} {
		if locales[loc] < n/5 {
			t.Errorf("only %d of %d people in %s", locales[loc], n, loc)
		}
	}
	for _, cc := range []string{"+98", "+971", "+966", "+1", "+44"} {
		found := false
		for k := range countries {
			if strings.HasPrefix(k, cc) {
				found = true
			}
		}
		if !found {
			t.Errorf("no phone numbers starting %s: %v", cc, countries)
		}
	}
	// Deterministic: the same seed gives the same person.
	a, b := New(7, 100).Person(123), g.Person(123)
	if a.Contact.FirstName != b.Contact.FirstName || a.Contact.Phones[0] != b.Contact.Phones[0] {
		t.Errorf("seeded people differ: %+v %+v", a, b)
	}
	// Local notations: some Persian digits, some spaces and brackets.
	persian := 0
	for i := range 200 {
		ph := g.Person(i).Contact.Phones[0].Value
		if text.ToASCIIDigits(ph) != ph {
			persian++
		}
	}
	if persian == 0 {
		t.Error("no phone written in Persian or Arabic digits")
	}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := New(1, 10).WriteCSV(&buf, 50); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 51 || len(recs[0]) != len(CSVHeader) || recs[1][0] == "" {
		t.Fatalf("%d records: %q", len(recs), recs[:2])
	}
}

func TestFill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := &crm.User{Email: "owner@example.com", Name: "Owner", Role: crm.RoleSales, Active: true, Preferences: crm.DefaultPreferences("en")}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, u, "x") }); err != nil {
			t.Fatal(err)
		}
		svc := contact.New(db, contact.Options{})
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var last int
		res, err := Fill(ctx, db, svc, activity.New(db), Options{Contacts: 4100, Seed: 3, Now: now,
			Progress: func(done, total int) {
				if total != 4100 || done <= last {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Contacts != 4100 || res.Companies != 164 || res.CustomFields != 4 || res.Interactions != 82 || res.Notes != 41 || last != 4100 {
			t.Fatalf("%+v (progress %d)", res, last)
		}
		people, _, err := svc.ListContacts(ctx, crm.ContactFilter{Custom: map[string]string{"vip_level": "gold"}, Limit: 500})
		if err != nil || len(people) == 0 {
			t.Fatalf("custom filter: %d %v", len(people), err)
		}
		owned, _, _ := svc.ListContacts(ctx, crm.ContactFilter{OwnerID: &u.ID, Limit: 500})
		if len(owned) == 0 {
			t.Error("nobody is owned by the active user")
		}
		all, _, _ := svc.ListContacts(ctx, crm.ContactFilter{Sort: crm.SortCreatedAsc, Limit: 1})
		if all[0].CreatedAt.After(now.AddDate(-2, 0, 0)) || all[0].CreatedAt.Before(now.AddDate(-3, 0, -1)) {
			t.Errorf("first person created %v", all[0].CreatedAt)
		}
		// Arabic letter variants find Persian names.
		hits, err := svc.Search(ctx, "رضائي", 5)
		if err != nil || len(hits) == 0 {
			t.Fatalf("search: %v %v", hits, err)
		}
		var events int
		db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE contact_id IS NOT NULL`).Scan(&events)
		})
		if events != res.Interactions+res.Notes {
			t.Errorf("%d timeline events, want %d", events, res.Interactions+res.Notes)
		}
		// A second run adds more (the custom fields exist by now).
		res, err = Fill(ctx, db, svc, activity.New(db), Options{Contacts: 10, Seed: 4, Now: now})
		if err != nil || res.CustomFields != 0 || res.Contacts != 10 {
			t.Fatalf("second fill: %+v %v", res, err)
		}
	})
}
