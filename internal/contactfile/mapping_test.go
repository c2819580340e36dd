package contactfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestDetectMapping(t *testing.T) {
	tests := []struct {
		name    string
		header  []string
		preset  string
		order   string
		columns map[string]Column // header → expected mapping (others unchecked)
	}{
		{
			name:   "google 2023",
			header: []string{"First Name", "Middle Name", "Last Name", "Phonetic First Name", "Name Prefix", "File As", "Organization Name", "Organization Title", "Birthday", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street", "Website 1 - Value"},
			preset: PresetGoogle, order: DateOrderMDY,
			columns: map[string]Column{
				"First Name":            {Field: FieldFirstName},
				"Phonetic First Name":   {Field: FieldIgnore},
				"File As":               {Field: FieldIgnore},
				"Organization Name":     {Field: FieldCompany},
				"Organization Title":    {Field: FieldJobTitle},
				"Labels":                {Field: FieldTags},
				"E-mail 2 - Label":      {Field: FieldEmailLabel, Group: 2},
				"E-mail 2 - Value":      {Field: FieldEmail, Group: 2},
				"Phone 1 - Value":       {Field: FieldPhone, Group: 1},
				"Address 1 - Label":     {Field: FieldAddressLabel, Group: 1},
				"Address 1 - Formatted": {Field: FieldIgnore},
				"Address 1 - Street":    {Field: FieldStreet, Group: 1},
				"Website 1 - Value":     {Field: FieldIgnore},
			},
		},
		{
			name:   "google legacy",
			header: []string{"Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Group Membership", "E-mail 1 - Type", "E-mail 1 - Value", "Phone 3 - Type", "Phone 3 - Value", "Organization 1 - Name", "Organization 1 - Title", "Occupation"},
			preset: PresetGoogleLegacy, order: DateOrderMDY,
			columns: map[string]Column{
				"Name":                   {Field: FieldFullName},
				"Additional Name":        {Field: FieldMiddleName},
				"Group Membership":       {Field: FieldTags},
				"E-mail 1 - Type":        {Field: FieldEmailLabel, Group: 1},
				"Phone 3 - Type":         {Field: FieldPhoneLabel, Group: 3},
				"Organization 1 - Title": {Field: FieldJobTitle, Group: 1},
				"Occupation":             {Field: FieldIgnore},
			},
		},
		{
			name:   "outlook.com",
			header: []string{"First Name", "Middle Name", "Last Name", "Title", "Suffix", "Nickname", "Given Yomi", "E-mail Address", "E-mail 2 Address", "E-mail 3 Address", "Home Phone", "Business Phone", "Mobile Phone", "Job Title", "Department", "Company", "Business Street", "Business City", "Business Country/Region", "Home Street 2", "Birthday", "Notes", "Categories", "E-mail Type"},
			preset: PresetOutlook, order: DateOrderMDY,
			columns: map[string]Column{
				"Title":            {Field: FieldPrefix},
				"Nickname":         {Field: FieldIgnore},
				"E-mail Address":   {Field: FieldEmail, Group: 1},
				"E-mail 3 Address": {Field: FieldEmail, Group: 3},
				"E-mail Type":      {Field: FieldIgnore},
				"Home Phone":       {Field: FieldPhone, Label: "home"},
				"Mobile Phone":     {Field: FieldPhone, Label: "mobile"},
				"Business City":    {Field: FieldCity, Label: "work", Group: 1},
				"Home Street 2":    {Field: FieldStreet, Label: "home", Group: 2},
				"Categories":       {Field: FieldTags},
			},
		},
		{
			name:   "hubspot without company name",
			header: []string{"Record ID", "First Name", "Last Name", "Email", "Phone Number", "Lifecycle Stage", "Contact owner", "Create Date", "Associated Company"},
			preset: PresetHubSpot, order: DateOrderMDY,
			columns: map[string]Column{
				"Record ID":          {Field: FieldIgnore},
				"Lifecycle Stage":    {Field: FieldTags},
				"Contact owner":      {Field: FieldOwnerEmail},
				"Create Date":        {Field: FieldIgnore},
				"Associated Company": {Field: FieldCompany},
			},
		},
		{
			name:   "hubspot with company name",
			header: []string{"Record ID", "First Name", "Email", "Company Name", "Lifecycle Stage", "Associated Company"},
			preset: PresetHubSpot,
			order:  DateOrderMDY,
			columns: map[string]Column{
				"Company Name":       {Field: FieldCompany},
				"Associated Company": {Field: FieldIgnore},
			},
		},
		{
			name:   "pivand export",
			header: DefaultCSVColumns("vip_level"),
			preset: PresetPivand,
			columns: map[string]Column{
				"id":               {Field: FieldID},
				"emails":           {Field: FieldEmail},
				"email_labels":     {Field: FieldEmailLabel},
				"company":          {Field: FieldCompanies},
				"created_at":       {Field: FieldIgnore},
				"custom:vip_level": {Field: "custom:vip_level"},
			},
		},
		{
			name:   "generic english, odd spelling",
			header: []string{" FIRST_NAME ", "surname", "E-Mail", "Work Email", "Mobile #", "Phone 2", "Zip Code", "Date of Birth", "Title", "Favourite Colour", "ID"},
			preset: PresetGeneric,
			columns: map[string]Column{
				"FIRST_NAME":       {Field: FieldFirstName},
				"surname":          {Field: FieldLastName},
				"E-Mail":           {Field: FieldEmail},
				"Work Email":       {Field: FieldEmail, Label: "work"},
				"Mobile #":         {Field: FieldPhone, Label: "mobile"},
				"Phone 2":          {Field: FieldPhone, Group: 2},
				"Zip Code":         {Field: FieldPostalCode},
				"Date of Birth":    {Field: FieldBirthday},
				"Title":            {Field: FieldJobTitle},
				"Favourite Colour": {Field: FieldIgnore},
				"ID":               {Field: FieldIgnore}, // someone else's IDs are not Pivand's
			},
		},
		{
			name: "persian, typed with an Arabic keyboard and ZWNJ variants",
			// "ايميل" with Arabic yeh, "نام‌خانوادگی" with ZWNJ.
			header: []string{"نام", "نام‌خانوادگی", "ايميل", "تلفن همراه", "تلفن ثابت", "شركت", "تاریخ تولد", "کد پستی", "نام پدر"},
			preset: PresetGeneric,
			columns: map[string]Column{
				"نام":          {Field: FieldFirstName},
				"نام‌خانوادگی": {Field: FieldLastName},
				"ايميل":        {Field: FieldEmail},
				"تلفن همراه":   {Field: FieldPhone, Label: "mobile"},
				"تلفن ثابت":    {Field: FieldPhone},
				"شركت":         {Field: FieldCompany},
				"تاریخ تولد":   {Field: FieldBirthday},
				"کد پستی":      {Field: FieldPostalCode},
				"نام پدر":      {Field: FieldIgnore},
			},
		},
		{
			name:    "persian name alone is the full name",
			header:  []string{"نام", "موبایل"},
			preset:  PresetGeneric,
			columns: map[string]Column{"نام": {Field: FieldFullName}, "موبایل": {Field: FieldPhone, Label: "mobile"}},
		},
		{
			name:   "arabic",
			header: []string{"الاسم", "البريد الإلكتروني", "الهاتف", "الجوال", "الشركة", "العنوان", "المدينة", "تاريخ الميلاد"},
			preset: PresetGeneric,
			columns: map[string]Column{
				"الاسم":             {Field: FieldFullName},
				"البريد الإلكتروني": {Field: FieldEmail},
				"الهاتف":            {Field: FieldPhone},
				"الجوال":            {Field: FieldPhone, Label: "mobile"},
				"العنوان":           {Field: FieldAddress},
				"تاريخ الميلاد":     {Field: FieldBirthday},
			},
		},
		{
			name:    "arabic first and family name",
			header:  []string{"الاسم الأول", "اسم العائلة", "الإسم"},
			preset:  PresetGeneric,
			columns: map[string]Column{"الاسم الأول": {Field: FieldFirstName}, "اسم العائلة": {Field: FieldLastName}, "الإسم": {Field: FieldFullName}},
		},
		{
			name:    "name with a last name column is the first name",
			header:  []string{"Name", "Last Name", "Email"},
			preset:  PresetGeneric,
			columns: map[string]Column{"Name": {Field: FieldFirstName}},
		},
		{
			name:    "three signature headers make a preset, two do not",
			header:  []string{"Name", "Email", "Phone Number", "Company Name"},
			preset:  PresetGeneric,
			columns: map[string]Column{"Phone Number": {Field: FieldPhone}, "Company Name": {Field: FieldCompany}},
		},
		{
			name:    "empty and unknown headers",
			header:  []string{"", "???", "custom:", "Custom:Tier"},
			preset:  PresetGeneric,
			columns: map[string]Column{"": {Field: FieldIgnore}, "???": {Field: FieldIgnore}, "custom:": {Field: FieldIgnore}, "Custom:Tier": {Field: "custom:Tier"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DetectMapping(tt.header)
			if m.Preset != tt.preset || m.DateOrder != tt.order {
				t.Errorf("preset %q order %q, want %q %q", m.Preset, m.DateOrder, tt.preset, tt.order)
			}
			if len(m.Columns) != len(tt.header) {
				t.Fatalf("%d columns for %d headers", len(m.Columns), len(tt.header))
			}
			seen := map[string]bool{}
			for i, c := range m.Columns {
				if c.Header != strings.TrimSpace(tt.header[i]) {
					t.Errorf("column %d header %q", i, c.Header)
				}
				want, ok := tt.columns[c.Header]
				if !ok {
					continue
				}
				seen[c.Header] = true
				want.Header = c.Header
				if c != want {
					t.Errorf("%q → %+v, want %+v", c.Header, c, want)
				}
			}
			if len(seen) != len(tt.columns) {
				t.Errorf("checked %d of %d expected columns", len(seen), len(tt.columns))
			}
		})
	}
}

func TestMappingFieldsAreValid(t *testing.T) {
	for _, f := range MappingFields() {
		if _, _, err := parseField(f); err != nil {
			t.Errorf("%q: %v", f, err)
		}
	}
	if len(MappingFields()) != len(kindByField)-1 { // "" is an alias of ignore
		t.Errorf("MappingFields lists %d of %d fields", len(MappingFields()), len(kindByField)-1)
	}
}

func TestNormLabel(t *testing.T) {
	tests := map[string]string{
		"* Work": "work", "Mobile": "mobile", "CELL": "mobile", "موبایل": "mobile", "همراه": "mobile",
		"الجوال": "mobile", "Business": "work", "محل کار": "work", "* Home": "home", "منزل": "home",
		"Other": "other", "Work Fax": "work fax", "": "", "  ": "", "My Office; 2": "my office 2",
		"=cmd|x": "cmdx", strings.Repeat("x", 100): strings.Repeat("x", 64),
	}
	for in, want := range tests {
		if got := normLabel(in); got != want {
			t.Errorf("normLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitFullName(t *testing.T) {
	tests := []struct{ in, first, last string }{
		{"Ali", "Ali", ""},
		{"Ali Rezaei", "Ali", "Rezaei"},
		{"  Mary  Ann   Smith ", "Mary Ann", "Smith"},
		{"Rezaei, Ali", "Ali", "Rezaei"},
		{"Ludwig van Beethoven", "Ludwig", "van Beethoven"},
		{"محمد رضا احمدی", "محمد رضا", "احمدی"},
		{"عبدالله بن زاید", "عبدالله", "بن زاید"},
		{"Van Morrison", "Van", "Morrison"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if f, l := splitFullName(tt.in); f != tt.first || l != tt.last {
			t.Errorf("splitFullName(%q) = %q, %q; want %q, %q", tt.in, f, l, tt.first, tt.last)
		}
	}
}

func TestParseBirthday(t *testing.T) {
	ok := []struct{ in, cal, order, want string }{
		{"1985-04-15", "", "", "1985-04-15"},
		{"1985/4/5", "", "", "1985-04-05"},
		{"1985.04.15", "", "", "1985-04-15"},
		{"19850415", "", "", "1985-04-15"},
		{"--04-15", "", "", "--04-15"},
		{"--0415", "", "", "--04-15"},
		{"--02-29", "", "", "--02-29"},
		{"4/15/1985", "", "", "1985-04-15"},
		{"15/4/1985", "", "", "1985-04-15"},
		{"04/05/1985", "", DateOrderMDY, "1985-04-05"},
		{"04/05/1985", "", DateOrderDMY, "1985-05-04"},
		{"15.04.1985", "", DateOrderMDY, "1985-04-15"},
		{"05.04.1985", "", DateOrderMDY, "1985-04-05"}, // dots are always day.month
		{"1985-04-15T10:20:00Z", "", "", "1985-04-15"},
		{"1985-04-15 10:20", "", "", "1985-04-15"},
		{"4/15/1985 0:00", "", "", "1985-04-15"},
		{"April 15, 1985", "", "", "1985-04-15"},
		{"15 apr 1985", "", "", "1985-04-15"},
		{"۱۳۶۴/۰۱/۲۶", "", "", "1985-04-15"},
		{"١٣٦٤-١-٢٦", "", "", "1985-04-15"},
		{"\u200f1364/01/26\u200e", "", "", "1985-04-15"},
		{"1364/01/26", "jalali", "", "1985-04-15"},
		{"26/01/1364", "", "", "1985-04-15"},
		{"1985-04-15", "gregorian", "", "1985-04-15"},
		{"0/0/00", "", "", ""},
		{"0000-00-00", "", "", ""},
	}
	for _, tt := range ok {
		got, err := parseBirthday(tt.in, tt.cal, tt.order)
		if err != nil || got != tt.want {
			t.Errorf("parseBirthday(%q, %q, %q) = %q, %v; want %q", tt.in, tt.cal, tt.order, got, err, tt.want)
		}
	}
	bad := []struct{ in, cal, order, want string }{
		{"1985-02-29", "", "", "not a date"},
		{"1985-13-01", "", "", "not a date"},
		{"04/05/1985", "", "", "ambiguous"},
		{"4/5/85", "", "", "four-digit year"},
		{"yesterday", "", "", "YYYY-MM-DD"},
		{"--13-01", "", "", "no day 1 in month 13"},
		{"--04-15", "jalali", "", "needs one"},
		{"1402/12/30", "", "", "not a Jalali date"},
		{"0010.1.1", "", "", "before 1200"},
		{"1403/07/31", "", "", "day 31 out of range"},
		{"1990-01-01", "jalali", "", "year 1990 is Gregorian"},
		{"1364-01-26", "gregorian", "", "year 1364 looks Jalali"},
	}
	for _, tt := range bad {
		got, err := parseBirthday(tt.in, tt.cal, tt.order)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseBirthday(%q, %q, %q) = %q, %v; want error with %q", tt.in, tt.cal, tt.order, got, err, tt.want)
		}
	}
}

func TestNormValues(t *testing.T) {
	langs := map[string]string{"fa": "fa", "FA": "fa", "Farsi": "fa", "فارسی": "fa", "العربية": "ar", "en-GB": "en-gb", "zh_Hant_TW": "zh-hant-tw"}
	for in, want := range langs {
		if got, err := normLanguage(in); err != nil || got != want {
			t.Errorf("normLanguage(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"Klingon language", "e", "12", "fa--IR", "فارسي قديم"} {
		if got, err := normLanguage(in); err == nil {
			t.Errorf("normLanguage(%q) = %q, want error", in, got)
		}
	}
	countries := map[string]string{"ir": "IR", "Iran": "IR", "ایران": "IR", "إيران": "IR", "United Arab Emirates": "AE",
		"الإمارات": "AE", "USA": "US", "Narnia": "Narnia"}
	for in, want := range countries {
		if got := normCountry(in); got != want {
			t.Errorf("normCountry(%q) = %q, want %q", in, got, want)
		}
	}
	owners := []struct{ in, email, name string }{
		{"jane@x.example", "jane@x.example", ""},
		{"Jane Doe <Jane@X.example>", "jane@x.example", ""},
		{"Jane Doe (jane@x.example)", "jane@x.example", ""},
		{"Jane Doe", "", "Jane Doe"},
	}
	for _, tt := range owners {
		if e, n := parseOwner(tt.in); e != tt.email || n != tt.name {
			t.Errorf("parseOwner(%q) = %q, %q", tt.in, e, n)
		}
	}
	if got := splitTags("a, b;c|d ::: * starred ::: * myContacts،ه؛و"); !reflect.DeepEqual(got, []string{"a", "b", "c", "d", "starred", "ه", "و"}) {
		t.Errorf("splitTags = %q", got)
	}
}
