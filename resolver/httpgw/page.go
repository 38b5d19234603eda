package httpgw

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// pageCSS is the page's only style; the Content-Security-Policy allows
// exactly it (by hash) and nothing else: no scripts, images, fonts or
// other origins, so a value can never bring active content along.
const pageCSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
.msg{padding:.75rem 1rem;background:#fff4e5;border-left:4px solid #e8a33d}
table{width:100%;border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.1)}
th,td{text-align:left;vertical-align:top;padding:.5rem .75rem;border-bottom:1px solid #e3e6ea}
th{background:#eef1f4;font-weight:600}
td.v{white-space:pre-wrap;overflow-wrap:anywhere}
td.n{white-space:nowrap;color:#5c6670}
small{color:#5c6670}
a{color:#0b5cad}
form{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
input{flex:1 1 14rem;font:inherit;padding:.5rem}
button{font:inherit;padding:.5rem 1rem}
footer{margin-top:1.5rem;font-size:.9rem;color:#5c6670}
@media (max-width:40rem){
 thead,td.n{display:none}
 table,tbody,tr,td{display:block;width:100%}
 tr{border-bottom:1px solid #e3e6ea;padding:.5rem .75rem}
 td{border:0;padding:0}
 td.t{font-size:.8rem;font-weight:600;color:#5c6670}
}
`

var (
	pageCSP = "default-src 'none'; style-src 'sha256-" + cssHash() + "'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

	pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · idres</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
<h1>{{.Heading}}</h1>
{{- if .Message}}
<p class="msg">{{.Message}}</p>
{{- end}}
{{- if .Values}}
<table>
<thead><tr><th>Index</th><th>Type</th><th>Value</th><th>TTL</th><th>Updated</th></tr></thead>
<tbody>
{{- range .Values}}
<tr>
<td class="n">{{.Index}}</td>
<td class="t">{{.Type}}</td>
<td class="v">{{if .Href}}<a href="{{.Href}}" rel="nofollow noopener noreferrer">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{if .Binary}} <small>(base64)</small>{{end}}</td>
<td class="n">{{.TTL}} s</td>
<td class="n">{{.Timestamp}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Form}}
<form method="get" action="/">
<input name="id" aria-label="Identifier" placeholder="88.100/pump-0001" required>
<button type="submit">Resolve</button>
</form>
{{- end}}
<footer>{{if .JSONPath}}<a href="{{.JSONPath}}">This record as JSON</a> · {{end}}idres identifier resolution</footer>
</main>
</body>
</html>
`))
)

func cssHash() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return base64.StdEncoding.EncodeToString(sum[:])
}

type pageData struct {
	Title, Heading, Message string
	Values                  []pageRow
	JSONPath                string
	Form                    bool
}

type pageRow struct {
	Index     uint32
	Type      string
	Text      string
	Binary    bool
	Href      string // set for URL values with an http(s) URL
	TTL       uint32
	Timestamp string
}

// servePage answers /{identifier}: a redirect to the lowest-index URL
// value, else an HTML page of the public values; JSON when the client
// prefers it.
func (g *Gateway) servePage(w http.ResponseWriter, r *http.Request, escaped string) string {
	if !allowRead(w, r) {
		return outcomeMethod
	}
	w.Header().Set("Vary", "Accept")
	json := wantsJSON(r.Header.Get("Accept"))
	id, err := DecodeIdentifier(escaped)
	if err != nil {
		if json {
			writeJSON(w, r, http.StatusBadRequest, "no-store", &handleJSON{ResponseCode: CodeInvalidHandle, Handle: escaped, Message: err.Error()})
		} else {
			writePage(w, http.StatusBadRequest, "no-store", &pageData{Title: "Invalid identifier", Heading: "Invalid identifier", Message: err.Error(), Form: true})
		}
		return outcomeBadRequest
	}
	resp, err := g.lookup(r, id, filters{})
	if err != nil {
		if json {
			g.internalError(w, r, id, err)
		} else {
			g.log.Error("HTTP gateway lookup failed", "identifier", id, "err", err)
			writePage(w, http.StatusInternalServerError, "no-store", &pageData{Title: "Error", Heading: "Something went wrong", Message: "The node could not answer; please try again later."})
		}
		return outcomeError
	}
	if json {
		if n := g.oversize(resp); n > 0 {
			g.refuseJSON(w, r, resp, id, n)
			return outcomeTooLarge
		}
		g.answerJSON(w, r, resp, id)
		return outcomeOf(resp.Outcome)
	}
	return g.answerPage(w, r, resp, id)
}

func (g *Gateway) answerPage(w http.ResponseWriter, r *http.Request, resp *idresv1.ResolveResponse, asked string) string {
	name := resp.Identifier
	if name == "" {
		name = asked
	}
	cache := cacheControl(resp)
	status := MapOutcome(resp.Outcome).Status
	d := &pageData{Title: name, Heading: name, Message: resp.Message, JSONPath: APIPath(name)}
	switch resp.Outcome {
	case idresv1.Outcome_OUTCOME_OK:
		vals := sortedValues(resp.Values)
		if loc := redirectTarget(vals); loc != "" {
			redirect(w, loc, cache)
			return outcomeOf(resp.Outcome)
		}
		// A redirect reads one value; a table would render them all.
		if n := g.oversize(resp); n > 0 {
			g.refusePage(w, name, n)
			return outcomeTooLarge
		}
		d.Message = ""
		if p := resp.DerivedFromPattern; p != "" {
			d.Message = "This identifier has no record of its own; its values come from the pattern " + p + "."
		}
		for _, v := range vals {
			d.Values = append(d.Values, toPageRow(v))
		}
	case idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
		d.Message = "This identifier has no public values."
	case idresv1.Outcome_OUTCOME_REFERRAL:
		if base := referralBase(resp.Referral); base != "" {
			redirect(w, PageURL(base, name), cache)
			return outcomeOf(resp.Outcome)
		}
		d.Message = resp.Message + "; its nodes have no web address, so it cannot be shown here."
	case idresv1.Outcome_OUTCOME_NOT_FOUND, idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		d.Title, d.Heading, d.JSONPath, d.Form = "Not found", "Identifier not found: "+name, "", true
	case idresv1.Outcome_OUTCOME_GONE:
		if succ := resp.GetTombstone().GetSuccessor(); succ != "" {
			// The successor's page, permanently (LIFE-014).
			redirect301(w, PagePath(succ), cache)
			return outcomeOf(resp.Outcome)
		}
		d.Title, d.Heading, d.JSONPath = "Withdrawn", "Identifier withdrawn: "+name, ""
	case idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER:
		d.Title, d.Heading, d.JSONPath, d.Form = "Invalid identifier", "Invalid identifier", "", true
	default:
		d.Title, d.Heading, d.JSONPath = "Error", "The identifier could not be resolved", ""
	}
	writePage(w, status, cache, d)
	return outcomeOf(resp.Outcome)
}

// serveHome is "/": a form to look an identifier up, which submits to
// "/?id=..." and is redirected to the identifier's page.
func (g *Gateway) serveHome(w http.ResponseWriter, r *http.Request) string {
	if !allowRead(w, r) {
		return outcomeMethod
	}
	if id := strings.TrimSpace(r.URL.Query().Get("id")); id != "" {
		redirect(w, PagePath(id), "no-store")
		return outcomeOK
	}
	writePage(w, http.StatusOK, "max-age=3600", &pageData{Title: "Resolve an identifier", Heading: "Resolve an identifier", Form: true})
	return outcomeOK
}

func toPageRow(v *idresv1.Value) pageRow {
	j := toValueJSON(v)
	row := pageRow{Index: j.Index, Type: j.Type, Text: j.Data.Value, Binary: j.Data.Format == "base64", TTL: j.TTL, Timestamp: j.Timestamp}
	if !row.Binary {
		// Any value that is exactly an http(s) URL is a link; other
		// schemes stay text.
		row.Href = httpURL(row.Text)
	}
	return row
}

// redirectTarget is the lowest-index URL value that holds an absolute
// http or https URL (vals are sorted by index), or "". Other schemes
// (javascript:, data:, ...) are never redirected to; they are shown.
func redirectTarget(vals []*idresv1.Value) string {
	for _, v := range vals {
		if !isURLType(v.Type) || !utf8.Valid(v.Data) {
			continue
		}
		if loc := httpURL(string(v.Data)); loc != "" {
			return loc
		}
	}
	return ""
}

func isURLType(t string) bool { return strings.EqualFold(t, "URL") }

// httpURL returns s as an ASCII http(s) URL fit for a Location header
// (non-ASCII host in punycode, path and query percent-encoded), or "".
func httpURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	host, err := idna.Lookup.ToASCII(u.Hostname())
	if err != nil {
		return ""
	}
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	u.Host = host
	u.RawQuery = asciiQuery(u.RawQuery)
	loc := u.String()
	for i := 0; i < len(loc); i++ {
		if loc[i] >= utf8.RuneSelf || loc[i] < 0x20 {
			return ""
		}
	}
	return loc
}

// asciiQuery percent-encodes non-ASCII bytes of a raw query and keeps the
// rest as written.
func asciiQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c >= utf8.RuneSelf || c == ' ' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func redirect(w http.ResponseWriter, loc, cache string) {
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusFound)
}

func writePage(w http.ResponseWriter, status int, cache string, d *pageData) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// wantsJSON reports whether an Accept header asks for application/json at
// least as much as for text/html (browsers send text/html first; */* alone
// gets HTML).
func wantsJSON(accept string) bool {
	var jsonQ, htmlQ float64
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case "application/json":
			jsonQ = max(jsonQ, q)
		case "text/html":
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ >= htmlQ
}
