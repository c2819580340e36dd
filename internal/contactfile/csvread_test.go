package contactfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

// readAll reads every row of a CSV reader.
func readAll(t testing.TB, r *CSVReader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		rows = append(rows, row)
	}
}

func readString(t testing.TB, s string, opts CSVOptions) (*CSVReader, []Row) {
	t.Helper()
	r, err := NewCSVReader(strings.NewReader(s), opts)
	if err != nil {
		t.Fatalf("NewCSVReader: %v", err)
	}
	return r, readAll(t, r)
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func sameRows(t *testing.T, got, want []Row) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows differ\n got: %s\nwant: %s", jsonString(got), jsonString(want))
	}
}

func lab(pairs ...string) []crm.Labeled {
	var out []crm.Labeled
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, crm.Labeled{Value: pairs[i], Label: pairs[i+1]})
	}
	return out
}

func TestCSVPresetFiles(t *testing.T) {
	tests := []struct {
		file      string
		opts      CSVOptions
		preset    string
		delimiter rune
		want      []Row
	}{
		{
			file: "google.csv", opts: CSVOptions{DefaultRegion: "IR"}, preset: PresetGoogle, delimiter: ',',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						FirstName: "Sara", LastName: "Ahmadi",
						Emails:    lab("sara@pivand.example", "work", "sara.home@example.com", "home"),
						Phones:    lab("+989123456789", "mobile", "+982188887777", "work"),
						Addresses: []crm.Address{{Label: "work", Street: "Valiasr St 10, Unit 4", City: "Tehran", Region: "Tehran", PostalCode: "1234567890", Country: "IR"}},
						Birthday:  "1990-05-17", Tags: []string{"VIP"},
						Notes: "Met at the Tehran fair.\nWants a demo, next week.",
					},
					CompanyName: "Pivand Co", CompanyNames: []string{"Pivand Co"}, CompanyRole: "Sales Manager",
				},
				{
					// Sara's notes and formatted address span lines 2-6.
					Line: 7,
					Contact: crm.Contact{
						Prefix: "Dr.", FirstName: "John", MiddleName: "Q", LastName: "Smith",
						Emails:   lab("john@acme.example", "work", "j.smith@acme.example", "work"),
						Phones:   lab("+16502530000", "mobile"),
						Birthday: "--04-15", Tags: []string{"starred"},
					},
					CompanyName: "Acme Inc", CompanyNames: []string{"Acme Inc"}, CompanyRole: "CTO",
				},
				{
					Line:    8,
					Contact: crm.Contact{FirstName: "Bad", LastName: "Email"},
					Errors: []FieldError{
						{Field: "Birthday", Target: "birthday", Message: `"1990-13-01" is not a date.`},
						{Field: "E-mail 1 - Value", Target: "email", Message: `"not-an-email" is not a valid email address.`},
					},
				},
				// line 9 is an empty record: skipped
				{
					Line: 10,
					Contact: crm.Contact{
						FirstName: "علی", LastName: "رضایی",
						Emails: lab("ali@example.ir", ""), Phones: lab("+989123456789", "mobile"), Tags: []string{"مشتری"},
					},
				},
			},
		},
		{
			file: "google-legacy.csv", opts: CSVOptions{DefaultRegion: "IR"}, preset: PresetGoogleLegacy, delimiter: ',',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						FirstName: "Maryam", LastName: "Karimi",
						Emails:    lab("maryam@example.com", "home"),
						Phones:    lab("+989351112233", "mobile", "+983132224455", "home"),
						Addresses: []crm.Address{{Label: "home", Street: "Chaharbagh St 5", City: "Isfahan", Country: "IR"}},
						Birthday:  "1988-02-29", Tags: []string{"Friends", "Customers"}, Notes: "Prefers SMS",
					},
					CompanyName: "Naghsh Ltd", CompanyNames: []string{"Naghsh Ltd"}, CompanyRole: "Designer",
				},
				{
					// Only "Name" is filled: split into first and last name.
					// The US-style birthday follows the preset's date order.
					Line: 3,
					Contact: crm.Contact{
						FirstName: "Omar", LastName: "Haddad",
						Emails: lab("omar@haddad.example", "work"), Phones: lab("+97143234567", "work"), Birthday: "1985-04-15",
					},
				},
			},
		},
		{
			file: "outlook.csv", opts: CSVOptions{DefaultRegion: "IR"}, preset: PresetOutlook, delimiter: ',',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						Prefix: "Mr.", FirstName: "Reza", LastName: "Moradi",
						Emails: lab("reza@moradi.example", "", "r.moradi@mail.example", ""),
						// Primary Phone repeats the mobile number: kept once.
						Phones:    lab("+982166401234", "work", "+989120001122", "mobile"),
						Addresses: []crm.Address{{Label: "work", Street: "Enghelab St 120, Floor 3", City: "Tehran", PostalCode: "1131234567", Country: "IR"}},
						Birthday:  "1985-04-15", Tags: []string{"Customers", "VIP"}, Notes: "Pays on time.",
					},
					CompanyName: "Moradi Trading", CompanyNames: []string{"Moradi Trading"}, CompanyRole: "Owner",
				},
				{
					// 23/11/1979 cannot be month/day: read as day/month
					// although Outlook's order is month/day.
					Line: 3,
					Contact: crm.Contact{
						FirstName: "Lina", LastName: "Nasser",
						Emails:    lab("lina@nasser.example", ""),
						Phones:    lab("+97145550000", "home"),
						Addresses: []crm.Address{{Label: "home", Street: "Sheikh Zayed Rd", City: "Dubai", Country: "AE"}},
						Birthday:  "1979-11-23",
					},
				},
			},
		},
		{
			file: "hubspot.csv", opts: CSVOptions{DefaultRegion: "US"}, preset: PresetHubSpot, delimiter: ',',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						FirstName: "Emily", LastName: "Stone",
						Emails:    lab("emily@stone.example", ""),
						Phones:    lab("+16502530000", "", "+447911123456", "mobile"),
						Addresses: []crm.Address{{Street: "1600 Amphitheatre Pkwy", City: "Mountain View", Region: "CA", PostalCode: "94043", Country: "US"}},
						Source:    "Offline Sources", Tags: []string{"customer"},
					},
					CompanyName: "Stone LLC", CompanyNames: []string{"Stone LLC"}, CompanyRole: "Buyer", OwnerName: "Jane Owner",
				},
				{
					Line: 3,
					Contact: crm.Contact{
						FirstName: "Hamid", LastName: "Farahani",
						Emails: lab("hamid@farahani.example", ""), Phones: lab("+982188889999", ""), Tags: []string{"lead"},
					},
					OwnerEmail: "owner@pivand.example",
				},
			},
		},
		{
			// UTF-8 with BOM, CRLF, Persian headers and digits, Jalali
			// birthdays, Arabic letter variants kept as written.
			file: "persian.csv", opts: CSVOptions{DefaultRegion: "IR"}, preset: PresetGeneric, delimiter: ',',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						FirstName: "محمد رضا", LastName: "احمدی",
						Emails:    lab("mohammad@example.ir", ""),
						Phones:    lab("+989123456789", "mobile", "+982188887777", ""),
						Addresses: []crm.Address{{Street: "خیابان ولیعصر، پلاک ۱۰", City: "تهران", PostalCode: "1234567890"}},
						Birthday:  "1985-04-15", Tags: []string{"مشتری ویژه", "تهران"}, Notes: "مشتری قدیمی؛ خرید سالانه",
					},
					CompanyName: "پیوند", CompanyNames: []string{"پیوند"}, CompanyRole: "مدیر فروش",
				},
				{Line: 3, Contact: crm.Contact{FirstName: "فاطمه", LastName: "كريمي", Phones: lab("+989351112233", "mobile")}},
				{Line: 5, Contact: crm.Contact{FirstName: "زهرا", Birthday: "1992-03-20"}},
			},
		},
		{
			file: "arabic.csv", opts: CSVOptions{DefaultRegion: "AE"}, preset: PresetGeneric, delimiter: ';',
			want: []Row{
				{
					Line: 2,
					Contact: crm.Contact{
						FirstName: "أحمد", LastName: "الهاشمي",
						Emails:    lab("ahmed@hashimi.example", ""),
						Phones:    lab("+97143234567", "", "+971501234567", "mobile"),
						Addresses: []crm.Address{{City: "دبي", Country: "AE"}},
						Birthday:  "1985-04-15", Notes: "عميل مهم; يفضل الاتصال صباحا",
					},
					CompanyName: "شركة الهاشمي", CompanyNames: []string{"شركة الهاشمي"}, CompanyRole: "مدير",
				},
				{
					Line:    3,
					Contact: crm.Contact{FirstName: "خالد"},
					Errors: []FieldError{
						{Field: "البريد الإلكتروني", Target: "email", Message: `"khaled@example" is not a valid email address.`},
						{Field: "تاريخ الميلاد", Target: "birthday", Message: `"05/04/1985" is not a date: day and month are ambiguous; write it as YYYY-MM-DD or choose the date order.`},
					},
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
			r, err := NewCSVReader(f, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Mapping().Preset; got != tt.preset {
				t.Errorf("preset = %q, want %q", got, tt.preset)
			}
			if got := r.Delimiter(); got != tt.delimiter {
				t.Errorf("delimiter = %q, want %q", got, tt.delimiter)
			}
			if err := r.Mapping().Validate(r.Header()); err != nil {
				t.Errorf("detected mapping does not validate: %v", err)
			}
			sameRows(t, readAll(t, r), tt.want)
			st, _ := f.Stat()
			if r.Offset() != st.Size() {
				t.Errorf("Offset at EOF = %d, want the file size %d", r.Offset(), st.Size())
			}
		})
	}
}

func TestCSVRowValues(t *testing.T) {
	const header = "First Name,Last Name,Full Name,Email,Phone,Birthday,Tags,Language,Owner,custom:vip_level,Notes\n"
	tests := []struct {
		name string
		line string
		opts CSVOptions
		want Row
	}{
		{
			name: "full name split when no parts",
			line: "  ,  ,Ludwig van Beethoven,LUDWIG@Example.COM,,,,,,,",
			want: Row{Contact: crm.Contact{FirstName: "Ludwig", LastName: "van Beethoven", Emails: lab("ludwig@example.com", "")}},
		},
		{
			name: "full name Last, First",
			line: `,,"Rezaei, Ali",mailto:ali@example.com,,,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", LastName: "Rezaei", Emails: lab("ali@example.com", "")}},
		},
		{
			name: "several emails and phones in one cell",
			line: `Ali,,,"a@x.example; b@y.example, Ali <c@z.example>","۰۹۱۲ ۳۴۵ ۶۷۸۹ ::: 021-8888-7777",,,,,,`,
			opts: CSVOptions{DefaultRegion: "IR"},
			want: Row{Contact: crm.Contact{FirstName: "Ali",
				Emails: lab("a@x.example", "", "b@y.example", "", "c@z.example", ""),
				Phones: lab("+989123456789", "", "+982188887777", "")}},
		},
		{
			name: "spreadsheet dropped the plus or the leading zero",
			line: `Ali,,,,"989123456789; 9351112233",,,,,,`,
			opts: CSVOptions{DefaultRegion: "IR"},
			want: Row{Contact: crm.Contact{FirstName: "Ali", Phones: lab("+989123456789", "", "+989351112233", "")}},
		},
		{
			name: "scientific notation",
			line: `Ali,,,,9.12346E+11,,,,,,`,
			opts: CSVOptions{DefaultRegion: "IR"},
			want: Row{Contact: crm.Contact{FirstName: "Ali"}, Errors: []FieldError{{Field: "Phone", Target: "phone",
				Message: `Phone "9.12346E+11" was turned into a number by a spreadsheet (scientific notation) and its digits are lost; format the phone column as Text and export again.`}}},
		},
		{
			name: "phone without default region",
			line: `Ali,,,,0912 345 6789,,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali"}, Errors: []FieldError{{Field: "Phone", Target: "phone",
				Message: `Phone "0912 345 6789" has no country code (write it as +<country code>... or give a default region).`}}},
		},
		{
			name: "jalali birthday by year, persian digits",
			line: `Ali,,,,,۱۳۶۴/۱/۲۶,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Birthday: "1985-04-15"}},
		},
		{
			name: "calendar jalali forces jalali",
			line: `Ali,,,,,1364-01-26,,,,,`,
			opts: CSVOptions{Calendar: "jalali"},
			want: Row{Contact: crm.Contact{FirstName: "Ali", Birthday: "1985-04-15"}},
		},
		{
			name: "invalid jalali day",
			line: `Ali,,,,,1403/07/31,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali"}, Errors: []FieldError{{Field: "Birthday", Target: "birthday",
				Message: `"1403/07/31" is not a Jalali date: day 31 out of range 1-30 for jalali month 7.`}}},
		},
		{
			name: "date with time and month names",
			line: `Ali,,,,,1985-04-15T00:00:00Z,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Birthday: "1985-04-15"}},
		},
		{
			name: "tags split and deduplicated, language by name",
			line: `Ali,,,,,,"VIP; vip | تهران، Customer ::: * starred",Persian,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Tags: []string{"VIP", "تهران", "Customer", "starred"}, Language: "fa"}},
		},
		{
			name: "language code and bad language",
			line: `Ali,,,,,,,"en_US",,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Language: "en-us"}},
		},
		{
			name: "owner email in a display form, custom field",
			line: `Ali,,,,,,,,"Jane Doe (Jane@Pivand.example)",gold,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Custom: map[string]any{"vip_level": "gold"}}, OwnerEmail: "jane@pivand.example"},
		},
		{
			name: "formula protection removed",
			line: `'=Ali,,,,,,,,,'+5,'-- call back`,
			want: Row{Contact: crm.Contact{FirstName: "=Ali", Notes: "-- call back", Custom: map[string]any{"vip_level": "+5"}}},
		},
		{
			name: "no identity",
			line: `,,,,,,VIP,,,,a note`,
			want: Row{Contact: crm.Contact{Tags: []string{"VIP"}, Notes: "a note"}, Errors: []FieldError{{Message: "The row has no name, email or phone."}}},
		},
		{
			name: "fewer values than columns",
			line: `Ali,Rezaei`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", LastName: "Rezaei"}},
		},
		{
			name: "more values than columns",
			line: `Ali,,,,,,,,,,note,extra`,
			want: Row{Contact: crm.Contact{FirstName: "Ali", Notes: "note"}, Errors: []FieldError{
				{Message: "The row has 12 values but the header has 11 columns: a value probably contains the delimiter without being quoted."}}},
		},
		{
			name: "empty trailing extra values are fine",
			line: `Ali,,,,,,,,,,,,`,
			want: Row{Contact: crm.Contact{FirstName: "Ali"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rows := readString(t, header+tt.line+"\n", tt.opts)
			tt.want.Line = 2
			sameRows(t, rows, []Row{tt.want})
		})
	}
}

func TestCSVDelimiterAndLines(t *testing.T) {
	tests := []struct {
		name  string
		input string
		delim rune
		lines []int
		first []string // first names in order
	}{
		{"comma", "First Name,Last Name\nAli,Rezaei\nSara,Ahmadi\n", ',', []int{2, 3}, []string{"Ali", "Sara"}},
		{"semicolon", "First Name;Last Name\nAli;Rezaei\n", ';', []int{2}, []string{"Ali"}},
		{"tab", "First Name\tLast Name\tNotes\nAli\tRezaei\ta, b; c\n", '\t', []int{2}, []string{"Ali"}},
		{"quoted delimiters in header", "\"Name, full\";\"Email; main\";Phone\nAli;a@b.example;\n", ';', []int{2}, nil},
		{"excel sep line", "sep=;\nFirst Name;Last Name\nAli;Rezaei\n", ';', []int{3}, []string{"Ali"}},
		{"single column", "Email\na@b.example\n", ',', []int{2}, nil},
		{"crlf and blank lines", "First Name,Notes\r\n\r\nAli,x\r\n\r\n\r\nSara,y\r\n", ',', []int{3, 6}, []string{"Ali", "Sara"}},
		{"multi-line quoted fields", "First Name,Notes\nAli,\"one\ntwo\r\nthree\"\nSara,\"a \"\"quoted\"\"\nword\"\nReza,z", ',', []int{2, 5, 7}, []string{"Ali", "Sara", "Reza"}},
		{"old mac CR line ends", "First Name,Notes\rAli,\"x\ry\"\rSara,z\r", ',', []int{2, 4}, []string{"Ali", "Sara"}},
		{"blank lines before header", "\n\nFirst Name\nAli\n", ',', []int{4}, []string{"Ali"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rows := readString(t, tt.input, CSVOptions{})
			if r.Delimiter() != tt.delim {
				t.Errorf("delimiter = %q, want %q", r.Delimiter(), tt.delim)
			}
			var lines []int
			var first []string
			for _, row := range rows {
				lines = append(lines, row.Line)
				if row.Contact.FirstName != "" {
					first = append(first, row.Contact.FirstName)
				}
			}
			if !reflect.DeepEqual(lines, tt.lines) || !reflect.DeepEqual(first, tt.first) {
				t.Errorf("lines %v first names %q, want %v %q", lines, first, tt.lines, tt.first)
			}
			if r.Offset() != int64(len(tt.input)) {
				t.Errorf("Offset at EOF = %d, want %d", r.Offset(), len(tt.input))
			}
		})
	}
	t.Run("multi-line notes keep CR LF as LF", func(t *testing.T) {
		_, rows := readString(t, "First Name,Notes\r\nAli,\"one\r\ntwo\"\r\n", CSVOptions{})
		if rows[0].Contact.Notes != "one\ntwo" {
			t.Errorf("notes = %q", rows[0].Contact.Notes)
		}
	})
}

func TestCSVEncodings(t *testing.T) {
	t.Run("BOM is skipped and counted", func(t *testing.T) {
		in := "\xEF\xBB\xBFFirst Name,Email\nAli,a@b.example\n"
		r, rows := readString(t, in, CSVOptions{})
		if r.Header()[0] != "First Name" || len(rows) != 1 || rows[0].Contact.FirstName != "Ali" || rows[0].Line != 2 {
			t.Errorf("header %q rows %+v", r.Header(), rows)
		}
		if r.Offset() != int64(len(in)) {
			t.Errorf("offset %d, want %d", r.Offset(), len(in))
		}
	})
	refused := []struct {
		name, input, want string
		line, col         int
	}{
		{"UTF-16 LE", "\xFF\xFEF\x00i\x00r\x00", "UTF-16", 0, 0},
		{"UTF-16 BE", "\xFE\xFF\x00F\x00i", "UTF-16", 0, 0},
		{"UTF-32", "\xFF\xFE\x00\x00F\x00\x00\x00", "UTF-32", 0, 0},
		{"UTF-16 without BOM", "F\x00i\x00r\x00s\x00t\x00\n\x00", "NUL bytes", 1, 0},
		{"xlsx", "PK\x03\x04\x14\x00\x06\x00", "Excel workbook", 0, 0},
		{"xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "old Excel workbook", 0, 0},
		{"empty", "", "empty", 0, 0},
		// Windows-1256 "نام" in the header.
		{"windows-1256 header", "\xE4\xC7\xE3,Email\n", "not valid UTF-8", 1, 1},
		// Windows-1256 in row 3, third byte of the second column.
		{"windows-1256 row", "Name,City\nAli,Tehran\nSara,Is\xD5fahan\n", `not valid UTF-8 text (column "City")`, 3, 8},
		// Quoted field with a doubled quote before the bad byte.
		{"windows-1256 quoted", "Name,City\nSara,\"a\"\"b\xD5\"\n", `column "City"`, 2, 11},
		// On the second line of a multi-line field.
		{"windows-1256 multi-line", "Name,Notes\nSara,\"line one\nab\xD5\"\n", `column "Notes"`, 3, 3},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSVReader(strings.NewReader(tt.input), CSVOptions{})
			if err == nil {
				_, err = r.Next()
				for err == nil {
					_, err = r.Next()
				}
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v (%T), want *FormatError", err, err)
			}
			if !strings.Contains(fe.Error(), tt.want) || fe.Line != tt.line || fe.Column != tt.col {
				t.Errorf("error = %q (line %d col %d), want %q at line %d col %d", fe, fe.Line, fe.Column, tt.want, tt.line, tt.col)
			}
			if tt.want != "empty" && !strings.Contains(fe.Error(), "UTF-8") && !strings.Contains(fe.Error(), "CSV") {
				t.Errorf("error %q gives no advice", fe)
			}
		})
	}
	t.Run("invalid UTF-8 stops reading and the error sticks", func(t *testing.T) {
		r, err := NewCSVReader(strings.NewReader("Name\nAli\nIs\xD5fahan\nSara\n"), CSVOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if row, err := r.Next(); err != nil || row.Line != 2 {
			t.Fatalf("first row %+v %v", row, err)
		}
		_, err1 := r.Next()
		_, err2 := r.Next()
		if err1 == nil || err1 != err2 || !strings.Contains(err1.Error(), `"CSV UTF-8 (Comma delimited) (*.csv)"`) {
			t.Errorf("errors %v / %v", err1, err2)
		}
	})
}

func TestCSVBrokenQuotes(t *testing.T) {
	t.Run("bare quote is a row error and reading goes on", func(t *testing.T) {
		in := "Name,Notes\nAli,5\" screen\nSara,ok\n"
		r, rows := readString(t, in, CSVOptions{})
		if len(rows) != 2 || rows[0].Line != 2 || len(rows[0].Errors) != 1 || rows[1].Line != 3 || rows[1].Contact.FirstName != "Sara" {
			t.Fatalf("rows %s", jsonString(rows))
		}
		if !strings.Contains(rows[0].Errors[0].Message, "Line 2, byte column 6") {
			t.Errorf("message %q", rows[0].Errors[0].Message)
		}
		if r.Checkpoint().Rows != 2 {
			t.Errorf("checkpoint %+v", r.Checkpoint())
		}
	})
	t.Run("text after a closing quote", func(t *testing.T) {
		_, rows := readString(t, "Name,Notes\nAli,\"multi\nline\"x\nSara,ok\n", CSVOptions{})
		if len(rows) != 2 || rows[0].Line != 2 || !strings.Contains(rows[0].Errors[0].Message, "starts on line 2") || rows[1].Line != 4 {
			t.Fatalf("rows %s", jsonString(rows))
		}
	})
	t.Run("unclosed quote at the end", func(t *testing.T) {
		_, rows := readString(t, "Name,Notes\nAli,ok\nSara,\"never closed\nmore\n", CSVOptions{})
		if len(rows) != 2 || rows[1].Line != 3 || len(rows[1].Errors) != 1 {
			t.Fatalf("rows %s", jsonString(rows))
		}
	})
	t.Run("unclosed quote in a big file hits the record limit", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Name,Notes\nAli,\"oops\n")
		for b.Len() < 300<<10 {
			b.WriteString("Sara,some notes that go on and on\n")
		}
		r, err := NewCSVReader(strings.NewReader(b.String()), CSVOptions{MaxRecordBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next()
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Line != 2 || !strings.Contains(fe.Error(), "without a closing one") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("long records within the limit are fine", func(t *testing.T) {
		notes := strings.Repeat("long note ", 20000) // 200 KB
		_, rows := readString(t, "Name,Notes\nAli,\""+notes+"\nend\"\nSara,x\n", CSVOptions{MaxRecordBytes: 256 << 10})
		if len(rows) != 2 || rows[1].Line != 4 || len(rows[0].Contact.Notes) != len(notes)+4 {
			t.Errorf("rows %d", len(rows))
		}
	})
}

func TestCSVMappingOverride(t *testing.T) {
	in := "Col A,Col B,Col C,Col D\nAli,a@b.example,gold,work\n"
	r, err := NewCSVReader(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Mapping()
	if m.Preset != PresetGeneric || m.Columns[0].Field != FieldIgnore {
		t.Fatalf("detected %+v", m)
	}
	if err := m.Validate(r.Header()); err == nil || !strings.Contains(err.Error(), "Map at least one column") {
		t.Errorf("Validate of an all-ignore mapping = %v", err)
	}
	m.Columns[0].Field = FieldFirstName
	m.Columns[1].Field = FieldEmail
	m.Columns[1].Group = 1
	m.Columns[2].Field = "custom:tier"
	m.Columns[3].Field = FieldEmailLabel
	m.Columns[3].Group = 1
	_, rows := readString(t, in, CSVOptions{Mapping: &m})
	want := []Row{{Line: 2, Contact: crm.Contact{FirstName: "Ali", Emails: lab("a@b.example", "work"), Custom: map[string]any{"tier": "gold"}}}}
	sameRows(t, rows, want)

	bad := []struct {
		name   string
		change func(*Mapping)
		want   string
	}{
		{"wrong header", func(m *Mapping) { m.Columns[0].Header = "Name" }, `Column 1 is "Col A" in the file but "Name" in the mapping.`},
		{"missing column", func(m *Mapping) { m.Columns = m.Columns[:3] }, "The mapping has 3 columns but the file has 4."},
		{"unknown field", func(m *Mapping) { m.Columns[2].Field = "nickname" }, `unknown field "nickname"`},
		{"bad custom key", func(m *Mapping) { m.Columns[2].Field = "custom:a b" }, "may hold only letters"},
		{"bad date order", func(m *Mapping) { m.DateOrder = "ymd" }, "Date order must be"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			mm := m
			mm.Columns = append([]Column(nil), m.Columns...)
			tt.change(&mm)
			_, err := NewCSVReader(strings.NewReader(in), CSVOptions{Mapping: &mm})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Errorf("code %q", crm.ErrorCode(err))
			}
		})
	}
	t.Run("options are checked", func(t *testing.T) {
		if _, err := NewCSVReader(strings.NewReader(in), CSVOptions{DefaultRegion: "Iran"}); err == nil {
			t.Error("unknown region accepted")
		}
		if _, err := NewCSVReader(strings.NewReader(in), CSVOptions{Calendar: "hijri"}); err == nil {
			t.Error("unknown calendar accepted")
		}
		if _, err := NewCSVReader(strings.NewReader(in), CSVOptions{Delimiter: ':'}); err == nil {
			t.Error("delimiter ':' accepted")
		}
	})
}

func TestRowErr(t *testing.T) {
	row := Row{Line: 7, Errors: []FieldError{{Field: "Email", Target: "email", Message: `"x" is not a valid email address.`}, {Message: "The row has no name, email or phone."}}}
	want := `line 7: "Email": "x" is not a valid email address.; The row has no name, email or phone.`
	if got := row.Err(); got == nil || got.Error() != want {
		t.Errorf("Err() = %v, want %q", got, want)
	}
	if (&Row{}).Err() != nil {
		t.Error("Err of a clean row")
	}
}

// generatedCSV writes n generated rows with multi-line notes now and then,
// lazily, so large inputs are never held in memory.
type generatedCSV struct {
	n, i int
	buf  bytes.Buffer
}

var firstNames = []string{"Ali", "Sara", "Reza", "Maryam", "علی", "زهرا", "محمد", "فاطمه", "أحمد", "خالد"}
var lastNames = []string{"Rezaei", "Ahmadi", "Karimi", "رضایی", "احمدی", "کریمی", "الهاشمي", "Smith"}

func (g *generatedCSV) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i <= g.n {
		if g.i == 0 {
			g.buf.WriteString("First Name,Last Name,Email,Mobile,Birthday,Tags,Notes\r\n")
		} else {
			i := g.i
			notes := "plain"
			if i%7 == 0 {
				notes = "\"called, left a message\r\nwill call back\""
			}
			// A valid Iranian mobile number: 0912 + 7 digits.
			phone := 9120000000 + i%10000000
			g.buf.WriteString(firstNames[i%len(firstNames)])
			g.buf.WriteByte(',')
			g.buf.WriteString(lastNames[i%len(lastNames)])
			g.buf.WriteString(",user")
			g.buf.WriteString(itoa(i))
			g.buf.WriteString("@example.com,0")
			g.buf.WriteString(itoa(phone))
			g.buf.WriteString(",1990-01-")
			g.buf.WriteString(itoa(10 + i%19))
			g.buf.WriteString(",customer;vip,")
			g.buf.WriteString(notes)
			g.buf.WriteString("\r\n")
		}
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

func TestCSVHeaderEdgeCases(t *testing.T) {
	r, rows := readString(t, "\xEF\xBB\xBFFirst Name,Email\r\n", CSVOptions{})
	if len(rows) != 0 || r.Offset() != 21 || r.Checkpoint().Line != 2 {
		t.Errorf("header only: %d rows, checkpoint %+v", len(rows), r.Checkpoint())
	}
	_, err := NewCSVReader(strings.NewReader("Name,5\" screen\nAli,x\n"), CSVOptions{})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Line != 1 {
		t.Errorf("broken header: %v", err)
	}
	_, err = NewCSVReader(strings.NewReader("\n\n\n"), CSVOptions{})
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "empty") {
		t.Errorf("blank file: %v", err)
	}
}
