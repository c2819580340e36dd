package text

import (
	"slices"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestFastSearchFormsAgree checks the fast split of E.164 numbers against
// libphonenumber's parse, on the example numbers of every region and
// number type and on numbers as imports store them.
func TestFastSearchFormsAgree(t *testing.T) {
	var nums []string
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.PERSONAL_NUMBER}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			if n := phonenumbers.GetExampleNumberForType(region, typ); n != nil {
				nums = append(nums, phonenumbers.Format(n, phonenumbers.E164))
			}
		}
	}
	for _, raw := range []string{"0912 345 6789", "+971 50 123 4567", "+966 53 765 4322", "(818) 239-2037", "07901 975324", "+39 06 1234 5678"} {
		for _, region := range []string{"IR", "US", "GB", "IT"} {
			if e, err := NormalizePhone(raw, region); err == nil {
				nums = append(nums, e)
			}
		}
	}
	if len(nums) < 500 {
		t.Fatalf("only %d example numbers", len(nums))
	}
	fast := 0
	for _, n := range nums {
		got, ok := fastSearchForms(n)
		if !ok {
			continue
		}
		fast++
		if want := slowSearchForms(n); !slices.Equal(got, want) {
			t.Errorf("%s: fast %q, parse %q", n, got, want)
		}
	}
	if fast < len(nums)*9/10 {
		t.Errorf("the fast path took %d of %d numbers", fast, len(nums))
	}
	for _, s := range []string{"", "+", "+0123", "989123456789", "+98", "+98a123", "+۹۸۹۱۲"} {
		if got, ok := fastSearchForms(s); ok {
			t.Errorf("fastSearchForms(%q) = %q; want no answer", s, got)
		}
	}
}
