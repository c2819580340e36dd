package contactfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/pivand/pivand/internal/crm"
)

func decodeAll(t *testing.T, r io.Reader, opts VCardOptions) []Card {
	t.Helper()
	var cards []Card
	for c, err := range DecodeVCards(r, opts) {
		if err != nil {
			t.Fatalf("after %d cards: %v", len(cards), err)
		}
		cards = append(cards, c)
	}
	return cards
}

func sameCards(t *testing.T, got, want []Card) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cards differ\n got: %s\nwant: %s", jsonString(got), jsonString(want))
	}
}

func TestDecodeVCardFiles(t *testing.T) {
	tests := []struct {
		file string
		want []Card
	}{
		{
			file: "apple.vcf",
			want: []Card{
				{
					Number: 1, Line: 1, Version: "3.0",
					Contact: crm.Contact{
						Prefix: "Dr.", FirstName: "Maryam", LastName: "Karimi",
						// item2's X-ABLabel names the second email.
						Emails: lab("maryam@example.com", "", "m.karimi@naghsh.example", "other"),
						Phones: lab("+989351112233", "mobile", "+983132224455", "work", "+989130001122", "studio"),
						Addresses: []crm.Address{{Label: "home", Street: "Chaharbagh St 5\nUnit 2", City: "Isfahan",
							PostalCode: "81746", Country: "IR"}},
						// Apple's year 1604 means "no year".
						Birthday: "--02-29", Tags: []string{"Friends", "Customers"}, Notes: "Prefers SMS, not calls.",
					},
					CompanyNames: []string{"Naghsh Ltd"}, CompanyRole: "Designer",
				},
				{
					Number: 2, Line: 25, Version: "3.0",
					Errors: []FieldError{{Field: "KIND", Message: "The card describes an organisation, not a person; only people are imported from vCards."}},
				},
			},
		},
		{
			file: "google.vcf",
			want: []Card{
				{
					Number: 1, Line: 1, Version: "3.0",
					Contact: crm.Contact{
						FirstName: "Sara", LastName: "Ahmadi",
						Emails:    lab("sara@pivand.example", "work", "sara.home@example.com", "home"),
						Phones:    lab("+989123456789", "mobile", "+982188887777", "work"),
						Addresses: []crm.Address{{Label: "work", Street: "Valiasr St 10, Unit 4", City: "Tehran", Region: "Tehran", PostalCode: "1234567890", Country: "IR"}},
						Birthday:  "1990-05-17", Tags: []string{"VIP"}, Notes: "Met at the Tehran fair.\nWants a demo, next week.",
					},
					CompanyNames: []string{"Pivand Co"}, CompanyRole: "Sales Manager",
				},
				{
					Number: 2, Line: 16, Version: "3.0",
					Contact: crm.Contact{FirstName: "علی", LastName: "رضایی", Phones: lab("+989123456789", "mobile"), Tags: []string{"مشتری"}},
				},
			},
		},
		{
			// vCard 2.1: quoted-printable UTF-8 with soft line breaks, bare
			// types, an AGENT card inside, a Windows-1256 card.
			file: "android21.vcf",
			want: []Card{
				{
					Number: 1, Line: 1, Version: "2.1",
					Contact: crm.Contact{
						FirstName: "علی", LastName: "رضایی",
						Emails: lab("ali@example.ir", "home"),
						Phones: lab("+989123456789", "mobile", "+982188887777", "home"),
						Notes:  "یادداشت طولانی: این مشتری هر ماه خرید می‌کند و ترجیح می‌دهد صبح‌ها با او تماس بگیریم.\nخط دوم",
					},
				},
				{
					Number: 2, Line: 24, Version: "2.1",
					Contact: crm.Contact{FirstName: "فاطمه", LastName: "كريمي", Phones: lab("+983132224455", "work")},
				},
			},
		},
		{
			file: "errors.vcf",
			want: []Card{
				{
					Number: 1, Line: 1, Version: "3.0",
					Contact: crm.Contact{FirstName: "Bad", LastName: "Data"},
					Errors: []FieldError{
						{Message: "Line 7: not a vCard property (no ':')."},
						{Field: "EMAIL", Target: "email", Message: `"not-an-email" is not a valid email address.`},
						{Field: "TEL", Target: "phone", Message: `Phone "12" is too short.`},
						{Field: "BDAY", Target: "birthday", Message: `"1990-02-30" is not a date.`},
					},
				},
				{
					Number: 2, Line: 9, Version: "4.0",
					Contact: crm.Contact{FirstName: "No", LastName: "End", Emails: lab("noend@example.com", "")},
					Errors:  []FieldError{{Message: "The card that starts on line 9 has no END:VCARD line before the next card on line 13."}},
				},
				{
					Number: 3, Line: 13, Version: "4.0",
					Errors: []FieldError{{Field: "KIND", Message: "The card describes a group, not a person; only people are imported from vCards."}},
				},
				{
					Number: 4, Line: 18, Version: "3.0",
					Contact: crm.Contact{Notes: "only a note"},
					Errors:  []FieldError{{Message: "The card has no name, email or phone."}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sameCards(t, decodeAll(t, f, VCardOptions{DefaultRegion: "IR"}), tt.want)
		})
	}
}

func TestCardErr(t *testing.T) {
	c := Card{Number: 3, Line: 20, Errors: []FieldError{{Field: "EMAIL", Target: "email", Message: `"x" is not a valid email address.`}}}
	if got, want := c.Err().Error(), `card 3 (line 20): "EMAIL": "x" is not a valid email address.`; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
}

func TestDecodeVCardsEdgeCases(t *testing.T) {
	t.Run("empty input", func(t *testing.T) {
		if cards := decodeAll(t, strings.NewReader(""), VCardOptions{}); len(cards) != 0 {
			t.Errorf("%d cards", len(cards))
		}
	})
	t.Run("not a vCard file", func(t *testing.T) {
		r := NewVCardReader(strings.NewReader("First Name,Last Name\nAli,Rezaei\n"), VCardOptions{})
		_, err := r.Next()
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(fe.Message, "no BEGIN:VCARD") {
			t.Fatalf("error %v", err)
		}
		if _, err2 := r.Next(); err2 != err {
			t.Errorf("error not sticky: %v", err2)
		}
	})
	t.Run("missing END at end of file", func(t *testing.T) {
		cards := decodeAll(t, strings.NewReader("BEGIN:VCARD\nVERSION:3.0\nFN:Ali Rezaei\n"), VCardOptions{})
		if len(cards) != 1 || cards[0].Contact.FirstName != "Ali" || len(cards[0].Errors) != 1 || !strings.Contains(cards[0].Errors[0].Message, "no END:VCARD") {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("BOM, LF line ends, lower-case markers, junk between cards", func(t *testing.T) {
		in := "\uFEFFbegin:vcard\nversion:4.0\nfn:Ali Rezaei\nend:vcard\nsome junk\n\nBEGIN:VCARD\nVERSION:4.0\nEMAIL:a@b.example\nEND:VCARD\n"
		cards := decodeAll(t, strings.NewReader(in), VCardOptions{})
		if len(cards) != 2 || cards[0].Contact.LastName != "Rezaei" || cards[1].Line != 7 || cards[1].Contact.Emails[0].Value != "a@b.example" {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("vCard 4.0 tel URI, LANG, no-year birthday", func(t *testing.T) {
		in := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Sara\r\nTEL;VALUE=uri;TYPE=\"work,cell\":tel:+98-912-345-6789;ext=12\r\nLANG;PREF=1:fa\r\nBDAY:--0415\r\nEND:VCARD\r\n"
		cards := decodeAll(t, strings.NewReader(in), VCardOptions{})
		want := crm.Contact{FirstName: "Sara", Phones: lab("+989123456789", "work mobile"), Language: "fa", Birthday: "--04-15"}
		if len(cards) != 1 || !reflect.DeepEqual(cards[0].Contact, want) || cards[0].Errors != nil {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("unsupported charset and binary encodings", func(t *testing.T) {
		in := "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Rezaei;Ali\r\nNOTE;CHARSET=KOI8-R:x\r\nTITLE;ENCODING=BASE64:aGVsbG8=\r\nEND:VCARD\r\n"
		cards := decodeAll(t, strings.NewReader(in), VCardOptions{})
		if len(cards) != 1 || len(cards[0].Errors) != 2 || cards[0].Errors[0].Field != "NOTE" || cards[0].Errors[1].Field != "TITLE" {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("huge photo is skipped without being kept", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ali Rezaei\r\nPHOTO;ENCODING=b;TYPE=JPEG:")
		for i := 0; i < 60000; i++ { // ~4.5 MB of folded base64
			b.WriteString("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5\r\n ")
		}
		b.WriteString("AA==\r\nEMAIL:ali@example.com\r\nEND:VCARD\r\n")
		cards := decodeAll(t, strings.NewReader(b.String()), VCardOptions{})
		if len(cards) != 1 || cards[0].Errors != nil || cards[0].Contact.Emails[0].Value != "ali@example.com" {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("overlong property is an error, not a crash", func(t *testing.T) {
		in := "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ali Rezaei\r\nNOTE:" + strings.Repeat("x", maxVCardLine+10) + "\r\nEND:VCARD\r\n"
		cards := decodeAll(t, strings.NewReader(in), VCardOptions{})
		if len(cards) != 1 || len(cards[0].Errors) != 1 || cards[0].Errors[0].Field != "NOTE" || cards[0].Contact.FirstName != "Ali" {
			t.Errorf("cards %s", jsonString(cards))
		}
	})
	t.Run("iterator stops when asked", func(t *testing.T) {
		in := strings.Repeat("BEGIN:VCARD\nVERSION:3.0\nFN:A B\nEND:VCARD\n", 5)
		n := 0
		for range DecodeVCards(strings.NewReader(in), VCardOptions{}) {
			n++
			if n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("n = %d", n)
		}
	})
}

func roundTripContacts() []struct {
	c         crm.Contact
	companies []string
} {
	return []struct {
		c         crm.Contact
		companies []string
	}{
		{
			c: crm.Contact{
				ID: 42, Prefix: "دکتر", FirstName: "محمد‌رضا", MiddleName: "علی", LastName: "احمدی; نژاد", Suffix: "Jr.",
				Emails:      lab("mr@example.ir", "work", "home@example.ir", "", "x@y.example", "دفتر مرکزی"),
				Phones:      lab("+989123456789", "mobile", "+982188887777", "work fax", "+982188880000", "main", "+989350000000", "work mobile"),
				Addresses:   []crm.Address{{Label: "home", Street: "خیابان ولیعصر، پلاک ۱۰; واحد ۴", City: "تهران", Region: "تهران", PostalCode: "1234567890", Country: "IR"}, {Label: "work", City: "Dubai", Country: "AE"}},
				Birthday:    "1985-04-15",
				Language:    "fa",
				Tags:        []string{"مشتری ویژه", "VIP"},
				Notes:       "خط اول\nline two, with a comma; a semicolon, a \\ backslash and a very long tail" + strings.Repeat(" متن طولانی", 30),
				Memberships: []crm.Membership{{CompanyID: 7, Role: "مدیر فروش, منطقه ۲"}},
				UpdatedAt:   time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC),
			},
			companies: []string{"پیوند", "Acme, Inc.", "الهاشمي; فرع دبي"},
		},
		{
			c: crm.Contact{FirstName: "أحمد", LastName: "الهاشمي", Phones: lab("+971501234567", ""), Birthday: "--11-23"},
		},
		{
			c: crm.Contact{Emails: lab("only@email.example", "")},
		},
	}
}

func TestVCardRoundTrip(t *testing.T) {
	for _, version := range []string{"3.0", "4.0"} {
		t.Run(version, func(t *testing.T) {
			var b bytes.Buffer
			w, err := NewVCardWriter(&b, version)
			if err != nil {
				t.Fatal(err)
			}
			cases := roundTripContacts()
			for _, tc := range cases {
				if err := w.Write(tc.c, tc.companies); err != nil {
					t.Fatal(err)
				}
			}
			out := b.String()
			for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
				if len(line) > 75 || !utf8.ValidString(line) {
					t.Errorf("line %d is %d octets or splits a character: %q", i+1, len(line), line)
				}
			}
			cards := decodeAll(t, strings.NewReader(out), VCardOptions{})
			if len(cards) != len(cases) {
				t.Fatalf("%d cards", len(cards))
			}
			for i, tc := range cases {
				in := tc.c
				want := crm.Contact{
					Prefix: in.Prefix, FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName, Suffix: in.Suffix,
					Emails: in.Emails, Phones: in.Phones, Addresses: in.Addresses, Birthday: in.Birthday,
					Tags: in.Tags, Notes: in.Notes,
				}
				if version == "4.0" {
					want.Language = in.Language // vCard 3.0 has no LANG
				}
				if !reflect.DeepEqual(cards[i].Contact, want) {
					t.Errorf("card %d:\n got %s\nwant %s", i+1, jsonString(cards[i].Contact), jsonString(want))
				}
				var wantCompanies []string
				for _, c := range tc.companies {
					wantCompanies = append(wantCompanies, c)
				}
				if !reflect.DeepEqual(cards[i].CompanyNames, wantCompanies) {
					t.Errorf("card %d companies %q, want %q", i+1, cards[i].CompanyNames, wantCompanies)
				}
				if len(in.Memberships) > 0 && cards[i].CompanyRole != in.Memberships[0].Role {
					t.Errorf("card %d role %q", i+1, cards[i].CompanyRole)
				}
				if cards[i].Errors != nil || cards[i].Version != version {
					t.Errorf("card %d: version %q errors %v", i+1, cards[i].Version, cards[i].Errors)
				}
			}
		})
	}
}

func TestVCardWriterFormat(t *testing.T) {
	c := crm.Contact{ID: 7, FirstName: "Ali", LastName: "Rezaei", Emails: lab("ali@example.com", "work"),
		Phones: lab("+989123456789", "mobile"), Birthday: "1985-04-15", Tags: []string{"a", "b"}}
	var b3, b4 bytes.Buffer
	if err := EncodeVCard(&b3, c, nil, "3.0"); err != nil {
		t.Fatal(err)
	}
	if err := EncodeVCard(&b4, c, nil, "4.0"); err != nil {
		t.Fatal(err)
	}
	want3 := "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Pivand//Pivand CRM//EN\r\nUID:urn:pivand:contact:7\r\nFN:Ali Rezaei\r\nN:Rezaei;Ali;;;\r\n" +
		"EMAIL;TYPE=INTERNET;TYPE=work:ali@example.com\r\nTEL;TYPE=cell:+989123456789\r\nBDAY:1985-04-15\r\nCATEGORIES:a,b\r\nEND:VCARD\r\n"
	want4 := "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:-//Pivand//Pivand CRM//EN\r\nUID:urn:pivand:contact:7\r\nFN:Ali Rezaei\r\nN:Rezaei;Ali;;;\r\n" +
		"EMAIL;TYPE=work:ali@example.com\r\nTEL;VALUE=uri;TYPE=cell:tel:+989123456789\r\nBDAY:19850415\r\nCATEGORIES:a,b\r\nEND:VCARD\r\n"
	if b3.String() != want3 {
		t.Errorf("3.0:\n%q\nwant\n%q", b3.String(), want3)
	}
	if b4.String() != want4 {
		t.Errorf("4.0:\n%q\nwant\n%q", b4.String(), want4)
	}
	if _, err := NewVCardWriter(&b3, "2.1"); err == nil {
		t.Error("version 2.1 accepted for writing")
	}
}

// TestVCardReadsGoVCardEncoder checks interoperability the other way:
// cards written by go-vcard's own encoder are read correctly.
func TestVCardReadsGoVCardEncoder(t *testing.T) {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldFormattedName, "Zahra Karimi")
	card.SetName(&vcard.Name{FamilyName: "کریمی", GivenName: "زهرا"})
	card.Add(vcard.FieldEmail, &vcard.Field{Value: "zahra@example.ir", Params: vcard.Params{vcard.ParamType: {"home"}}})
	card.Add(vcard.FieldTelephone, &vcard.Field{Value: "+98 935 111 2233", Params: vcard.Params{vcard.ParamType: {"cell"}}})
	card.AddAddress(&vcard.Address{StreetAddress: "Chaharbagh 5", Locality: "Isfahan", Country: "IR", Field: &vcard.Field{Params: vcard.Params{vcard.ParamType: {"work"}}}})
	card.SetValue(vcard.FieldNote, "a note, with a comma\nand a second line")
	var b bytes.Buffer
	if err := vcard.NewEncoder(&b).Encode(card); err != nil {
		t.Fatal(err)
	}
	cards := decodeAll(t, &b, VCardOptions{})
	want := crm.Contact{FirstName: "زهرا", LastName: "کریمی", Emails: lab("zahra@example.ir", "home"), Phones: lab("+989351112233", "mobile"),
		Addresses: []crm.Address{{Label: "work", Street: "Chaharbagh 5", City: "Isfahan", Country: "IR"}}, Notes: "a note, with a comma\nand a second line"}
	if len(cards) != 1 || !reflect.DeepEqual(cards[0].Contact, want) {
		t.Errorf("cards %s", jsonString(cards))
	}
}
