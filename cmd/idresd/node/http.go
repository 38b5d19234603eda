package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/grpcserver"
	"github.com/idres/idres/resolver/httpgw"
)

// listenHTTP binds the HTTP gateway's listener when Config.HTTPAddr is set
// and adds its URL to self.Http, so the node's prefix handles
// (0.NA/<prefix>) name it. Serving starts in startHTTP, once the resolver
// exists.
func (n *Node) listenHTTP(self *idresv1.Delegation) error {
	if n.cfg.HTTPAddr == "" {
		return nil
	}
	// Design §6 for every listener: TLS when the node has a certificate,
	// plaintext only on loopback unless --insecure (e.g. behind a proxy
	// that terminates TLS).
	if n.tlsConfig == nil && !n.cfg.Security.Insecure && !IsLoopback(n.cfg.HTTPAddr) {
		return fmt.Errorf("refusing plaintext HTTP on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure to allow plaintext", n.cfg.HTTPAddr)
	}
	if u := n.cfg.HTTPURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
			return fmt.Errorf("--http-url %q: want an absolute http or https URL without user, query or fragment", u)
		}
	}
	lis, err := net.Listen("tcp", n.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen HTTP on %s: %w", n.cfg.HTTPAddr, err)
	}
	n.httpLis = n.limitListener(lis) // connlimits.go
	scheme := "http://"
	if n.tlsConfig != nil {
		scheme = "https://"
	}
	n.httpURL = strings.TrimRight(n.cfg.HTTPURL, "/")
	if n.httpURL == "" {
		n.httpURL = scheme + lis.Addr().String()
		if host, _, _ := net.SplitHostPort(lis.Addr().String()); net.ParseIP(host).IsUnspecified() {
			n.log.Warn("HTTP gateway listens on all addresses; set its public URL (--http-url) so service values and QR codes name a reachable address", "url", n.httpURL)
		}
	}
	self.Http = append(self.Http, n.httpURL)
	return nil
}

// startHTTP serves the gateway over res on the listener of listenHTTP.
func (n *Node) startHTTP(res resolver.Resolver) error {
	if n.httpLis == nil {
		return nil
	}
	gw, err := httpgw.New(res, httpgw.Options{Ready: n.Ready, Metrics: n.Metrics, Logger: n.log,
		MaxIdentifierBytes: n.cfg.Security.Limits.MaxIdentifierBytes})
	if err != nil {
		return fmt.Errorf("HTTP gateway: %w", err)
	}
	srv := httpgw.NewServer(n.limitAnonymousHTTP(gw), n.log)
	srv.IdleTimeout = n.idleTimeout() // connlimits.go
	serve := func() error { return srv.Serve(n.httpLis) }
	if n.tlsConfig != nil {
		// The gateway's records are public: phones and browsers carry no
		// client certificate, so --client-ca (mutual TLS) binds gRPC only.
		cfg := n.tlsConfig.Clone()
		cfg.ClientAuth, cfg.ClientCAs = tls.NoClientCert, nil
		srv.TLSConfig = cfg
		serve = func() error { return srv.ServeTLS(n.httpLis, "", "") }
	}
	n.httpSrv = srv
	go func() {
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.serveErr <- fmt.Errorf("HTTP gateway: %w", err)
		}
	}()
	n.log.Info("HTTP gateway serving", "http", n.HTTPAddr(), "url", n.httpURL)
	return nil
}

// limitAnonymousHTTP applies --anon-rate-limit to the gateway's answers,
// which are anonymous, per source network; health and metrics stay free
// for probes and scrapers.
func (n *Node) limitAnonymousHTTP(h http.Handler) http.Handler {
	l := n.limiter
	if l == nil || l.AnonRate <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
		default:
			if !l.AllowAnonymous(r.RemoteAddr) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "rate limit: too many requests from "+grpcserver.SourceNetwork(r.RemoteAddr)+"; slow down", http.StatusTooManyRequests)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPAddr is the HTTP gateway's bound address, "" when it is not running.
func (n *Node) HTTPAddr() string {
	if n.httpLis == nil {
		return ""
	}
	return n.httpLis.Addr().String()
}

// HTTPURL is the gateway's base URL as advertised (Config.HTTPURL, else
// http://<bound address>), "" when it is not running.
func (n *Node) HTTPURL() string { return n.httpURL }

// Ready reports whether the node serves: the store is open and every
// listener has started. It turns false as soon as Stop begins.
func (n *Node) Ready() bool { return n.ready.Load() }

func (n *Node) stopHTTP(ctx context.Context) error {
	switch {
	case n.httpSrv != nil:
		if err := n.httpSrv.Shutdown(ctx); err != nil {
			n.httpSrv.Close()
			return fmt.Errorf("stop HTTP gateway: %w", err)
		}
	case n.httpLis != nil:
		n.httpLis.Close()
	}
	return nil
}
