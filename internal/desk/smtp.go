package desk

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
)

// The SMTP ends of the desk, on emersion/go-smtp (docs/decisions/
// 0008-smtp.md): a receiver that takes mail for the support address only
// (it is not a relay), and the client that hands replies to a smarthost.

// MailConfig is how the desk's mail leaves: a smarthost (the company's
// mail server or a provider's submission port).
type MailConfig struct {
	Relay    string // host:port; "" means replies are recorded but not sent
	Username string // SMTP AUTH PLAIN when set
	Password string
	// TLS is starttls (the default: upgrade, and refuse a server that
	// cannot), tls (implicit TLS, port 465) or none (a relay on the
	// same machine or in the test).
	TLS  string
	Helo string // the name we greet with; "localhost" when empty
}

// ErrNoRelay says outgoing mail is not configured.
var ErrNoRelay = errors.New("outgoing mail is not configured: set PIVAND_SMTP_RELAY (host:port of a mail server)")

const smtpTimeout = 2 * time.Minute

// Send hands a message to the smarthost. A refusal with a 5xx code is
// permanent (jobs.Permanent); connection trouble and 4xx codes are worth
// retrying.
func (c MailConfig) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if c.Relay == "" {
		return jobs.Permanent(ErrNoRelay)
	}
	host, _, err := net.SplitHostPort(c.Relay)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("smtp relay %q is not host:port", c.Relay))
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	tcfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	if c.TLS == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tcfg}).DialContext(ctx, "tcp", c.Relay)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.Relay)
	}
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", c.Relay, err)
	}
	conn.SetDeadline(time.Now().Add(smtpTimeout))
	var cl *smtp.Client
	switch c.TLS {
	case "none", "tls":
		cl = smtp.NewClient(conn)
	default:
		if cl, err = smtp.NewClientStartTLS(conn, tcfg); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: STARTTLS with %s: %w", c.Relay, err)
		}
	}
	defer cl.Close()
	helo := c.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := cl.Hello(helo); err != nil {
		return smtpErr("HELO", err)
	}
	if c.Username != "" {
		if err := cl.Auth(sasl.NewPlainClient("", c.Username, c.Password)); err != nil {
			return smtpErr("AUTH", err)
		}
	}
	if err := cl.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return smtpErr("send", err)
	}
	return cl.Quit()
}

// smtpErr makes a 5xx answer permanent.
func smtpErr(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return jobs.Permanent(fmt.Errorf("smtp %s: %w", step, err))
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// Receiver is the SMTP server that turns mail to the support address
// into tickets.
type Receiver struct {
	srv  *smtp.Server
	desk *Service
	log  *slog.Logger
}

// NewReceiver returns a receiver for the desk; domain is the name it
// greets with.
func (s *Service) NewReceiver(domain string) *Receiver {
	r := &Receiver{desk: s, log: s.log}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{r: r, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	if domain == "" {
		domain = "localhost"
	}
	srv.Domain = domain
	srv.MaxMessageBytes = MaxMessageBytes
	srv.MaxRecipients = 50
	srv.ReadTimeout = smtpTimeout
	srv.WriteTimeout = smtpTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogPrinter{s.log}
	r.srv = srv
	return r
}

// Serve accepts connections on ln until Close.
func (r *Receiver) Serve(ln net.Listener) error {
	err := r.srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the receiver: no new connections; those open are closed.
func (r *Receiver) Close() error { return r.srv.Close() }

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) { p.l.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (p slogPrinter) Println(v ...any)               { p.l.Warn("smtp: " + fmt.Sprint(v...)) }

// session is one SMTP conversation.
type session struct {
	r      *Receiver
	remote string
	from   string
	to     []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

// Rcpt accepts the support address only: the receiver is not a relay.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := s.r.desk.SupportAddress(ctx)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	}
	if addr == "" || !strings.EqualFold(strings.TrimSpace(to), addr) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // the server answers a message over the size limit itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := s.r.desk.ReceiveEmail(ctx, Envelope{From: s.from, To: s.to}, raw)
	switch crm.ErrorCode(err) {
	case "":
		s.r.log.Info("desk: email received", "remote", s.remote, "from", s.from, "ticket", got.TicketID, "new", got.Created,
			"duplicate", got.Duplicate, "ignored", got.Ignored)
		return nil
	case crm.EINVALID:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message not readable"}
	default:
		s.r.log.Error("desk: email not stored", "remote", s.remote, "from", s.from, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	}
}
