//go:build !unix

package main

// lockDataDir does nothing where flock is missing: SQLite's own file locks
// still keep the database consistent, but two servers may start.
func lockDataDir(dir string) (func(), error) { return func() {}, nil }
