package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/locale"
)

// TestAuditActionsNamed: every action any module writes to the audit log
// has a name in every language, so the audit log and the dashboard's
// recent events never show a code such as workflow.publish. The actions
// are read from the code: literal Audit(ctx, "…") calls, the campaign
// status transitions and "action = …" assignments passed to Audit.
func TestAuditActionsNamed(t *testing.T) {
	res := []*regexp.Regexp{
		regexp.MustCompile(`\bAudit\(ctx, "([a-z_]+\.[a-z_.]+)"`),
		regexp.MustCompile(`\btransition\(ctx, \w+, "([a-z_]+\.[a-z_.]+)"`),
		regexp.MustCompile(`\baction :?= "([a-z_]+\.[a-z_.]+)"`),
	}
	seen := map[string]string{} // action → a file that writes it
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range res {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				seen[m[1]] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 100 {
		t.Fatalf("found only %d audit actions in the code", len(seen))
	}
	for action, file := range seen {
		for _, l := range locale.Languages {
			if _, ok := locale.Message(l.Code, "audit.action."+action); !ok {
				t.Errorf("%s: no name for audit action %s (written in %s)", l.Code, action, file)
			}
		}
	}
}
