package httpgw

import "net/http"

// redirect301 sends a withdrawn identifier's page to its successor's:
// permanent, since a tombstone names its successor for good, but cached
// only as long as the answer's TTL allows (the tombstone may be lifted).
func redirect301(w http.ResponseWriter, loc, cache string) {
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusMovedPermanently)
}
