package campaign

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Email out: a small pool of SMTP connections to the server the admin
// configured (docs/decisions/0008-smtp.md), reused message after message.

// SMTPConfig is where campaign mail goes.
type SMTPConfig struct {
	Host     string `json:"host"` // host:port
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// TLS is starttls (upgrade, and refuse a server that cannot), tls
	// (implicit TLS, port 465) or none (a relay on the same machine).
	TLS  string `json:"tls"`
	Helo string `json:"helo"`
	Pool int    `json:"pool"` // connections at most; 4 when 0
}

// SendError is the SMTP server's refusal of one message.
type SendError struct {
	Step      string // MAIL, RCPT, DATA
	Code      int
	Message   string
	Permanent bool // a 5xx answer
}

func (e *SendError) Error() string {
	return fmt.Sprintf("%s refused: %d %s", e.Step, e.Code, e.Message)
}

// HardBounce reports whether the refusal is about the recipient (a 5xx at
// RCPT or DATA): their address goes on the suppression list.
func (e *SendError) HardBounce() bool { return e.Permanent && (e.Step == "RCPT" || e.Step == "DATA") }

// Mailer is a pool of SMTP connections.
type Mailer struct {
	cfg  SMTPConfig
	idle chan *smtp.Client
	sem  chan struct{}
	mu   sync.Mutex
	open int
}

// NewMailer returns a pool for cfg; connections are opened on demand.
func NewMailer(cfg SMTPConfig) *Mailer {
	if cfg.Pool <= 0 {
		cfg.Pool = 4
	}
	return &Mailer{cfg: cfg, idle: make(chan *smtp.Client, cfg.Pool), sem: make(chan struct{}, cfg.Pool)}
}

const smtpTimeout = time.Minute

func (m *Mailer) dial(ctx context.Context) (*smtp.Client, error) {
	if m.cfg.Host == "" {
		return nil, errors.New("no SMTP server is configured (Settings → Campaigns)")
	}
	host, _, err := net.SplitHostPort(m.cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("SMTP server %q is not host:port", m.cfg.Host)
	}
	d := net.Dialer{Timeout: 20 * time.Second}
	tcfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	if m.cfg.TLS == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tcfg}).DialContext(ctx, "tcp", m.cfg.Host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", m.cfg.Host)
	}
	if err != nil {
		return nil, fmt.Errorf("smtp: connect to %s: %w", m.cfg.Host, err)
	}
	var cl *smtp.Client
	switch m.cfg.TLS {
	case "none", "tls":
		cl = smtp.NewClient(conn)
	default:
		if cl, err = smtp.NewClientStartTLS(conn, tcfg); err != nil {
			conn.Close()
			return nil, fmt.Errorf("smtp: STARTTLS with %s: %w", m.cfg.Host, err)
		}
	}
	cl.CommandTimeout, cl.SubmissionTimeout = smtpTimeout, smtpTimeout
	helo := m.cfg.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := cl.Hello(helo); err != nil {
		cl.Close()
		return nil, fmt.Errorf("smtp HELO: %w", err)
	}
	if m.cfg.Username != "" {
		if err := cl.Auth(sasl.NewPlainClient("", m.cfg.Username, m.cfg.Password)); err != nil {
			cl.Close()
			return nil, fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	return cl, nil
}

// Send hands one message to the server over a pooled connection. A
// *SendError is the server's answer about this message; any other error
// is connection trouble (worth retrying).
func (m *Mailer) Send(ctx context.Context, from, to string, msg []byte) error {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-m.sem }()
	var cl *smtp.Client
	select {
	case cl = <-m.idle:
	default:
		var err error
		if cl, err = m.dial(ctx); err != nil {
			return err
		}
	}
	err := transact(cl, from, to, msg)
	var se *SendError
	if err == nil || errors.As(err, &se) {
		if err != nil {
			if rerr := cl.Reset(); rerr != nil {
				cl.Close()
				return err
			}
		}
		select {
		case m.idle <- cl:
		default:
			cl.Close()
		}
		return err
	}
	cl.Close()
	return err
}

func transact(cl *smtp.Client, from, to string, msg []byte) error {
	if err := cl.Mail(from, nil); err != nil {
		return refusal("MAIL", err)
	}
	if err := cl.Rcpt(to, nil); err != nil {
		return refusal("RCPT", err)
	}
	w, err := cl.Data()
	if err != nil {
		return refusal("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return refusal("DATA", err)
	}
	return nil
}

func refusal(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &SendError{Step: step, Code: se.Code, Message: se.Message, Permanent: se.Code >= 500}
	}
	return err
}

// Close closes the idle connections.
func (m *Mailer) Close() {
	for {
		select {
		case cl := <-m.idle:
			cl.Quit()
			cl.Close()
		default:
			return
		}
	}
}

// Email is one message to build.
type Email struct {
	FromName, FromAddress string
	To                    string
	Subject               string
	Text, HTML            string
	Language              string
	Unsubscribe           string // the one-click unsubscribe URL
	MessageID             string // without brackets
}

// Build writes the message: multipart/alternative (text, HTML) in
// quoted-printable UTF-8, with List-Unsubscribe and
// List-Unsubscribe-Post (RFC 8058).
func (e *Email) Build() []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	from := (&mail.Address{Name: e.FromName, Address: e.FromAddress}).String()
	h("From", from)
	h("To", (&mail.Address{Address: e.To}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+e.MessageID+">")
	h("MIME-Version", "1.0")
	if e.Language != "" {
		h("Content-Language", e.Language)
	}
	if e.Unsubscribe != "" {
		h("List-Unsubscribe", "<"+e.Unsubscribe+">")
		h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	h("Precedence", "bulk")
	part := func(ct, body string) {
		b.WriteString("Content-Type: " + ct + "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
		w.Close()
		b.WriteString("\r\n")
	}
	switch {
	case e.HTML != "" && e.Text != "":
		boundary := randomHex(12)
		h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		b.WriteString("\r\n--" + boundary + "\r\n")
		part("text/plain", e.Text)
		b.WriteString("--" + boundary + "\r\n")
		part("text/html", e.HTML)
		b.WriteString("--" + boundary + "--\r\n")
	case e.HTML != "":
		part("text/html", e.HTML)
	default:
		part("text/plain", e.Text)
	}
	return b.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
