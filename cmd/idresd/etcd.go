package main

import (
	"flag"
	"strings"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
)

// etcdPasswordEnv carries the etcd password, which is no flag: a password
// on the command line is visible to every user of the machine.
const etcdPasswordEnv = "IDRESD_ETCD_PASSWORD"

// etcdFlags select the store's backend and, for etcd, where it lives
// (node.EtcdConfig). The node checks their combination at start. The
// endpoints, a comma list, are split by etcdEndpoints once the file and
// the environment are in.
func etcdFlags(fs *flag.FlagSet, cfg *node.Config) (endpoints *string) {
	fs.StringVar(&cfg.Store, "store", node.StoreBolt, "where the node keeps its data: bolt (a file in --data) or etcd (a key prefix of an etcd cluster, shared by the node's replicas)")
	endpoints = fs.String("etcd-endpoints", "", "etcd client URLs, comma-separated, e.g. https://10.0.0.1:2379,https://10.0.0.2:2379 (with --store etcd)")
	fs.StringVar(&cfg.Etcd.Prefix, "etcd-prefix", "", "etcd key prefix of the store; every replica of one node gives the same (default /idres/<base name of --data>)")
	fs.StringVar(&cfg.Etcd.CACert, "etcd-cacert", "", "PEM CA bundle that signed the etcd members' certificates (turns TLS on)")
	fs.StringVar(&cfg.Etcd.Cert, "etcd-cert", "", "PEM client certificate for etcd (with --etcd-key)")
	fs.StringVar(&cfg.Etcd.Key, "etcd-key", "", "PEM private key of --etcd-cert")
	fs.StringVar(&cfg.Etcd.User, "etcd-user", "", "etcd user; the password comes from --etcd-password-file or "+etcdPasswordEnv)
	fs.StringVar(&cfg.Etcd.PasswordFile, "etcd-password-file", "", "file whose first line is the password of --etcd-user")
	fs.DurationVar(&cfg.Etcd.StaleLimit, "etcd-stale-limit", time.Minute, "answer reads from the local copy of the store until it has not been confirmed current (etcd quorum reachable, watch caught up) for this long; then Unavailable")
	fs.IntVar(&cfg.Etcd.MaxTxnOps, "etcd-max-txn-ops", 128, "the etcd cluster's --max-txn-ops: larger writes are refused before they are sent")
	return endpoints
}

// etcdEndpoints splits the --etcd-endpoints list.
func etcdEndpoints(list string) []string {
	var eps []string
	for _, ep := range strings.Split(list, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}

// etcdPassword takes the etcd password out of environ, returning the
// rest for config.Apply (which refuses IDRESD_* variables naming no flag).
func etcdPassword(environ []string) (password string, rest []string) {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, etcdPasswordEnv+"="); ok {
			password = v
			continue
		}
		rest = append(rest, kv)
	}
	return password, rest
}
