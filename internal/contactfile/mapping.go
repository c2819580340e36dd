package contactfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Target fields a CSV column can be mapped to (Column.Field). A column can
// also be mapped to a custom field with "custom:<key>".
const (
	FieldIgnore       = "ignore"
	FieldID           = "id" // Pivand's own contact ID (see docs/import-export.md)
	FieldPrefix       = "prefix"
	FieldFirstName    = "first_name"
	FieldMiddleName   = "middle_name"
	FieldLastName     = "last_name"
	FieldSuffix       = "suffix"
	FieldFullName     = "full_name" // split into first/last when those are empty
	FieldEmail        = "email"
	FieldEmailLabel   = "email_label"
	FieldPhone        = "phone"
	FieldPhoneLabel   = "phone_label"
	FieldAddress      = "address" // a whole address in one cell, kept as the street
	FieldStreet       = "street"
	FieldCity         = "city"
	FieldRegion       = "region"
	FieldPostalCode   = "postal_code"
	FieldCountry      = "country"
	FieldAddressLabel = "address_label"
	FieldBirthday     = "birthday"
	FieldCompany      = "company"   // one company name
	FieldCompanies    = "companies" // several company names separated by ";"
	FieldJobTitle     = "job_title" // the person's role at the company
	FieldTags         = "tags"
	FieldNotes        = "notes"
	FieldLanguage     = "language"
	FieldSource       = "source"
	FieldOwnerEmail   = "owner_email" // the owning user: an email (or a name)
	CustomPrefix      = "custom:"
)

// Recognised presets (Mapping.Preset).
const (
	PresetGoogle       = "google"        // Google Contacts, 2023 and later ("First Name", "E-mail 1 - Label")
	PresetGoogleLegacy = "google-legacy" // Google Contacts before 2023 ("Given Name", "E-mail 1 - Type")
	PresetOutlook      = "outlook"       // Outlook / Outlook.com / Microsoft 365
	PresetHubSpot      = "hubspot"
	PresetPivand       = "pivand"  // Pivand's own CSV export
	PresetGeneric      = "generic" // plain English, Persian or Arabic headers
)

// Date orders for dates written NN/NN/YYYY (Mapping.DateOrder).
const (
	DateOrderMDY = "mdy" // 04/15/1985 (US)
	DateOrderDMY = "dmy" // 15/04/1985 (most of the world)
)

// Mapping says what each CSV column holds. DetectMapping proposes one from
// the header; a caller (the import UI) may change any column and pass the
// result back in CSVOptions.Mapping. It is plain data and JSON-encodes, so
// an importer can store it with its checkpoint.
type Mapping struct {
	// Preset is the export format recognised from the header, one of the
	// Preset* constants; informational.
	Preset string `json:"preset"`
	// DateOrder decides dates written NN/NN/YYYY when both numbers are 12
	// or less: DateOrderMDY, DateOrderDMY, or "" to report such dates as
	// ambiguous. Unambiguous forms (YYYY-MM-DD, 15/04/1985) never need it.
	DateOrder string `json:"date_order,omitempty"`
	// Columns has one entry per CSV column, in header order.
	Columns []Column `json:"columns"`
}

// Column maps one CSV column.
type Column struct {
	Header string `json:"header"` // the header cell as in the file (trimmed)
	Field  string `json:"field"`  // a Field* constant or "custom:<key>"
	// Label is the fixed label for email, phone and address columns
	// ("work", "home", "mobile"…); a label column in the same group wins.
	Label string `json:"label,omitempty"`
	// Group ties columns of one email, phone or address together: the
	// label column "E-mail 2 - Type" labels "E-mail 2 - Value", and
	// "Business Street" and "Business City" make one address.
	Group int `json:"group,omitempty"`
}

// MappingFields lists the fields a column can be mapped to, in the order a
// mapping form should offer them (custom fields come from settings).
func MappingFields() []string {
	return []string{
		FieldIgnore, FieldPrefix, FieldFirstName, FieldMiddleName, FieldLastName, FieldSuffix, FieldFullName,
		FieldEmail, FieldEmailLabel, FieldPhone, FieldPhoneLabel,
		FieldAddress, FieldStreet, FieldCity, FieldRegion, FieldPostalCode, FieldCountry, FieldAddressLabel,
		FieldBirthday, FieldCompany, FieldCompanies, FieldJobTitle, FieldTags, FieldNotes,
		FieldLanguage, FieldSource, FieldOwnerEmail, FieldID,
	}
}

// fieldKind is the internal, switchable form of Column.Field.
type fieldKind uint8

const (
	kIgnore fieldKind = iota
	kID
	kPrefix
	kFirst
	kMiddle
	kLast
	kSuffix
	kFull
	kEmail
	kEmailLabel
	kPhone
	kPhoneLabel
	kAddress
	kStreet
	kCity
	kRegion
	kPostal
	kCountry
	kAddressLabel
	kBirthday
	kCompany
	kCompanies
	kJobTitle
	kTags
	kNotes
	kLanguage
	kSource
	kOwner
	kCustom
)

var kindByField = map[string]fieldKind{
	FieldIgnore: kIgnore, "": kIgnore, FieldID: kID, FieldPrefix: kPrefix, FieldFirstName: kFirst,
	FieldMiddleName: kMiddle, FieldLastName: kLast, FieldSuffix: kSuffix, FieldFullName: kFull,
	FieldEmail: kEmail, FieldEmailLabel: kEmailLabel, FieldPhone: kPhone, FieldPhoneLabel: kPhoneLabel,
	FieldAddress: kAddress, FieldStreet: kStreet, FieldCity: kCity, FieldRegion: kRegion,
	FieldPostalCode: kPostal, FieldCountry: kCountry, FieldAddressLabel: kAddressLabel,
	FieldBirthday: kBirthday, FieldCompany: kCompany, FieldCompanies: kCompanies, FieldJobTitle: kJobTitle,
	FieldTags: kTags, FieldNotes: kNotes, FieldLanguage: kLanguage, FieldSource: kSource,
	FieldOwnerEmail: kOwner,
}

// parseField returns the kind of a Column.Field and, for custom fields,
// the key.
func parseField(f string) (fieldKind, string, error) {
	if k, ok := kindByField[f]; ok {
		return k, "", nil
	}
	if key, ok := strings.CutPrefix(f, CustomPrefix); ok {
		if err := checkCustomKey(key); err != nil {
			return 0, "", err
		}
		return kCustom, key, nil
	}
	return 0, "", fmt.Errorf("unknown field %q", f)
}

// checkCustomKey accepts the keys custom field definitions can have: 1–64
// bytes of letters, digits, "_", "-" and ".".
func checkCustomKey(key string) error {
	if key == "" || len(key) > 64 {
		return fmt.Errorf("custom field key %q must be 1 to 64 characters", key)
	}
	for _, r := range key {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("custom field key %q may hold only letters, digits, _, - and .", key)
		}
	}
	return nil
}

// Validate checks a mapping against a file's header: one column per
// header cell with the same text, known fields, and at least one column
// that can identify a person (a name, email or phone). It returns a
// crm EINVALID error whose Fields are keyed "column N" (1-based) and
// "mapping".
func (m Mapping) Validate(header []string) error { return m.validate(header, true) }

// validate checks the mapping; the identity check is advice for a mapping
// form and left out when a reader is given a mapping (rows without a
// name, email or phone are reported one by one).
func (m Mapping) validate(header []string, needIdentity bool) error {
	var v crm.Validation
	if header != nil && len(m.Columns) != len(header) {
		v.Add("mapping", "The mapping has %d columns but the file has %d.", len(m.Columns), len(header))
		return v.Err()
	}
	identity := false
	for i, c := range m.Columns {
		key := "column " + strconv.Itoa(i+1)
		if header != nil && strings.TrimSpace(header[i]) != c.Header {
			v.Add(key, "Column %d is %q in the file but %q in the mapping.", i+1, strings.TrimSpace(header[i]), c.Header)
			continue
		}
		k, _, err := parseField(c.Field)
		if err != nil {
			v.Add(key, "Column %q: %s.", c.Header, err.Error())
			continue
		}
		if c.Group < 0 || c.Group > 1000 {
			v.Add(key, "Column %q: group must be between 0 and 1000.", c.Header)
		}
		if len(c.Label) > maxLabelLen {
			v.Add(key, "Column %q: label is longer than %d bytes.", c.Header, maxLabelLen)
		}
		switch k {
		case kFirst, kMiddle, kLast, kFull, kEmail, kPhone:
			identity = true
		}
	}
	switch m.DateOrder {
	case "", DateOrderMDY, DateOrderDMY:
	default:
		v.Add("date_order", "Date order must be %q, %q or empty.", DateOrderMDY, DateOrderDMY)
	}
	if needIdentity && !identity {
		v.Add("mapping", "Map at least one column to a name, email or phone.")
	}
	return v.Err()
}

// headerKey is the form headers are recognised by: text.Normalize (case,
// Persian/Arabic letter variants, digits) keeping only letters and digits,
// so "E-mail 1 - Value", "email1value" and "EMAIL_1_VALUE" are the same.
// With template set, '#' is kept too (for dictionary keys like
// "E-mail # - Value").
func headerKey(h string, template bool) string {
	n := text.Normalize(h)
	var b strings.Builder
	b.Grow(len(n))
	for _, r := range n {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || (template && r == '#') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rule is a dictionary entry: what a recognised header maps to.
type rule struct {
	field    string
	label    string
	group    int  // fixed group (Outlook business = 1, home = 2, other = 3)
	numbered bool // take the group from the number in the header ("E-mail 2 - Value")
	fallback bool // use only when no other column maps to the same field
}

type dict map[string]rule

// entry lists are written with readable headers and compiled to dicts.
type entry struct {
	headers []string
	r       rule
}

func compile(entries []entry) dict {
	d := dict{}
	for _, e := range entries {
		for _, h := range e.headers {
			d[headerKey(h, true)] = e.r
		}
	}
	return d
}

func r(field string) rule                { return rule{field: field} }
func rl(field, label string) rule        { return rule{field: field, label: label} }
func rg(field, label string, g int) rule { return rule{field: field, label: label, group: g} }
func rn(field string) rule               { return rule{field: field, numbered: true} }

// fieldName is the internal marker for a bare "Name" column: it means the
// first name when the file also has a last-name column and no first-name
// column, and the full name otherwise.
const fieldName = "_name"

var genericDict = compile([]entry{
	// English
	{[]string{"prefix", "name prefix", "salutation", "honorific", "mr/ms"}, r(FieldPrefix)},
	{[]string{"first name", "first", "given name", "given", "forename", "fname", "first_name", "firstname"}, r(FieldFirstName)},
	{[]string{"middle name", "middle", "additional name", "middle initial"}, r(FieldMiddleName)},
	{[]string{"last name", "last", "surname", "family name", "lname", "last_name", "lastname"}, r(FieldLastName)},
	{[]string{"suffix", "name suffix"}, r(FieldSuffix)},
	{[]string{"name", "contact name", "contact", "customer", "customer name", "person"}, r(fieldName)},
	{[]string{"full name", "fullname", "display name", "full_name"}, r(FieldFullName)},
	{[]string{"email", "e-mail", "email address", "e-mail address", "mail", "emails", "email addresses", "primary email"}, r(FieldEmail)},
	{[]string{"work email", "business email", "office email"}, rl(FieldEmail, "work")},
	{[]string{"home email", "personal email", "private email"}, rl(FieldEmail, "home")},
	{[]string{"other email"}, rl(FieldEmail, "other")},
	{[]string{"email label", "email type", "email labels", "email_labels"}, r(FieldEmailLabel)},
	{[]string{"phone", "telephone", "tel", "phone number", "telephone number", "phones", "contact number", "phone no", "tel no", "primary phone"}, r(FieldPhone)},
	{[]string{"mobile", "mobile phone", "mobile number", "cell", "cell phone", "cellphone", "mobile phone number", "cell number", "whatsapp", "whatsapp number"}, rl(FieldPhone, "mobile")},
	{[]string{"work phone", "business phone", "office phone", "work number"}, rl(FieldPhone, "work")},
	{[]string{"home phone", "home number", "landline"}, rl(FieldPhone, "home")},
	{[]string{"fax", "fax number"}, rl(FieldPhone, "fax")},
	{[]string{"phone label", "phone type", "phone labels", "phone_labels"}, r(FieldPhoneLabel)},
	{[]string{"company", "company name", "organization", "organisation", "organization name", "organisation name", "employer", "business name", "account name", "firm"}, r(FieldCompany)},
	{[]string{"companies"}, r(FieldCompanies)},
	{[]string{"job title", "title", "position", "role", "job", "occupation", "designation", "job_title"}, r(FieldJobTitle)},
	{[]string{"address", "full address", "mailing address", "postal address", "home address"}, r(FieldAddress)},
	{[]string{"street", "street address", "address line", "address line #", "street #", "address_line"}, r(FieldStreet)},
	{[]string{"city", "town", "locality", "city/town"}, r(FieldCity)},
	{[]string{"state", "province", "region", "state/province", "state/region", "county"}, r(FieldRegion)},
	{[]string{"zip", "zip code", "postal code", "postcode", "post code", "zipcode", "postal_code"}, r(FieldPostalCode)},
	{[]string{"country", "country/region", "country code", "nation"}, r(FieldCountry)},
	{[]string{"address label", "address type", "address_label"}, r(FieldAddressLabel)},
	{[]string{"birthday", "birth date", "birthdate", "date of birth", "dob", "born", "birth day"}, r(FieldBirthday)},
	{[]string{"tags", "tag", "labels", "label", "categories", "category", "groups", "group", "segment", "segments"}, r(FieldTags)},
	{[]string{"notes", "note", "comments", "comment", "description", "remarks", "memo"}, r(FieldNotes)},
	{[]string{"language", "lang", "preferred language", "locale"}, r(FieldLanguage)},
	{[]string{"source", "lead source", "origin", "contact source"}, r(FieldSource)},
	{[]string{"owner", "owner email", "contact owner", "assigned to", "account owner", "sales rep", "owner_email"}, r(FieldOwnerEmail)},

	// Persian
	{[]string{"عنوان", "پیشوند"}, r(FieldPrefix)},
	{[]string{"نام", "نام مشتری", "مشتری", "نام مخاطب", "مخاطب", "اسم"}, r(fieldName)},
	{[]string{"نام کوچک"}, r(FieldFirstName)},
	{[]string{"نام خانوادگی", "نام‌خانوادگی", "فامیلی", "فامیل", "نام فامیل", "شهرت"}, r(FieldLastName)},
	{[]string{"نام و نام خانوادگی", "نام ونام خانوادگی", "نام کامل"}, r(FieldFullName)},
	{[]string{"نام پدر"}, r(FieldIgnore)},
	{[]string{"ایمیل", "ای میل", "ای‌میل", "پست الکترونیک", "پست الکترونیکی", "رایانامه", "آدرس ایمیل", "نشانی ایمیل"}, r(FieldEmail)},
	{[]string{"تلفن", "شماره تلفن", "شماره تماس", "تلفن تماس", "شماره", "تلفن ثابت"}, r(FieldPhone)},
	{[]string{"موبایل", "تلفن همراه", "همراه", "شماره همراه", "شماره موبایل"}, rl(FieldPhone, "mobile")},
	{[]string{"تلفن محل کار", "تلفن کار", "تلفن شرکت"}, rl(FieldPhone, "work")},
	{[]string{"تلفن منزل", "تلفن خانه"}, rl(FieldPhone, "home")},
	{[]string{"فکس", "نمابر"}, rl(FieldPhone, "fax")},
	{[]string{"شرکت", "نام شرکت", "سازمان", "نام سازمان", "محل کار"}, r(FieldCompany)},
	{[]string{"سمت", "شغل", "عنوان شغلی", "پست سازمانی"}, r(FieldJobTitle)},
	{[]string{"آدرس", "نشانی"}, r(FieldAddress)},
	{[]string{"شهر"}, r(FieldCity)},
	{[]string{"استان"}, r(FieldRegion)},
	{[]string{"کد پستی"}, r(FieldPostalCode)},
	{[]string{"کشور"}, r(FieldCountry)},
	{[]string{"تاریخ تولد", "تولد"}, r(FieldBirthday)},
	{[]string{"برچسب", "برچسب ها", "برچسب‌ها", "برچسبها", "تگ", "تگ ها", "گروه", "دسته", "دسته بندی", "دسته‌بندی"}, r(FieldTags)},
	{[]string{"یادداشت", "یادداشت ها", "یادداشت‌ها", "توضیحات", "ملاحظات", "توضیح"}, r(FieldNotes)},
	{[]string{"زبان"}, r(FieldLanguage)},
	{[]string{"منبع", "منبع آشنایی", "نحوه آشنایی"}, r(FieldSource)},
	{[]string{"مسئول", "مالک", "کارشناس", "کارشناس مسئول"}, r(FieldOwnerEmail)},

	// Arabic
	{[]string{"اللقب", "اللقب الشرفي"}, r(FieldPrefix)},
	{[]string{"الاسم", "الإسم", "الأسم", "اسم العميل", "العميل", "اسم جهة الاتصال"}, r(fieldName)},
	{[]string{"الاسم الأول", "الاسم الاول", "الإسم الأول"}, r(FieldFirstName)},
	{[]string{"الاسم الأوسط", "اسم الأب"}, r(FieldMiddleName)},
	{[]string{"اسم العائلة", "العائلة", "الكنية", "اسم العائله"}, r(FieldLastName)},
	{[]string{"الاسم الكامل", "الاسم بالكامل"}, r(FieldFullName)},
	{[]string{"البريد الإلكتروني", "البريد الالكتروني", "البريد", "الايميل", "الإيميل", "بريد إلكتروني", "البريد الاكتروني"}, r(FieldEmail)},
	{[]string{"الهاتف", "رقم الهاتف", "هاتف", "رقم التواصل", "رقم الاتصال"}, r(FieldPhone)},
	{[]string{"الجوال", "رقم الجوال", "جوال", "الموبايل", "رقم الموبايل", "الهاتف المحمول", "المحمول", "واتساب"}, rl(FieldPhone, "mobile")},
	{[]string{"هاتف العمل"}, rl(FieldPhone, "work")},
	{[]string{"هاتف المنزل"}, rl(FieldPhone, "home")},
	{[]string{"فاكس"}, rl(FieldPhone, "fax")},
	{[]string{"الشركة", "اسم الشركة", "المؤسسة", "المنظمة", "جهة العمل"}, r(FieldCompany)},
	{[]string{"المسمى الوظيفي", "الوظيفة", "المنصب"}, r(FieldJobTitle)},
	{[]string{"العنوان"}, r(FieldAddress)},
	{[]string{"المدينة"}, r(FieldCity)},
	{[]string{"المنطقة", "المحافظة", "الولاية", "الإمارة"}, r(FieldRegion)},
	{[]string{"الرمز البريدي"}, r(FieldPostalCode)},
	{[]string{"الدولة", "البلد"}, r(FieldCountry)},
	{[]string{"تاريخ الميلاد", "تاريخ الولادة"}, r(FieldBirthday)},
	{[]string{"الوسوم", "التصنيفات", "العلامات", "التصنيف", "المجموعة", "المجموعات"}, r(FieldTags)},
	{[]string{"ملاحظات", "الملاحظات", "ملاحظة"}, r(FieldNotes)},
	{[]string{"اللغة"}, r(FieldLanguage)},
	{[]string{"المصدر"}, r(FieldSource)},
	{[]string{"المسؤول", "المالك"}, r(FieldOwnerEmail)},
})

// googleDict covers both Google Contacts formats; the numbered groups
// ("E-mail 2 - Value") tie labels and address parts together.
var googleDict = compile([]entry{
	{[]string{"name"}, r(FieldFullName)},
	{[]string{"given name", "first name"}, r(FieldFirstName)},
	{[]string{"additional name", "middle name"}, r(FieldMiddleName)},
	{[]string{"family name", "last name"}, r(FieldLastName)},
	{[]string{"name prefix"}, r(FieldPrefix)},
	{[]string{"name suffix"}, r(FieldSuffix)},
	{[]string{"birthday"}, r(FieldBirthday)},
	{[]string{"notes"}, r(FieldNotes)},
	{[]string{"language"}, r(FieldLanguage)},
	{[]string{"group membership", "labels"}, r(FieldTags)},
	{[]string{"organization name"}, r(FieldCompany)},
	{[]string{"organization title"}, r(FieldJobTitle)},
	{[]string{"E-mail # - Value"}, rn(FieldEmail)},
	{[]string{"E-mail # - Type", "E-mail # - Label"}, rn(FieldEmailLabel)},
	{[]string{"Phone # - Value"}, rn(FieldPhone)},
	{[]string{"Phone # - Type", "Phone # - Label"}, rn(FieldPhoneLabel)},
	{[]string{"Address # - Type", "Address # - Label"}, rn(FieldAddressLabel)},
	{[]string{"Address # - Street", "Address # - Extended Address"}, rn(FieldStreet)},
	{[]string{"Address # - City"}, rn(FieldCity)},
	{[]string{"Address # - Region"}, rn(FieldRegion)},
	{[]string{"Address # - Postal Code"}, rn(FieldPostalCode)},
	{[]string{"Address # - Country"}, rn(FieldCountry)},
	{[]string{"Organization # - Name"}, rn(FieldCompany)},
	{[]string{"Organization # - Title"}, rn(FieldJobTitle)},
	{[]string{
		"Address # - Formatted", "Address # - PO Box", "Organization # - Type", "Organization # - Yomi Name",
		"Organization # - Department", "Organization # - Symbol", "Organization # - Location",
		"Organization # - Job Description", "Website # - Type", "Website # - Value", "Website # - Label",
		"Relation # - Type", "Relation # - Value", "Relation # - Label", "Event # - Type", "Event # - Value",
		"Event # - Label", "Custom Field # - Type", "Custom Field # - Value", "Custom Field # - Label",
		"IM # - Type", "IM # - Service", "IM # - Value", "IM # - Label", "External ID # - Type",
		"External ID # - Value", "External ID # - Label", "Location", "Nickname", "File As", "Photo",
		"Yomi Name", "Given Name Yomi", "Additional Name Yomi", "Family Name Yomi", "Initials",
		"Short Name", "Maiden Name", "Gender", "Billing Information", "Directory Server", "Mileage",
		"Occupation", "Hobby", "Sensitivity", "Priority", "Subject", "Phonetic First Name",
		"Phonetic Middle Name", "Phonetic Last Name", "Organization Department",
	}, r(FieldIgnore)},
})

var outlookDict = compile([]entry{
	{[]string{"title"}, r(FieldPrefix)}, // Outlook's "Title" is Mr./Ms.
	{[]string{"first name"}, r(FieldFirstName)},
	{[]string{"middle name"}, r(FieldMiddleName)},
	{[]string{"last name"}, r(FieldLastName)},
	{[]string{"suffix"}, r(FieldSuffix)},
	{[]string{"company"}, r(FieldCompany)},
	{[]string{"job title"}, r(FieldJobTitle)},
	{[]string{"e-mail address"}, rg(FieldEmail, "", 1)},
	{[]string{"e-mail # address"}, rn(FieldEmail)},
	{[]string{"business phone", "business phone #"}, rg(FieldPhone, "work", 0)},
	{[]string{"home phone", "home phone #"}, rg(FieldPhone, "home", 0)},
	{[]string{"mobile phone"}, rg(FieldPhone, "mobile", 0)},
	{[]string{"primary phone"}, rg(FieldPhone, "main", 0)},
	{[]string{"other phone"}, rg(FieldPhone, "other", 0)},
	{[]string{"business fax"}, rg(FieldPhone, "work fax", 0)},
	{[]string{"home fax"}, rg(FieldPhone, "home fax", 0)},
	{[]string{"business street", "business street #"}, rg(FieldStreet, "work", 1)},
	{[]string{"business city"}, rg(FieldCity, "work", 1)},
	{[]string{"business state"}, rg(FieldRegion, "work", 1)},
	{[]string{"business postal code"}, rg(FieldPostalCode, "work", 1)},
	{[]string{"business country/region", "business country"}, rg(FieldCountry, "work", 1)},
	{[]string{"home street", "home street #"}, rg(FieldStreet, "home", 2)},
	{[]string{"home city"}, rg(FieldCity, "home", 2)},
	{[]string{"home state"}, rg(FieldRegion, "home", 2)},
	{[]string{"home postal code"}, rg(FieldPostalCode, "home", 2)},
	{[]string{"home country/region", "home country"}, rg(FieldCountry, "home", 2)},
	{[]string{"other street", "other street #"}, rg(FieldStreet, "other", 3)},
	{[]string{"other city"}, rg(FieldCity, "other", 3)},
	{[]string{"other state"}, rg(FieldRegion, "other", 3)},
	{[]string{"other postal code"}, rg(FieldPostalCode, "other", 3)},
	{[]string{"other country/region", "other country"}, rg(FieldCountry, "other", 3)},
	{[]string{"birthday"}, r(FieldBirthday)},
	{[]string{"categories"}, r(FieldTags)},
	{[]string{"notes"}, r(FieldNotes)},
	{[]string{"language"}, r(FieldLanguage)},
	{[]string{
		"e-mail type", "e-mail # type", "e-mail display name", "e-mail # display name", "department",
		"assistant's phone", "callback", "car phone", "company main phone", "isdn", "other fax", "pager",
		"radio phone", "tty/tdd phone", "telex", "account", "anniversary", "assistant's name",
		"billing information", "children", "directory server", "gender", "government id number", "hobby",
		"initials", "internet free busy", "keywords", "location", "manager's name", "mileage",
		"office location", "organizational id number", "priority", "private", "profession", "referred by",
		"sensitivity", "spouse", "user #", "web page", "personal web page", "nickname", "given yomi",
		"surname yomi", "company yomi", "im address", "schools", "business address po box",
		"home address po box", "other address po box",
	}, r(FieldIgnore)},
})

var hubspotDict = compile([]entry{
	{[]string{"first name"}, r(FieldFirstName)},
	{[]string{"last name"}, r(FieldLastName)},
	{[]string{"email"}, r(FieldEmail)},
	{[]string{"phone number"}, r(FieldPhone)},
	{[]string{"mobile phone number"}, rl(FieldPhone, "mobile")},
	{[]string{"fax number"}, rl(FieldPhone, "fax")},
	{[]string{"company name"}, r(FieldCompany)},
	{[]string{"associated company"}, rule{field: FieldCompany, fallback: true}},
	{[]string{"job title"}, r(FieldJobTitle)},
	{[]string{"lifecycle stage"}, r(FieldTags)},
	{[]string{"contact owner", "hubspot owner"}, r(FieldOwnerEmail)},
	{[]string{"street address"}, r(FieldStreet)},
	{[]string{"city"}, r(FieldCity)},
	{[]string{"state/region"}, r(FieldRegion)},
	{[]string{"postal code"}, r(FieldPostalCode)},
	{[]string{"country/region"}, r(FieldCountry)},
	{[]string{"date of birth"}, r(FieldBirthday)},
	{[]string{"original source"}, r(FieldSource)},
	{[]string{"preferred language"}, r(FieldLanguage)},
	{[]string{
		"record id", "create date", "last activity date", "lead status", "marketing contact status",
		"email domain", "last modified date", "associated company ids", "associated deals",
		"original source drill-down 1", "original source drill-down 2", "latest source",
	}, r(FieldIgnore)},
})

var pivandDict = compile([]entry{
	{[]string{"id"}, r(FieldID)},
	{[]string{"emails", "email"}, r(FieldEmail)},
	{[]string{"email_labels"}, r(FieldEmailLabel)},
	{[]string{"phones", "phone"}, r(FieldPhone)},
	{[]string{"phone_labels"}, r(FieldPhoneLabel)},
	{[]string{"company"}, r(FieldCompanies)},
	{[]string{"title"}, r(FieldJobTitle)},
	{[]string{"address_label"}, r(FieldAddressLabel)},
	{[]string{"street"}, r(FieldStreet)},
	{[]string{"created_at", "updated_at"}, r(FieldIgnore)},
})

type preset struct {
	name      string
	dict      dict
	dateOrder string
	signature []string // header keys that identify the format
}

func keys(hs ...string) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = headerKey(h, false)
	}
	return out
}

// presets in tie-break order.
var presets = []preset{
	{PresetGoogle, googleDict, DateOrderMDY, keys("E-mail 1 - Label", "Phone 1 - Label", "Address 1 - Label",
		"Labels", "Organization Name", "Organization Title", "Phonetic First Name", "Phonetic Last Name", "File As")},
	{PresetGoogleLegacy, googleDict, DateOrderMDY, keys("Given Name", "Family Name", "Additional Name",
		"Group Membership", "E-mail 1 - Type", "Phone 1 - Type", "Address 1 - Type", "Organization 1 - Name",
		"Yomi Name", "Given Name Yomi")},
	{PresetOutlook, outlookDict, DateOrderMDY, keys("E-mail Address", "E-mail 2 Address", "E-mail Type",
		"E-mail Display Name", "Mobile Phone", "Business Phone", "Home Phone", "Business Street", "Home Street",
		"Business City", "Categories", "Company Main Phone", "Other Phone", "Primary Phone", "Business Fax")},
	{PresetHubSpot, hubspotDict, DateOrderMDY, keys("Record ID", "Phone Number", "Mobile Phone Number",
		"Company Name", "Lifecycle Stage", "Contact owner", "Create Date", "Lead Status", "Associated Company",
		"Last Activity Date", "State/Region")},
	{PresetPivand, pivandDict, "", keys("id", "emails", "email_labels", "phones", "phone_labels",
		"created_at", "updated_at", "owner_email", "address_label")},
}

// DetectMapping proposes a mapping for a header row. It recognises the
// export formats of Google Contacts (both formats), Outlook, HubSpot and
// Pivand, and otherwise plain English, Persian and Arabic headers;
// recognition ignores case, spaces and punctuation and Persian/Arabic
// letter variants. Columns it does not recognise are mapped to "ignore".
// A header "custom:<key>" maps to that custom field.
func DetectMapping(header []string) Mapping {
	hkeys := make([]string, len(header))
	present := make(map[string]bool, len(header))
	for i, h := range header {
		hkeys[i] = headerKey(h, false)
		present[hkeys[i]] = true
	}

	m := Mapping{Preset: PresetGeneric, Columns: make([]Column, len(header))}
	var p *preset
	best := 2 // a preset needs at least three signature headers
	for i := range presets {
		score := 0
		for _, k := range presets[i].signature {
			if present[k] {
				score++
			}
		}
		if score > best {
			best, p = score, &presets[i]
		}
	}
	if p != nil {
		m.Preset, m.DateOrder = p.name, p.dateOrder
	}

	rules := make([]rule, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		m.Columns[i].Header = h
		if key, ok := cutCustomHeader(h); ok {
			rules[i] = r(CustomPrefix + key)
			continue
		}
		var ru rule
		var group int
		found := false
		if p != nil {
			ru, group, found = lookup(p.dict, hkeys[i])
		}
		if !found {
			ru, group, found = lookup(genericDict, hkeys[i])
		}
		if !found {
			ru = r(FieldIgnore)
		}
		if !ru.numbered {
			group = ru.group
		}
		ru.group = group
		rules[i] = ru
	}

	// Resolve fallbacks and the ambiguous bare "Name".
	mapped := map[string]bool{}
	for _, ru := range rules {
		if !ru.fallback {
			mapped[ru.field] = true
		}
	}
	for i, ru := range rules {
		switch {
		case ru.fallback && mapped[ru.field]:
			ru = r(FieldIgnore)
		case ru.field == fieldName:
			if mapped[FieldLastName] && !mapped[FieldFirstName] {
				ru.field = FieldFirstName
			} else {
				ru.field = FieldFullName
			}
		}
		m.Columns[i].Field = ru.field
		m.Columns[i].Label = ru.label
		m.Columns[i].Group = ru.group
	}
	return m
}

// cutCustomHeader recognises the "custom:<key>" headers of Pivand's export.
func cutCustomHeader(h string) (string, bool) {
	if len(h) < len(CustomPrefix) || !strings.EqualFold(h[:len(CustomPrefix)], CustomPrefix) {
		return "", false
	}
	key := strings.TrimSpace(h[len(CustomPrefix):])
	if checkCustomKey(key) != nil {
		return "", false
	}
	return key, true
}

// lookup finds a header key in d: exactly; as a numbered template
// ("email2value" → "email#value"); or, for a trailing number, as the bare
// word ("phone2" → "phone", group 2 for emails and phones).
func lookup(d dict, key string) (rule, int, bool) {
	if ru, ok := d[key]; ok {
		return ru, 0, true
	}
	i := strings.IndexFunc(key, func(r rune) bool { return r >= '0' && r <= '9' })
	if i <= 0 {
		return rule{}, 0, false
	}
	j := i
	for j < len(key) && key[j] >= '0' && key[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(key[i:j])
	if err != nil || n > 1000 {
		n = 0
	}
	if ru, ok := d[key[:i]+"#"+key[j:]]; ok {
		return ru, n, true
	}
	if j == len(key) {
		if ru, ok := d[key[:i]]; ok {
			switch ru.field {
			case FieldEmail, FieldPhone, FieldEmailLabel, FieldPhoneLabel:
				ru.numbered = true
			}
			return ru, n, true
		}
	}
	return rule{}, 0, false
}

// maxLabelLen bounds labels (bytes); longer ones are cut.
const maxLabelLen = 64

// normLabel turns a label as exported by other tools into Pivand's form:
// trimmed, Google's "* " primary mark removed, lower-cased, common
// synonyms in English, Persian and Arabic unified ("cell" → "mobile",
// "business" → "work"), characters that could break CSV or vCard
// parameters dropped, and at most 64 bytes.
func normLabel(s string) string {
	s = strings.TrimLeft(strings.TrimSpace(s), "* ")
	if s == "" {
		return ""
	}
	if canon, ok := labelSynonyms[text.Normalize(s)]; ok {
		return canon
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == ';' || r == ':' || r == ',' || r == '\\' || r == '=' || r == '+' || r == '@' || r == '|':
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	for len(s) > maxLabelLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

var labelSynonyms = func() map[string]string {
	m := map[string]string{}
	add := func(canon string, words ...string) {
		for _, w := range words {
			m[text.Normalize(w)] = canon
		}
	}
	add("mobile", "mobile", "cell", "cellular", "cell phone", "mobile phone", "iphone", "موبایل", "همراه", "تلفن همراه", "جوال", "الجوال", "محمول", "المحمول", "موبايل")
	add("work", "work", "business", "office", "internet work", "کار", "محل کار", "شرکت", "العمل", "عمل")
	add("home", "home", "personal", "private", "منزل", "خانه", "شخصی", "المنزل", "البيت", "شخصي")
	add("other", "other", "سایر", "دیگر", "أخرى", "اخرى", "آخر")
	add("main", "main", "primary", "اصلی", "رئيسي")
	add("fax", "fax", "فکس", "نمابر", "فاكس")
	add("work fax", "work fax", "business fax")
	add("home fax", "home fax")
	add("work mobile", "work mobile", "work cell")
	add("pager", "pager")
	return m
}()
