//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDataDir takes an exclusive lock on DIR/pivand.lock so two servers
// never share one SQLite data directory. Commands such as user create do
// not take it: they are safe to run beside a server.
func lockDataDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create data directory %s: %v", dir, err)
	}
	path := filepath.Join(dir, "pivand.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open lock file %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		who := ""
		if pid := strings.TrimSpace(string(b)); pid != "" {
			who = " (pid " + pid + ")"
		}
		return nil, fmt.Errorf("the data directory %s is locked by another running pivand%s; stop it or use another --data", dir, who)
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
