package order

import (
	"math"
	"math/bits"
	"strings"
)

// mul returns a·b for non-negative a and b, and false when it overflows
// int64.
func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// add returns a+b for non-negative a and b, and false when it overflows.
func add(a, b int64) (int64, bool) {
	s := a + b
	if s < a || s < b {
		return 0, false
	}
	return s, true
}

// mulDiv returns ⌊a·b/c⌋ for 0 ≤ a, 0 ≤ b ≤ c, c > 0, without overflow:
// the product is 128 bits wide and the quotient is at most a.
func mulDiv(a, b, c int64) int64 {
	if c <= 0 || a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// isoCurrencies are the active ISO 4217 codes, and TMN (tomans), which
// shops in Iran use informally.
const isoCurrencies = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD " +
	"HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD " +
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG " +
	"QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD " +
	"TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG TMN"

// ValidCurrency reports whether code is an ISO 4217 currency code (upper
// case) or TMN.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	i := strings.Index(isoCurrencies, code)
	return i >= 0 && i%4 == 0
}
