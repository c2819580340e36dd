package campaign_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

const childEnv = "PIVAND_CAMPAIGN_CHILD_DB"

// TestChildSender is the sender process TestKillMidSend starts and kills:
// it runs the job runner on the database named by PIVAND_CAMPAIGN_CHILD_DB
// until it is killed.
func TestChildSender(t *testing.T) {
	url := os.Getenv(childEnv)
	if url == "" {
		t.Skip("the child process of TestKillMidSend")
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	svc := campaign.New(db, campaign.Options{BaseURL: "https://crm.example.com", Lease: 2 * time.Second})
	r := jobs.NewRunner(db, nil, jobs.Options{Lease: 2 * time.Second, PollInterval: 20 * time.Millisecond})
	svc.RegisterJobs(r)
	r.Run(context.Background())
}

// TestKillMidSend kills the sending process (SIGKILL, no cleanup) in the
// middle of a campaign, then lets this process take over: every person
// has exactly one delivery, nobody gets the message twice, everyone but
// the one batch in flight at the kill is sent, and that batch is marked
// failed (interrupted), never sent again (at most once).
func TestKillMidSend(t *testing.T) {
	killMidSend(t, false)
}

// TestKillMidSendAB is TestKillMidSend on an A/B test: the child sends
// the test groups, the rest is sent variant B by hand, and the child is
// killed halfway through the rest. The test and the rest together still
// give each person one message at most.
func TestKillMidSendAB(t *testing.T) {
	killMidSend(t, true)
}

func killMidSend(t *testing.T, ab bool) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			url := storetest.URL(t, d)
			db, err := store.Open(sys, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(sys); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, db, campaign.Options{Lease: 2 * time.Second})
			db.Now = time.Now
			st, _ := f.svc.Settings(sys)
			st.SMTP.Host, st.SMTP.TLS, st.SMTP.Pool = f.sink.Addr, "none", 2
			st.PerSecond, st.QuietStart, st.QuietEnd = 300, 0, 0
			if _, err := f.svc.SaveSettings(sys, st); err != nil {
				t.Fatal(err)
			}
			const n = 200
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = f.person(fmt.Sprintf("P%d", i), fmt.Sprintf("p%d@example.com", i), "", "en", nil, "email")
			}
			c := f.emailCampaign("Crash", welcome)
			killAt := 70
			if ab {
				in := abInput(false)
				in.AB.TestPercent = 50
				var err error
				if c, err = f.svc.Create(sys, in); err != nil {
					t.Fatal(err)
				}
				test := 0
				for _, id := range ids {
					if campaign.Split(c.ID, id, c.AB) >= 0 {
						test++
					}
				}
				killAt = test + (n-test)/2
			}
			if _, err := f.svc.Start(sys, c.ID); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildSender$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+url)
			killed := make(chan int, 1)
			f.sink.hook = func(k int) {
				if k == killAt {
					cmd.Process.Kill()
					killed <- k
				}
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if ab { // the child sends the test groups; then B goes to the rest
				for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					if got, _ := f.svc.Get(sys, c.ID); got.Status == crm.CampaignWaiting {
						break
					}
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatal("the test groups were not sent in a minute")
					}
				}
				if _, err := f.svc.SendRest(sys, c.ID, 1); err != nil {
					cmd.Process.Kill()
					t.Fatal(err)
				}
			}
			select {
			case <-killed:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the child sent fewer than %d messages in a minute", killAt)
			}
			cmd.Wait()
			f.sink.hook = nil
			before := f.sink.total()
			// This process takes over once the dead sender's leases end.
			r := jobs.NewRunner(db, nil, jobs.Options{Lease: 2 * time.Second})
			f.svc.RegisterJobs(r)
			deadline := time.Now().Add(60 * time.Second)
			for {
				if _, err := r.RunOnce(sys); err != nil {
					t.Fatal(err)
				}
				got, _ := f.svc.Get(sys, c.ID)
				if got.Status == crm.CampaignDone {
					break
				}
				if time.Now().After(deadline) {
					res, _ := f.svc.Results(sys, c.ID)
					t.Fatalf("not done after the restart: %+v", res)
				}
				time.Sleep(100 * time.Millisecond)
			}
			ds := f.deliveries(c.ID)
			if len(ds) != n {
				t.Fatalf("%d deliveries for %d people", len(ds), n)
			}
			interrupted := 0
			for _, id := range ids {
				d := ds[id]
				got := f.sink.count(d.Address)
				switch {
				case got > 1:
					t.Errorf("%s got the message %d times", d.Address, got)
				case d.Status == crm.MessageSent && got != 1:
					t.Errorf("%s is sent but got %d messages", d.Address, got)
				case d.Status == crm.MessageFailed && d.Reason == "interrupted":
					interrupted++
				case d.Status != crm.MessageSent:
					t.Errorf("%s: %s %s", d.Address, d.Status, d.Reason)
				}
				if ab && (d.ABRest && d.Variant != 1 || !d.ABRest && d.Variant != campaign.Split(c.ID, id, c.AB)) {
					t.Errorf("%s: variant %d (rest %v)", d.Address, d.Variant, d.ABRest)
				}
			}
			// One batch at most was in flight (the pool is 2, no throttle).
			if max := campaign.DefaultBatchSize(2, 0); interrupted > max {
				t.Errorf("%d deliveries interrupted, want at most one batch (%d)", interrupted, max)
			}
			res, _ := f.svc.Results(sys, c.ID)
			if res.Sent+res.Failed+res.Skipped != n || res.Pending != 0 {
				t.Errorf("results %+v", res)
			}
			t.Logf("killed after %d messages; %d sent in all, %d interrupted (at most once)", before, res.Sent, interrupted)
		})
	}
}
