package text

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestFastPhoneAgreesWithLibphonenumber checks the fast path against the
// general parser on many generated numbers in every fast region, in
// national and international forms.
func TestFastPhoneAgreesWithLibphonenumber(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	checked, fast := 0, 0
	for region := range fastRegions {
		for i := 0; i < 3000; i++ {
			n := 6 + r.IntN(8)
			digits := make([]byte, n)
			for j := range digits {
				digits[j] = byte('0' + r.IntN(10))
			}
			for _, in := range []string{"0" + string(digits), string(digits), "+" + string(digits),
				fmt.Sprintf("+%s %s-%s", string(digits[:2]), string(digits[2:5]), string(digits[5:]))} {
				got, ok := fastPhone(in, region)
				if !ok {
					continue
				}
				fast++
				want, err := slowPhone(in, in, region)
				if err != nil || got != want {
					t.Fatalf("%s %q: fast %q, general %q (%v)", region, in, got, want, err)
				}
				checked++
			}
		}
	}
	for _, tt := range []struct{ in, region, want string }{
		{"0912 345 6789", "IR", "+989123456789"},
		{"+98 (912) 345-6789", "", "+989123456789"},
		{"050 123 4567", "AE", "+971501234567"},
		{"(650) 253-0000", "US", "+16502530000"},
	} {
		if got, ok := fastPhone(tt.in, tt.region); !ok || got != tt.want {
			t.Errorf("fastPhone(%q, %s) = %q, %v; want %q", tt.in, tt.region, got, ok, tt.want)
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d inputs took the fast path", fast)
	}
	t.Logf("%d fast answers agreed with libphonenumber", checked)
}

func BenchmarkNormalizePhone(b *testing.B) {
	for i := 0; i < b.N; i++ {
		NormalizePhone("0912 345 6789", "IR")
	}
}

// TestValidNumberAgreesWithLibphonenumber checks validNumber against
// phonenumbers.IsValidNumber on random national numbers of every length
// for every country code, and on numbers that are valid (the examples in
// the metadata, with a digit changed at random).
func TestValidNumberAgreesWithLibphonenumber(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(cc int, nsn string) bool {
		var nn uint64
		for _, d := range nsn {
			nn = nn*10 + uint64(d-'0')
		}
		num := &phonenumbers.PhoneNumber{CountryCode: proto32(int32(cc)), NationalNumber: &nn}
		want := phonenumbers.IsValidNumber(num)
		if got := validNumber(cc, nsn); got != want {
			t.Fatalf("+%d %s: validNumber %v, libphonenumber %v", cc, nsn, got, want)
		}
		return want
	}
	valid, checked := 0, 0
	for cc := 1; cc < 1000; cc++ {
		if len(phonenumbers.GetRegionCodesForCountryCode(cc)) == 0 {
			continue
		}
		for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.VOIP} {
				ex := phonenumbers.GetExampleNumberForType(region, typ)
				if ex == nil {
					continue
				}
				nsn := phonenumbers.GetNationalSignificantNumber(ex)
				for i := 0; i < 20 && nsn != "" && nsn[0] != '0'; i++ {
					b := []byte(nsn)
					if i > 0 {
						b[1+r.IntN(len(b)-1)] = byte('0' + r.IntN(10))
					}
					if check(cc, string(b)) {
						valid++
					}
					checked++
				}
			}
		}
		for i := 0; i < 200; i++ {
			n := 2 + r.IntN(16)
			b := make([]byte, n)
			b[0] = byte('1' + r.IntN(9))
			for j := 1; j < n; j++ {
				b[j] = byte('0' + r.IntN(10))
			}
			if check(cc, string(b)) {
				valid++
			}
			checked++
		}
	}
	if valid < 1000 {
		t.Fatalf("only %d of %d numbers valid: the test checks too little", valid, checked)
	}
	t.Logf("%d numbers (%d valid) agreed with libphonenumber", checked, valid)
}

func BenchmarkFastPhoneUS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		NormalizePhone("+1 650 253 0000", "")
	}
}
