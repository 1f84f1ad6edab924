package main

import (
	"context"
	"errors"
	"net"
	"testing"
)

// fakeDNS answers from a fixed table, so no test depends on real DNS.
func fakeDNS(table map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]net.IPAddr, error) {
		ips, ok := table[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []net.IPAddr
		for _, ip := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
		}
		return out, nil
	}
}

func TestCheckLoopback(t *testing.T) {
	dns := fakeDNS(map[string][]string{
		"localhost":        {"127.0.0.1", "::1"},
		"app.localtest":    {"127.0.0.2"},
		"example.com":      {"93.184.215.14"},
		"split.example":    {"127.0.0.1", "192.0.2.1"},
		"empty.example":    {},
		"mapped.example":   {"::ffff:127.0.0.1"},
		"unmapped.example": {"::ffff:192.0.2.1"},
	})
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"localhost", true},
		{"app.localtest", true},
		{"mapped.example", true},
		{"192.0.2.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::ffff:192.0.2.1", false},
		{"10.0.0.1", false},
		{"example.com", false},
		{"split.example", false}, // one public address is enough to refuse
		{"empty.example", false},
		{"unmapped.example", false},
		{"nowhere.invalid", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := checkLoopback(t.Context(), tt.host, dns)
			if (err == nil) != tt.ok {
				t.Fatalf("checkLoopback(%q) = %v, want ok=%v", tt.host, err, tt.ok)
			}
		})
	}
}

// The real resolver must agree that localhost is loopback, or -url
// http://localhost:8080 would be refused on this machine.
func TestCheckLoopbackRealResolver(t *testing.T) {
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := checkLoopback(t.Context(), host, net.DefaultResolver.LookupIPAddr); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if err := checkLoopback(t.Context(), "192.0.2.1", net.DefaultResolver.LookupIPAddr); err == nil {
		t.Error("192.0.2.1 was accepted")
	}
}

// The dial hook is the second line of defence: it sees resolved addresses.
func TestDialLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:443", "127.1.2.3:1"} {
		if err := dialLoopbackOnly("tcp", addr, nil); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80", "0.0.0.0:80", "not-an-address"} {
		if err := dialLoopbackOnly("tcp", addr, nil); err == nil {
			t.Errorf("%s allowed", addr)
		}
	}
	// And the client really uses it.
	_, err := newClient(1, 0).Get("http://192.0.2.1:9/")
	if err == nil {
		t.Fatal("the client dialled a non-loopback address")
	}
}
