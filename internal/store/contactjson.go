package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

// ContactJSON appends to buf the JSON document of one person exactly as
// encoding/json writes a crm.Contact (the body of GET
// /api/v1/contacts/{id}), built from the stored columns: the JSON columns
// (emails, phones, addresses, tags, custom) are copied as they are stored
// instead of being decoded and encoded again, which is most of the cost of
// reading one person. It runs one prepared statement on the reader pool
// and allocates little.
//
// ok is false, with nothing appended, when the caller must read the
// person the general way (ContactByID): on PostgreSQL, whose JSONB columns
// come back in another form, and for a person with consents, which are
// read in a transaction with the person. A person that does not exist is
// ENOTFOUND.
func (db *DB) ContactJSON(ctx context.Context, id int64, buf []byte) (out []byte, ok bool, err error) {
	if db.dialect != SQLite {
		return buf, false, nil
	}
	st, err := db.readStmt(ctx, contactJSONQuery)
	if err != nil {
		return buf, false, err
	}
	var (
		cid                                                   int64
		prefix, first, middle, last, suffix                   string
		emails, phones, addresses, birthday, language, source string
		tags, notes, custom, created, updated, links          string
		owner                                                 sql.NullInt64
		consents                                              bool
	)
	err = st.QueryRowContext(db.short(ctx), id).Scan(&cid, &prefix, &first, &middle, &last, &suffix, &emails, &phones, &addresses,
		&birthday, &language, &source, &owner, &tags, &notes, &custom, &created, &updated, &links, &consents)
	if err == sql.ErrNoRows {
		return buf, false, crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	if err != nil {
		return buf, false, db.wrap("contact", err)
	}
	if consents {
		return buf, false, nil
	}
	// The times as time.Time.MarshalJSON writes them, from the stored
	// text parsed as the driver parses it for ContactByID.
	var times [2][]byte
	for i, v := range []string{created, updated} {
		t, err := time.Parse(sqliteTimeLayout, v)
		if err != nil {
			return buf, false, nil // stored some other way: the general path reads it
		}
		times[i] = t.AppendFormat(times[i], `"`+time.RFC3339Nano+`"`)
	}
	var ms []jsonLink
	if links != "[]" {
		if err := json.Unmarshal([]byte(links), &ms); err != nil {
			return buf, false, fmt.Errorf("store: contact %d: bad company links: %w", cid, err)
		}
		// Link order, as ContactByID: by creation time, then company.
		slices.SortFunc(ms, func(a, b jsonLink) int { return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.CompanyID, b.CompanyID)) })
	}

	b := append(buf, `{"id":`...)
	b = strconv.AppendInt(b, cid, 10)
	b = appendField(b, `,"prefix":`, prefix)
	b = appendField(b, `,"first_name":`, first)
	b = appendField(b, `,"middle_name":`, middle)
	b = appendField(b, `,"last_name":`, last)
	b = appendField(b, `,"suffix":`, suffix)
	b = append(append(b, `,"emails":`...), emails...)
	b = append(append(b, `,"phones":`...), phones...)
	b = append(append(b, `,"addresses":`...), addresses...)
	if len(birthday) > 0 {
		b = appendField(b, `,"birthday":`, birthday)
	}
	if len(language) > 0 {
		b = appendField(b, `,"language":`, language)
	}
	if len(source) > 0 {
		b = appendField(b, `,"source":`, source)
	}
	b = append(b, `,"owner_id":`...)
	if owner.Valid {
		b = strconv.AppendInt(b, owner.Int64, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(append(b, `,"tags":`...), tags...)
	if len(notes) > 0 {
		b = appendField(b, `,"notes":`, notes)
	}
	b = append(b, `,"memberships":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"company_id":`...)
		b = strconv.AppendInt(b, m.CompanyID, 10)
		b = appendField(b, `,"role":`, m.Role)
		b = append(b, '}')
	}
	b = append(b, `],"company_ids":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, m.CompanyID, 10)
	}
	b = append(append(b, `],"custom":`...), custom...)
	b = append(append(b, `,"created_at":`...), times[0]...)
	b = append(append(b, `,"updated_at":`...), times[1]...)
	b = append(b, '}')
	// The JSON columns were copied as stored: check the whole document
	// once rather than trust them.
	if !json.Valid(b[len(buf):]) {
		return buf, false, fmt.Errorf("store: contact %d: bad JSON column", cid)
	}
	return b, true, nil
}

// sqliteTimeLayout is how the SQLite driver writes times (_time_format=sqlite).
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// contactJSONQuery is contactByIDQuery with the times as stored text (the
// driver would try several layouts for each) and the links unsorted
// (sorting in SQL costs a sorter per call; ContactJSON sorts the few).
var contactJSONQuery = `SELECT c.id, c.prefix, c.first_name, c.middle_name, c.last_name, c.suffix, c.emails, c.phones, c.addresses,
	c.birthday, c.language, c.source, c.owner_id, c.tags, c.notes, c.custom,
	CAST(c.created_at AS TEXT), CAST(c.updated_at AS TEXT),
	(SELECT json_group_array(json_object('company_id', company_id, 'role', role, 'at', created_at))
		FROM contact_companies WHERE contact_id = c.id),
	EXISTS (SELECT 1 FROM contact_consents k WHERE k.contact_id = c.id)
	FROM contacts c WHERE c.id = ?`

type jsonLink struct {
	CompanyID int64  `json:"company_id"`
	Role      string `json:"role"`
	At        string `json:"at"`
}

// appendField appends name and s as a JSON string.
func appendField(b []byte, name string, s string) []byte {
	return AppendJSONString(append(b, name...), s)
}

// AppendJSONString appends s as a JSON string exactly as encoding/json
// writes a Go string (HTML characters escaped, invalid UTF-8 replaced).
// Text that needs no escaping, nearly all, is copied as it is; the rest
// goes through encoding/json.
func AppendJSONString(b []byte, s string) []byte {
	if plainJSON(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// plainJSON reports whether encoding/json writes s between quotes
// unchanged: valid UTF-8 with no control characters, quotes, backslashes,
// <, >, &, U+2028 or U+2029.
func plainJSON(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}
