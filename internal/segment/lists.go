package segment

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Static lists: people put on a list by hand, from the people list's
// bulk actions, or from a file of emails and phones.

// MaxListChange bounds the people one call adds or removes; MaxImportRows
// the rows of an imported file.
const (
	MaxListChange = 10000
	MaxImportRows = 100000
)

func (s *Service) staticList(ctx context.Context, tx *store.Tx, id int64) error {
	row, err := tx.GetSegment(ctx, id)
	if err != nil {
		return err
	}
	if row.Kind != crm.SegmentStatic {
		return &crm.Error{Code: crm.ECONFLICT, Message: "This is a dynamic segment: its members are the people its conditions match, and cannot be added or removed by hand."}
	}
	return nil
}

func checkIDs(ids []int64) error {
	if len(ids) == 0 {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"contact_ids": "Choose at least one person."}}
	}
	if len(ids) > MaxListChange {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"contact_ids": fmt.Sprintf("At most %d people at a time.", MaxListChange)}}
	}
	for i, id := range ids {
		if id <= 0 {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{fmt.Sprintf("contact_ids[%d]", i): "Not a person's id."}}
		}
	}
	return nil
}

// AddMembers puts people on static list id and returns how many were
// added (people already on it, and ids of no one, are skipped).
func (s *Service) AddMembers(ctx context.Context, id int64, contactIDs []int64) (int64, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return 0, err
	}
	if err := checkIDs(contactIDs); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.staticList(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if n, err = tx.AddSegmentMembers(ctx, id, contactIDs, crm.UserIDFromContext(ctx)); err != nil {
			return err
		}
		return tx.Audit(ctx, "segment.members_add", "segment", id, nil, map[string]any{"requested": len(contactIDs), "added": n})
	})
	return n, err
}

// RemoveMembers takes people off static list id and returns how many
// were on it.
func (s *Service) RemoveMembers(ctx context.Context, id int64, contactIDs []int64) (int64, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return 0, err
	}
	if err := checkIDs(contactIDs); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.staticList(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if n, err = tx.RemoveSegmentMembers(ctx, id, contactIDs); err != nil {
			return err
		}
		return tx.Audit(ctx, "segment.members_remove", "segment", id, nil, map[string]any{"requested": len(contactIDs), "removed": n})
	})
	return n, err
}

// ImportReport says what an imported file did.
type ImportReport struct {
	Rows     int            `json:"rows"`      // rows with a value read
	Matched  int            `json:"matched"`   // rows that found a person
	Added    int64          `json:"added"`     // people newly on the list
	Unknown  []ImportRowErr `json:"unknown"`   // rows that found no one (the first 100)
	Invalid  []ImportRowErr `json:"invalid"`   // rows that are not an email or phone (the first 100)
	Multiple int            `json:"ambiguous"` // rows matching several people (all are added)
}

// ImportRowErr names a row of an imported file.
type ImportRowErr struct {
	Line  int    `json:"line"`
	Value string `json:"value"`
}

// ImportMembers adds to static list id the people a file names: one
// email or phone per line, or a CSV whose first column (or the column
// headed email or phone) holds them. Rows that find no one are reported
// with their line; the people found are added in one transaction.
func (s *Service) ImportMembers(ctx context.Context, id int64, r io.Reader) (*ImportReport, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	rep := &ImportReport{Unknown: []ImportRowErr{}, Invalid: []ImportRowErr{}}
	type row struct {
		line        int
		kind, value string
		raw         string
	}
	var rows []row
	col := 0
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("The file cannot be read at line %d.", line), Fields: map[string]string{"file": fmt.Sprintf("Line %d: %v", line, err)}}
		}
		if line == 1 {
			found := false
			for i, h := range rec {
				h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
				if h == "email" || h == "phone" || h == "mobile" || h == "e-mail" {
					col, found = i, true
					break
				}
			}
			if found {
				continue
			}
		}
		if col >= len(rec) {
			continue
		}
		raw := strings.TrimSpace(strings.TrimPrefix(rec[col], "\ufeff"))
		if raw == "" {
			continue
		}
		rep.Rows++
		if rep.Rows > MaxImportRows {
			return nil, &crm.Error{Code: crm.EINVALID, Message: "The file is too long.", Fields: map[string]string{"file": fmt.Sprintf("At most %d rows.", MaxImportRows)}}
		}
		kind, value := s.key(raw)
		if kind == "" {
			if len(rep.Invalid) < 100 {
				rep.Invalid = append(rep.Invalid, ImportRowErr{Line: line, Value: clipValue(raw)})
			}
			continue
		}
		rows = append(rows, row{line, kind, value, raw})
	}
	if rep.Rows == 0 {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"file": "The file names no email or phone."}}
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.staticList(ctx, tx, id); err != nil {
			return err
		}
		var ids []int64
		for _, r := range rows {
			found, err := tx.ContactsByKey(ctx, r.kind, r.value)
			if err != nil {
				return err
			}
			switch {
			case len(found) == 0:
				if len(rep.Unknown) < 100 {
					rep.Unknown = append(rep.Unknown, ImportRowErr{Line: r.line, Value: clipValue(r.raw)})
				}
				continue
			case len(found) > 1:
				rep.Multiple++
			}
			rep.Matched++
			ids = append(ids, found...)
		}
		if len(ids) > 0 {
			n, err := tx.AddSegmentMembers(ctx, id, ids, crm.UserIDFromContext(ctx))
			if err != nil {
				return err
			}
			rep.Added = n
		}
		return tx.Audit(ctx, "segment.members_import", "segment", id, nil, map[string]any{"rows": rep.Rows, "matched": rep.Matched, "added": rep.Added})
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func clipValue(s string) string {
	if utf8.RuneCountInString(s) > 80 {
		return string([]rune(s)[:80]) + "…"
	}
	return s
}

// key is the contact key an imported value looks up: an email
// (lower-cased) or a phone (E.164), or "" when it is neither.
func (s *Service) key(raw string) (kind, value string) {
	if strings.Contains(raw, "@") {
		a, err := mail.ParseAddress(raw)
		if err != nil {
			return "", ""
		}
		return "email", strings.ToLower(a.Address)
	}
	p := text.ToASCIIDigits(raw)
	num, err := phonenumbers.Parse(p, s.opts.Region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", ""
	}
	return "phone", phonenumbers.Format(num, phonenumbers.E164)
}
