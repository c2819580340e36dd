package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

// Deleting a webhook or an inbound hook a published workflow uses is
// refused on its page (409), in the reader's language, with a link to
// each workflow; once the workflow is gone the delete goes through.
func TestWebhookDeleteInUseWeb(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.DiscardHandler)
		a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
		hooks := webhook.New(db, webhook.Options{Logger: quiet, InUse: workflow.HookUsers})
		wfs := workflow.New(db, workflow.Options{Actions: &wfActions{contacts: a.contacts, activity: a.activity}, Logger: quiet})
		h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Webhooks: hooks, Workflows: wfs, Version: "test", ImportDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		a.srv = httptest.NewServer(h)
		t.Cleanup(a.srv.Close)
		wa := &webhookApp{testApp: a, hooks: hooks}

		sub, _, err := hooks.Create(ctx, crm.WebhookInput{Name: "Shop", URL: "https://example.com/in", EventTypes: []string{"contact.created"}})
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := hooks.CreateInbound(ctx, crm.InboundHookInput{Name: "Orders in"})
		if err != nil {
			t.Fatal(err)
		}
		def, _ := json.Marshal(map[string]any{"trigger": map[string]any{"kind": workflow.TriggerWebhook, "hook_id": in.ID},
			"steps": []any{map[string]any{"kind": workflow.StepWebhook, "subscription_id": sub.ID}}})
		wf, err := wfs.Create(ctx, workflow.Input{Name: "Forward <orders>", Definition: def})
		if err != nil {
			t.Fatal(err)
		}
		if wf, err = wfs.Publish(ctx, wf.ID, wf.Version); err != nil {
			t.Fatal(err)
		}

		fa := wa.signedIn(t, "hooks-fa@example.com", crm.RoleAdmin, "fa")
		subPage, inPage := fmt.Sprintf("/settings/webhooks/%d", sub.ID), fmt.Sprintf("/settings/webhooks/in/%d", in.ID)
		r := fa.post(subPage+"/delete", subPage, nil)
		if r.status != http.StatusConflict {
			t.Fatalf("delete in use: %d %s", r.status, r.location())
		}
		link := fmt.Sprintf(`<a href="/automation/%d"><bdi>Forward &lt;orders&gt;</bdi></a>`, wf.ID)
		mustContain(t, r, `id="in-use"`, "وب‌هوک «Shop» را نمی‌توان پاک کرد", link)
		if strings.Contains(r.body, "is used by") {
			t.Errorf("the English message shows in Persian:\n%s", r.body)
		}
		// What the hook received shows its event's id as it is, ungrouped.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertInboundReceipt(ctx, &crm.InboundReceipt{HookID: in.ID, EventID: 1369, Size: 2, Body: crm.RawJSON("{}")})
		}); err != nil {
			t.Fatal(err)
		}
		en := wa.signedIn(t, "hooks-en@example.com", crm.RoleAdmin, "en")
		if r := en.get(inPage); !strings.Contains(r.body, "event 1369") || strings.Contains(r.body, "1,369") {
			t.Errorf("the event id on the inbound hook page is not shown as it is:\n%s", r.body)
		}
		r = fa.post(inPage+"/delete", inPage, nil)
		if r.status != http.StatusConflict {
			t.Fatalf("delete inbound in use: %d", r.status)
		}
		mustContain(t, r, "هوک ورودی «Orders in» را نمی‌توان پاک کرد", link)

		if err := wfs.Delete(ctx, wf.ID); err != nil {
			t.Fatal(err)
		}
		if r = fa.post(subPage+"/delete", subPage, nil); r.status != http.StatusSeeOther {
			t.Fatalf("delete unused: %d\n%s", r.status, r.body)
		}
		if r = fa.post(inPage+"/delete", inPage, nil); r.status != http.StatusSeeOther {
			t.Fatalf("delete unused inbound: %d\n%s", r.status, r.body)
		}
	})
}
