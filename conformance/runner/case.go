package runner

import (
	"fmt"
	"path"
)

// Node roles a step may address. A tester names them with flags
// (--server, --child, --recursive); --spawn fills all of them.
const (
	RoleServer    = "server"    // the node under test; it holds {P}
	RoleChild     = "child"     // a second authoritative node the token also manages
	RoleRecursive = "recursive" // a recursive node whose roots lead to the server
	RoleRoot      = "root"      // the root of the hierarchy the server is part of
)

// Token choices for a step's "as".
const (
	AsTester = "tester" // the node's token
	AsNone   = "none"   // no authorization metadata at all
	AsBad    = "bad"    // a malformed token
	AsWrong  = "wrong"  // well-formed, unknown id
)

// Case is one conformance case, loaded from a file under cases/.
type Case struct {
	// File and Line locate the case for error messages and reports.
	File string
	Line int
	// Area is the file's area ("identifiers", "dns", ...).
	Area string
	// Name is unique within the suite.
	Name string
	// Requirements are SPEC.md ids, e.g. "ID-005".
	Requirements []string
	// Summary says in one sentence what is checked.
	Summary string
	// Needs names what the case needs beyond its steps' own endpoints:
	// "dns" or "http" (the server's bridge or gateway), "child",
	// "recursive". Cases that need what the target lacks are skipped.
	Needs []string
	// NegativeTTL, when set, is the negative TTL {P} is created with.
	NegativeTTL *uint32
	// Setup steps must succeed; they carry no expectation.
	Setup []*Step
	// Steps are checked in order; a failed step ends the case.
	Steps []*Step
}

// FullName is "area/name", the key that --run matches.
func (c *Case) FullName() string { return c.Area + "/" + c.Name }

// Step is one query: a gRPC call, a DNS question or an HTTP request.
type Step struct {
	// File and Line locate the step.
	File string
	Line int
	// Kind is "grpc", "dns" or "http".
	Kind string
	// Method is the full gRPC method, e.g. "/idres.v1.Registry/CreatePrefix".
	Method string
	// Request is the request as a generic tree (maps, lists, scalars)
	// with placeholders still in its strings.
	Request any
	// Node is the role the step is sent to.
	Node string
	// As is the token choice: AsTester, AsNone, AsBad, AsWrong, or a
	// string with a saved variable such as "{$tok}". Empty: the tester's
	// token for Registry calls, none for Resolve, DNS and HTTP.
	As string
	// Expect is the expected result as a generic tree; nil for setup.
	Expect map[string]any
	// Save maps a variable name to a dotted path into the response
	// ("credential.id", "values.0.timestamp").
	Save map[string]string
}

func (s *Step) String() string {
	switch s.Kind {
	case "grpc":
		return fmt.Sprintf("%s on %s (%s:%d)", s.Method, s.Node, path.Base(s.File), s.Line)
	default:
		return fmt.Sprintf("%s query on %s (%s:%d)", s.Kind, s.Node, path.Base(s.File), s.Line)
	}
}
