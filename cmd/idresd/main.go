// Command idresd runs one node of the identifier resolution hierarchy.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idres/idres/cmd/idresd/config"
	"github.com/idres/idres/cmd/idresd/node"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "restore" {
		return runRestore(args[1:])
	}
	if len(args) > 0 && args[0] == "reindex" {
		return runReindex(args[1:])
	}
	if len(args) > 0 && args[0] == "zonefile" {
		return runZonefile(args[1:])
	}
	fs := flag.NewFlagSet("idresd", flag.ContinueOnError)
	var cfg node.Config
	fs.StringVar(&cfg.DataDir, "data", "idres-data", "data directory (holds idres.db and admin.token; with --store etcd, admin.token only)")
	fs.StringVar(&cfg.GRPCAddr, "grpc", "127.0.0.1:7420", "gRPC listen address")
	fs.StringVar(&cfg.DNSAddr, "dns", "", "DNS bridge listen address (UDP and TCP), e.g. 127.0.0.11:53 (off when empty)")
	fs.StringVar(&cfg.DNSZone, "dns-zone", "id.example.", "DNS zone the bridge serves; the root prefix is its apex")
	fs.Float64Var(&cfg.DNSRateLimit, "dns-rrl", 0, "response-rate limit: UDP answers per second per source /24 (IPv6 /56); 0 is off")
	fs.IntVar(&cfg.DNSSlip, "dns-rrl-slip", 2, "with --dns-rrl, send every Nth limited answer truncated (TC=1, so real clients retry over TCP); 0 drops all")
	fs.StringVar(&cfg.HandleAddr, "handle", "", "Handle-protocol listen address (TCP and UDP), e.g. 127.0.0.1:2641 (off when empty)")
	fs.Float64Var(&cfg.HandleRateLimit, "handle-rrl", 0, "Handle rate limit: requests per second per source /24 (IPv6 /56), UDP and TCP counted apart; over it UDP answers are dropped and TCP ones are RC_SERVER_TOO_BUSY; 0 is off")
	fs.StringVar(&cfg.HandleKey, "handle-key", "", "with --handle: the `file` of the key certified Handle answers are signed with (PEM PKCS #8 RSA; its public half is published in the node's HS_SITE); default: handle.key in --data, generated on first start")
	fs.Float64Var(&cfg.HandleSignRate, "handle-sign-rate", 200, "with --handle: signed answers (requests with the certify flag, about 1 ms of a core each) the node makes a second; beyond it they are RC_SERVER_TOO_BUSY")
	fs.IntVar(&cfg.HandleSlip, "handle-rrl-slip", 2, "with --handle-rrl, send every Nth limited UDP answer truncated (so real clients retry over TCP); 0 drops all")
	fs.StringVar(&cfg.HTTPAddr, "http", "", "HTTP gateway listen address, e.g. 127.0.0.1:8080 (off when empty)")
	fs.StringVar(&cfg.HTTPURL, "http-url", "", "public base URL of the HTTP gateway, advertised in service values (default http://<bound address>)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback address (off by default)")
	readyFile := fs.String("ready-file", "", "once serving, write the bound listener addresses to this file as JSON (for scripts and tests using port 0)")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "how long to drain in-flight calls on SIGINT/SIGTERM")
	recursiveFlags(fs, &cfg.Recursive)
	securityFlags(fs, &cfg.Security)
	feedFlags(fs, &cfg)
	endpoints := etcdFlags(fs, &cfg)
	configFile := fs.String("config", "", "TOML file of settings (keys are flag names); flags win over IDRESD_* env over file")
	printConfig := fs.Bool("print-config", false, "print the effective configuration, secrets masked, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "idresd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	etcdPass, environ := etcdPassword(os.Environ())
	cfg.Etcd.Password = etcdPass
	sources, err := config.Apply(fs, *configFile, environ, "config", "print-config")
	if err != nil {
		fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
		return 2
	}
	if *printConfig {
		fmt.Print(config.Print(fs, sources, "config", "print-config"))
		return 0
	}
	// Checks that span several flags run after the file and env are in.
	cfg.Etcd.Endpoints = etcdEndpoints(*endpoints)
	if err := checkRecursive(fs, &cfg.Recursive); err != nil {
		fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
		return 2
	}
	log, err := newLogger(os.Stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
		return 2
	}
	slog.SetDefault(log)
	cfg.Logger = log
	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, log)
		if err != nil {
			fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
			return 2
		}
		defer stopPprof()
	}

	n, err := node.Start(cfg)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if *readyFile != "" {
		if err := writeReadyFile(*readyFile, n.Endpoints()); err != nil {
			log.Error("write ready file", "err", err)
			n.Stop(context.Background())
			return 1
		}
	}
	if n.AdminTokenPath != "" {
		fmt.Fprintf(os.Stderr, "idresd: administrator token written to %s (mode 0600); use it with: idres --token-file %s\n", n.AdminTokenPath, n.AdminTokenPath)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	code := 0
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-n.Err():
		log.Error("listener failed", "err", err)
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return code
}
