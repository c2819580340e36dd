package contact_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestFindContactJSON: the one-person JSON built from the stored columns
// (the fast path of GET /api/v1/contacts/{id}) is byte for byte what
// json.Marshal writes for FindContactByID's result, for people with and
// without the optional fields, with text that JSON must escape, several
// company links, custom values, an owner and consents.
func TestFindContactJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		svc := contact.New(db, contact.Options{DefaultRegion: "IR"})
		for _, f := range []crm.CustomField{
			{Key: "level", Label: "Level", Type: crm.FieldSelect, Options: []string{"gold", "silver"}},
			{Key: "credit", Label: "Credit", Type: crm.FieldMoney, Currency: "irr"},
			{Key: "vip", Label: "VIP", Type: crm.FieldBoolean},
			{Key: "note", Label: "Note", Type: crm.FieldText},
		} {
			f.Entity = "contact"
			if _, err := svc.CreateCustomField(sys, &f); err != nil {
				t.Fatal(err)
			}
		}
		co1, err := svc.CreateCompany(sys, &crm.Company{Name: "Zagros <Tiles> & Co"})
		if err != nil {
			t.Fatal(err)
		}
		co2, err := svc.CreateCompany(sys, &crm.Company{Name: "Alborz"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := auth.New(db, auth.Options{}).CreateUser(sys, crm.UserCreate{Email: "owner@example.com", Password: "a long password", Role: crm.RoleSales})
		if err != nil {
			t.Fatal(err)
		}
		owner := u.ID

		plain := mustCreate(t, svc, &crm.Contact{FirstName: "A"})
		full := person("سارا", `O'Neil "the <best>" & co`, []string{"sara@example.com", "s.r@example.org"}, []string{"09123456789"})
		full.Prefix, full.MiddleName, full.Suffix = "Dr.", "ميم", "Jr."
		full.Birthday, full.Language, full.Source = "1991-03-21", "fa", "web\u2028form"
		full.Notes = "line one\nline two\ttab \\ backslash \u2029 end"
		full.Tags = []string{"VIP", "مشتری ویژه", "a&b"}
		full.Custom = map[string]any{"level": "gold", "credit": "1250000", "vip": true, "note": "<script>"}
		full.OwnerID = &owner
		full.Addresses = []crm.Address{{Label: "home", Street: "خیابان ولیعصر ۱۲", City: "Tehran", Country: "IR"}}
		full.Memberships = []crm.Membership{{CompanyID: co2.ID, Role: "buyer <at>"}}
		full = mustCreate(t, svc, full)
		// A second link, made later, with a smaller company id: links are
		// listed in the order they were made.
		time.Sleep(5 * time.Millisecond)
		ms := []crm.Membership{{CompanyID: co2.ID, Role: "buyer <at>"}, {CompanyID: co1.ID, Role: "owner"}}
		if _, err := svc.UpdateContact(sys, full.ID, crm.ContactUpdate{Memberships: &ms}); err != nil {
			t.Fatal(err)
		}
		consented := mustCreate(t, svc, person("C", "D", []string{"c@example.com"}, nil))
		if _, err := svc.SetConsent(sys, consented.ID, crm.ChannelEmail, crm.ConsentGranted, "form", ""); err != nil {
			t.Fatal(err)
		}

		for _, id := range []int64{plain.ID, full.ID, consented.ID} {
			c, err := svc.FindContactByID(sys, id)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(c)
			got, err := svc.FindContactJSON(sys, id, []byte("prefix:"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+string(want) {
				t.Errorf("person %d:\n got %s\nwant prefix:%s", id, got, want)
			}
		}
		if len(mustFind(t, svc, full.ID).CompanyIDs) != 2 {
			t.Fatalf("want two links")
		}
		if _, err := svc.FindContactJSON(sys, 1<<40, nil); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("missing person: %v", err)
		}
		off := crm.NewContextWithUser(sys, &crm.User{ID: owner, Role: crm.RoleAdmin, Active: false})
		if _, err := svc.FindContactJSON(off, plain.ID, nil); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			t.Fatalf("deactivated user: %v", err)
		}
	})
}

func mustFind(t *testing.T, svc *contact.Service, id int64) *crm.Contact {
	t.Helper()
	c, err := svc.FindContactByID(sys, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
