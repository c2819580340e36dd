package campaign

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Settings are the installation's campaign settings (settings key
// campaign.settings).
type Settings struct {
	SMTP        SMTPConfig `json:"smtp"`
	FromName    string     `json:"from_name"`    // the default sender
	FromAddress string     `json:"from_address"` // the default sender
	SMS         SMSConfig  `json:"sms"`
	// PerSecond and PerHour throttle sending per channel (0: no limit).
	PerSecond int `json:"per_second"`
	PerHour   int `json:"per_hour"`
	// A person gets at most FrequencyCap campaign messages in
	// FrequencyDays days, over all campaigns (0: no cap).
	FrequencyCap  int `json:"frequency_cap"`
	FrequencyDays int `json:"frequency_days"`
	// Quiet hours in the recipient's time zone: no message from
	// QuietStart to QuietEnd (hours 0–23; equal: none). Messages wait
	// until QuietEnd.
	QuietStart int `json:"quiet_start"`
	QuietEnd   int `json:"quiet_end"`
	// TimeZone is the business's, used for people without a time_zone
	// custom field.
	TimeZone string `json:"time_zone"`
}

// SMSConfig is the HTTP SMS provider.
type SMSConfig struct {
	URL         string `json:"url"`
	AuthHeader  string `json:"auth_header"`
	AuthValue   string `json:"auth_value,omitempty"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"` // template; DefaultSMSBody when empty
	From        string `json:"from"` // sender number or name
}

// DefaultSettings are the settings before an admin saves any.
func DefaultSettings() Settings {
	return Settings{SMTP: SMTPConfig{TLS: "starttls", Pool: 4}, PerSecond: 50, FrequencyCap: 3, FrequencyDays: 7,
		QuietStart: 21, QuietEnd: 8, TimeZone: "Asia/Tehran"}
}

// Redacted is s without secrets (for reading back in the UI and API);
// HasPassword says whether one is stored.
func (s Settings) Redacted() Settings {
	s.SMTP.Password = ""
	s.SMS.AuthValue = ""
	return s
}

func (s *Service) settings(ctx context.Context, tx *store.Tx) (Settings, error) {
	st := DefaultSettings()
	v, err := tx.CampaignSetting(ctx, "campaign.settings")
	if err != nil || v == "" {
		return st, err
	}
	err = json.Unmarshal([]byte(v), &st)
	return st, err
}

// Settings returns the settings, without secrets.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return Settings{}, err
	}
	var st Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		st, err = s.settings(ctx, tx)
		return err
	})
	return st.Redacted(), err
}

// SaveSettings stores the settings. An empty SMTP password or SMS auth
// value keeps the stored one.
func (s *Service) SaveSettings(ctx context.Context, in Settings) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return Settings{}, err
	}
	var v crm.Validation
	in.SMTP.Host = strings.TrimSpace(in.SMTP.Host)
	if in.SMTP.Host != "" {
		if _, port, err := net.SplitHostPort(in.SMTP.Host); err != nil || port == "" {
			v.Add("smtp.host", "Use host:port, e.g. smtp.example.com:587.")
		}
	}
	if in.SMTP.TLS == "" {
		in.SMTP.TLS = "starttls"
	}
	if in.SMTP.TLS != "starttls" && in.SMTP.TLS != "tls" && in.SMTP.TLS != "none" {
		v.Add("smtp.tls", "Use starttls, tls or none.")
	}
	if in.SMTP.Pool == 0 {
		in.SMTP.Pool = 4
	}
	if in.SMTP.Pool < 1 || in.SMTP.Pool > 32 {
		v.Add("smtp.pool", "From 1 to 32 connections.")
	}
	if in.FromAddress != "" {
		if a, err := mail.ParseAddress(in.FromAddress); err != nil || a.Address != in.FromAddress {
			v.Add("from_address", "Not an email address.")
		}
	}
	if in.SMS.URL != "" {
		if u, err := url.Parse(in.SMS.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.Add("sms.url", "Use an http(s) URL.")
		}
	}
	if _, err := NewHTTPProvider("http://x", "", "", "", in.SMS.Body); err != nil {
		v.Add("sms.body", "%s", err)
	}
	if strings.ContainsAny(in.SMS.AuthHeader+in.SMS.AuthValue, "\r\n") {
		v.Add("sms.auth_header", "One line.")
	}
	if in.PerSecond < 0 || in.PerSecond > 10000 {
		v.Add("per_second", "From 0 (no limit) to 10000.")
	}
	if in.PerHour < 0 {
		v.Add("per_hour", "Must not be negative (0: no limit).")
	}
	if in.FrequencyCap < 0 || in.FrequencyCap > 100 {
		v.Add("frequency_cap", "From 0 (no cap) to 100.")
	}
	if in.FrequencyCap > 0 && (in.FrequencyDays < 1 || in.FrequencyDays > 365) {
		v.Add("frequency_days", "From 1 to 365 days.")
	}
	if in.QuietStart < 0 || in.QuietStart > 23 {
		v.Add("quiet_start", "An hour from 0 to 23.")
	}
	if in.QuietEnd < 0 || in.QuietEnd > 23 {
		v.Add("quiet_end", "An hour from 0 to 23.")
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		v.Add("time_zone", "Unknown time zone %q.", in.TimeZone)
	}
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if in.SMTP.Password == "" {
			in.SMTP.Password = old.SMTP.Password
		}
		if in.SMS.AuthValue == "" {
			in.SMS.AuthValue = old.SMS.AuthValue
		}
		b, _ := json.Marshal(in)
		if err := tx.SaveCampaignSetting(ctx, "campaign.settings", string(b)); err != nil {
			return err
		}
		return tx.Audit(ctx, "campaign.settings", "settings", 0, old.Redacted(), in.Redacted())
	})
	return in.Redacted(), err
}

// key returns the signer of tracking links, making the installation's
// key on first use.
func (s *Service) key(ctx context.Context) (*Signer, error) {
	s.mu.Lock()
	sg := s.signer
	s.mu.Unlock()
	if sg != nil {
		return sg, nil
	}
	var key []byte
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		v, err := tx.CampaignSetting(ctx, "campaign.key")
		if err != nil {
			return err
		}
		if v == "" {
			b := make([]byte, 32)
			rand.Read(b)
			v = base64.RawStdEncoding.EncodeToString(b)
			if err := tx.SaveCampaignSetting(ctx, "campaign.key", v); err != nil {
				return err
			}
		}
		key, err = base64.RawStdEncoding.DecodeString(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.signer == nil {
		s.signer = NewSigner(key)
	}
	sg = s.signer
	s.mu.Unlock()
	return sg, nil
}
