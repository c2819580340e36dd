package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// requireChromium skips the test when Debian's Chromium is missing (or
// fails it when PIVAND_TEST_BROWSER=require) and returns the directory for
// screenshots: $PIVAND_SCREENSHOT_DIR, or a temporary directory.
func requireChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("PIVAND_TEST_BROWSER") == "require" {
			t.Fatalf("PIVAND_TEST_BROWSER=require but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not found; set PIVAND_TEST_BROWSER=require to make this an error", chromiumPath)
	}
	shots := os.Getenv("PIVAND_SCREENSHOT_DIR")
	if shots == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// viewport is a window size; phones get mobile emulation, drawn at twice
// the density.
type viewport struct {
	w, h   int64
	mobile bool
}

var desktop = viewport{1280, 900, false}

// browser is one headless Chromium tab driven by a UI test. Every helper
// fails the test on error.
type browser struct {
	t       *testing.T
	ctx     context.Context
	shots   string
	current viewport
}

// newBrowser starts Chromium with the flags this closed network needs and
// opens a tab that lives until timeout or the end of the test.
func newBrowser(t *testing.T, shots string, timeout time.Duration) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	return &browser{t: t, ctx: tab, shots: shots, current: desktop}
}

func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// submit clicks a button and waits for the page it loads; want is the
// status of that page, or 0 for any status below 400.
func (b *browser) submit(step, selector string, want int64) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if want == 0 && resp.Status >= 400 {
		b.t.Fatalf("%s: status %d", step, resp.Status)
	}
	if want != 0 && resp.Status != want {
		b.t.Fatalf("%s: status %d, want %d", step, resp.Status, want)
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) emulate(v viewport, h int64) chromedp.Action[chromedp.Void] {
	if v.mobile {
		return chromedp.EmulateViewport(v.w, h, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	return chromedp.EmulateViewport(v.w, h)
}

// use switches the viewport for the steps that follow.
func (b *browser) use(v viewport) chromedp.Action[chromedp.Void] {
	b.current = v
	return b.emulate(v, v.h)
}

// shot saves a full-page screenshot. It grows the viewport to the page's
// height and captures that, rather than using FullScreenshot: Chromium's
// capture beyond the viewport leaves scrolling tables blank.
func (b *browser) shot(name string) {
	b.t.Helper()
	height, err := chromedp.Run(b.ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.do("grow viewport", b.emulate(b.current, max(height, b.current.h)))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.do("restore viewport", b.emulate(b.current, b.current.h))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fits reports the widths when the page is wider than the viewport.
func (b *browser) fits(page string) {
	b.t.Helper()
	if got := b.eval(`(document.documentElement.scrollWidth <= window.innerWidth) ? "" :
		document.documentElement.scrollWidth + " > " + window.innerWidth`); got != "" {
		b.t.Errorf("%s overflows the viewport: %s", page, got)
	}
}
