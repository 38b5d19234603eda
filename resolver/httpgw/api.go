package httpgw

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

// handleJSON is a Handle.net REST API record. Referral is an idres
// extension present only with response code 301.
type handleJSON struct {
	ResponseCode int           `json:"responseCode"`
	Handle       string        `json:"handle,omitempty"`
	Values       []valueJSON   `json:"values,omitzero"` // [] (not absent) for code 200
	Referral     *referralJSON `json:"referral,omitempty"`
	Message      string        `json:"message,omitempty"`
	// Tombstone is set for a withdrawn identifier (410), and
	// DerivedFromPattern when the values come from a pattern.
	Tombstone          *tombstoneJSON `json:"tombstone,omitempty"`
	DerivedFromPattern string         `json:"derivedFromPattern,omitempty"`
}

type tombstoneJSON struct {
	Deleted   string `json:"deleted,omitempty"`
	DeletedBy string `json:"deletedBy,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Successor string `json:"successor,omitempty"`
}

type valueJSON struct {
	Index     uint32   `json:"index"`
	Type      string   `json:"type"`
	Data      dataJSON `json:"data"`
	TTL       uint32   `json:"ttl"`
	Timestamp string   `json:"timestamp,omitempty"`
}

// dataJSON is "string" with the text for UTF-8 data, else "base64" with
// the standard base64 of the bytes (Handle REST formats).
type dataJSON struct {
	Format string `json:"format"`
	Value  string `json:"value"`
}

type referralJSON struct {
	Prefix string   `json:"prefix"`
	HTTP   []string `json:"http,omitempty"`
	GRPC   []string `json:"grpc,omitempty"`
	DNS    []string `json:"dns,omitempty"`
	Handle []string `json:"handle,omitempty"`
	TTL    uint32   `json:"ttl"`
}

// filters are the ?type= and ?index= query parameters, each repeatable.
type filters struct {
	types   []string
	indexes []uint32
}

func parseFilters(q url.Values) (filters, error) {
	f := filters{types: q["type"]}
	for _, s := range q["index"] {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 || n > value.MaxIndex {
			return f, fmt.Errorf("query parameter index=%q is not an index (an integer from 1 to %d)", s, value.MaxIndex)
		}
		f.indexes = append(f.indexes, uint32(n))
	}
	return f, nil
}

// lookup asks the resolver. The gateway always asks for recursion: a
// person or a web system wants the final answer, and a node that is not
// configured to recurse answers what it knows (design §4).
func (g *Gateway) lookup(r *http.Request, id string, f filters) (*idresv1.ResolveResponse, error) {
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	return g.res.Resolve(ctx, &idresv1.ResolveRequest{Identifier: id, Types: f.types, Indexes: f.indexes, Recursive: true})
}

func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, escaped string) string {
	if !allowRead(w, r) {
		return outcomeMethod
	}
	// The records are public; any web page may read them.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	id, err := DecodeIdentifier(escaped)
	if err != nil {
		writeJSON(w, r, http.StatusBadRequest, "no-store", &handleJSON{ResponseCode: CodeInvalidHandle, Handle: escaped, Message: err.Error()})
		return outcomeBadRequest
	}
	f, err := parseFilters(r.URL.Query())
	if err != nil {
		writeJSON(w, r, http.StatusBadRequest, "no-store", &handleJSON{ResponseCode: CodeError, Handle: id, Message: err.Error()})
		return outcomeBadRequest
	}
	resp, err := g.lookup(r, id, f)
	if err != nil {
		g.internalError(w, r, id, err)
		return outcomeError
	}
	if n := g.oversize(resp); n > 0 {
		g.refuseJSON(w, r, resp, id, n)
		return outcomeTooLarge
	}
	g.answerJSON(w, r, resp, id)
	return outcomeOf(resp.Outcome)
}

// answerJSON writes a resolution as a Handle REST record. A referral to a
// child with an HTTP endpoint becomes a 302 to the same request there.
func (g *Gateway) answerJSON(w http.ResponseWriter, r *http.Request, resp *idresv1.ResolveResponse, asked string) {
	rec, m := toHandleJSON(resp, asked), MapOutcome(resp.Outcome)
	status := m.Status
	if resp.Outcome == idresv1.Outcome_OUTCOME_REFERRAL {
		if base := referralBase(resp.Referral); base != "" {
			loc := APIURL(base, rec.Handle)
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", loc)
			status = http.StatusFound
		}
	}
	writeJSON(w, r, status, cacheControl(resp), rec)
}

func (g *Gateway) internalError(w http.ResponseWriter, r *http.Request, id string, err error) {
	g.log.Error("HTTP gateway lookup failed", "identifier", id, "err", err)
	writeJSON(w, r, http.StatusInternalServerError, "no-store", &handleJSON{ResponseCode: CodeError, Handle: id, Message: "internal error"})
}

func toHandleJSON(resp *idresv1.ResolveResponse, asked string) *handleJSON {
	rec := &handleJSON{ResponseCode: MapOutcome(resp.Outcome).Code, Handle: resp.Identifier, Message: resp.Message}
	if rec.Handle == "" || !utf8.ValidString(rec.Handle) {
		// Not UTF-8: echo it percent-encoded rather than let JSON
		// replace the bad bytes.
		rec.Handle = asked
		if !utf8.ValidString(asked) {
			rec.Handle = EscapeIdentifier(asked)
		}
	}
	switch resp.Outcome {
	case idresv1.Outcome_OUTCOME_OK, idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
		rec.Values = make([]valueJSON, 0, len(resp.Values))
		for _, v := range sortedValues(resp.Values) {
			rec.Values = append(rec.Values, toValueJSON(v))
		}
	case idresv1.Outcome_OUTCOME_REFERRAL:
		if d := resp.Referral; d != nil {
			rec.Referral = &referralJSON{Prefix: d.Prefix, HTTP: d.Http, GRPC: d.Grpc, DNS: d.Dns, Handle: d.Handle, TTL: resp.Ttl}
		}
	case idresv1.Outcome_OUTCOME_GONE:
		if t := resp.Tombstone; t != nil {
			rec.Tombstone = &tombstoneJSON{DeletedBy: t.DeletedBy, Reason: t.Reason, Successor: t.Successor}
			if t.Deleted != nil {
				rec.Tombstone.Deleted = t.Deleted.AsTime().UTC().Format(time.RFC3339)
			}
		}
	}
	rec.DerivedFromPattern = resp.DerivedFromPattern
	return rec
}

func toValueJSON(v *idresv1.Value) valueJSON {
	out := valueJSON{Index: v.Index, Type: v.Type, TTL: value.DefaultTTL}
	if v.Ttl != nil {
		out.TTL = *v.Ttl
	}
	if utf8.Valid(v.Data) {
		out.Data = dataJSON{Format: "string", Value: string(v.Data)}
	} else {
		out.Data = dataJSON{Format: "base64", Value: base64.StdEncoding.EncodeToString(v.Data)}
	}
	if v.Timestamp != nil {
		out.Timestamp = v.Timestamp.AsTime().UTC().Format(time.RFC3339)
	}
	return out
}

func sortedValues(vals []*idresv1.Value) []*idresv1.Value {
	out := slices.Clone(vals)
	slices.SortStableFunc(out, func(a, b *idresv1.Value) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// referralBase is the first HTTP endpoint of a delegation that is an
// absolute http or https URL, or "".
func referralBase(d *idresv1.Delegation) string {
	for _, base := range d.GetHttp() {
		if u, err := url.Parse(base); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return base
		}
	}
	return ""
}

// cacheControl lets clients cache an answer for its TTL (on a recursive
// node the remaining TTL); answers that say nothing about the identifier
// (invalid, failures) are not stored.
func cacheControl(resp *idresv1.ResolveResponse) string {
	switch resp.Outcome {
	case idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER, idresv1.Outcome_OUTCOME_SERVER_FAILURE, idresv1.Outcome_OUTCOME_UNSPECIFIED:
		return "no-store"
	}
	return fmt.Sprintf("max-age=%d", resp.Ttl)
}

// writeJSON writes rec, indented with ?pretty. The body is built first so
// that Content-Length is set and HEAD gets the same headers as GET.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, cache string, rec *handleJSON) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// URLs with "&" stay readable; the content type and nosniff keep
	// browsers from treating the body as HTML.
	enc.SetEscapeHTML(false)
	if pretty(r.URL.Query()) {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(rec); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pretty is true for "?pretty", "?pretty=true", "?pretty=1"; false for
// "?pretty=false" and "?pretty=0".
func pretty(q url.Values) bool {
	v, ok := q["pretty"]
	if !ok {
		return false
	}
	return len(v) == 0 || (v[0] != "false" && v[0] != "0")
}
