package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// lookupFunc resolves a host name, as (*net.Resolver).LookupIPAddr does.
type lookupFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

// checkLoopback accepts host only if it is a loopback address or a name that
// resolves to loopback addresses and nothing else: authload must never send
// load anywhere but this machine.
func checkLoopback(ctx context.Context, host string, lookup lookupFunc) error {
	if host == "" {
		return errors.New("no host (every interface); name a loopback address")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Unmap().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address; authload sends traffic to loopback only", host)
		}
		return nil
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s resolves to no address", host)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !ip.Unmap().IsLoopback() {
			return fmt.Errorf("%s resolves to %v, which is not loopback; authload sends traffic to loopback only", host, a.IP)
		}
	}
	return nil
}

// dialLoopbackOnly is a net.Dialer Control hook. It sees the resolved
// address of every connection, so a name that resolves differently after
// checkLoopback (or a redirect, or a proxy) still cannot take traffic off
// the machine.
func dialLoopbackOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// newClient returns an HTTP client for conns concurrent requests to one
// loopback host: keep-alive connections sized to conns, no proxy, no
// redirects followed (the status is what is measured), loopback dials only.
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second, Control: dialLoopbackOnly}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableCompression:  true,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
