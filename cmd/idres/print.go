package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// jsonOptions fix the JSON shape: proto3 JSON mapping (lowerCamelCase
// field names, enums by name, bytes as standard base64, uint64 as
// strings), scalar fields always present so scripts need no defaults.
var jsonOptions = protojson.MarshalOptions{EmitDefaultValues: true}

// printJSON writes m as indented JSON. protojson deliberately varies its
// whitespace between runs; re-indenting through encoding/json makes the
// output byte-stable.
func (e *env) printJSON(m proto.Message) int {
	raw, err := jsonOptions.Marshal(m)
	if err != nil {
		return e.fail(fmt.Errorf("encode JSON: %w", err))
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return e.fail(fmt.Errorf("encode JSON: %w", err))
	}
	buf.WriteByte('\n')
	e.Stdout.Write(buf.Bytes())
	return exitOK
}

// formatData shows value data as text when it is printable UTF-8, else as
// "base64:" and standard base64 (as the DNS bridge's TXT records do).
// Text that itself starts with "base64:" is shown encoded, so the form is
// never ambiguous.
// table starts a table on stdout; its header (tab-separated column
// names) is printed as a ";;" comment line, like every other remark.
func (e *env) table(header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, ";; "+header)
	return tw
}

func formatData(b []byte) string {
	if utf8.Valid(b) && !strings.HasPrefix(string(b), "base64:") && !strings.ContainsFunc(string(b), notPrintable) {
		return string(b)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(b)
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }

// printValues writes one line per value: index, type, ttl, data; values
// only authorised callers see are marked "private".
func printValues(w io.Writer, vals []*idresv1.Value) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range vals {
		line := fmt.Sprintf("%d\t%s\t%d\t%s", v.GetIndex(), v.GetType(), v.GetTtl(), formatData(v.GetData()))
		if v.PublicRead != nil && !v.GetPublicRead() {
			line += "\t(private)"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// outcomeName is an Outcome without the OUTCOME_ prefix, e.g. "NOT_FOUND".
func outcomeName(o idresv1.Outcome) string {
	return strings.TrimPrefix(o.String(), "OUTCOME_")
}

// printResolve writes a resolution like dig: a header comment line with
// the outcome, then the values, the referral or the message.
func printResolve(w io.Writer, r *idresv1.ResolveResponse) {
	parts := []string{outcomeName(r.GetOutcome())}
	if r.GetAuthoritative() {
		parts = append(parts, "authoritative")
	} else {
		parts = append(parts, "not authoritative")
	}
	parts = append(parts, fmt.Sprintf("ttl %d", r.GetTtl()))
	if r.GetZone() != "" {
		parts = append(parts, "zone "+r.GetZone())
	}
	if n := len(r.GetValues()); n > 0 {
		parts = append(parts, plural(n, "value"))
	}
	if p := r.GetDerivedFromPattern(); p != "" {
		parts = append(parts, "derived from pattern "+p)
	}
	fmt.Fprintf(w, ";; %s: %s\n", r.GetIdentifier(), strings.Join(parts, ", "))
	if m := r.GetMessage(); m != "" {
		fmt.Fprintf(w, ";; %s\n", m)
	}
	if d := r.GetReferral(); d != nil {
		printDelegation(w, d)
	}
	printValues(w, r.GetValues())
}

// printDelegation writes a delegation: a comment line with the prefix and
// TTL, then one line per endpoint "grpc|dns|http|handle ADDRESS".
func printDelegation(w io.Writer, d *idresv1.Delegation) {
	fmt.Fprintf(w, ";; referral to %s, ttl %d\n", d.GetPrefix(), d.GetTtl())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range d.GetGrpc() {
		fmt.Fprintf(tw, "grpc\t%s\n", a)
	}
	for _, a := range d.GetDns() {
		fmt.Fprintf(tw, "dns\t%s\n", a)
	}
	for _, a := range d.GetHttp() {
		fmt.Fprintf(tw, "http\t%s\n", a)
	}
	for _, a := range d.GetHandle() {
		fmt.Fprintf(tw, "handle\t%s\n", a)
	}
	tw.Flush()
}

// printIdentifier writes an identifier record: a header comment line with
// its timestamps, then its values.
func printIdentifier(w io.Writer, id *idresv1.Identifier) {
	fmt.Fprintf(w, ";; %s: %s, created %s, updated %s\n", id.GetIdentifier(),
		plural(len(id.GetValues()), "value"), formatTime(id.GetCreated()), formatTime(id.GetUpdated()))
	printValues(w, id.GetValues())
}

func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
