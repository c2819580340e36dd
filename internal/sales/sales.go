// Package sales is what a sales team lives in: leads that convert in one
// step into a person, a company and a deal; pipelines with ordered stages,
// win probabilities and won and lost end stages; deals on a kanban board,
// with line items from a products catalogue, numbered quotes and a stage
// history; the weighted forecast and the sales reports.
//
// Money is int64 minor units of an ISO 4217 currency, never a float. Every
// change is one transaction that writes its rows, an audit entry and an
// event (deal.created, deal.stage_changed, deal.won, deal.lost …) with the
// deal's person and company, so it lands on their timelines. A deal carries
// a version: a move or an update that names the version it saw is refused
// with a *ConflictError (409, with the deal as it is now) when someone
// changed the deal since, so no update is lost.
//
// The package imports crm and store, never another domain: people and
// companies are found or created through functions internal/app wires in
// (Options), and merges and deletions of people arrive as events.
//
// Every exported method checks permissions with crm.Authorize against the
// user in the context; a context without a user is the system. What a
// user of the sales or support role sees is the admin's choice (Settings.
// Visibility): every deal and lead, or only their own and their
// teammates'. See docs/sales.md.
package sales

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

// PersonRef describes the person a converted lead becomes.
type PersonRef = crm.PersonRef

// Options configure a Service.
type Options struct {
	// Person finds the person a lead names (by phone, then email) or
	// creates them, inside the conversion's transaction; created says
	// which. Without it leads convert only onto an existing person.
	Person func(ctx context.Context, tx *store.Tx, ref crm.PersonRef) (id int64, created bool, err error)
	// Company finds the company a lead names (by name) or creates it,
	// inside the conversion's transaction. Without it leads convert only
	// onto an existing company, or none.
	Company func(ctx context.Context, tx *store.Tx, ref crm.CompanyRef) (id int64, created bool, err error)
	// Region is the default region of phone numbers typed without a
	// country code ("IR"); "IR" when empty.
	Region string
	// Logger receives what subscribers skip; slog.Default when nil.
	Logger *slog.Logger
}

// Service is the sales module.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
}

// New returns the sales service on db.
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

// Limits of the input, in characters (runes) unless said otherwise.
const (
	MaxTitle      = 300
	MaxName       = 200
	MaxText       = 20_000
	MaxShort      = 100
	MaxTags       = 20
	MaxTag        = 50
	MaxCustom     = 50
	MaxLines      = 200
	MaxQuantity   = 1_000_000
	MaxAmount     = 1_000_000_000_000_000 // 10^15 minor units
	MaxTaxRate    = 10_000                // 100%, in hundredths of a percent
	MaxStages     = 30
	MaxPipelines  = 50
	MaxLogoBytes  = 256 << 10
	boardColumnSz = 50
)

// --- Settings ---

// Settings are the sales module's settings, kept by admins.
type Settings struct {
	// Visibility is what users of the sales and support roles see:
	// crm.SalesSeeAll (every deal and lead) or crm.SalesSeeTeam (their
	// own and their teammates'). Admins and managers see everything.
	Visibility string `json:"visibility"`
	// RequireLostReason makes losing a deal ask for one of the lost
	// reasons (when there are any).
	RequireLostReason bool `json:"require_lost_reason"`
	// The business as quotes show it.
	BusinessName    string `json:"business_name"`
	BusinessAddress string `json:"business_address"`
	BusinessPhone   string `json:"business_phone"`
	BusinessEmail   string `json:"business_email"`
	TaxID           string `json:"tax_id"`
	// QuotePrefix goes before quote numbers ("Q-" makes Q-17).
	QuotePrefix string `json:"quote_prefix"`
	// QuoteValidDays is how long a new quote is valid, in days.
	QuoteValidDays int `json:"quote_valid_days"`
	// QuoteTerms is printed at the foot of every quote.
	QuoteTerms string `json:"quote_terms"`
	// HasLogo says whether a logo was uploaded (Logo returns it).
	HasLogo bool `json:"has_logo"`
}

// DefaultSettings are the settings before an admin saves any.
func DefaultSettings() Settings {
	return Settings{Visibility: crm.SalesSeeAll, RequireLostReason: true, QuotePrefix: "Q-", QuoteValidDays: 30}
}

func (s *Service) settings(ctx context.Context, tx *store.Tx) (Settings, error) {
	out := DefaultSettings()
	v, ok, err := tx.SalesSetting(ctx, "sales")
	if err != nil || !ok {
		return out, err
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return DefaultSettings(), fmt.Errorf("sales: settings: %w", err)
	}
	return out, nil
}

// Settings returns the sales settings. Any signed-in user may read them
// (quotes show the business's name).
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	var out Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.settings(ctx, tx)
		return err
	})
	return out, err
}

// SaveSettings validates and stores the settings (all but the logo).
// Needs settings:manage.
func (s *Service) SaveSettings(ctx context.Context, in Settings) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return Settings{}, err
	}
	var v crm.Validation
	in.Visibility = strings.TrimSpace(in.Visibility)
	if in.Visibility != crm.SalesSeeAll && in.Visibility != crm.SalesSeeTeam {
		v.Add("visibility", "Choose all or team.")
	}
	in.BusinessName = checkText(&v, "business_name", in.BusinessName, MaxName)
	in.BusinessAddress = checkText(&v, "business_address", in.BusinessAddress, 1000)
	in.BusinessPhone = checkText(&v, "business_phone", in.BusinessPhone, MaxShort)
	in.BusinessEmail = checkText(&v, "business_email", in.BusinessEmail, 254)
	in.TaxID = checkText(&v, "tax_id", in.TaxID, MaxShort)
	in.QuotePrefix = checkText(&v, "quote_prefix", in.QuotePrefix, 20)
	in.QuoteTerms = checkText(&v, "quote_terms", in.QuoteTerms, 5000)
	if in.QuoteValidDays < 1 || in.QuoteValidDays > 3650 {
		v.Add("quote_valid_days", "Use a number of days from 1 to 3650.")
	}
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		in.HasLogo = old.HasLogo
		b, _ := json.Marshal(in)
		if err := tx.SaveSalesSetting(ctx, "sales", string(b)); err != nil {
			return err
		}
		return tx.Audit(ctx, "sales.settings", "settings", 0, old, in)
	})
	return in, err
}

// Logo returns the uploaded logo as a data: URL ("" without one), for the
// quote page (the page's Content-Security-Policy allows data: images).
func (s *Service) Logo(ctx context.Context) (string, error) {
	var out string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		v, _, err := tx.SalesSetting(ctx, "sales.logo")
		out = v
		return err
	})
	return out, err
}

// SetLogo stores a PNG, JPEG, GIF or WebP image (at most 256 KB) as the
// business's logo; nil removes it. Needs settings:manage.
func (s *Service) SetLogo(ctx context.Context, data []byte, contentType string) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	url := ""
	if len(data) > 0 {
		switch {
		case len(data) > MaxLogoBytes:
			return fieldError("logo", "The logo is larger than 256 KB; use a smaller image.")
		case !strings.HasPrefix(contentType, "image/png") && !strings.HasPrefix(contentType, "image/jpeg") &&
			!strings.HasPrefix(contentType, "image/gif") && !strings.HasPrefix(contentType, "image/webp"):
			return fieldError("logo", "Use a PNG, JPEG, GIF or WebP image.")
		}
		url = "data:" + contentType + ";base64," + base64Std(data)
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		st.HasLogo = url != ""
		b, _ := json.Marshal(st)
		if err := tx.SaveSalesSetting(ctx, "sales", string(b)); err != nil {
			return err
		}
		if err := tx.SaveSalesSetting(ctx, "sales.logo", url); err != nil {
			return err
		}
		return tx.Audit(ctx, "sales.logo", "settings", 0, nil, map[string]any{"bytes": len(data), "type": contentType})
	})
}

// scope is what the acting user sees: everything, or with the team
// setting, a sales or support user's own deals and their teammates'.
func (s *Service) scope(ctx context.Context, tx *store.Tx) (store.SalesScope, error) {
	u := crm.UserFromContext(ctx)
	if u == nil || u.Role == crm.RoleAdmin || u.Role == crm.RoleManager {
		return store.SalesScope{}, nil
	}
	st, err := s.settings(ctx, tx)
	if err != nil {
		return store.SalesScope{}, err
	}
	if st.Visibility == crm.SalesSeeTeam {
		return store.SalesScope{TeamOf: u.ID}, nil
	}
	return store.SalesScope{}, nil
}

// Scope reports whether the acting user sees only their own and their
// teammates' deals.
func (s *Service) Scope(ctx context.Context) (team bool, err error) {
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		team = sc.TeamOf != 0
		return err
	})
	return team, err
}

// --- Following people and companies ---

// SubscriberName is the durable event cursor of the sales module's
// contact subscriber.
const SubscriberName = "sales.contacts"

// Subscribe follows the events of people and companies: a merge moves the
// merged people's deals, leads and quotes to the survivor; a deleted
// person's or company's deals stay, detached; an erased person's leads
// lose their personal data.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, []string{crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased, crm.EventCompanyDeleted},
		s.HandleEvent, event.SubscribeFromNow())
}

// HandleEvent is the handler Subscribe installs.
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("sales: contact.merged payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		_, err := tx.MoveDealsAndLeads(ctx, p.MergedIDs, ev.SubjectID)
		return err
	case crm.EventContactDeleted:
		_, err := tx.MoveDealsAndLeads(ctx, []int64{ev.SubjectID}, 0)
		return err
	case crm.EventContactErased:
		if err := tx.EraseLeadsOf(ctx, ev.SubjectID); err != nil {
			return err
		}
		_, err := tx.MoveDealsAndLeads(ctx, []int64{ev.SubjectID}, 0)
		return err
	case crm.EventCompanyDeleted:
		return tx.DetachCompanyDeals(ctx, ev.SubjectID)
	}
	return nil
}

// Names are the names a list of deals shows (store.SalesNames).
type Names = store.SalesNames

// UserRef is a user as owner menus show them (store.UserRef).
type UserRef = store.UserRef
