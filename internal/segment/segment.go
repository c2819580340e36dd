// Package segment is the marketing module's segments: saved dynamic
// segments (a condition tree of the condition language, crm.Rule, whose
// members are the people it matches at the moment they are asked for)
// and static lists (people picked by hand, imported from a file of
// emails or phones, or added from the people list). Other modules reach
// a segment's members through Members (campaigns send to them).
//
// The language's types are crm's (condition.go), its fields and their
// SQL the store's (store/conditions.go); this package checks trees
// (Validate) and keeps the segments.
package segment

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Options configure a Service.
type Options struct {
	// Region is the default region of phone numbers without a country
	// code in imported lists ("IR" when empty).
	Region string
	Logger *slog.Logger
}

// Service keeps segments and lists.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
}

// New returns the segment service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.Region == "" {
		opts.Region = "IR"
	}
	s := &Service{db: db, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Limits of the input, in characters.
const (
	MaxName        = 120
	MaxDescription = 1000
	SampleSize     = 10
)

// Input is a segment or list to create or change.
type Input struct {
	Kind        string          `json:"kind"` // dynamic (default) or static; fixed once created
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rules       json.RawMessage `json:"rules,omitempty"` // dynamic only
	Version     int             `json:"version"`         // updates: the version read
}

// Fields lists the fields conditions may test now.
func (s *Service) Fields(ctx context.Context) ([]crm.ConditionField, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var out []crm.ConditionField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ConditionFields(ctx)
		return err
	})
	return out, err
}

// Check parses and checks a condition tree in JSON.
func (s *Service) Check(ctx context.Context, tx *store.Tx, data []byte) (crm.Rule, error) {
	r, err := crm.ParseRules(data)
	if err != nil {
		return r, err
	}
	return ValidateIn(ctx, tx, r)
}

// ValidateIn is Validate against the condition fields as they are in tx
// (custom fields included): what other modules use for conditions in the
// segment language (workflows, lead scoring).
func ValidateIn(ctx context.Context, tx *store.Tx, root crm.Rule) (crm.Rule, error) {
	fields, err := tx.ConditionFields(ctx)
	if err != nil {
		return crm.Rule{}, err
	}
	return Validate(root, fields)
}

func (s *Service) checkInput(in *Input, creating bool) (nameKey string, v crm.Validation) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if in.Kind == "" && creating {
		in.Kind = crm.SegmentDynamic
	}
	if creating && in.Kind != crm.SegmentDynamic && in.Kind != crm.SegmentStatic {
		v.Add("kind", "Use dynamic or static.")
	}
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		v.Add("name", "Give the segment a name.")
	case n > MaxName:
		v.Add("name", "At most %d characters.", MaxName)
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription {
		v.Add("description", "At most %d characters.", MaxDescription)
	}
	return text.Normalize(in.Name), v
}

// rulesText checks in.Rules for a dynamic segment and returns the
// stored form; problems are added to v under "rules.…".
func (s *Service) rulesText(ctx context.Context, tx *store.Tx, kind string, raw json.RawMessage, v *crm.Validation) (string, error) {
	if kind != crm.SegmentDynamic {
		if len(raw) > 0 && string(raw) != "null" {
			v.Add("rules", "A static list has members, not conditions.")
		}
		return "", nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage(`{"match":"all","conditions":[]}`)
	}
	r, err := s.Check(ctx, tx, raw)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			return "", err
		}
		for k, m := range crm.ErrorFields(err) {
			if k == "rules" {
				v.Add("rules", "%s", m)
			} else {
				v.Add("rules."+k, "%s", m)
			}
		}
		return "", nil
	}
	b, err := json.Marshal(r)
	return string(b), err
}

func nameTaken(err error) error {
	if crm.ErrorCode(err) == crm.ECONFLICT && len(crm.ErrorFields(err)) == 0 { // a unique index, not a stale version
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"name": "Another segment or list has this name."}}
	}
	return err
}

// Create saves a new segment or list.
func (s *Service) Create(ctx context.Context, in Input) (*crm.Segment, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	key, v := s.checkInput(&in, true)
	var out *crm.Segment
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		rules, err := s.rulesText(ctx, tx, in.Kind, in.Rules, &v)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		seg := &crm.Segment{Kind: in.Kind, Name: in.Name, Description: in.Description}
		if uid := crm.UserIDFromContext(ctx); uid != 0 {
			seg.CreatedBy = &uid
		}
		id, err := tx.CreateSegment(ctx, seg, key, rules)
		if err != nil {
			return nameTaken(err)
		}
		if err := tx.Audit(ctx, "segment.create", "segment", id, nil, map[string]any{"kind": in.Kind, "name": in.Name, "rules": json.RawMessage(orNull(rules))}); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, id)
		return err
	})
	return out, err
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// Update changes a segment's name, description and (dynamic) rules if
// in.Version is its version.
func (s *Service) Update(ctx context.Context, id int64, in Input) (*crm.Segment, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	key, v := s.checkInput(&in, false)
	var out *crm.Segment
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.GetSegment(ctx, id)
		if err != nil {
			return err
		}
		if in.Kind != "" && in.Kind != old.Kind {
			v.Add("kind", "A segment's kind cannot change.")
		}
		if in.Version == 0 {
			in.Version = old.Version
		}
		rules, err := s.rulesText(ctx, tx, old.Kind, in.Rules, &v)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateSegment(ctx, id, in.Version, in.Name, key, in.Description, rules); err != nil {
			return nameTaken(err)
		}
		if err := tx.Audit(ctx, "segment.update", "segment", id,
			map[string]any{"name": old.Name, "rules": json.RawMessage(orNull(old.RulesJSON))},
			map[string]any{"name": in.Name, "rules": json.RawMessage(orNull(rules))}); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, id)
		return err
	})
	return out, err
}

// Delete removes a segment or list (a list's people stay, off the list).
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.GetSegment(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteSegment(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "segment.delete", "segment", id, map[string]any{"kind": old.Kind, "name": old.Name}, nil)
	})
}

// Get reads a segment with its checked rules.
func (s *Service) Get(ctx context.Context, id int64) (*crm.Segment, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var out *crm.Segment
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.get(ctx, tx, id)
		return err
	})
	return out, err
}

// get reads a segment. Its stored rules are checked again against the
// fields as they are now: a rule on a custom field deleted since, or a
// list deleted since, makes the segment's rules invalid (EINVALID naming
// the condition) until it is edited.
func (s *Service) get(ctx context.Context, tx *store.Tx, id int64) (*crm.Segment, error) {
	row, err := tx.GetSegment(ctx, id)
	if err != nil {
		return nil, err
	}
	seg := row.Segment
	if row.Kind == crm.SegmentDynamic && row.RulesJSON != "" {
		r, err := crm.ParseRules([]byte(row.RulesJSON))
		if err != nil {
			return nil, err
		}
		seg.Rules = &r // as stored; matchRules checks it
	}
	return &seg, nil
}

// List lists segments and lists by name; kind "" for both.
func (s *Service) List(ctx context.Context, kind string, page crm.Page) ([]*crm.Segment, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	if kind != "" && kind != crm.SegmentDynamic && kind != crm.SegmentStatic {
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"kind": "Use dynamic or static."}}
	}
	var (
		out  []*crm.Segment
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, n, err := tx.ListSegments(ctx, kind, page.Limit, page.After)
		if err != nil {
			return err
		}
		next = n
		for _, r := range rows {
			seg := r.Segment
			out = append(out, &seg)
		}
		return nil
	})
	return out, next, err
}

// matchRules returns the checked tree that selects the members of
// segment id: its rules, or for a list, membership of the list.
func (s *Service) matchRules(ctx context.Context, tx *store.Tx, id int64) (*crm.Segment, crm.Rule, error) {
	row, err := tx.GetSegment(ctx, id)
	if err != nil {
		return nil, crm.Rule{}, err
	}
	seg := row.Segment
	if row.Kind == crm.SegmentStatic {
		return &seg, crm.Rule{Match: crm.MatchAll, Conditions: []crm.Rule{{Field: "lists", Op: crm.OpIn, Value: []int64{id}}}}, nil
	}
	r, err := s.Check(ctx, tx, []byte(row.RulesJSON))
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			fields := map[string]string{}
			for k, m := range crm.ErrorFields(err) {
				fields["rules."+k] = m
			}
			return nil, crm.Rule{}, &crm.Error{Code: crm.EINVALID, Message: "This segment's conditions are no longer valid (a field or list they use was changed or deleted); edit the segment.", Fields: fields}
		}
		return nil, crm.Rule{}, err
	}
	seg.Rules = &r
	return &seg, r, nil
}

// MatchRules returns the checked tree that selects the members of
// segment id (for the people list's "in segment" filter).
func (s *Service) MatchRules(ctx context.Context, id int64) (*crm.Segment, *crm.Rule, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, nil, err
	}
	var (
		seg *crm.Segment
		r   crm.Rule
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		seg, r, err = s.matchRules(ctx, tx, id)
		return err
	})
	return seg, &r, err
}

func (s *Service) compile(ctx context.Context, tx *store.Tx, r *crm.Rule) (store.CompiledRules, error) {
	return tx.CompileRules(ctx, r, tx.Now())
}

// Count counts a segment's members now and records the figure.
func (s *Service) Count(ctx context.Context, id int64) (int64, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		_, r, err := s.matchRules(ctx, tx, id)
		if err != nil {
			return err
		}
		q, err := s.compile(ctx, tx, &r)
		if err != nil {
			return err
		}
		n, err = tx.CountMatching(ctx, q)
		return err
	})
	if err != nil {
		return 0, err
	}
	// The figure is kept for the list page; failing to keep it is no
	// reason to fail the count (a read-only token, a busy database).
	if werr := s.db.Write(ctx, func(tx *store.Tx) error { return tx.SetSegmentCount(ctx, id, n) }); werr != nil {
		s.log.Warn("segment: keep the count", "segment", id, "err", werr)
	}
	return n, nil
}

// Preview is a dry run of an unsaved tree: how many people it matches
// and the newest few of them.
type Preview struct {
	Count  int64               `json:"count"`
	Sample []crm.SegmentMember `json:"sample"`
	Rules  crm.Rule            `json:"rules"` // the tree as checked (values normalised)
}

// Preview counts the people a tree in JSON matches and samples them.
func (s *Service) Preview(ctx context.Context, data []byte, sample int) (*Preview, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	if sample < 0 || sample > 50 {
		sample = SampleSize
	}
	var out Preview
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := s.Check(ctx, tx, data)
		if err != nil {
			return err
		}
		out.Rules = r
		q, err := s.compile(ctx, tx, &r)
		if err != nil {
			return err
		}
		if out.Count, err = tx.CountMatching(ctx, q); err != nil {
			return err
		}
		out.Sample = []crm.SegmentMember{}
		if sample > 0 && out.Count > 0 {
			cs, err := tx.MatchingContacts(ctx, q, 0, sample, true)
			if err != nil {
				return err
			}
			out.Sample = members(cs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func members(cs []*crm.Contact) []crm.SegmentMember {
	out := make([]crm.SegmentMember, 0, len(cs))
	for _, c := range cs {
		m := crm.SegmentMember{ContactID: c.ID, Name: c.DisplayName()}
		if len(c.Emails) > 0 {
			m.Email = c.Emails[0].Value
		}
		if len(c.Phones) > 0 {
			m.Phone = c.Phones[0].Value
		}
		out = append(out, m)
	}
	return out
}

// MembersPage lists a segment's members in id order, limit of them after
// the cursor; next is "" on the last page.
func (s *Service) MembersPage(ctx context.Context, id int64, page crm.Page) ([]crm.SegmentMember, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	after, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"after": "Not a cursor returned by this list."}}
	}
	limit := crm.ClampLimit(page.Limit)
	var (
		out  []crm.SegmentMember
		next string
	)
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		_, r, err := s.matchRules(ctx, tx, id)
		if err != nil {
			return err
		}
		q, err := s.compile(ctx, tx, &r)
		if err != nil {
			return err
		}
		cs, err := tx.MatchingContacts(ctx, q, after, limit+1, false)
		if err != nil {
			return err
		}
		if len(cs) > limit {
			cs = cs[:limit]
			next = crm.EncodeIDCursor(cs[limit-1].ID)
		}
		out = members(cs)
		return nil
	})
	return out, next, err
}

// membersBatch is how many ids Members reads per query.
const membersBatch = 2000

// Members calls fn with the id of each current member of segment (or
// static list) segmentID, in contact id order, inside tx: the people its
// rules match (or who are on the list) and who exist now (erased and
// deleted people are gone from contacts, so never members). It reads
// the ids in batches, so fn may use tx between calls; fn returning an
// error stops the walk with that error. The caller's transaction is the
// snapshot: campaigns take the audience in the transaction that records
// it.
func (s *Service) Members(ctx context.Context, tx *store.Tx, segmentID int64, fn func(contactID int64) error) error {
	_, r, err := s.matchRules(ctx, tx, segmentID)
	if err != nil {
		return err
	}
	q, err := s.compile(ctx, tx, &r)
	if err != nil {
		return err
	}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids, err := tx.MatchingIDs(ctx, q, after, membersBatch)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(ids) < membersBatch {
			return nil
		}
		after = ids[len(ids)-1]
	}
}
