package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// The search box in the top bar finds people and companies (the contact
// service's Search: prefixes, Persian and Arabic spellings, phones in any
// form). /search?q= is a page; with format=json it answers the box's
// dropdown, which app.js shows as the user types.

type searchPage struct {
	base
	People    []searchResult
	Companies []searchResult
}

type searchResult struct {
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	URL      string `json:"url"`
}

// searchResults turns hits into links, phones shown nicely.
func searchResults(p *locale.Printer, hits []crm.SearchHit) (people, companies []searchResult) {
	for _, h := range hits {
		res := searchResult{Kind: h.Kind, Title: h.Title, Subtitle: h.Subtitle}
		if strings.HasPrefix(h.Subtitle, "+") {
			res.Subtitle = phoneDisplay(p, h.Subtitle)
		}
		if strings.HasPrefix(res.Title, "+") {
			res.Title = phoneDisplay(p, h.Title)
		}
		if h.Kind == "company" {
			res.URL = "/companies/" + strconv.FormatInt(h.ID, 10)
			companies = append(companies, res)
		} else {
			res.URL = "/contacts/" + strconv.FormatInt(h.ID, 10)
			people = append(people, res)
		}
	}
	return people, companies
}

func (s *server) handleSearch(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	asJSON := r.URL.Query().Get("format") == "json"
	limit := 20
	if asJSON {
		limit = 6
	}
	var hits []crm.SearchHit
	if q != "" {
		var err error
		if hits, err = s.contacts.Search(r.Context(), q, limit); err != nil {
			if asJSON {
				s.log.ErrorContext(r.Context(), "web: search", "err", err)
				w.WriteHeader(problem.Status(err))
				return
			}
			s.renderError(w, r, err)
			return
		}
	}
	people, companies := searchResults(p, hits)
	if asJSON {
		out := struct {
			Query   string         `json:"query"`
			Results []searchResult `json:"results"`
			All     string         `json:"all"`
			AllText string         `json:"all_text"`
			None    string         `json:"none"`
		}{Query: q, Results: append(append([]searchResult{}, people...), companies...),
			All: "/search?" + url.Values{"q": {q}}.Encode(), AllText: p.T("search.all"), None: p.T("search.none")}
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(out)
		return
	}
	d := &searchPage{base: s.page(r, "search.title"), People: people, Companies: companies}
	d.Query = q
	s.render(w, r, http.StatusOK, "search", d)
}
