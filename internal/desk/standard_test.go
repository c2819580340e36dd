package desk_test

import (
	"slices"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestStandardSetupSpeaksTheAdminsLanguage: the standard setup names the
// calendar, the policies and the default categories in the language of
// the admin who runs it (a Persian admin saw "urgent", "Office hours"
// and "product" in a Persian desk); settings saved before stay.
func TestStandardSetupSpeaksTheAdminsLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tc := range []struct {
			lang, calendar string
			policies       []string // urgent, high, normal, low
			categories     []string // nil: saved before the setup, kept
		}{
			{"fa", "ساعات کاری", []string{"فوری", "زیاد", "عادی", "کم"},
				[]string{"پرسش", "سفارش", "ارسال", "محصول", "صورتحساب", "شکایت", "مرجوعی"}},
			{"en", "Office hours", []string{"Urgent", "High", "Normal", "Low"}, desk.DefaultSettings().Categories},
			{"ar", "ساعات العمل", []string{"عاجلة", "مرتفعة", "عادية", "منخفضة"}, nil},
		} {
			t.Run(tc.lang, func(t *testing.T) {
				f := newFixture(t, storetest.Open(t, db.Dialect()))
				admin := *f.admin
				admin.Preferences = crm.DefaultPreferences(tc.lang)
				ctx := as(&admin)
				if tc.categories == nil {
					st := desk.DefaultSettings()
					st.Categories = []string{"Shipping", "Warranty"}
					if _, err := f.desk.SaveSettings(ctx, st); err != nil {
						t.Fatal(err)
					}
				}
				policies, err := f.desk.StandardSetup(ctx, "Asia/Tehran")
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, p := range policies {
					names = append(names, p.Name)
				}
				if !slices.Equal(names, tc.policies) {
					t.Errorf("policies %q, want %q", names, tc.policies)
				}
				stored, err := f.desk.Policies(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range stored {
					if !slices.Contains(tc.policies, p.Name) {
						t.Errorf("stored policy %q, want one of %q", p.Name, tc.policies)
					}
				}
				cals, err := f.desk.Calendars(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(cals) != 1 || cals[0].Name != tc.calendar {
					t.Errorf("calendars %+v, want one named %q", cals, tc.calendar)
				}
				st, err := f.desk.Settings(ctx)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.categories
				if want == nil {
					want = []string{"Shipping", "Warranty"}
				}
				if !slices.Equal(st.Categories, want) {
					t.Errorf("categories %q, want %q", st.Categories, want)
				}
			})
		}
	})
}
