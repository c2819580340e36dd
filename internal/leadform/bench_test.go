package leadform_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// BenchmarkRecompute measures the full recompute of every score:
// PIVAND_BENCH_PEOPLE people (default 100,000), 30% tagged vip, 60% who
// agreed to email, and two campaign.opened events for every other person,
// with three rules (tag, consent, opens capped). It prints people/s.
//
//	go test ./internal/leadform/ -run '^$' -bench Recompute -benchtime 3x
func BenchmarkRecompute(b *testing.B) {
	n := 100000
	if s := os.Getenv("PIVAND_BENCH_PEOPLE"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, d := range storetest.Dialects() {
		b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, d)
			series := fmt.Sprintf("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) SELECT i FROM s) g", n)
			if d == store.Postgres {
				series = fmt.Sprintf("generate_series(1, %d) g(i)", n)
			}
			for _, q := range []string{
				`INSERT INTO contacts (id, first_name, last_name, sort_name, language, source, created_at, updated_at)
					SELECT i, 'P', 'L' || i, 'l' || i, 'fa', 'web', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM ` + series,
				`INSERT INTO contact_tags (tag, contact_id) SELECT 'vip', i FROM ` + series + ` WHERE i % 10 < 3`,
				`INSERT INTO contact_consents (contact_id, channel, status, source, changed_at) SELECT i, 'email', 'granted', 'import', CURRENT_TIMESTAMP FROM ` + series + ` WHERE i % 10 >= 4`,
				`INSERT INTO events (type, subject_type, subject_id, contact_id, payload, created_at) SELECT 'campaign.opened', 'campaign', 1, i, '{}', CURRENT_TIMESTAMP FROM ` + series + ` WHERE i % 2 = 0`,
				`INSERT INTO events (type, subject_type, subject_id, contact_id, payload, created_at) SELECT 'campaign.opened', 'campaign', 2, i, '{}', CURRENT_TIMESTAMP FROM ` + series + ` WHERE i % 2 = 0`,
			} {
				if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
					b.Fatal(err)
				}
			}
			if d == store.Postgres {
				db.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT MAX(id) FROM contacts))`)
					return err
				})
			}
			e := newEnv(&testing.T{}, db, leadform.Options{})
			for _, in := range []leadform.ScoreRuleInput{
				{Name: "VIP", Kind: crm.ScoreAttribute, Condition: &crm.Rule{Field: "tags", Op: "has_any", Value: []any{"vip"}}, Points: 30},
				{Name: "Email", Kind: crm.ScoreAttribute, Condition: &crm.Rule{Field: "consent.email", Op: "is_true"}, Points: 10},
				{Name: "Opens", Kind: crm.ScoreBehaviour, EventType: "campaign.opened", Points: 5, MaxPoints: 20},
			} {
				if _, err := e.forms.CreateRule(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			var scored int
			for range b.N {
				var err error
				if scored, err = e.forms.Recompute(ctx); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(n)/el.Seconds(), "people/s")
			b.Logf("%s: %d people, %d scored, %v per recompute", d, n, scored, el)
		})
	}
}
