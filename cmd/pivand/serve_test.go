package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeProfiles: --cpu-profile and PIVAND_HEAP_PROFILE write pprof
// files (gzipped protocol buffers) when the server stops; a profile path
// that cannot be created is a usage error naming the flag.
func TestServeProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	env := func(k string) string {
		if k == "PIVAND_HEAP_PROFILE" {
			return heap
		}
		return ""
	}
	base, _, stop := serve(t, env, "--data", filepath.Join(dir, "data"), "--cpu-profile", cpu)
	for range 20 {
		if code, body := get(t, base+"/healthz", ""); code != 200 {
			t.Fatalf("healthz %d %s", code, body)
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	for _, f := range []string{cpu, heap} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a pprof file: %v", f, err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil || len(raw) < 100 {
			t.Fatalf("%s: %d bytes, %v", f, len(raw), err)
		}
	}
	// The heap profile names the functions holding memory.
	b, _ := os.ReadFile(heap)
	zr, _ := gzip.NewReader(bytes.NewReader(b))
	raw, _ := io.ReadAll(zr)
	if !bytes.Contains(raw, []byte("html/template")) {
		t.Errorf("the heap profile does not mention the parsed templates")
	}

	code, _, errs := pivand(t, noenv, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data2"),
		"--cpu-profile", filepath.Join(dir, "no such dir", "cpu.pprof"))
	if code != 2 || !strings.Contains(errs, "--cpu-profile") {
		t.Fatalf("bad --cpu-profile: %d %q", code, errs)
	}
}
