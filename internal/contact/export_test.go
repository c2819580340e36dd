package contact

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// seedExport stores the same custom field, owner and companies in db and
// returns the owner's id.
func seedExportSchema(t *testing.T, db *store.DB, s *Service) int64 {
	t.Helper()
	ctx := context.Background()
	owner := createUser(t, db, "sara@pivand.example", "Sara", true)
	for _, f := range []crm.CustomField{
		{Entity: "contact", Key: "vip", Label: "VIP", Type: crm.FieldSelect, Options: []string{"gold", "silver"}},
		{Entity: "contact", Key: "since", Label: "Since", Type: crm.FieldDate},
		{Entity: "contact", Key: "spent", Label: "Spent", Type: crm.FieldMoney, Currency: "IRR"},
		{Entity: "contact", Key: "news", Label: "Newsletter", Type: crm.FieldBoolean},
		{Entity: "contact", Key: "langs", Label: "Languages", Type: crm.FieldMultiSelect, Options: []string{"fa", "ar", "en"}},
	} {
		if _, err := s.CreateCustomField(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	return owner
}

func exportPeople(t *testing.T, s *Service, owner int64) []*crm.Contact {
	t.Helper()
	ctx := context.Background()
	co, err := s.CreateCompany(ctx, &crm.Company{Name: "پیوند تجارت"})
	if err != nil {
		t.Fatal(err)
	}
	people := []*crm.Contact{
		{FirstName: "علی", LastName: "رضایی", Emails: []crm.Labeled{{Value: "ali@example.com", Label: "work"}, {Value: "ali.home@example.com", Label: "home"}},
			Phones: []crm.Labeled{{Value: "09123456789", Label: "mobile"}}, Tags: []string{"مشتری ویژه", "vip"}, OwnerID: &owner,
			Memberships: []crm.Membership{{CompanyID: co.ID, Role: "مدیر فروش"}}, Birthday: "1985-04-15", Language: "fa",
			Addresses: []crm.Address{{Label: "work", Street: "خیابان ولیعصر، پلاک ۱۰", City: "تهران", Country: "IR"}},
			Notes:     "Met at the fair.\nWants a demo, next week; call first.",
			Custom:    map[string]any{"vip": "gold", "since": "2020-01-02", "spent": float64(1500000), "news": true, "langs": []any{"fa", "en"}}},
		{FirstName: "Sara", LastName: "O'Neil, Jr.", Emails: []crm.Labeled{{Value: "sara@example.com"}}, Phones: []crm.Labeled{{Value: "+971501234567"}},
			Custom: map[string]any{"vip": "silver"}},
		{FirstName: "=cmd", LastName: "Injection", Emails: []crm.Labeled{{Value: "inj@example.com"}}},
	}
	for _, p := range people {
		if _, err := s.CreateContact(ctx, p, true); err != nil {
			t.Fatal(err)
		}
	}
	return people
}

func TestExportCSVRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		owner := seedExportSchema(t, db, s)
		orig := exportPeople(t, s, owner)

		var buf bytes.Buffer
		n, err := s.ExportCSV(ctx, crm.ContactFilter{}, &buf, ExportOptions{BOM: true})
		if err != nil || n != 3 {
			t.Fatalf("export: %d %v", n, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("\uFEFFid,")) || !strings.Contains(buf.String(), "custom:langs") || !strings.Contains(buf.String(), "پیوند تجارت") ||
			!strings.Contains(buf.String(), "sara@pivand.example") || strings.Contains(buf.String(), ",=cmd") {
			t.Fatalf("csv:\n%s", buf.String())
		}

		// Into a fresh database with the same settings: the same people.
		db2 := storetest.Open(t, db.Dialect())
		s2 := New(db2, Options{DefaultRegion: "IR"})
		seedExportSchema(t, db2, s2)
		// Someone else already has id 1 there: ids from another database
		// name other people, so they are not trusted without a shared key.
		other, err := s2.CreateContact(ctx, &crm.Contact{FirstName: "Someone", LastName: "Else", Emails: []crm.Labeled{{Value: "else@example.com"}}}, false)
		if err != nil || other.ID != orig[0].ID {
			t.Fatalf("other: %v %+v", err, other)
		}
		im := runImport(t, s2, writeFile(t, "export.csv", buf.String()), ImportOptions{DuplicateMode: DuplicatesUpdate})
		if im.Created != 3 || im.Errors != 0 || im.Mapping.Preset != contactfile.PresetPivand {
			t.Fatalf("re-import: %+v %+v", im, problems(t, s2, im.ID))
		}
		got := allContacts(t, s2)
		if len(got) != 4 || got[0].FirstName != "Someone" {
			t.Fatalf("people after import: %+v", got[0])
		}
		byEmail := map[string]*crm.Contact{}
		for _, c := range got {
			byEmail[c.Emails[0].Value] = c
		}
		for _, o := range orig {
			c := byEmail[o.Emails[0].Value]
			if c == nil {
				t.Fatalf("%s missing", o.Emails[0].Value)
			}
			o2, c2 := *o, *c
			for _, x := range []*crm.Contact{&o2, &c2} {
				x.ID, x.CreatedAt, x.UpdatedAt, x.Source, x.OwnerID, x.Consents = 0, c.CreatedAt, c.UpdatedAt, "", nil, nil
				x.CompanyIDs, x.Memberships = nil, nil
			}
			if a, b := string(mustJSON(o2)), string(mustJSON(c2)); a != b {
				t.Errorf("round trip changed a person:\n was %s\n now %s", a, b)
			}
			if (o.OwnerID == nil) != (c.OwnerID == nil) || len(c.Memberships) != len(o.Memberships) {
				t.Errorf("owner or companies lost: %+v", c)
			}
		}
		ali := byEmail["ali@example.com"]
		if len(ali.Memberships) != 1 || ali.Memberships[0].Role != "مدیر فروش" {
			t.Errorf("membership %+v", ali.Memberships)
		}
		names, _ := s2.FindCompanyByID(ctx, ali.Memberships[0].CompanyID)
		if names == nil || names.Name != "پیوند تجارت" {
			t.Errorf("company %+v", names)
		}

		// Back into the same database: every row is the same person (by id).
		im = runImport(t, s, writeFile(t, "again.csv", buf.String()), ImportOptions{})
		if im.Created != 0 || im.Skipped != 3 {
			t.Errorf("re-import into the source: %+v", im)
		}
		for _, p := range problems(t, s, im.ID) {
			if p.Field != "id" {
				t.Errorf("matched by %q, want id: %+v", p.Field, p)
			}
		}
	})
}

func TestExportFiltersPagesAndAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		var people []*crm.Contact
		for i := range 1203 {
			c := &crm.Contact{FirstName: fmt.Sprintf("P%04d", i), LastName: "Test", Emails: []crm.Labeled{{Value: fmt.Sprintf("p%d@example.com", i)}}}
			if i%3 == 0 {
				c.Tags = []string{"third"}
			}
			people = append(people, c)
		}
		if _, err := s.BulkCreate(ctx, people); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		n, err := s.ExportCSV(ctx, crm.ContactFilter{}, &buf, ExportOptions{Columns: []string{contactfile.ColFirstName, contactfile.ColEmail}})
		if err != nil || n != 1203 || strings.Count(buf.String(), "\n") != 1204 {
			t.Fatalf("all: %d %v", n, err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if lines[0] != "first_name,email" || lines[1] != "P1202,p1202@example.com" {
			t.Errorf("head %q", lines[:2])
		}
		seen := map[string]bool{}
		for _, l := range lines[1:] {
			if seen[l] {
				t.Fatalf("%s exported twice", l)
			}
			seen[l] = true
		}
		buf.Reset()
		if n, err = s.ExportCSV(ctx, crm.ContactFilter{Tag: "third"}, &buf, ExportOptions{}); err != nil || n != 401 {
			t.Errorf("tag: %d %v", n, err)
		}
		buf.Reset()
		if n, err = s.ExportCSV(ctx, crm.ContactFilter{Q: "p0042"}, &buf, ExportOptions{}); err != nil || n != 1 {
			t.Errorf("q: %d %v", n, err)
		}
		if _, err := s.ExportCSV(ctx, crm.ContactFilter{}, &buf, ExportOptions{Columns: []string{"shoe_size"}}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("bad column: %v", err)
		}
		// Sales may read people but not export them.
		sales := &crm.User{ID: 7, Role: crm.RoleSales, Active: true}
		if _, err := s.ExportCSV(crm.NewContextWithUser(ctx, sales), crm.ContactFilter{}, &buf, ExportOptions{}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("sales export: %v", err)
		}
		var audits int
		var after string
		db.Read(ctx, func(tx *store.Tx) error {
			tx.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'contact.export'`).Scan(&audits)
			return tx.QueryRow(ctx, `SELECT after_json FROM audit_log WHERE action = 'contact.export' ORDER BY id LIMIT 1`).Scan(&after)
		})
		if audits != 3 || !strings.Contains(after, `"count":1203`) { // the failed column check wrote nothing
			t.Errorf("%d audit entries, first %s", audits, after)
		}
	})
}

func TestExportVCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, Options{DefaultRegion: "IR"})
		owner := seedExportSchema(t, db, s)
		exportPeople(t, s, owner)
		for _, version := range []string{"3.0", "4.0"} {
			var buf bytes.Buffer
			n, err := s.ExportVCard(ctx, crm.ContactFilter{}, &buf, version)
			if err != nil || n != 3 {
				t.Fatalf("%s: %d %v", version, n, err)
			}
			if !strings.Contains(buf.String(), "VERSION:"+version+"\r\n") {
				t.Errorf("%s:\n%s", version, buf.String())
			}
			var cards []contactfile.Card
			for card, err := range contactfile.DecodeVCards(&buf, contactfile.VCardOptions{DefaultRegion: "IR"}) {
				if err != nil {
					t.Fatal(err)
				}
				cards = append(cards, card)
			}
			if len(cards) != 3 {
				t.Fatalf("%s: %d cards", version, len(cards))
			}
			var ali *contactfile.Card
			for i := range cards {
				if cards[i].Contact.LastName == "رضایی" {
					ali = &cards[i]
				}
			}
			if ali == nil || ali.Contact.FirstName != "علی" || len(ali.Contact.Emails) != 2 || ali.Contact.Phones[0].Value != "+989123456789" ||
				!slices.Contains(ali.CompanyNames, "پیوند تجارت") || ali.Contact.Birthday != "1985-04-15" {
				t.Errorf("%s: %+v", version, ali)
			}
		}
		if _, err := s.ExportVCard(ctx, crm.ContactFilter{}, new(bytes.Buffer), "2.1"); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("version 2.1: %v", err)
		}
	})
}
