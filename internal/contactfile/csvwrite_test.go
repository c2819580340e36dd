package contactfile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

func exportSample() []ExportRecord {
	owner := int64(3)
	return []ExportRecord{
		{
			Contact: crm.Contact{
				ID: 42, Prefix: "دکتر", FirstName: "محمد‌رضا", LastName: "احمدی",
				Emails:      lab("mr@example.ir", "work", "home@example.ir", ""),
				Phones:      lab("+989123456789", "mobile", "+982188887777", "work"),
				Addresses:   []crm.Address{{Label: "work", Street: "خیابان ولیعصر، پلاک ۱۰", City: "تهران", PostalCode: "1234567890", Country: "IR"}},
				Birthday:    "1985-04-15",
				Language:    "fa",
				Source:      "import",
				OwnerID:     &owner,
				Tags:        []string{"مشتری ویژه", "VIP"},
				Notes:       "خط اول\nخط دوم, با ویرگول; و نقطه‌ویرگول \"نقل\"",
				Memberships: []crm.Membership{{CompanyID: 7, Role: "مدیر فروش"}},
				CompanyIDs:  []int64{7, 8},
				Custom:      map[string]any{"tier": "gold", "score": 12.5, "newsletter": true, "interests": []any{"tea", "books"}},
				CreatedAt:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
				UpdatedAt:   time.Date(2024, 2, 3, 4, 5, 6, 0, time.FixedZone("IRST", 3*3600+1800)),
			},
			CompanyNames: []string{"پیوند", "Acme, Inc."},
			OwnerEmail:   "owner@pivand.example",
		},
		{
			Contact:    crm.Contact{ID: 43, FirstName: "=HYPERLINK(\"http://evil.example\")", Emails: lab("x@y.example", "")},
			OwnerEmail: "",
		},
		{
			Contact: crm.Contact{ID: 44, LastName: "Smith", Phones: lab("+16502530000", ""), Birthday: "--04-15", Notes: "-- call back", Custom: map[string]any{"score": -3}},
		},
	}
}

func TestCSVWriterOutput(t *testing.T) {
	var b bytes.Buffer
	w, err := NewCSVWriter(&b, DefaultCSVColumns("tier", "score", "newsletter", "interests"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range exportSample() {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `id,prefix,first_name,middle_name,last_name,suffix,emails,email_labels,phones,phone_labels,company,job_title,address_label,street,city,region,postal_code,country,birthday,language,source,owner_email,tags,notes,created_at,updated_at,custom:tier,custom:score,custom:newsletter,custom:interests
42,دکتر,محمد‌رضا,,احمدی,,mr@example.ir; home@example.ir,work; ,+989123456789; +982188887777,mobile; work,"پیوند; Acme, Inc.",مدیر فروش,work,خیابان ولیعصر، پلاک ۱۰,تهران,,1234567890,IR,1985-04-15,fa,import,owner@pivand.example,مشتری ویژه; VIP,"خط اول
خط دوم, با ویرگول; و نقطه‌ویرگول ""نقل""",2024-01-02T03:04:05Z,2024-02-03T00:35:06Z,gold,12.5,true,tea; books
43,,"'=HYPERLINK(""http://evil.example"")",,,,x@y.example,,,,,,,,,,,,,,,,,,,,,,,
44,,,,Smith,,,,+16502530000,,,,,,,,,,--04-15,,,,,'-- call back,,,,-3,,
`
	if got := b.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestCSVWriterOptions(t *testing.T) {
	var b bytes.Buffer
	w, err := NewCSVWriter(&b, []string{ColFullName, ColEmail, ColPhone, ColOwnerID})
	if err != nil {
		t.Fatal(err)
	}
	w.BOM, w.UseCRLF, w.Comma = true, true, ';'
	if err := w.Write(exportSample()[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFfull_name;email;phone;owner_id\r\nدکتر محمد‌رضا احمدی;mr@example.ir;+989123456789;3\r\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}

	b.Reset()
	w, _ = NewCSVWriter(&b, []string{ColID, ColEmails})
	w.BOM = true
	if err := w.Flush(); err != nil || b.String() != "\uFEFFid,emails\n" {
		t.Errorf("empty export %q %v", b.String(), err)
	}

	for _, cols := range [][]string{nil, {"id", "nickname"}, {"id", "id"}, {"custom:bad key"}} {
		if _, err := NewCSVWriter(&b, cols); err == nil {
			t.Errorf("NewCSVWriter(%q) accepted", cols)
		}
	}
}

func TestProtect(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ali", "Ali"},
		{"=1+1", "'=1+1"},
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"\tTAB", "'\tTAB"},
		{"\rCR", "'\rCR"},
		{"+989123456789", "+989123456789"},
		{"+989123456789; +982188887777", "+989123456789; +982188887777"},
		{"-3", "-3"},
		{"-12.5", "-12.5"},
		{"+98 (912)", "'+98 (912)"},
		{"-- call back", "'-- call back"},
		{"a=b", "a=b"},
		{"علی", "علی"},
	}
	for _, tt := range tests {
		if got := protect(tt.in); got != tt.want {
			t.Errorf("protect(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCSVExportImportRoundTrip writes contacts and reads them back with the
// detected "pivand" preset.
func TestCSVExportImportRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w, err := NewCSVWriter(&b, DefaultCSVColumns("tier", "score"))
	if err != nil {
		t.Fatal(err)
	}
	w.BOM = true
	recs := exportSample()
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewCSVReader(&b, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapping().Preset != PresetPivand {
		t.Fatalf("preset %q", r.Mapping().Preset)
	}
	rows := readAll(t, r)
	if len(rows) != len(recs) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, row := range rows {
		rec := recs[i]
		in := rec.Contact
		want := crm.Contact{
			ID: in.ID, Prefix: in.Prefix, FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName,
			Emails: in.Emails, Phones: in.Phones, Addresses: in.Addresses, Birthday: in.Birthday,
			Language: in.Language, Source: in.Source, Tags: in.Tags, Notes: in.Notes,
		}
		for _, k := range []string{"tier", "score"} {
			if v, ok := in.Custom[k]; ok {
				if want.Custom == nil {
					want.Custom = map[string]any{}
				}
				want.Custom[k] = formatCustom(v)
			}
		}
		wantRow := Row{Line: row.Line, Contact: want, OwnerEmail: rec.OwnerEmail, CompanyNames: rec.CompanyNames}
		if len(rec.CompanyNames) > 0 {
			wantRow.CompanyName = rec.CompanyNames[0]
		}
		if len(in.Memberships) > 0 {
			wantRow.CompanyRole = in.Memberships[0].Role
		}
		if i == 2 {
			// "Smith" alone has only a last name and a phone: fine.
			wantRow.Errors = nil
		}
		sameRows(t, []Row{row}, []Row{wantRow})
	}
}

func TestFormatCustom(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""}, {"x", "x"}, {true, "true"}, {1e21, "1000000000000000000000"}, {0.1, "0.1"},
		{int64(-7), "-7"}, {[]string{"a", "b"}, "a; b"}, {map[string]any{"a": 1}, `{"a":1}`},
	}
	for _, tt := range tests {
		if got := formatCustom(tt.in); got != tt.want {
			t.Errorf("formatCustom(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !strings.Contains(formatCustom(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), "2024-01-02") {
		t.Error("time")
	}
}
