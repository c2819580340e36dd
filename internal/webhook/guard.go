package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// A guard decides which hosts webhooks may call. By default only https to
// public addresses; the hosts of WebhookSettings.AllowedHosts may also be
// called over plain http and may resolve to private, loopback or
// link-local addresses (a receiver on the office network, a test server).
//
// The check is made twice: when a URL is saved (CheckURL, on the literal
// host) and when a request is made, on the addresses the name resolves to
// at that moment (the dialer), so a name that later resolves to an inside
// address (DNS rebinding) is refused too. The dialer connects to the
// address it checked, not to a second lookup's answer.
type guard struct {
	hosts []string       // lower-case names and IP literals
	nets  []netip.Prefix // CIDR ranges, and single addresses as /32 or /128
}

func newGuard(s crm.WebhookSettings) guard {
	var g guard
	for _, h := range s.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if p, err := netip.ParsePrefix(h); err == nil {
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			g.nets = append(g.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
		g.hosts = append(g.hosts, strings.Trim(h, "[]"))
	}
	return g
}

// allowedHost reports whether host (a name or an IP literal) is on the list.
func (g guard) allowedHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	for _, h := range g.hosts {
		if h == host {
			return true
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return g.allowedAddr(a)
	}
	return false
}

func (g guard) allowedAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// special are ranges that are not the public internet beyond what netip's
// predicates cover: carrier-grade NAT, benchmarking, documentation,
// 6to4 relay, NAT64 and the IPv4 "this network".
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// internal reports whether a is not a public unicast address: loopback,
// private, link-local (cloud metadata at 169.254.169.254), multicast,
// unspecified or a special-purpose range.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() {
		return true
	}
	for _, p := range special {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// internalNames are host names that only ever mean this machine or the
// local network.
func internalName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".lan") || !strings.Contains(host, ".")
}

// CheckURL returns why raw may not be a webhook's target, or "".
func (g guard) CheckURL(raw string) string {
	if raw == "" {
		return "Enter the address to send to."
	}
	if len(raw) > 2000 {
		return "The address is longer than 2000 characters."
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "Enter a whole address, like https://example.com/hooks/pivand."
	}
	if u.User != nil {
		return "Put no user name or password in the address; the signature proves the sender."
	}
	if u.Fragment != "" {
		return "The address may not have a #fragment."
	}
	host := u.Hostname()
	allowed := g.allowedHost(host)
	switch u.Scheme {
	case "https":
	case "http":
		if !allowed {
			return fmt.Sprintf("Use https. Plain http is only for hosts an administrator allowed (%s is not one).", host)
		}
	default:
		return "The address must start with https://."
	}
	if allowed {
		return ""
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if internal(a) {
			return fmt.Sprintf("%s is a private, loopback or reserved address; an administrator must allow it first.", host)
		}
		return ""
	}
	if !validHostEntry(strings.ToLower(host)) {
		return fmt.Sprintf("%q is not a valid host name.", host)
	}
	if internalName(host) {
		return fmt.Sprintf("%s is a local name; use a public host name, or have an administrator allow it.", host)
	}
	return ""
}

// errRefused is the dialer's refusal: the host resolved to an address
// that is not allowed. Deliveries that meet it fail without retrying.
var errRefused = errors.New("address not allowed")

// dialContext connects to addr ("host:port") after checking it: hosts on
// the list connect as usual; any other name is resolved here, and every
// address it resolves to must be public.
func dialContext(resolver *net.Resolver, dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		g, _ := ctx.Value(guardKey{}).(guard)
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if g.allowedHost(host) {
			return dialer.DialContext(ctx, network, addr)
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			addrs, err = resolver.LookupNetIP(lctx, "ip", host)
			cancel()
			if err != nil {
				return nil, err
			}
		}
		var firstErr error
		for _, a := range addrs {
			if internal(a) && !g.allowedAddr(a) {
				if firstErr == nil {
					firstErr = fmt.Errorf("%w: %s resolves to %s", errRefused, host, a)
				}
				continue
			}
			c, err := dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			firstErr = err
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s has no address", host)
		}
		return nil, firstErr
	}
}

type guardKey struct{}
