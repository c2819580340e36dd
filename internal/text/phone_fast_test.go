package text

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
