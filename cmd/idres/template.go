package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "template",
		Usage:   "set|get|delete ...",
		Summary: "manage a prefix's metadata template (typed, required fields)",
		Run: func(ctx context.Context, e *env, args []string) int {
			return runSubcommand(ctx, e, args, templateSubcommands)
		},
	})
}

var templateSubcommands = []subcommand{
	{"set", "PREFIX FILE.json|FILE.yaml", templateSet},
	{"get", "PREFIX [--effective]", templateGet},
	{"delete", "PREFIX", templateDelete},
}

// readTemplate reads a template file: JSON or YAML (by extension; "-" is
// stdin, read as YAML, which covers JSON too) in the shape of
// idres.v1.Template, e.g.
//
//	closed: false
//	fields:
//	  - {type: gtin, kind: gs1-gtin, required: true}
//	  - {type: colour, kind: enum, choices: [red, green]}
//
// Unknown keys are errors, so a misspelt rule is not silently ignored.
func readTemplate(path string) (*idresv1.Template, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	t, err := parseTemplate(raw, strings.ToLower(filepath.Ext(path)) != ".json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// parseTemplate decodes a template document, YAML (a superset of JSON) or
// strict JSON.
func parseTemplate(raw []byte, asYAML bool) (*idresv1.Template, error) {
	js := raw
	if asYAML {
		var doc any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		var err error
		if js, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("not a JSON-shaped document: %w", err)
		}
	}
	t := &idresv1.Template{}
	if err := protojson.Unmarshal(js, t); err != nil {
		return nil, err
	}
	return t, nil
}

func templateSet(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return e.usageError("template set: want a prefix and a file")
	}
	t, err := readTemplate(pos[1])
	if err != nil {
		return e.usageError("%v", err)
	}
	t.Prefix = pos[0]
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		got, err := c.SetTemplate(ctx, &idresv1.SetTemplateRequest{Template: t})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(got)
		}
		fmt.Fprintf(e.Stdout, "set template of %s: %s\n", subtreeName(got.GetPrefix()), plural(len(got.GetFields()), "field"))
		return exitOK
	})
}

func templateGet(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	effective := fs.Bool("effective", false, "show the template that applies: the prefix's own or its nearest ancestor's")
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("template get: want exactly one prefix")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		t, err := c.GetTemplate(ctx, &idresv1.GetTemplateRequest{Prefix: pos[0], Effective: *effective})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(t)
		}
		closed := "open: other value types allowed"
		if t.GetClosed() {
			closed = "closed: other value types refused"
		}
		fmt.Fprintf(e.Stdout, ";; template of %s (%s), updated %s\n", subtreeName(t.GetPrefix()), closed, formatTime(t.GetUpdated()))
		tw := e.table("type\tkind\trequired\trules")
		for _, f := range t.GetFields() {
			var rules []string
			if len(f.GetChoices()) > 0 {
				rules = append(rules, "choices="+strings.Join(f.GetChoices(), "|"))
			}
			if f.GetPattern() != "" {
				rules = append(rules, fmt.Sprintf("pattern=%q", f.GetPattern()))
			}
			if f.GetMinLength() > 0 {
				rules = append(rules, fmt.Sprintf("min_length=%d", f.GetMinLength()))
			}
			if f.GetMaxLength() > 0 {
				rules = append(rules, fmt.Sprintf("max_length=%d", f.GetMaxLength()))
			}
			req := "optional"
			if f.GetRequired() {
				req = "required"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.GetType(), f.GetKind(), req, dash(strings.Join(rules, " ")))
		}
		tw.Flush()
		return exitOK
	})
}

func templateDelete(ctx context.Context, e *env, args []string, synopsis string) int {
	fs := e.flags()
	pos, code, ok := e.parseArgs(fs, args, synopsis)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("template delete: want exactly one prefix")
	}
	return e.withClient(ctx, func(ctx context.Context, c *client.Client) int {
		resp, err := c.DeleteTemplate(ctx, &idresv1.DeleteTemplateRequest{Prefix: pos[0]})
		if err != nil {
			return e.fail(err)
		}
		if e.JSON {
			return e.printJSON(resp)
		}
		fmt.Fprintf(e.Stdout, "deleted template of %s\n", subtreeName(pos[0]))
		return exitOK
	})
}
