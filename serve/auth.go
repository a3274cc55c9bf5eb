package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized reports whether r carries the server's API key, as
// "Authorization: Bearer KEY" or, as llama-server also accepts,
// "X-Api-Key: KEY". The comparison takes the same time whatever the key
// sent: both sides are hashed first, so neither its content nor its
// length shows in the timing.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	key := r.Header.Get("X-Api-Key")
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		key = strings.TrimSpace(token)
	}
	want := sha256.Sum256([]byte(s.cfg.APIKey))
	got := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}
