// Package contact is the people-and-companies service: validation and
// normalisation, duplicate detection and merging, custom fields, consent,
// search, and privacy export and erasure. It talks to other modules only
// through events.
package contact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Options tune the service.
type Options struct {
	DefaultRegion string // region for phone numbers written without +country; default IR
}

// Service manages people and companies.
type Service struct {
	db     *store.DB
	region string
}

// New returns the service.
func New(db *store.DB, opts Options) *Service {
	if opts.DefaultRegion == "" {
		opts.DefaultRegion = "IR"
	}
	return &Service{db: db, region: strings.ToUpper(opts.DefaultRegion)}
}

// Region is the default phone region.
func (s *Service) Region() string { return s.region }

// contactSnapshot is what events carry about a person: enough for a
// timeline line and for subscribers, not the whole record.
type contactSnapshot struct {
	Name   string   `json:"name"`
	Emails []string `json:"emails,omitempty"`
	Phones []string `json:"phones,omitempty"`
}

func snapshot(c *crm.Contact) contactSnapshot {
	sn := contactSnapshot{Name: c.DisplayName()}
	for _, e := range c.Emails {
		sn.Emails = append(sn.Emails, e.Value)
	}
	for _, p := range c.Phones {
		sn.Phones = append(sn.Phones, p.Value)
	}
	return sn
}

// row prepares c inside tx: validation against the custom fields, derived
// values, and the names of linked companies in the search text.
//
// On updates, supplied names the custom keys the caller sent; stored values
// of fields that were deleted since are kept as they are, not refused.
func (s *Service) row(ctx context.Context, tx *store.Tx, c *crm.Contact, requireCustom bool, supplied map[string]any) (*store.ContactRow, error) {
	fields, err := tx.ListCustomFields(ctx, "contact")
	if err != nil {
		return nil, err
	}
	orphans := orphanValues(c.Custom, fields, supplied, requireCustom)
	for k := range orphans {
		delete(c.Custom, k)
	}
	r, err := Prepare(c, fields, s.region, requireCustom)
	if err != nil {
		return nil, err
	}
	for k, v := range orphans {
		c.Custom[k] = v
	}
	if err := s.addCompanyTokens(ctx, tx, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) addCompanyTokens(ctx context.Context, tx *store.Tx, r *store.ContactRow) error {
	if len(r.Contact.CompanyIDs) == 0 {
		return nil
	}
	names, err := tx.CompanyNames(ctx, r.Contact.CompanyIDs)
	if err != nil {
		return err
	}
	var v crm.Validation
	for i, m := range r.Contact.Memberships {
		name, ok := names[m.CompanyID]
		if !ok {
			v.Add(fmt.Sprintf("memberships[%d].company_id", i), "Company %d does not exist.", m.CompanyID)
			continue
		}
		if toks := text.NormalizeTokens(name); len(toks) > 0 {
			r.SearchText = strings.TrimSpace(r.SearchText + " " + strings.Join(toks, " "))
		}
	}
	return v.Err()
}

// checkOwner refuses an owner who is not an active user.
func checkOwner(ctx context.Context, tx *store.Tx, owner *int64) error {
	if owner == nil {
		return nil
	}
	u, err := tx.FindUserByID(ctx, *owner)
	if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && !u.Active) {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "Choose an active user."}}
	}
	return err
}

// CreateContact validates and stores a person. Unless allowDuplicates, a
// person who shares an email, a phone or a full name with someone stored
// is refused with a *crm.DuplicatesError listing the matches.
func (s *Service) CreateContact(ctx context.Context, c *crm.Contact, allowDuplicates bool) (*crm.Contact, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	c.ID = 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := s.row(ctx, tx, c, true, nil)
		if err != nil {
			return err
		}
		if err := checkOwner(ctx, tx, c.OwnerID); err != nil {
			return err
		}
		if !allowDuplicates {
			matches, err := s.duplicates(ctx, tx, r.Keys, nil)
			if err != nil {
				return err
			}
			if len(matches) > 0 {
				return &crm.DuplicatesError{Matches: matches}
			}
		}
		if c.Source == "" {
			c.Source = sourceFromContext(ctx)
		}
		if err := tx.InsertContact(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "contact.create", "contact", c.ID, nil, c); err != nil {
			return err
		}
		return tx.Emit(ctx, contactEvent(crm.EventContactCreated, c, snapshot(c)))
	})
	if err != nil {
		return nil, err
	}
	c.Consents = []crm.Consent{}
	return c, nil
}

func sourceFromContext(ctx context.Context) string {
	if crm.TokenFromContext(ctx) != nil {
		return "api"
	}
	if crm.UserFromContext(ctx) != nil {
		return "manual"
	}
	return ""
}

func contactEvent(typ string, c *crm.Contact, payload any) *crm.Event {
	ev := &crm.Event{Type: typ, SubjectType: "contact", SubjectID: c.ID, ContactID: c.ID}
	ev.Payload = mustJSON(payload)
	return ev
}

// FindDuplicates lists stored people who look like c, without saving.
func (s *Service) FindDuplicates(ctx context.Context, c *crm.Contact) ([]crm.DuplicateMatch, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var out []crm.DuplicateMatch
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		fields, err := tx.ListCustomFields(ctx, "contact")
		if err != nil {
			return err
		}
		cp := *c
		r, err := Prepare(&cp, fields, s.region, false)
		if err != nil {
			return err
		}
		var exclude []int64
		if c.ID != 0 {
			exclude = []int64{c.ID}
		}
		out, err = s.duplicates(ctx, tx, r.Keys, exclude)
		return err
	})
	return out, err
}

func (s *Service) duplicates(ctx context.Context, tx *store.Tx, keys []store.ContactKey, exclude []int64) ([]crm.DuplicateMatch, error) {
	found, err := tx.FindDuplicateContacts(ctx, keys, exclude)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	ids := make([]int64, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	names, err := tx.ContactNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]crm.DuplicateMatch, 0, len(ids))
	for _, id := range ids {
		reasons := found[id]
		sort.Strings(reasons)
		out = append(out, crm.DuplicateMatch{ContactID: id, Name: names[id], Reasons: reasons})
	}
	// Strongest evidence first: an email or phone beats a shared name.
	sort.SliceStable(out, func(i, j int) bool { return score(out[i].Reasons) > score(out[j].Reasons) })
	return out, nil
}

func score(reasons []string) int {
	n := 0
	for _, r := range reasons {
		if r == "name" {
			n++
		} else {
			n += 10
		}
	}
	return n
}

// FindContactByID returns one person with companies and consents.
func (s *Service) FindContactByID(ctx context.Context, id int64) (*crm.Contact, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	return s.db.ContactByID(ctx, id)
}

// FindContactJSON appends one person's JSON, exactly what json.Marshal
// writes for FindContactByID's result, to buf. On SQLite it is built from
// the stored columns without decoding them (store.DB.ContactJSON), the
// fast path of GET /api/v1/contacts/{id}.
func (s *Service) FindContactJSON(ctx context.Context, id int64, buf []byte) ([]byte, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return buf, err
	}
	out, ok, err := s.db.ContactJSON(ctx, id, buf)
	if err != nil || ok {
		return out, err
	}
	c, err := s.db.ContactByID(ctx, id)
	if err != nil {
		return buf, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return buf, err
	}
	return append(buf, b...), nil
}

// ListContacts lists people matching f, one page at a time.
func (s *Service) ListContacts(ctx context.Context, f crm.ContactFilter) ([]*crm.Contact, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Contact
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		fts, conds, none, err := s.listFilters(ctx, tx, "contact", f.Q, f.Custom)
		if err != nil || none {
			return err
		}
		out, next, err = tx.FindContacts(ctx, f, fts, conds)
		return err
	})
	if out == nil {
		out = []*crm.Contact{}
	}
	return out, next, err
}

// listFilters turns a list's search text and custom-field filters into
// store terms. none is true when the search text has nothing searchable in
// it, so the list is empty.
func (s *Service) listFilters(ctx context.Context, tx *store.Tx, entity, q string, custom map[string]string) (fts string, conds []store.CustomCond, none bool, err error) {
	if conds, err = s.customConds(ctx, tx, entity, custom); err != nil {
		return "", nil, false, err
	}
	if strings.TrimSpace(q) != "" {
		if fts = s.ftsQuery(tx.Dialect(), q); fts == "" {
			return "", nil, true, nil
		}
	}
	return fts, conds, false, nil
}

// customConds validates custom-field filters against the definitions.
func (s *Service) customConds(ctx context.Context, tx *store.Tx, entity string, in map[string]string) ([]store.CustomCond, error) {
	if len(in) == 0 {
		return nil, nil
	}
	fields, err := tx.ListCustomFields(ctx, entity)
	if err != nil {
		return nil, err
	}
	var (
		v   crm.Validation
		out []store.CustomCond
	)
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := slices.IndexFunc(fields, func(f *crm.CustomField) bool { return f.Key == k })
		if i < 0 {
			v.Add("custom."+k, "There is no custom field %q.", k)
			continue
		}
		f := fields[i]
		one := *f
		if f.Type == crm.FieldMultiSelect {
			one.Type = crm.FieldSelect // filter on one choice
		}
		val, err := CustomValue(&one, in[k], s.region)
		if err != nil {
			v.Add("custom."+k, "%s", err.Error())
			continue
		}
		if val == nil {
			continue
		}
		out = append(out, store.CustomCond{Key: k, Type: f.Type, Value: val})
	}
	return out, v.Err()
}

// UpdateContact changes a person; nil fields of up stay as they are.
func (s *Service) UpdateContact(ctx context.Context, id int64, up crm.ContactUpdate) (*crm.Contact, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var c *crm.Contact
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		after := *before
		applyUpdate(&after, up)
		r, err := s.row(ctx, tx, &after, false, up.Custom)
		if err != nil {
			return err
		}
		if up.OwnerID != nil {
			if err := checkOwner(ctx, tx, after.OwnerID); err != nil {
				return err
			}
		}
		if err := tx.UpdateContactRow(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "contact.update", "contact", id, before, &after); err != nil {
			return err
		}
		c = &after
		return tx.Emit(ctx, contactEvent(crm.EventContactUpdated, c, map[string]any{"name": c.DisplayName(), "changed": changedFields(before, &after)}))
	})
	return c, err
}

func applyUpdate(c *crm.Contact, up crm.ContactUpdate) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Prefix, up.Prefix)
	set(&c.FirstName, up.FirstName)
	set(&c.MiddleName, up.MiddleName)
	set(&c.LastName, up.LastName)
	set(&c.Suffix, up.Suffix)
	set(&c.Birthday, up.Birthday)
	set(&c.Language, up.Language)
	set(&c.Source, up.Source)
	set(&c.Notes, up.Notes)
	if up.Emails != nil {
		c.Emails = *up.Emails
	}
	if up.Phones != nil {
		c.Phones = *up.Phones
	}
	if up.Addresses != nil {
		c.Addresses = *up.Addresses
	}
	if up.Tags != nil {
		c.Tags = *up.Tags
	}
	if up.OwnerID != nil {
		c.OwnerID = *up.OwnerID
	}
	if up.Memberships != nil {
		c.Memberships = *up.Memberships
		c.CompanyIDs = nil
	}
	if up.Custom != nil {
		c.Custom = mergeCustom(c.Custom, up.Custom)
	}
}

// changedFields names the top-level fields that differ, for the event.
func changedFields(a, b *crm.Contact) []string {
	ma, mb := toMap(a), toMap(b)
	var out []string
	for k, v := range mb {
		if k == "updated_at" || k == "consents" {
			continue
		}
		if string(mustJSON(v)) != string(mustJSON(ma[k])) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// DeleteContact removes a person and everything linked to them.
func (s *Service) DeleteContact(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermContactsDelete, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteContact(ctx, id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "contact.delete", "contact", id, before, nil); err != nil {
			return err
		}
		// The event names the person but is not on a timeline: the timeline is gone.
		ev := &crm.Event{Type: crm.EventContactDeleted, SubjectType: "contact", SubjectID: id, Payload: mustJSON(map[string]string{"name": before.DisplayName()})}
		return tx.Emit(ctx, ev)
	})
}

// MaxBulk is the most people one bulk action may touch.
const MaxBulk = 10000

// Bulk applies one action to many people in one transaction and returns
// how many changed.
func (s *Service) Bulk(ctx context.Context, ids []int64, a crm.BulkAction) (int, error) {
	perm := crm.PermContactsWrite
	if a.Action == crm.BulkDelete {
		perm = crm.PermContactsDelete
	}
	if err := crm.Authorize(ctx, perm, true); err != nil {
		return 0, err
	}
	var v crm.Validation
	if len(ids) == 0 {
		v.Add("ids", "Choose at least one person.")
	} else if len(ids) > MaxBulk {
		v.Add("ids", "At most %d people at once.", MaxBulk)
	}
	switch a.Action {
	case crm.BulkAddTag, crm.BulkRemoveTag:
		a.Tag = strings.Join(strings.Fields(a.Tag), " ")
		if a.Tag == "" {
			v.Add("tag", "Give the tag.")
		}
	case crm.BulkSetOwner, crm.BulkDelete:
	default:
		v.Add("action", "Use add_tag, remove_tag, set_owner or delete.")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if a.Action == crm.BulkSetOwner {
			if err := checkOwner(ctx, tx, a.OwnerID); err != nil {
				return err
			}
		}
		for _, id := range dedupeIDs(ids) {
			c, err := tx.FindContactByID(ctx, id)
			if crm.ErrorCode(err) == crm.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			if a.Action == crm.BulkDelete {
				if err := tx.DeleteContact(ctx, id); err != nil {
					return err
				}
				if err := tx.Audit(ctx, "contact.delete", "contact", id, c, nil); err != nil {
					return err
				}
				if err := tx.Emit(ctx, &crm.Event{Type: crm.EventContactDeleted, SubjectType: "contact", SubjectID: id,
					Payload: mustJSON(map[string]string{"name": c.DisplayName()})}); err != nil {
					return err
				}
				n++
				continue
			}
			before := *c
			switch a.Action {
			case crm.BulkAddTag:
				if slices.ContainsFunc(c.Tags, func(t string) bool { return strings.EqualFold(t, a.Tag) }) {
					continue
				}
				c.Tags = append(c.Tags, a.Tag)
			case crm.BulkRemoveTag:
				i := slices.IndexFunc(c.Tags, func(t string) bool { return strings.EqualFold(t, a.Tag) })
				if i < 0 {
					continue
				}
				c.Tags = slices.Delete(slices.Clone(c.Tags), i, i+1)
			case crm.BulkSetOwner:
				if (c.OwnerID == nil && a.OwnerID == nil) || (c.OwnerID != nil && a.OwnerID != nil && *c.OwnerID == *a.OwnerID) {
					continue
				}
				c.OwnerID = a.OwnerID
			}
			r := Derive(c)
			if err := s.addCompanyTokens(ctx, tx, r); err != nil {
				return err
			}
			if err := tx.UpdateContactRow(ctx, r); err != nil {
				return err
			}
			if err := tx.Audit(ctx, "contact.update", "contact", id, &before, c); err != nil {
				return err
			}
			if err := tx.Emit(ctx, contactEvent(crm.EventContactUpdated, c, map[string]any{"name": c.DisplayName(), "changed": changedFields(&before, c), "bulk": a.Action})); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func dedupeIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// IsDuplicates reports whether err is a duplicates warning, returning it.
func IsDuplicates(err error) (*crm.DuplicatesError, bool) {
	var d *crm.DuplicatesError
	ok := errors.As(err, &d)
	return d, ok
}

// orphanValues returns stored custom values whose field no longer exists
// and which the caller did not send again. Creating keeps none.
func orphanValues(custom map[string]any, fields []*crm.CustomField, supplied map[string]any, creating bool) map[string]any {
	if creating {
		return nil
	}
	out := map[string]any{}
	for k, v := range custom {
		if _, sent := supplied[k]; sent {
			continue
		}
		if !slices.ContainsFunc(fields, func(f *crm.CustomField) bool { return f.Key == k }) {
			out[k] = v
		}
	}
	return out
}

// mergeCustom applies a partial custom-field update: keys set to nil are
// removed, others replace the stored value, the rest stay.
func mergeCustom(cur, up map[string]any) map[string]any {
	merged := make(map[string]any, len(cur)+len(up))
	for k, v := range cur {
		merged[k] = v
	}
	for k, v := range up {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	return merged
}
