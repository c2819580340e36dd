package contactfile

import (
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one problem with one value of a CSV row or vCard card.
type FieldError struct {
	// Field is where the value came from, as the user sees it: the CSV
	// column header ("E-mail 1 - Value") or the vCard property ("EMAIL").
	// It is empty for a problem with the whole row or card.
	Field string `json:"field"`
	// Target is the contact field the value was meant for ("email",
	// "phone", "birthday"…), empty for a whole-row problem.
	Target string `json:"target,omitempty"`
	// Message is a user-safe English sentence.
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%q: %s", e.Field, e.Message)
}

// errorList formats "line 7: …; …" or "card 3 (line 20): …".
func errorList(prefix string, errs []FieldError) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(": ")
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// FormatError is a problem with the file itself that stops reading: the
// file is not UTF-8, is a spreadsheet rather than CSV, has an unclosed
// quote, or a record is too long. Line and Column are 1-based and 0 when
// not known; Column counts bytes.
type FormatError struct {
	Line    int
	Column  int
	Message string // what is wrong
	Hint    string // what the user can do about it; may be empty
}

func (e *FormatError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(", byte column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(" ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// hintUTF8 tells users how to get a UTF-8 CSV out of the usual tools.
const hintUTF8 = `Save the file as UTF-8: in Excel use "Save As" and choose "CSV UTF-8 (Comma delimited) (*.csv)"; in LibreOffice Calc tick "Edit filter settings" and choose "Unicode (UTF-8)"; Google Sheets and Google Contacts downloads are already UTF-8.`
