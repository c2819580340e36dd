package contact

import (
	"context"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// searchTokens turns what a person typed into index tokens: normalised
// words, and for phone-like input the digits without a leading + or 00,
// which match the forms text.PhoneSearchForms indexed.
func searchTokens(q string) []string {
	if text.IsPhoneLike(q) {
		var b strings.Builder
		for _, r := range text.ToASCIIDigits(q) {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		d := b.String()
		if strings.HasPrefix(strings.TrimSpace(q), "00") {
			d = strings.TrimPrefix(d, "00")
		}
		if len(d) >= 2 {
			return []string{d}
		}
	}
	toks := text.NormalizeTokens(q)
	if len(toks) > 8 {
		toks = toks[:8]
	}
	return toks
}

// ftsQuery is the engine query for q, or "" when q has nothing to search.
func (s *Service) ftsQuery(d store.Dialect, q string) string {
	toks := searchTokens(q)
	if len(toks) == 0 {
		return ""
	}
	return d.FullTextQuery(toks)
}

// Search finds people and companies by any part of a name, email, phone or
// company, best matches first, up to limit (default 10) of each kind.
func (s *Service) Search(ctx context.Context, q string, limit int) ([]crm.SearchHit, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 50 {
		limit = 10
	}
	hits := []crm.SearchHit{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		fts := s.ftsQuery(tx.Dialect(), q)
		if fts == "" {
			return nil
		}
		people, err := tx.SearchContacts(ctx, fts, limit)
		if err != nil {
			return err
		}
		companies, err := tx.SearchCompanies(ctx, fts, limit)
		if err != nil {
			return err
		}
		for _, c := range people {
			h := crm.SearchHit{Kind: "contact", ID: c.ID, Title: c.DisplayName()}
			switch {
			case len(c.Emails) > 0:
				h.Subtitle = c.Emails[0].Value
			case len(c.Phones) > 0:
				h.Subtitle = c.Phones[0].Value
			}
			hits = append(hits, h)
		}
		for _, c := range companies {
			hits = append(hits, crm.SearchHit{Kind: "company", ID: c.ID, Title: c.Name, Subtitle: c.Domain})
		}
		return nil
	})
	return hits, err
}
