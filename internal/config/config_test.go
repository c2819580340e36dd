package config

import (
	"io"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagsOverrideEnv(t *testing.T) {
	c := Defaults()
	fs := c.FlagSet("serve", true, env(map[string]string{"PIVAND_ADDR": "127.0.0.1:9000", "PIVAND_DATA": "/tmp/x"}), io.Discard)
	if err := fs.Parse([]string{"--addr", "127.0.0.1:9001"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" || c.DataDir != "/tmp/x" || c.BaseURL != "http://127.0.0.1:9001" {
		t.Fatalf("config = %+v", c)
	}
	if !strings.HasSuffix(c.StoreURL(), "/tmp/x/pivand.db") {
		t.Fatalf("store url %q", c.StoreURL())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"BadAddr", func(c *Config) { c.Addr = "8080" }, "--addr"},
		{"BadURL", func(c *Config) { c.DatabaseURL = "mysql://root:secret@db/x" }, "postgres://"},
		{"BadLevel", func(c *Config) { c.LogLevel = "loud" }, "--log-level"},
		{"EmptyData", func(c *Config) { c.DataDir = " " }, "--data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mod(&c)
			err := c.Validate()
			if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want usage error mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("password leaked: %v", err)
			}
		})
	}
}
