package resolver_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/idres/idres/"

// layers is the rule of README's "Layout" section, written apart from the
// code: each package's layer, and from which layers it may import. A
// package the table does not name fails the test, so a new package
// states its place.
var layers = map[string]string{
	"proto/idres/v1": "api",

	"registry/ident":                 "foundation",
	"registry/value":                 "foundation",
	"registry/template":              "foundation",
	"registry/pattern":               "foundation",
	"registry/bulkfile":              "foundation",
	"registry/credential":            "foundation",
	"registry/fault":                 "foundation",
	"resolver/handlewire":            "foundation",
	"registry/backupfile":            "foundation",
	"registry/store":                 "storage",
	"registry/store/kv":              "storage",
	"registry/store/kv/kvtest":       "storage",
	"registry/store/etcdkv":          "storage",
	"registry/store/etcdkv/etcdtest": "storage",

	"resolver": "contract",

	"resolver/grpcserver": "transport",

	"registry/registrar": "service",
	"registry/backup":    "service",
	"resolver/answer":    "service",

	"resolver/dnsbridge":          "frontend",
	"resolver/dnsbridge/zonefile": "tool",
	"resolver/httpgw":             "frontend",
	"resolver/recursive":          "frontend",
	"resolver/cache":              "frontend",
	"resolver/dnsname":            "frontend",
	"resolver/ratelimit":          "frontend",
	"resolver/connlimit":          "frontend",
	"resolver/handleserver":       "frontend",
	"resolver/client":             "client",
	"resolver/handleclient":       "client",
}

// mayImport lists, per layer, the layers its packages may import.
var mayImport = map[string][]string{
	"api":        {"api"},
	"foundation": {"api", "foundation"},
	"storage":    {"api", "foundation", "storage"},
	"contract":   {"api", "foundation"},
	// The gRPC transport every gRPC service runs behind: authentication,
	// rate limits and the one mapping of errors to status codes. It knows
	// the storage's errors, never a service.
	"transport": {"api", "foundation", "storage", "contract"},
	"service":   {"api", "foundation", "storage", "contract", "transport"},
	// Front ends ask the answer path through the contract; none opens the
	// store. The recursive walker talks to other nodes through the client.
	"frontend": {"api", "foundation", "contract", "frontend", "client"},
	"client":   {"api", "foundation"},
	// Offline tools over a stopped node's store (idresd subcommands).
	"tool": {"api", "foundation", "storage", "contract", "service", "frontend"},
}

// noStorageEngine are packages that must not link bbolt or etcd even
// indirectly: they answer through the contract, so they run in front of
// any store (or none, on a recursive node).
var noStorageEngine = []string{
	"resolver",
	"resolver/dnsbridge",
	"resolver/httpgw",
	"resolver/handleserver",
	"resolver/recursive",
	"resolver/cache",
	"resolver/client",
	"resolver/handleclient",
}

type pkg struct {
	path    string
	imports []string
	deps    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", module+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkgs = append(pkgs, pkg{path: strings.TrimPrefix(f[0], module), imports: strings.Fields(f[1]), deps: strings.Fields(f[2])})
	}
	return pkgs
}

// TestLayering: every package imports only from the layers below it, no
// package outside cmd/ imports cmd/, and the front ends link no storage
// engine.
func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.path] = true
		if strings.HasPrefix(p.path, "cmd/") || strings.HasPrefix(p.path, "conformance") {
			// cmd/ wires everything; the conformance suite is a client of
			// nodes. Neither may be imported from below.
			continue
		}
		layer, ok := layers[p.path]
		if !ok {
			t.Errorf("package %s has no layer in layering_test.go: add it to the table (and to README's Layout)", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			ip := strings.TrimPrefix(imp, module)
			if strings.HasPrefix(ip, "cmd/") || strings.HasPrefix(ip, "conformance") {
				t.Errorf("%s imports %s: only cmd/ wires, nothing imports it", p.path, ip)
				continue
			}
			il, ok := layers[ip]
			if !ok {
				continue // reported on its own row
			}
			if !slices.Contains(mayImport[layer], il) {
				t.Errorf("%s (%s) imports %s (%s): a %s may import only %v", p.path, layer, ip, il, layer, mayImport[layer])
			}
		}
	}
	for path := range layers {
		if !seen[path] {
			t.Errorf("layering_test.go names %s, which is no longer a package", path)
		}
	}
	for _, p := range pkgs {
		if !slices.Contains(noStorageEngine, p.path) {
			continue
		}
		for _, d := range p.deps {
			if strings.HasPrefix(d, "go.etcd.io/") {
				t.Errorf("%s links %s: front ends answer through the contract and link no storage engine", p.path, d)
			}
		}
	}
}
