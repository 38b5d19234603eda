package runner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Placeholders in case strings, replaced when a step runs:
//
//	{P}            the case's own prefix, held on the server (e.g. 88.100.1.conf-x1y2.c07)
//	{PU}           {P} in upper case (ASCII)
//	{R}            the run prefix; every {P} is a child of it
//	{ZONE}         the DNS zone of the server's bridge (--dns-zone), with a final dot
//	{PDNS}         the DNS name of {P}: its segments reversed, then {ZONE}
//	{GRPC:role}    the gRPC address of a node role (server, child, recursive)
//	{DNSADDR:role} the DNS address of a node role
//	{HTTP:role}    the HTTP base URL of a node role
//	{$name}        a value saved by an earlier step
//	{repeat:T:N}   the text T repeated N times
var placeholder = regexp.MustCompile(`\{(P|PU|R|ZONE|PDNS|(?:GRPC|DNSADDR|HTTP):[a-z]+|\$[A-Za-z0-9_]+|repeat:[^:{}]*:[0-9]+)\}`)

// vars are the values placeholders expand to in one case.
type vars struct {
	prefix, run, zone string
	nodes             map[string]Node
	saved             map[string]string
}

func (v *vars) expandString(s string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		key := m[1 : len(m)-1]
		switch {
		case key == "P":
			return v.prefix
		case key == "PU":
			return strings.ToUpper(v.prefix)
		case key == "R":
			return v.run
		case key == "ZONE":
			return v.zone
		case key == "PDNS":
			return PrefixDNSName(v.prefix, v.zone)
		case strings.HasPrefix(key, "$"):
			x, ok := v.saved[key[1:]]
			if !ok && err == nil {
				err = fmt.Errorf("%s: no earlier step saved %q", m, key[1:])
			}
			return x
		case strings.HasPrefix(key, "repeat:"):
			parts := strings.Split(key, ":")
			n, _ := strconv.Atoi(parts[2])
			return strings.Repeat(parts[1], n)
		}
		kind, role, _ := strings.Cut(key, ":")
		n, ok := v.nodes[role]
		var addr string
		switch kind {
		case "GRPC":
			addr = n.GRPC
		case "DNSADDR":
			addr = n.DNS
		case "HTTP":
			addr = n.HTTP
		}
		if (!ok || addr == "") && err == nil {
			err = fmt.Errorf("%s: node %s has no such endpoint", m, role)
		}
		return addr
	})
	return out, err
}

// expand replaces placeholders in every string of a tree, keys included.
func (v *vars) expand(t any) (any, error) {
	switch x := t.(type) {
	case string:
		return v.expandString(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ek, err := v.expandString(k)
			if err != nil {
				return nil, err
			}
			ee, err := v.expand(e)
			if err != nil {
				return nil, err
			}
			out[ek] = ee
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ee, err := v.expand(e)
			if err != nil {
				return nil, err
			}
			out[i] = ee
		}
		return out, nil
	}
	return t, nil
}

// PrefixDNSName maps a prefix to its DNS name under zone (DNS-mapping of
// design §7): "88.100.1" under "id.example." is "1.100.88.id.example.".
// The root prefix "" is the zone itself.
func PrefixDNSName(prefix, zone string) string {
	if prefix == "" {
		return zone
	}
	segs := strings.Split(strings.ToLower(prefix), ".")
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, ".") + "." + zone
}

// usedRoles lists the node roles and endpoint kinds a tree's placeholders
// refer to, e.g. "child" for {GRPC:child}.
func usedRoles(t any, add func(role, kind string)) {
	switch x := t.(type) {
	case string:
		for _, m := range placeholder.FindAllStringSubmatch(x, -1) {
			if kind, role, ok := strings.Cut(m[1], ":"); ok && kind != "repeat" {
				add(role, kind)
			}
			if m[1] == "ZONE" || m[1] == "PDNS" {
				add(RoleServer, "ZONE")
			}
		}
	case map[string]any:
		for k, e := range x {
			usedRoles(k, add)
			usedRoles(e, add)
		}
	case []any:
		for _, e := range x {
			usedRoles(e, add)
		}
	}
}
