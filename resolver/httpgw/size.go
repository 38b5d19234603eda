package httpgw

import (
	"fmt"
	"net/http"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

// outcomeTooLarge labels an answer refused for its size.
const outcomeTooLarge = "too_large"

// oversize is the size of resp's values (value.Size: type and data bytes)
// when it is more than the gateway renders, else 0. The registry accepts
// no identifier above the node's limit (Options.MaxIdentifierBytes, the
// same --max-identifier-bytes), so only a record stored by older code, or
// a recursive answer from a node with a larger limit, is refused: JSON
// writes a byte of data as up to six ("\u0000"), and a 64 MiB record was
// a 354 MB body. With ?type= or ?index= the answer holds only the values
// asked for, and is served when they fit.
func (g *Gateway) oversize(resp *idresv1.ResolveResponse) int {
	if n := value.Size(resp.GetValues()); n > g.maxBytes {
		return n
	}
	return 0
}

func (g *Gateway) tooLargeMessage(n int) string {
	return fmt.Sprintf("answer too large: the values hold %d bytes of type and data, more than the %d this node serves for one identifier; ask for fewer with ?type= or ?index=", n, g.maxBytes)
}

// refuseJSON answers an oversized resolution: HTTP 500 (the node cannot
// serve it; the request is not at fault, so not 4xx) with Handle code 2
// and a message naming both sizes, never cached.
func (g *Gateway) refuseJSON(w http.ResponseWriter, r *http.Request, resp *idresv1.ResolveResponse, asked string, n int) {
	g.log.Warn("HTTP gateway refused an oversized answer", "identifier", asked, "bytes", n, "limit", g.maxBytes)
	rec := toHandleJSON(&idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_SERVER_FAILURE, Identifier: resp.GetIdentifier()}, asked)
	rec.Message = g.tooLargeMessage(n)
	writeJSON(w, r, http.StatusInternalServerError, "no-store", rec)
}

// refusePage is refuseJSON for a person.
func (g *Gateway) refusePage(w http.ResponseWriter, name string, n int) {
	g.log.Warn("HTTP gateway refused an oversized answer", "identifier", name, "bytes", n, "limit", g.maxBytes)
	writePage(w, http.StatusInternalServerError, "no-store", &pageData{Title: name, Heading: name,
		Message: fmt.Sprintf("This identifier's values are too large to show: %d bytes, more than the %d this node serves.", n, g.maxBytes)})
}
