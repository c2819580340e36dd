package contact

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// mergeScalars are the single-valued fields a merge must choose between.
var mergeScalars = []string{"prefix", "first_name", "middle_name", "last_name", "suffix", "birthday", "language", "source", "owner_id"}

func scalar(c *crm.Contact, field string) any {
	switch field {
	case "prefix":
		return c.Prefix
	case "first_name":
		return c.FirstName
	case "middle_name":
		return c.MiddleName
	case "last_name":
		return c.LastName
	case "suffix":
		return c.Suffix
	case "birthday":
		return c.Birthday
	case "language":
		return c.Language
	case "source":
		return c.Source
	case "owner_id":
		if c.OwnerID == nil {
			return nil
		}
		return *c.OwnerID
	}
	if k, ok := strings.CutPrefix(field, "custom."); ok {
		return c.Custom[k]
	}
	return nil
}

func setScalar(c *crm.Contact, field string, v any) {
	s, _ := v.(string)
	switch field {
	case "prefix":
		c.Prefix = s
	case "first_name":
		c.FirstName = s
	case "middle_name":
		c.MiddleName = s
	case "last_name":
		c.LastName = s
	case "suffix":
		c.Suffix = s
	case "birthday":
		c.Birthday = s
	case "language":
		c.Language = s
	case "source":
		c.Source = s
	case "owner_id":
		if id, ok := v.(int64); ok {
			c.OwnerID = &id
		} else {
			c.OwnerID = nil
		}
	default:
		if k, ok := strings.CutPrefix(field, "custom."); ok {
			if v == nil {
				delete(c.Custom, k)
			} else {
				c.Custom[k] = v
			}
		}
	}
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// plan computes the merged person. people[0] need not be the survivor.
func plan(people []*crm.Contact, survivorID int64, choices map[string]int64) (*crm.MergePlan, error) {
	byID := map[int64]*crm.Contact{}
	var ids []int64
	for _, p := range people {
		byID[p.ID] = p
		ids = append(ids, p.ID)
	}
	surv := byID[survivorID]
	var v crm.Validation
	for field, id := range choices {
		if byID[id] == nil {
			v.Add("choices."+field, "Contact %d is not part of this merge.", id)
		}
		if !slices.Contains(mergeScalars, field) && !strings.HasPrefix(field, "custom.") {
			v.Add("choices."+field, "%s cannot be chosen; lists are combined.", field)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Survivor first, then the others in the order given.
	order := append([]*crm.Contact{surv}, slices.DeleteFunc(slices.Clone(people), func(p *crm.Contact) bool { return p.ID == survivorID })...)

	res := *surv
	res.Custom = map[string]any{}
	for k, val := range surv.Custom {
		res.Custom[k] = val
	}
	fields := slices.Clone(mergeScalars)
	var customKeys []string
	for _, p := range order {
		for k := range p.Custom {
			if !slices.Contains(customKeys, k) {
				customKeys = append(customKeys, k)
			}
		}
	}
	sort.Strings(customKeys)
	for _, k := range customKeys {
		fields = append(fields, "custom."+k)
	}
	out := &crm.MergePlan{SurvivorID: survivorID, Conflicts: []crm.MergeConflict{}, Moves: map[string]int{}}
	for _, f := range fields {
		values := map[int64]any{}
		distinct := map[string]bool{}
		for _, p := range order {
			val := scalar(p, f)
			if empty(val) {
				continue
			}
			values[p.ID] = val
			distinct[string(mustJSON(val))] = true
		}
		if len(values) == 0 {
			setScalar(&res, f, nil)
			continue
		}
		chosen := int64(0)
		if id, ok := choices[f]; ok {
			chosen = id
		} else {
			for _, p := range order { // the survivor's value, else the first non-empty
				if _, ok := values[p.ID]; ok {
					chosen = p.ID
					break
				}
			}
		}
		setScalar(&res, f, scalar(byID[chosen], f))
		if len(distinct) > 1 {
			out.Conflicts = append(out.Conflicts, crm.MergeConflict{Field: f, Values: values, Chosen: chosen, Result: scalar(byID[chosen], f)})
		}
	}
	// Lists are combined without repeats; notes are joined.
	res.Emails, res.Phones, res.Addresses, res.Tags, res.Memberships = nil, nil, nil, nil, nil
	var notes []string
	for _, p := range order {
		for _, e := range p.Emails {
			if !slices.ContainsFunc(res.Emails, func(x crm.Labeled) bool { return x.Value == e.Value }) {
				res.Emails = append(res.Emails, e)
			}
		}
		for _, ph := range p.Phones {
			if !slices.ContainsFunc(res.Phones, func(x crm.Labeled) bool { return x.Value == ph.Value }) {
				res.Phones = append(res.Phones, ph)
			}
		}
		for _, a := range p.Addresses {
			if !slices.Contains(res.Addresses, a) {
				res.Addresses = append(res.Addresses, a)
			}
		}
		for _, t := range p.Tags {
			if !slices.ContainsFunc(res.Tags, func(x string) bool { return strings.EqualFold(x, t) }) {
				res.Tags = append(res.Tags, t)
			}
		}
		for _, m := range p.Memberships {
			i := slices.IndexFunc(res.Memberships, func(x crm.Membership) bool { return x.CompanyID == m.CompanyID })
			if i < 0 {
				res.Memberships = append(res.Memberships, m)
			} else if res.Memberships[i].Role == "" {
				res.Memberships[i].Role = m.Role
			}
		}
		if n := strings.TrimSpace(p.Notes); n != "" && !slices.Contains(notes, n) {
			notes = append(notes, n)
		}
	}
	res.Notes = strings.Join(notes, "\n\n")
	res.CompanyIDs = make([]int64, 0, len(res.Memberships))
	for _, m := range res.Memberships {
		res.CompanyIDs = append(res.CompanyIDs, m.CompanyID)
	}
	for _, l := range []*[]crm.Labeled{&res.Emails, &res.Phones} {
		if *l == nil {
			*l = []crm.Labeled{}
		}
	}
	if res.Addresses == nil {
		res.Addresses = []crm.Address{}
	}
	if res.Tags == nil {
		res.Tags = []string{}
	}
	if res.Memberships == nil {
		res.Memberships = []crm.Membership{}
	}
	out.Result = res
	for _, id := range ids {
		if id != survivorID {
			out.MergedIDs = append(out.MergedIDs, id)
		}
	}
	return out, nil
}

func checkMergeInput(ids []int64, survivorID int64) ([]int64, error) {
	ids = dedupeIDs(ids)
	var v crm.Validation
	if len(ids) < 2 {
		v.Add("ids", "Choose at least two people to merge.")
	} else if len(ids) > 10 {
		v.Add("ids", "Merge at most 10 people at once.")
	}
	if survivorID == 0 && len(ids) > 0 {
		survivorID = ids[0]
	}
	if !slices.Contains(ids, survivorID) {
		v.Add("survivor_id", "The person to keep must be one of the merged people.")
	}
	return ids, v.Err()
}

// loadMerge reads the people of a merge and computes the plan.
func (s *Service) loadMerge(ctx context.Context, tx *store.Tx, ids []int64, survivorID int64, choices map[string]int64) ([]*crm.Contact, *crm.MergePlan, error) {
	var people []*crm.Contact
	for _, id := range ids {
		p, err := tx.FindContactByID(ctx, id)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil, nil, &crm.Error{Code: crm.ENOTFOUND, Message: fmt.Sprintf("Contact %d was not found.", id),
				Fields: map[string]string{"ids": fmt.Sprintf("Contact %d does not exist.", id)}}
		}
		if err != nil {
			return nil, nil, err
		}
		people = append(people, p)
	}
	p, err := plan(people, survivorID, choices)
	if err != nil {
		return nil, nil, err
	}
	counts, err := tx.CountContactActivity(ctx, p.MergedIDs)
	if err != nil {
		return nil, nil, err
	}
	for k, n := range counts.Moves() {
		p.Moves[k] = n
	}
	companies, consents := 0, 0
	for _, x := range people {
		if x.ID != survivorID {
			companies += len(x.Memberships)
			consents += len(x.Consents)
		}
	}
	p.Moves["companies"], p.Moves["consents"] = companies, consents
	return people, p, nil
}

// PreviewMerge shows what merging ids into survivorID would produce,
// without changing anything.
func (s *Service) PreviewMerge(ctx context.Context, ids []int64, survivorID int64, choices map[string]int64) (*crm.MergePlan, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, false); err != nil {
		return nil, err
	}
	if survivorID == 0 && len(ids) > 0 {
		survivorID = ids[0]
	}
	ids, err := checkMergeInput(ids, survivorID)
	if err != nil {
		return nil, err
	}
	var out *crm.MergePlan
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		_, out, err = s.loadMerge(ctx, tx, ids, survivorID, choices)
		return err
	})
	return out, err
}

// Merge combines people into survivorID in one transaction: fields by the
// choices, lists combined, companies, consents (the latest decision per
// channel), timeline, notes and tasks moved; the others are deleted.
func (s *Service) Merge(ctx context.Context, ids []int64, survivorID int64, choices map[string]int64) (*crm.Contact, error) {
	if err := crm.Authorize(ctx, crm.PermContactsDelete, true); err != nil {
		return nil, err
	}
	if survivorID == 0 && len(ids) > 0 {
		survivorID = ids[0]
	}
	ids, err := checkMergeInput(ids, survivorID)
	if err != nil {
		return nil, err
	}
	var result *crm.Contact
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		people, p, err := s.loadMerge(ctx, tx, ids, survivorID, choices)
		if err != nil {
			return err
		}
		latest := map[string]crm.Consent{}
		for _, x := range people {
			for _, c := range x.Consents {
				if cur, ok := latest[c.Channel]; !ok || c.ChangedAt.After(cur.ChangedAt) {
					latest[c.Channel] = c
				}
			}
		}
		if _, err := tx.MoveContactActivity(ctx, p.MergedIDs, survivorID); err != nil {
			return err
		}
		for _, id := range p.MergedIDs {
			if err := tx.DeleteContact(ctx, id); err != nil {
				return err
			}
		}
		res := p.Result
		r := Derive(&res)
		if err := s.addCompanyTokens(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.UpdateContactRow(ctx, r); err != nil {
			return err
		}
		channels := make([]string, 0, len(latest))
		for ch := range latest {
			channels = append(channels, ch)
		}
		sort.Strings(channels)
		for _, ch := range channels {
			c := latest[ch]
			if err := tx.SetConsent(ctx, survivorID, &c); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, "contact.merge", "contact", survivorID, people, &res); err != nil {
			return err
		}
		names := map[string]string{}
		for _, x := range people {
			names[fmt.Sprint(x.ID)] = x.DisplayName()
		}
		if err := tx.Emit(ctx, contactEvent(crm.EventContactsMerged, &res, map[string]any{"merged_ids": p.MergedIDs, "names": names, "moved": p.Moves})); err != nil {
			return err
		}
		result, err = tx.FindContactByID(ctx, survivorID)
		return err
	})
	return result, err
}
