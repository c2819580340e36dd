package club

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/pivand/pivand/internal/text"
)

// Member numbers, card codes, referral codes, coupon codes and member
// page tokens.
//
// A member number is 10 digits: 9 random (the first not 0) and a Luhn
// check digit, so a mistyped digit or two swapped neighbours are caught
// at the till before any lookup. It is shown in groups, 1234 5678 90. A
// card code is 16 digits with a Luhn check digit too, starting with 9: it
// is what the card's QR code and barcode carry, and it can be replaced
// (a lost card) without changing the member number.

const (
	numberLen = 10
	cardLen   = 16
	// codeAlphabet has no 0/O, 1/I/L: codes are read aloud and typed.
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
)

// luhnDigit returns the Luhn check digit of the digits s.
func luhnDigit(s string) byte {
	sum := 0
	double := true // the check digit will sit to the right
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid reports whether the digits s end in their Luhn check digit.
func luhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return luhnDigit(s[:len(s)-1]) == s[len(s)-1]
}

// randomDigits returns n random decimal digits, the first not 0 when
// nonZero.
func randomDigits(n int, nonZero bool) string {
	b := make([]byte, n)
	for i := range b {
		lo := int64(0)
		if i == 0 && nonZero {
			lo = 1
		}
		v, err := rand.Int(rand.Reader, big.NewInt(10-lo))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = byte('0' + lo + v.Int64())
	}
	return string(b)
}

// newMemberNumber draws a member number.
func newMemberNumber() string {
	s := randomDigits(numberLen-1, true)
	return s + string(luhnDigit(s))
}

// newCardCode draws a card code.
func newCardCode() string {
	s := "9" + randomDigits(cardLen-2, false)
	return s + string(luhnDigit(s))
}

// randomCode returns n characters of codeAlphabet.
func randomCode(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(codeAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = codeAlphabet[v.Int64()]
	}
	return string(b)
}

// newToken draws a member page token (256 bits, URL-safe) and its hash.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is what the database keeps of a member page token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NormalizeNumber turns what someone typed as a member number or card
// code (Persian or Arabic digits, spaces, dashes) into plain digits. ok
// is false when it is not 10 or 16 digits with a valid check digit.
func NormalizeNumber(s string) (string, bool) {
	s = text.ToASCIIDigits(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\u00a0' || r == '\u200c':
		default:
			return "", false
		}
	}
	d := b.String()
	if (len(d) != numberLen && len(d) != cardLen) || !luhnValid(d) {
		return "", false
	}
	return d, true
}

// NormalizeCode upper-cases a referral or coupon code and maps Persian
// and Arabic digits to ASCII; surrounding space is dropped.
func NormalizeCode(s string) string {
	return strings.ToUpper(strings.TrimSpace(text.ToASCIIDigits(s)))
}

// FormatNumber groups a member number or card code in fours for display.
func FormatNumber(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
