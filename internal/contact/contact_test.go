package contact_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var sys = context.Background()

func person(first, last string, emails, phones []string) *crm.Contact {
	c := &crm.Contact{FirstName: first, LastName: last}
	for _, e := range emails {
		c.Emails = append(c.Emails, crm.Labeled{Value: e, Label: "work"})
	}
	for _, p := range phones {
		c.Phones = append(c.Phones, crm.Labeled{Value: p, Label: "mobile"})
	}
	return c
}

func mustCreate(t *testing.T, svc *contact.Service, c *crm.Contact) *crm.Contact {
	t.Helper()
	out, err := svc.CreateContact(sys, c, true)
	if err != nil {
		t.Fatalf("create %s: %v", c.DisplayName(), err)
	}
	return out
}

func fieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)[field] == "" {
		t.Fatalf("want an error on %s, got %v", field, err)
	}
}

func TestContacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := contact.New(db, contact.Options{DefaultRegion: "IR"})

		t.Run("NormaliseOnCreate", func(t *testing.T) {
			c := person(" سارا ", "رضایی", []string{"Sara@Example.COM", "sara@example.com"}, []string{"۰۹۱۲ ۳۴۵ ۶۷۸۹"})
			c.Tags = []string{"VIP", "vip", " مشتری  ویژه "}
			c.Birthday = "۱۳۷۰-۰۱-۰۱"
			_, err := svc.CreateContact(sys, c, true)
			fieldErr(t, err, "birthday") // a Jalali year is not a Gregorian birthday
			c.Birthday = "1991-03-21"
			got, err := svc.CreateContact(sys, c, true)
			if err != nil {
				t.Fatal(err)
			}
			if got.FirstName != "سارا" || len(got.Emails) != 1 || got.Emails[0].Value != "sara@example.com" {
				t.Fatalf("emails/name: %+v", got)
			}
			if got.Phones[0].Value != "+989123456789" {
				t.Fatalf("phone = %q", got.Phones[0].Value)
			}
			if len(got.Tags) != 2 || got.Tags[1] != "مشتری ویژه" {
				t.Fatalf("tags = %q", got.Tags)
			}
			back, err := svc.FindContactByID(sys, got.ID)
			if err != nil || back.Birthday != "1991-03-21" || back.Source != "" {
				t.Fatalf("read back %+v %v", back, err)
			}
		})

		t.Run("Validation", func(t *testing.T) {
			_, err := svc.CreateContact(sys, &crm.Contact{}, true)
			fieldErr(t, err, "first_name")
			_, err = svc.CreateContact(sys, person("A", "B", []string{"x@", "ok@example.com"}, []string{"12"}), true)
			fieldErr(t, err, "emails[0]")
			fieldErr(t, err, "phones[0]")
			if msg := crm.ErrorFields(err)["phones[0]"]; msg != `"12" is not a phone number: "12" is too short.` {
				t.Errorf("phone message %q", msg)
			}
			owner := int64(424242)
			_, err = svc.CreateContact(sys, &crm.Contact{FirstName: "A", OwnerID: &owner}, true)
			fieldErr(t, err, "owner_id")
			_, err = svc.CreateContact(sys, &crm.Contact{FirstName: "A", Memberships: []crm.Membership{{CompanyID: 999}}}, true)
			fieldErr(t, err, "memberships[0].company_id")
			_, err = svc.CreateContact(sys, &crm.Contact{FirstName: "A", Custom: map[string]any{"nope": 1}}, true)
			fieldErr(t, err, "custom.nope")
		})

		t.Run("Duplicates", func(t *testing.T) {
			a := mustCreate(t, svc, person("علی", "رضایی", []string{"ali@example.ir"}, []string{"+989121112233"}))
			// Arabic letters, Persian digits, a local number: all the same person.
			for _, c := range []*crm.Contact{
				person("علي", "رضائي", nil, nil),
				person("X", "Y", []string{"ALI@example.ir"}, nil),
				person("X", "Y", nil, []string{"۰۹۱۲۱۱۱۲۲۳۳"}),
			} {
				_, err := svc.CreateContact(sys, c, false)
				d, ok := contact.IsDuplicates(err)
				if !ok || crm.ErrorCode(err) != crm.ECONFLICT || len(d.Matches) != 1 || d.Matches[0].ContactID != a.ID {
					t.Fatalf("%s: want a duplicate of %d, got %v", c.DisplayName(), a.ID, err)
				}
			}
			m, err := svc.FindDuplicates(sys, person("علي", "رضائي", []string{"ali@example.ir"}, nil))
			if err != nil || len(m) != 1 || len(m[0].Reasons) != 2 {
				t.Fatalf("find duplicates: %+v %v", m, err)
			}
			if _, err := svc.CreateContact(sys, person("علي", "رضائي", nil, nil), true); err != nil {
				t.Fatalf("allowed duplicate: %v", err)
			}
			if _, err := svc.CreateContact(sys, person("علی", "", nil, nil), false); err != nil {
				t.Fatalf("a first name alone is not a duplicate: %v", err)
			}
		})

		t.Run("SearchNormalisesAndMatchesPrefixes", func(t *testing.T) {
			co, err := svc.CreateCompany(sys, &crm.Company{Name: "Bazaar Pars", Domain: "https://www.BazaarPars.ir/about"})
			if err != nil || co.Domain != "bazaarpars.ir" {
				t.Fatalf("company %+v %v", co, err)
			}
			p := mustCreate(t, svc, &crm.Contact{FirstName: "Kaveh", LastName: "Farahani", CompanyIDs: []int64{co.ID},
				Emails: []crm.Labeled{{Value: "k.farahani@mail.example"}}, Phones: []crm.Labeled{{Value: "+971501234567"}}})
			for _, q := range []string{"kav", "FARAH", "kaveh far", "k.farahani@mail", "bazaar", "0501234", "97150", "+971 50 123", "501234"} {
				hits, err := svc.Search(sys, q, 10)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, h := range hits {
					found = found || (h.Kind == "contact" && h.ID == p.ID)
				}
				if !found {
					t.Errorf("search %q did not find Kaveh: %+v", q, hits)
				}
			}
			hits, _ := svc.Search(sys, "رضائي", 10)
			if len(hits) < 1 {
				t.Errorf("Arabic spelling found nothing")
			}
			if hits, _ := svc.Search(sys, `"*) OR 1=1 --`, 10); len(hits) != 0 {
				t.Errorf("query syntax leaked into FTS: %+v", hits)
			}
			// Renaming the company re-indexes its people.
			newName := "Tehran Tiles"
			if _, err := svc.UpdateCompany(sys, co.ID, crm.CompanyUpdate{Name: &newName}); err != nil {
				t.Fatal(err)
			}
			list, _, err := svc.ListContacts(sys, crm.ContactFilter{Q: "tiles"})
			if err != nil || len(list) != 1 || list[0].ID != p.ID {
				t.Fatalf("after rename: %v %v", list, err)
			}
		})

		t.Run("CustomFields", func(t *testing.T) {
			mk := func(f crm.CustomField) *crm.CustomField {
				f.Entity = "contact"
				out, err := svc.CreateCustomField(sys, &f)
				if err != nil {
					t.Fatalf("field %s: %v", f.Key, err)
				}
				return out
			}
			_, err := svc.CreateCustomField(sys, &crm.CustomField{Entity: "contact", Key: "Bad Key", Label: "", Type: "color"})
			for _, f := range []string{"key", "label", "type"} {
				fieldErr(t, err, f)
			}
			mk(crm.CustomField{Key: "level", Label: "Level", Type: crm.FieldSelect, Options: []string{"gold", "silver"}, ShowInList: true})
			mk(crm.CustomField{Key: "interests", Label: "Interests", Type: crm.FieldMultiSelect, Options: []string{"tea", "rugs", "spice"}})
			mk(crm.CustomField{Key: "credit", Label: "Credit", Type: crm.FieldMoney, Currency: "irr"})
			mk(crm.CustomField{Key: "vip", Label: "VIP", Type: crm.FieldBoolean})
			mk(crm.CustomField{Key: "since", Label: "Since", Type: crm.FieldDate})
			mk(crm.CustomField{Key: "site", Label: "Site", Type: crm.FieldURL})
			temp := mk(crm.CustomField{Key: "temp", Label: "Temp", Type: crm.FieldText})

			_, err = svc.CreateContact(sys, &crm.Contact{FirstName: "C", Custom: map[string]any{"level": "bronze", "credit": 1.5, "vip": "maybe", "since": "yesterday", "site": "ftp://x"}}, true)
			for _, f := range []string{"custom.level", "custom.credit", "custom.vip", "custom.since", "custom.site"} {
				fieldErr(t, err, f)
			}
			c := mustCreate(t, svc, &crm.Contact{FirstName: "Custom", LastName: "Person", Custom: map[string]any{
				"level": "gold", "interests": "rugs, tea", "credit": "۱۲٬۰۰۰٬۰۰۰", "vip": "بله", "since": "2024-01-05", "site": "shop.example", "temp": "x"}})
			if c.Custom["credit"] != int64(12000000) || c.Custom["vip"] != true || c.Custom["site"] != "https://shop.example" {
				t.Fatalf("custom = %#v", c.Custom)
			}
			for _, f := range []map[string]string{{"level": "gold"}, {"interests": "tea"}, {"vip": "true"}, {"credit": "12000000"}, {"since": "2024-01-05"}} {
				list, _, err := svc.ListContacts(sys, crm.ContactFilter{Custom: f})
				if err != nil || len(list) != 1 || list[0].ID != c.ID {
					t.Errorf("filter %v: %d %v", f, len(list), err)
				}
			}
			if _, _, err := svc.ListContacts(sys, crm.ContactFilter{Custom: map[string]string{"level": "platinum"}}); crm.ErrorFields(err)["custom.level"] == "" {
				t.Errorf("filter on a bad choice: %v", err)
			}
			// A deleted field's value stays and does not block later edits.
			if err := svc.DeleteCustomField(sys, temp.ID); err != nil {
				t.Fatal(err)
			}
			up, err := svc.UpdateContact(sys, c.ID, crm.ContactUpdate{Custom: map[string]any{"level": "silver", "vip": nil}})
			if err != nil {
				t.Fatal(err)
			}
			if up.Custom["level"] != "silver" || up.Custom["vip"] != nil || up.Custom["temp"] != "x" || up.Custom["interests"] == nil {
				t.Fatalf("custom after update = %#v", up.Custom)
			}
		})

		t.Run("ListFiltersAndPaging", func(t *testing.T) {
			db.Now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
			old := mustCreate(t, svc, &crm.Contact{FirstName: "Old", LastName: "Timer", Tags: []string{"Legacy"}})
			db.Now = time.Now
			u, err := auth.New(db, auth.Options{}).CreateUser(sys, crm.UserCreate{Email: "rep@example.com", Password: "a long password", Role: crm.RoleSales})
			if err != nil {
				t.Fatal(err)
			}
			owned := mustCreate(t, svc, &crm.Contact{FirstName: "Owned", LastName: "One", OwnerID: &u.ID})
			for i := 0; i < 7; i++ {
				mustCreate(t, svc, &crm.Contact{FirstName: fmt.Sprintf("Page%d", i), LastName: "Walker"})
			}
			list, _, err := svc.ListContacts(sys, crm.ContactFilter{Tag: "legacy"})
			if err != nil || len(list) != 1 || list[0].ID != old.ID {
				t.Fatalf("tag filter: %v %v", list, err)
			}
			list, _, _ = svc.ListContacts(sys, crm.ContactFilter{OwnerID: &u.ID})
			if len(list) != 1 || list[0].ID != owned.ID {
				t.Fatalf("owner filter: %v", list)
			}
			cut := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			list, _, _ = svc.ListContacts(sys, crm.ContactFilter{CreatedTo: &cut})
			if len(list) != 1 || list[0].ID != old.ID {
				t.Fatalf("created filter: %v", list)
			}
			all, _, _ := svc.ListContacts(sys, crm.ContactFilter{Limit: 500})
			for _, sort := range []string{"", crm.SortName, crm.SortCreatedAsc, crm.SortUpdatedDesc} {
				seen := map[int64]bool{}
				after := ""
				for pages := 0; ; pages++ {
					page, next, err := svc.ListContacts(sys, crm.ContactFilter{Sort: sort, Limit: 3, After: after})
					if err != nil {
						t.Fatalf("sort %q: %v", sort, err)
					}
					for _, c := range page {
						if seen[c.ID] {
							t.Fatalf("sort %q: %d twice", sort, c.ID)
						}
						seen[c.ID] = true
					}
					if next == "" {
						break
					}
					after = next
				}
				if len(seen) != len(all) {
					t.Fatalf("sort %q walked %d of %d", sort, len(seen), len(all))
				}
			}
			if _, _, err := svc.ListContacts(sys, crm.ContactFilter{After: "garbage!"}); crm.ErrorFields(err)["after"] == "" {
				t.Fatalf("bad cursor: %v", err)
			}
		})

		t.Run("Bulk", func(t *testing.T) {
			a := mustCreate(t, svc, &crm.Contact{FirstName: "Bulk", LastName: "A"})
			b := mustCreate(t, svc, &crm.Contact{FirstName: "Bulk", LastName: "B", Tags: []string{"Spring"}})
			n, err := svc.Bulk(sys, []int64{a.ID, b.ID, 987654}, crm.BulkAction{Action: crm.BulkAddTag, Tag: "spring"})
			if err != nil || n != 1 {
				t.Fatalf("add tag: %d %v", n, err)
			}
			list, _, _ := svc.ListContacts(sys, crm.ContactFilter{Tag: "SPRING"})
			if len(list) != 2 {
				t.Fatalf("tagged %d", len(list))
			}
			if n, err := svc.Bulk(sys, []int64{a.ID, b.ID}, crm.BulkAction{Action: crm.BulkDelete}); err != nil || n != 2 {
				t.Fatalf("bulk delete: %d %v", n, err)
			}
			if _, err := svc.Bulk(sys, nil, crm.BulkAction{Action: "paint"}); crm.ErrorFields(err)["action"] == "" || crm.ErrorFields(err)["ids"] == "" {
				t.Fatalf("bad bulk: %v", err)
			}
		})

		t.Run("ConsentAndPrivacy", func(t *testing.T) {
			p := mustCreate(t, svc, person("Nima", "Karimi", []string{"nima@example.com"}, []string{"09351234567"}))
			if ok, why, _ := svc.MayContact(sys, p.ID, crm.ChannelEmail); ok || why != "no consent" {
				t.Fatalf("before consent: %v %q", ok, why)
			}
			if _, err := svc.SetConsent(sys, p.ID, "pigeon", "granted", "", ""); crm.ErrorFields(err)["channel"] == "" {
				t.Fatalf("bad channel: %v", err)
			}
			if _, err := svc.SetConsent(sys, p.ID, crm.ChannelEmail, crm.ConsentGranted, "form", "newsletter box"); err != nil {
				t.Fatal(err)
			}
			if ok, _, _ := svc.MayContact(sys, p.ID, crm.ChannelEmail); !ok {
				t.Fatal("granted consent refused")
			}
			svc.SetConsent(sys, p.ID, crm.ChannelEmail, crm.ConsentWithdrawn, "manual", "")
			if ok, why, _ := svc.MayContact(sys, p.ID, crm.ChannelEmail); ok || why != "withdrawn" {
				t.Fatalf("after withdrawal: %v %q", ok, why)
			}
			exp, err := svc.ExportPerson(sys, p.ID)
			if err != nil || exp["contact"] == nil {
				t.Fatalf("export: %v", err)
			}
			if tl, _ := exp["timeline"].([]crm.Event); len(tl) < 3 {
				t.Fatalf("export timeline has %d events", len(tl))
			}
			if err := svc.ErasePerson(sys, p.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.FindContactByID(sys, p.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("after erase: %v", err)
			}
			if hits, _ := svc.Search(sys, "Karimi", 10); len(hits) != 0 {
				t.Fatalf("erased person still searchable: %v", hits)
			}
			for kind, v := range map[string]string{"email": "NIMA@example.com", "phone": "+98 935 123 4567"} {
				if sup, err := svc.IsSuppressed(sys, kind, v); err != nil || !sup {
					t.Fatalf("%s not suppressed: %v", kind, err)
				}
			}
			var leaked int
			db.Read(sys, func(tx *store.Tx) error {
				return tx.QueryRow(sys, `SELECT COUNT(*) FROM audit_log WHERE entity_type = 'contact' AND entity_id = ? AND (before_json LIKE '%nima%' OR after_json LIKE '%nima%')`, p.ID).Scan(&leaked)
			})
			if leaked != 0 {
				t.Fatalf("%d audit entries still hold the erased person's data", leaked)
			}
		})

		t.Run("Merge", func(t *testing.T) {
			co, _ := svc.CreateCompany(sys, &crm.Company{Name: "Merge Co"})
			a := mustCreate(t, svc, &crm.Contact{FirstName: "Reza", LastName: "Ahmadi", Birthday: "1980-05-05",
				Emails: []crm.Labeled{{Value: "reza@a.example"}}, Tags: []string{"a"}, Notes: "first"})
			b := mustCreate(t, svc, &crm.Contact{FirstName: "Reza", LastName: "Ahmadi-Nejad", Birthday: "1980-05-06",
				Emails: []crm.Labeled{{Value: "reza@b.example"}}, Phones: []crm.Labeled{{Value: "09120000001"}}, Tags: []string{"b", "A"},
				Memberships: []crm.Membership{{CompanyID: co.ID, Role: "buyer"}}, Notes: "second"})
			svc.SetConsent(sys, b.ID, crm.ChannelSMS, crm.ConsentGranted, "form", "")

			if _, err := svc.PreviewMerge(sys, []int64{a.ID}, a.ID, nil); crm.ErrorFields(err)["ids"] == "" {
				t.Fatalf("merge of one: %v", err)
			}
			if _, err := svc.PreviewMerge(sys, []int64{a.ID, b.ID}, a.ID, map[string]int64{"emails": b.ID}); crm.ErrorFields(err)["choices.emails"] == "" {
				t.Fatalf("choice on a list: %v", err)
			}
			plan, err := svc.PreviewMerge(sys, []int64{a.ID, b.ID}, a.ID, map[string]int64{"last_name": b.ID})
			if err != nil {
				t.Fatal(err)
			}
			if plan.Result.LastName != "Ahmadi-Nejad" || plan.Result.Birthday != "1980-05-05" || len(plan.Result.Emails) != 2 ||
				len(plan.Result.Tags) != 2 || len(plan.Conflicts) != 2 || plan.Moves["companies"] != 1 || plan.Moves["timeline"] < 1 {
				t.Fatalf("plan = %+v", plan)
			}
			if _, err := svc.FindContactByID(sys, b.ID); err != nil {
				t.Fatal("preview changed data")
			}
			got, err := svc.Merge(sys, []int64{a.ID, b.ID}, a.ID, map[string]int64{"last_name": b.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got.LastName != "Ahmadi-Nejad" || len(got.Phones) != 1 || len(got.CompanyIDs) != 1 || got.Notes != "first\n\nsecond" || len(got.Consents) != 1 {
				t.Fatalf("merged = %+v", got)
			}
			if _, err := svc.FindContactByID(sys, b.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("merged-away person remains: %v", err)
			}
			var evs int
			db.Read(sys, func(tx *store.Tx) error {
				return tx.QueryRow(sys, `SELECT COUNT(*) FROM events WHERE contact_id = ?`, a.ID).Scan(&evs)
			})
			if evs < 4 { // two creations, the consent, the merge
				t.Fatalf("survivor's timeline has %d events", evs)
			}
			if m, _ := svc.FindDuplicates(sys, person("X", "Y", []string{"reza@b.example"}, nil)); len(m) != 1 || m[0].ContactID != a.ID {
				t.Fatalf("survivor does not own the merged email key: %+v", m)
			}
		})

		t.Run("Permissions", func(t *testing.T) {
			as := auth.New(db, auth.Options{})
			mk := func(email string, role crm.Role) context.Context {
				u, err := as.CreateUser(sys, crm.UserCreate{Email: email, Password: "a long password", Role: role})
				if err != nil {
					t.Fatal(err)
				}
				return crm.NewContextWithUser(sys, u)
			}
			sales, support := mk("s@perm.example", crm.RoleSales), mk("sup@perm.example", crm.RoleSupport)
			c, err := svc.CreateContact(sales, &crm.Contact{FirstName: "By", LastName: "Sales"}, true)
			if err != nil || c.Source != "manual" {
				t.Fatalf("sales create: %+v %v", c, err)
			}
			if err := svc.DeleteContact(sales, c.ID); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("sales delete: %v", err)
			}
			if _, err := svc.ExportPerson(support, c.ID); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("support export: %v", err)
			}
			if _, err := svc.CreateCustomField(sales, &crm.CustomField{Entity: "contact", Key: "k", Label: "K", Type: "text"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("sales custom field: %v", err)
			}
		})
	})
}

func TestDuplicatesErrorIsConflict(t *testing.T) {
	var err error = &crm.DuplicatesError{}
	var ce *crm.Error
	if !errors.As(err, &ce) || ce.Code != crm.ECONFLICT {
		t.Fatal("DuplicatesError does not unwrap to a conflict")
	}
}
