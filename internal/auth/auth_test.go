package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

const pw = "correct horse battery"

func mustCreate(t *testing.T, svc *auth.Service, email string, role crm.Role) *crm.User {
	t.Helper()
	u, err := svc.CreateUser(context.Background(), crm.UserCreate{Email: email, Name: strings.Split(email, "@")[0], Password: pw, Role: role})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func as(u *crm.User) context.Context { return crm.NewContextWithUser(context.Background(), u) }

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("سلام دنیا ۱۲۳۴۵")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q is not argon2id PHC", h)
	}
	if !auth.VerifyPassword(h, "سلام دنیا ۱۲۳۴۵") || auth.VerifyPassword(h, "سلام دنیا 12345") {
		t.Fatal("verify mismatch")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", strings.Replace(h, "m=19456", "m=0", 1)} {
		if auth.VerifyPassword(bad, "x") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	h, _ := auth.HashPassword("a long password")
	f.Add(h, "a long password")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", "x")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		if len(encoded) > 300 {
			return
		}
		auth.VerifyPassword(encoded, pw) // must not panic or hang
	})
}

func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := auth.New(db, auth.Options{})

		t.Run("FirstAdmin", func(t *testing.T) {
			if n, _ := svc.UserCount(ctx); n != 0 {
				t.Fatalf("count = %d", n)
			}
			u, err := svc.SetupFirstAdmin(ctx, crm.UserCreate{Email: " Admin@Example.com ", Name: "Ada", Password: pw, Role: crm.RoleSales})
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != crm.RoleAdmin || u.Email != "admin@example.com" {
				t.Fatalf("first user = %+v", u)
			}
			_, err = svc.SetupFirstAdmin(ctx, crm.UserCreate{Email: "b@example.com", Password: pw})
			if crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("second setup: %v", err)
			}
		})

		admin, _, err := svc.SignIn(ctx, "admin@example.com", pw, "10.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		adminUser, _, err := svc.Authenticate(ctx, admin.Token)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("CreateUserValidation", func(t *testing.T) {
			_, err := svc.CreateUser(as(adminUser), crm.UserCreate{Email: "not-an-email", Password: "short", Role: "boss"})
			f := crm.ErrorFields(err)
			if crm.ErrorCode(err) != crm.EINVALID || f["email"] == "" || f["password"] == "" || f["role"] == "" {
				t.Fatalf("err = %v", err)
			}
			mustCreate(t, svc, "dup@example.com", crm.RoleSales)
			_, err = svc.CreateUser(as(adminUser), crm.UserCreate{Email: "DUP@example.com", Password: pw, Role: crm.RoleSales})
			if crm.ErrorCode(err) != crm.ECONFLICT || crm.ErrorFields(err)["email"] == "" {
				t.Fatalf("duplicate: %v", err)
			}
		})

		t.Run("Permissions", func(t *testing.T) {
			rep := mustCreate(t, svc, "rep@example.com", crm.RoleSales)
			_, err := svc.CreateUser(as(rep), crm.UserCreate{Email: "x@example.com", Password: pw, Role: crm.RoleAdmin})
			if crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("sales creating users: %v", err)
			}
			if _, _, err := svc.ListAudit(as(rep), crm.AuditFilter{}); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("sales reading audit: %v", err)
			}
			if _, err := svc.UpdatePreferences(as(rep), adminUser.ID, crm.DefaultPreferences("fa")); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("sales changing admin prefs: %v", err)
			}
			if _, err := svc.UpdatePreferences(as(rep), rep.ID, crm.DefaultPreferences("fa")); err != nil {
				t.Fatalf("own prefs: %v", err)
			}
		})

		t.Run("LastAdminStays", func(t *testing.T) {
			role := crm.RoleSales
			_, err := svc.UpdateUser(as(adminUser), adminUser.ID, crm.UserUpdate{Role: &role})
			if crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("demoting last admin: %v", err)
			}
			off := false
			if _, err := svc.UpdateUser(as(adminUser), adminUser.ID, crm.UserUpdate{Active: &off}); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("deactivating last admin: %v", err)
			}
		})

		t.Run("SignInFailuresAndLimit", func(t *testing.T) {
			mustCreate(t, svc, "limited@example.com", crm.RoleSupport)
			for i := 0; i < 5; i++ {
				_, _, err := svc.SignIn(ctx, "limited@example.com", "wrong password!", "10.0.0.2", "")
				if crm.ErrorCode(err) != crm.EUNAUTHORIZED {
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			_, _, err := svc.SignIn(ctx, "limited@example.com", pw, "10.0.0.2", "")
			if crm.ErrorCode(err) != crm.ETOOMANY {
				t.Fatalf("after 5 failures: %v", err)
			}
			_, _, err = svc.SignIn(ctx, "nobody@example.com", pw, "10.0.0.3", "")
			if crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("unknown email: %v", err)
			}
		})

		t.Run("DeactivateEndsSessionsAndTokens", func(t *testing.T) {
			u := mustCreate(t, svc, "leaver@example.com", crm.RoleSales)
			sess, _, err := svc.SignIn(ctx, "leaver@example.com", pw, "", "")
			if err != nil {
				t.Fatal(err)
			}
			secret, tok, err := svc.CreateToken(as(u), u.ID, "laptop", []string{"read"})
			if err != nil {
				t.Fatal(err)
			}
			if _, got, err := svc.AuthenticateToken(ctx, secret); err != nil || got.ID != tok.ID {
				t.Fatalf("token auth: %v", err)
			}
			off := false
			if _, err := svc.UpdateUser(as(adminUser), u.ID, crm.UserUpdate{Active: &off}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Authenticate(ctx, sess.Token); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("session after deactivation: %v", err)
			}
			if _, _, err := svc.AuthenticateToken(ctx, secret); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("token after deactivation: %v", err)
			}
			if _, _, err := svc.SignIn(ctx, "leaver@example.com", pw, "", ""); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("sign-in after deactivation: %v", err)
			}
		})

		t.Run("Tokens", func(t *testing.T) {
			u := mustCreate(t, svc, "api@example.com", crm.RoleSales)
			other := mustCreate(t, svc, "other@example.com", crm.RoleSales)
			if _, _, err := svc.CreateToken(as(u), u.ID, "", []string{"admin"}); crm.ErrorFields(err)["scopes"] == "" || crm.ErrorFields(err)["name"] == "" {
				t.Fatalf("bad token input: %v", err)
			}
			if _, _, err := svc.CreateToken(as(other), u.ID, "steal", []string{"read"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
				t.Fatalf("token for someone else: %v", err)
			}
			secret, tok, err := svc.CreateToken(as(u), u.ID, "sync", []string{"write", "read", "write"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, "pvd_") || len(secret) != 47 || !strings.HasPrefix(secret, tok.Prefix) {
				t.Fatalf("secret %q prefix %q", secret, tok.Prefix)
			}
			if len(tok.Scopes) != 2 {
				t.Fatalf("scopes = %v", tok.Scopes)
			}
			if err := svc.RevokeToken(as(other), tok.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("revoking another's token: %v", err)
			}
			if err := svc.RevokeToken(as(u), tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.AuthenticateToken(ctx, secret); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("revoked token: %v", err)
			}
			list, err := svc.ListTokens(as(u), u.ID)
			if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
				t.Fatalf("list = %v, %v", list, err)
			}
		})

		t.Run("Invites", func(t *testing.T) {
			token, inv, err := svc.Invite(as(adminUser), "New.Person@Example.com", crm.RoleSupport)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Email != "new.person@example.com" {
				t.Fatalf("invite email %q", inv.Email)
			}
			if _, _, err := svc.Invite(as(adminUser), "admin@example.com", crm.RoleSales); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("inviting an existing user: %v", err)
			}
			if _, err := svc.AcceptInvite(ctx, token, "Neda", "short"); crm.ErrorFields(err)["password"] == "" {
				t.Fatalf("short password: %v", err)
			}
			u, err := svc.AcceptInvite(ctx, token, "Neda", pw)
			if err != nil || u.Role != crm.RoleSupport {
				t.Fatalf("accept: %+v %v", u, err)
			}
			if _, err := svc.AcceptInvite(ctx, token, "Neda", pw); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("second accept: %v", err)
			}
		})

		t.Run("InviteExpires", func(t *testing.T) {
			token, _, err := svc.Invite(as(adminUser), "late@example.com", crm.RoleSales)
			if err != nil {
				t.Fatal(err)
			}
			real := db.Now
			db.Now = func() time.Time { return real().Add(8 * 24 * time.Hour) }
			defer func() { db.Now = real }()
			if _, err := svc.FindInvite(ctx, token); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("expired invite: %v", err)
			}
		})

		t.Run("Teams", func(t *testing.T) {
			a := mustCreate(t, svc, "t1@example.com", crm.RoleSales)
			team, err := svc.CreateTeam(as(adminUser), "  فروش تهران ")
			if err != nil || team.Name != "فروش تهران" {
				t.Fatalf("team %+v %v", team, err)
			}
			if _, err := svc.CreateTeam(as(adminUser), "فروش تهران"); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("duplicate team: %v", err)
			}
			if _, err := svc.SetTeamMembers(as(adminUser), team.ID, []int64{a.ID, 999999}); crm.ErrorFields(err)["user_ids"] == "" {
				t.Fatalf("unknown member: %v", err)
			}
			got, err := svc.SetTeamMembers(as(adminUser), team.ID, []int64{a.ID, adminUser.ID})
			if err != nil || len(got.MemberIDs) != 2 {
				t.Fatalf("members %+v %v", got, err)
			}
			mine, _ := svc.UserTeams(ctx, a.ID)
			if len(mine) != 1 {
				t.Fatalf("user teams = %d", len(mine))
			}
			if err := svc.DeleteTeam(as(adminUser), team.ID); err != nil {
				t.Fatal(err)
			}
			if err := svc.DeleteTeam(as(adminUser), team.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("second delete: %v", err)
			}
		})

		t.Run("AuditLog", func(t *testing.T) {
			entries, _, err := svc.ListAudit(as(adminUser), crm.AuditFilter{Action: "user.create", Limit: 2})
			if err != nil || len(entries) != 2 {
				t.Fatalf("audit %d %v", len(entries), err)
			}
			all := map[int64]bool{}
			next := ""
			for {
				page, n, err := svc.ListAudit(as(adminUser), crm.AuditFilter{Limit: 3, After: next})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					if all[e.ID] {
						t.Fatalf("entry %d twice", e.ID)
					}
					all[e.ID] = true
					if strings.Contains(string(e.After), "argon2") || strings.Contains(string(e.Before), "argon2") {
						t.Fatalf("password hash in audit log: %+v", e)
					}
				}
				if n == "" {
					break
				}
				next = n
			}
			if len(all) < 10 {
				t.Fatalf("only %d audit entries", len(all))
			}
			future := time.Now().Add(time.Hour)
			if e, _, _ := svc.ListAudit(as(adminUser), crm.AuditFilter{From: &future}); len(e) != 0 {
				t.Fatalf("from filter returned %d", len(e))
			}
			past := time.Now().Add(-time.Hour)
			if e, _, _ := svc.ListAudit(as(adminUser), crm.AuditFilter{From: &past, Limit: 500}); len(e) != len(all) {
				t.Fatalf("from filter: %d of %d", len(e), len(all))
			}
		})

		t.Run("SignOut", func(t *testing.T) {
			if err := svc.SignOut(ctx, admin.Token); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Authenticate(ctx, admin.Token); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("after sign-out: %v", err)
			}
		})
	})
}
