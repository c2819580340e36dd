package sales_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
)

// TestDealCustomFields checks deals' values against the admin-defined deal
// fields on every write, keeps the values of deleted fields, filters the
// list and exports them.
func TestDealCustomFields(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		f.field("budget", crm.FieldMoney, func(c *crm.CustomField) { c.Currency = "IRR"; c.ShowInList = true })
		f.field("region", crm.FieldSelect, func(c *crm.CustomField) { c.Options = []string{"North", "South"}; c.Required = true })
		f.field("channels", crm.FieldMultiSelect, func(c *crm.CustomField) { c.Options = []string{"web", "phone", "store"} })
		f.field("signed_on", crm.FieldDate, nil)
		f.field("contact_phone", crm.FieldPhone, nil)
		f.field("urgent", crm.FieldBoolean, nil)
		legacy := f.field("legacy", crm.FieldText, nil)

		// Every problem names its field; nothing is stored.
		before := f.snapshot()
		_, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Bad", Custom: map[string]any{"budget": "12.5", "region": "East",
			"channels": []any{"web", "fax"}, "signed_on": "2025-02-30", "contact_phone": "12", "urgent": "maybe", "nope": "x"}})
		fieldErr(t, err, crm.EINVALID, "custom.budget", "custom.region", "custom.channels", "custom.signed_on", "custom.contact_phone", "custom.urgent", "custom.nope")
		_, err = f.sales.CreateDeal(rep, sales.DealInput{Title: "No region"})
		fieldErr(t, err, crm.EINVALID, "custom.region")
		if after := f.snapshot(); after != before {
			t.Fatalf("refused deals changed something:\n%s\n%s", before, after)
		}

		d, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Good", Custom: map[string]any{"budget": "۲۵۰۰۰۰۰", "region": "North",
			"channels": "web, phone", "signed_on": "۲۰۲۵-۰۳-۲۱", "contact_phone": "09121234567", "urgent": "بله", "legacy": "L-1"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.sales.Deal(rep, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := got.Custom
		if c["budget"] != float64(2_500_000) || c["region"] != "North" || c["signed_on"] != "2025-03-21" || c["contact_phone"] != "+989121234567" ||
			c["urgent"] != true || c["legacy"] != "L-1" {
			t.Fatalf("stored custom = %#v", c)
		}
		if ch, _ := c["channels"].([]any); len(ch) != 2 || ch[0] != "web" || ch[1] != "phone" {
			t.Fatalf("channels = %#v", c["channels"])
		}
		other, err := f.sales.CreateDeal(rep, sales.DealInput{Title: "Other", Custom: map[string]any{"region": "South", "channels": []string{"store"}}})
		if err != nil {
			t.Fatal(err)
		}

		// An update changes the keys it names; nil removes; a required
		// field cannot be emptied; a bad value changes nothing.
		if _, err := f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Custom: map[string]any{"region": nil}}); crm.ErrorFields(err)["custom.region"] == "" {
			t.Fatalf("emptying a required field: %v", err)
		}
		if _, err := f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Custom: map[string]any{"budget": 1.5}}); crm.ErrorFields(err)["custom.budget"] == "" {
			t.Fatalf("a fraction of a rial: %v", err)
		}
		up, err := f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Custom: map[string]any{"urgent": false, "signed_on": nil}})
		if err != nil {
			t.Fatal(err)
		}
		if up.Custom["urgent"] != false || up.Custom["signed_on"] != nil || up.Custom["region"] != "North" || up.Version != d.Version+1 {
			t.Fatalf("after update: %#v v%d", up.Custom, up.Version)
		}
		if n := f.count(`SELECT COUNT(*) FROM events WHERE type = ? AND subject_id = ? AND CAST(payload AS TEXT) LIKE '%custom%'`, crm.EventDealUpdated, d.ID); n != 1 {
			t.Fatalf("deal.updated naming custom: %d", n)
		}

		// A deleted field's values stay, untouched by later updates.
		if err := f.contacts.DeleteCustomField(f.as(f.admin), legacy.ID); err != nil {
			t.Fatal(err)
		}
		up, err = f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Custom: map[string]any{"budget": "3000000"}})
		if err != nil || up.Custom["legacy"] != "L-1" || up.Custom["budget"] != int64(3_000_000) {
			t.Fatalf("after deleting a field: %#v %v", up, err)
		}
		if _, err := f.sales.UpdateDeal(rep, d.ID, sales.DealUpdate{Custom: map[string]any{"legacy": "again"}}); crm.ErrorFields(err)["custom.legacy"] == "" {
			t.Fatalf("writing a deleted field: %v", err)
		}

		// The list filters on each type.
		list := func(custom map[string]string) []int64 {
			t.Helper()
			ds, _, _, err := f.sales.ListDeals(rep, crm.DealFilter{Custom: custom})
			if err != nil {
				t.Fatalf("filter %v: %v", custom, err)
			}
			var ids []int64
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			slices.Sort(ids)
			return ids
		}
		for _, tc := range []struct {
			filter map[string]string
			want   []int64
		}{
			{map[string]string{"region": "North"}, []int64{d.ID}},
			{map[string]string{"region": "South"}, []int64{other.ID}},
			{map[string]string{"channels": "store"}, []int64{other.ID}},
			{map[string]string{"channels": "web"}, []int64{d.ID}},
			{map[string]string{"budget": "3000000"}, []int64{d.ID}},
			{map[string]string{"urgent": "no"}, []int64{d.ID}},
			{map[string]string{"region": ""}, []int64{d.ID, other.ID}},
		} {
			if got := list(tc.filter); !slices.Equal(got, tc.want) {
				t.Errorf("filter %v = %v, want %v", tc.filter, got, tc.want)
			}
		}
		_, _, _, err = f.sales.ListDeals(rep, crm.DealFilter{Custom: map[string]string{"region": "East", "nope": "1"}})
		fieldErr(t, err, crm.EINVALID, "custom.region", "custom.nope")

		// The export has a column per field, money in major units.
		var buf bytes.Buffer
		if err := f.sales.ExportCSV(rep, &buf, crm.DealFilter{Custom: map[string]string{"region": "North"}}, nil); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv: %v %q", err, buf.String())
		}
		head := strings.Join(rows[0][len(sales.DealCSVColumns):], ",")
		if head != "custom.budget,custom.region,custom.channels,custom.signed_on,custom.contact_phone,custom.urgent" {
			t.Fatalf("custom columns: %s", head)
		}
		if vals := strings.Join(rows[1][len(sales.DealCSVColumns):], ","); vals != "3000000,North,web; phone,,+989121234567,false" {
			t.Fatalf("custom cells: %s", vals)
		}
		if err := f.sales.ExportCSV(rep, &buf, crm.DealFilter{Custom: map[string]string{"nope": "1"}}, func() { t.Fatal("started") }); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("export with a bad filter: %v", err)
		}

		// A deal made from a lead is not held up by required fields.
		l, err := f.sales.CreateLead(rep, sales.LeadInput{CompanyName: "Lead Co"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{}); err != nil {
			t.Fatalf("conversion with a required deal field: %v", err)
		}
		fields, err := f.sales.DealFields(rep)
		if err != nil || len(fields) != 6 || fields[0].Key != "budget" {
			t.Fatalf("deal fields: %d %v", len(fields), err)
		}
	})
}

// TestDealFieldsMigration runs 0020_deal_fields on deals with the free
// key–values of before: each key becomes a deal field typed by its values,
// and the values stay readable and writable.
func TestDealFieldsMigration(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		a := f.deal(f.as(f.rep), "A", 1, "Lead in")
		b := f.deal(f.as(f.rep), "B", 1, "Lead in")
		err := f.db.Write(sys, func(tx *store.Tx) error {
			if _, err := tx.Exec(sys, `UPDATE deals SET custom = ? WHERE id = ?`, `{"floor":"3","seats":40,"vip":true}`, a.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(sys, `UPDATE deals SET custom = ? WHERE id = ?`, `{"floor":4,"seats":12.5,"vip":false,"gone":null}`, b.ID); err != nil {
				return err
			}
			ms, err := store.Migrations(tx.Dialect())
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.Version == "0020_deal_fields" {
					_, err := tx.Exec(sys, m.SQL)
					return err
				}
			}
			t.Fatal("no migration 0020_deal_fields")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fields, err := f.sales.DealFields(f.as(f.rep))
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]string{}
		for _, fd := range fields {
			types[fd.Key] = fd.Type
			if fd.Label != fd.Key || fd.Entity != "deal" || fd.CreatedAt.IsZero() {
				t.Errorf("field %+v", fd)
			}
		}
		if len(types) != 3 || types["floor"] != crm.FieldText || types["seats"] != crm.FieldNumber || types["vip"] != crm.FieldBoolean {
			t.Fatalf("migrated fields: %v", types)
		}
		up, err := f.sales.UpdateDeal(f.as(f.rep), b.ID, sales.DealUpdate{Title: ptr("B2"), Custom: map[string]any{"seats": "13"}})
		if err != nil || up.Custom["seats"] != float64(13) || up.Custom["vip"] != false {
			t.Fatalf("update after the migration: %#v %v", up, err)
		}
		ds, _, _, err := f.sales.ListDeals(f.as(f.rep), crm.DealFilter{Custom: map[string]string{"vip": "true"}})
		if err != nil || len(ds) != 1 || ds[0].ID != a.ID {
			t.Fatalf("filter on a migrated field: %v %v", ds, err)
		}
	})
}

// TestLeadConversionLinksStoredPerson links the person a conversion finds
// (or is told to use) to the company with the lead's job title, once.
func TestLeadConversionLinksStoredPerson(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rep := f.as(f.rep)
		p, err := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Leila", Emails: []crm.Labeled{{Value: "leila@example.com"}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "Leila", Email: "LEILA@example.com", CompanyName: "Sepid Co", JobTitle: "CFO"})
		conv, err := f.sales.ConvertLead(rep, l.ID, sales.ConvertInput{NoDeal: true})
		if err != nil || conv.ContactCreated || conv.ContactID != p.ID || !conv.CompanyCreated {
			t.Fatalf("conversion = %+v %v", conv, err)
		}
		got, err := f.contacts.FindContactByID(sys, p.ID)
		if err != nil || len(got.Memberships) != 1 || got.Memberships[0].CompanyID != conv.CompanyID || got.Memberships[0].Role != "CFO" {
			t.Fatalf("found person's memberships = %+v %v", got.Memberships, err)
		}
		if n := f.count(`SELECT COUNT(*) FROM events WHERE type = ? AND contact_id = ?`, crm.EventContactUpdated, p.ID); n != 1 {
			t.Fatalf("contact.updated for the link: %d", n)
		}
		// Found by the company's name in the search now.
		if cs, _, err := f.contacts.ListContacts(sys, crm.ContactFilter{Q: "Sepid"}); err != nil || len(cs) != 1 || cs[0].ID != p.ID {
			t.Fatalf("search by the new company: %v %v", cs, err)
		}
		// Already linked: left as stored (the first role stays).
		l2, _ := f.sales.CreateLead(rep, sales.LeadInput{Email: "leila@example.com", CompanyName: "sepid co", JobTitle: "Owner"})
		if _, err := f.sales.ConvertLead(rep, l2.ID, sales.ConvertInput{NoDeal: true}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.contacts.FindContactByID(sys, p.ID)
		if len(got.Memberships) != 1 || got.Memberships[0].Role != "CFO" {
			t.Fatalf("linked twice: %+v", got.Memberships)
		}
		// A person chosen by id is linked too, keeping their other companies.
		q, _ := f.contacts.CreateContact(sys, &crm.Contact{FirstName: "Babak", Memberships: []crm.Membership{{CompanyID: conv.CompanyID, Role: "Buyer"}}}, false)
		l3, _ := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "B", CompanyName: "Kaveh Ltd", JobTitle: "Director"})
		conv3, err := f.sales.ConvertLead(rep, l3.ID, sales.ConvertInput{ContactID: q.ID})
		if err != nil || conv3.ContactID != q.ID || conv3.Deal == nil || conv3.Deal.ContactID != q.ID {
			t.Fatalf("conversion onto a chosen person = %+v %v", conv3, err)
		}
		got, _ = f.contacts.FindContactByID(sys, q.ID)
		if len(got.Memberships) != 2 || got.Memberships[1].CompanyID != conv3.CompanyID || got.Memberships[1].Role != "Director" {
			t.Fatalf("chosen person's memberships = %+v", got.Memberships)
		}
		// A chosen person who does not exist: nothing changes.
		l4, _ := f.sales.CreateLead(rep, sales.LeadInput{FirstName: "C", CompanyName: "Nowhere"})
		before := f.snapshot()
		_, err = f.sales.ConvertLead(rep, l4.ID, sales.ConvertInput{ContactID: 987654})
		fieldErr(t, err, crm.EINVALID, "contact_id")
		if after := f.snapshot(); after != before {
			t.Fatalf("a refused conversion changed something:\n%s\n%s", before, after)
		}
	})
}
