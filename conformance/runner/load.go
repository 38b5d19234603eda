package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadError is a problem in a case file, located at file:line.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e *LoadError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

var requirementID = regexp.MustCompile(`^[A-Z]+-[0-9]{3}$`)
var caseName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// LoadFS loads every *.yaml file in dir of fsys, in name order, and checks
// that case names are unique across files. All errors are returned, each
// naming file and line.
func LoadFS(fsys fs.FS, dir string) ([]*Case, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list cases in %s: %w", dir, err)
	}
	sort.Strings(names)
	var all []*Case
	var errs []error
	seen := map[string]*Case{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		cases, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err)
		}
		for _, c := range cases {
			if prev := seen[c.FullName()]; prev != nil {
				errs = append(errs, &LoadError{c.File, c.Line, fmt.Sprintf("case %q already defined at %s:%d", c.FullName(), prev.File, prev.Line)})
				continue
			}
			seen[c.FullName()] = c
			all = append(all, c)
		}
	}
	return all, errors.Join(errs...)
}

// Parse parses one case file. The area defaults to the file's base name
// without extension. Every error names file and line; parsing goes on
// after an error in one case so that a file's problems are reported at once.
func Parse(file string, data []byte) ([]*Case, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(file, err)
	}
	l := &loader{file: file}
	if len(doc.Content) == 0 {
		return nil, &LoadError{file, 1, "empty file"}
	}
	root := doc.Content[0]
	area := strings.TrimSuffix(path.Base(file), path.Ext(file))
	var cases []*Case
	l.mapping(root, map[string]func(*yaml.Node){
		"area": func(n *yaml.Node) { area = l.str(n) },
		"cases": func(n *yaml.Node) {
			if n.Kind != yaml.SequenceNode {
				l.fail(n, "cases must be a list")
				return
			}
			for _, cn := range n.Content {
				if c := l.parseCase(cn); c != nil {
					cases = append(cases, c)
				}
			}
		},
	}, "cases")
	for _, c := range cases {
		c.Area = area
	}
	return cases, errors.Join(l.errs...)
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 7: ...") into a
// LoadError.
func yamlError(file string, err error) error {
	msg := err.Error()
	var line int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		return &LoadError{file, line, msg}
	}
	return &LoadError{file, 1, msg}
}

type loader struct {
	file string
	errs []error
}

func (l *loader) fail(n *yaml.Node, format string, args ...any) {
	l.errs = append(l.errs, &LoadError{l.file, n.Line, fmt.Sprintf(format, args...)})
}

// mapping walks a mapping node, calling the handler of each key; unknown
// keys, duplicate keys and missing required keys are errors.
func (l *loader) mapping(n *yaml.Node, handlers map[string]func(*yaml.Node), required ...string) bool {
	if n.Kind != yaml.MappingNode {
		l.fail(n, "expected a mapping, got %s", kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		switch {
		case seen[k.Value]:
			l.fail(k, "key %q given twice", k.Value)
		case !ok:
			l.fail(k, "unknown key %q (expected one of %s)", k.Value, keyList(handlers))
		default:
			h(v)
		}
		seen[k.Value] = true
	}
	for _, r := range required {
		if !seen[r] {
			l.fail(n, "missing key %q", r)
		}
	}
	return true
}

func keyList(m map[string]func(*yaml.Node)) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (l *loader) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		l.fail(n, "expected a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (l *loader) strs(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(n, "expected a list of strings, got %s", kindName(n))
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, l.str(c))
	}
	return out
}

// tree converts a node to a generic value (map[string]any, []any, string,
// int, float64, bool, nil) and checks the operators used in it.
func (l *loader) tree(n *yaml.Node) any {
	var v any
	if err := n.Decode(&v); err != nil {
		l.fail(n, "%v", err)
		return nil
	}
	l.checkOperators(n)
	return v
}

func (l *loader) checkOperators(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if strings.HasPrefix(k.Value, "$") && !slices.Contains(operators, k.Value) {
				l.fail(k, "unknown operator %q (known: %s)", k.Value, strings.Join(operators, " "))
			}
			l.checkOperators(n.Content[i+1])
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			l.checkOperators(c)
		}
	}
}

func (l *loader) parseCase(n *yaml.Node) *Case {
	c := &Case{File: l.file, Line: n.Line}
	before := len(l.errs)
	l.mapping(n, map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) {
			c.Name = l.str(v)
			if c.Name != "" && !caseName.MatchString(c.Name) {
				l.fail(v, "case name %q: use lowercase letters, digits and '-'", c.Name)
			}
		},
		"requirements": func(v *yaml.Node) {
			c.Requirements = l.strs(v)
			for _, r := range c.Requirements {
				if !requirementID.MatchString(r) {
					l.fail(v, "requirement id %q is not of the form ABC-123", r)
				}
			}
		},
		"summary": func(v *yaml.Node) { c.Summary = l.str(v) },
		"needs": func(v *yaml.Node) {
			c.Needs = l.strs(v)
			for _, n := range c.Needs {
				if _, ok := needKinds[n]; !ok {
					l.fail(v, "needs %q: expected dns, http, child, recursive or root", n)
				}
			}
		},
		"negative_ttl": func(v *yaml.Node) {
			var t uint32
			if err := v.Decode(&t); err != nil {
				l.fail(v, "negative_ttl: %v", err)
				return
			}
			c.NegativeTTL = &t
		},
		"setup": func(v *yaml.Node) { c.Setup = l.steps(v, false) },
		"steps": func(v *yaml.Node) { c.Steps = l.steps(v, true) },
	}, "name", "requirements", "steps")
	if len(c.Requirements) == 0 && len(l.errs) == before {
		l.fail(n, "case %q names no requirement", c.Name)
	}
	if len(l.errs) > before {
		return nil
	}
	return c
}

func (l *loader) steps(n *yaml.Node, withExpect bool) []*Step {
	if n.Kind != yaml.SequenceNode {
		l.fail(n, "expected a list of steps, got %s", kindName(n))
		return nil
	}
	var out []*Step
	for _, sn := range n.Content {
		if s := l.step(sn, withExpect); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) step(n *yaml.Node, withExpect bool) *Step {
	s := &Step{File: l.file, Line: n.Line, Node: RoleServer}
	before := len(l.errs)
	var expectNode, requestNode *yaml.Node
	var callName string
	setKind := func(v *yaml.Node, kind, method string) {
		if s.Kind != "" {
			l.fail(v, "a step has one query; this one already has a %s query", s.Kind)
			return
		}
		s.Kind, s.Method = kind, method
	}
	handlers := map[string]func(*yaml.Node){
		"node": func(v *yaml.Node) {
			s.Node = l.str(v)
			if !slices.Contains([]string{RoleServer, RoleChild, RoleRecursive, RoleRoot}, s.Node) {
				l.fail(v, "node %q: expected server, child, recursive or root", s.Node)
			}
		},
		"as":      func(v *yaml.Node) { s.As = l.str(v) },
		"resolve": func(v *yaml.Node) { setKind(v, "grpc", "Resolve"); requestNode = v },
		"call":    func(v *yaml.Node) { callName = l.str(v); setKind(v, "grpc", callName) },
		"request": func(v *yaml.Node) { requestNode = v },
		"dns":     func(v *yaml.Node) { setKind(v, "dns", ""); requestNode = v },
		"http":    func(v *yaml.Node) { setKind(v, "http", ""); requestNode = v },
		"handle":  func(v *yaml.Node) { setKind(v, "handle", ""); requestNode = v },
		"save": func(v *yaml.Node) {
			if v.Kind != yaml.MappingNode {
				l.fail(v, "save must map variable names to response paths")
				return
			}
			s.Save = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				s.Save[v.Content[i].Value] = l.str(v.Content[i+1])
			}
		},
	}
	if withExpect {
		handlers["expect"] = func(v *yaml.Node) { expectNode = v }
	}
	// Shorthand: "CreateIdentifier: {...}" is call + request.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			if _, known := handlers[name]; !known && isMethodName(name) {
				handlers[name] = func(v *yaml.Node) { setKind(v, "grpc", name); requestNode = v }
			}
		}
	}
	if n.Kind != yaml.MappingNode {
		l.fail(n, "a step must be a mapping, got %s", kindName(n))
		return nil
	}
	l.mapping(n, handlers)
	if s.Kind == "" {
		l.fail(n, "step has no query: give resolve, call, a Registry method name, dns, http or handle")
		return nil
	}
	if callName != "" && requestNode == nil {
		l.fail(n, "call %s has no request", callName)
	}
	if requestNode == nil {
		requestNode = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	}
	s.Request = l.tree(requestNode)
	if withExpect && expectNode == nil {
		l.fail(n, "step has no expect")
	}
	if expectNode != nil {
		if expectNode.Kind != yaml.MappingNode {
			l.fail(expectNode, "expect must be a mapping")
		} else {
			s.Expect, _ = l.tree(expectNode).(map[string]any)
			if s.Expect == nil {
				s.Expect = map[string]any{}
			}
		}
	}
	if len(l.errs) > before {
		return nil
	}
	switch s.Kind {
	case "grpc":
		// Validate a copy whose whole-placeholder strings ("{$rev}") are
		// "0": their values exist only when the step runs, and protojson
		// takes "0" for strings and integers alike.
		v := *s
		v.Request = zeroPlaceholders(s.Request)
		l.checkGRPC(&v, requestNode, expectNode)
		s.Method = v.Method
	case "dns":
		l.checkDNS(s, requestNode, expectNode)
	case "http":
		l.checkHTTP(s, requestNode, expectNode)
	case "handle":
		l.checkHandle(s, requestNode, expectNode)
	}
	if len(l.errs) > before {
		return nil
	}
	return s
}

// keysOf returns the keys of a mapping node with their nodes.
func keysOf(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i]
	}
	return out
}

func (l *loader) allowKeys(n *yaml.Node, what string, allowed ...string) {
	for k, kn := range keysOf(n) {
		if !slices.Contains(allowed, k) {
			l.fail(kn, "%s: unknown key %q (expected one of %s)", what, k, strings.Join(allowed, ", "))
		}
	}
}

// zeroPlaceholders copies a request tree with every string that is exactly
// one placeholder replaced by "0", for load-time validation.
func zeroPlaceholders(t any) any {
	switch v := t.(type) {
	case string:
		if m := placeholder.FindStringIndex(v); m != nil && m[0] == 0 && m[1] == len(v) {
			return "0"
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = zeroPlaceholders(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = zeroPlaceholders(x)
		}
		return out
	}
	return t
}
