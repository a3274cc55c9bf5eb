package localserver

import (
	"crypto/rand"
	"strings"
)

// NewSecret returns a fresh 128-bit random token (26 lowercase base32
// characters) from the operating system's secure generator. Give each launch
// its own as the server's API key and model alias: a server that accepts the
// key and lists the alias is ours, not a squatter that happens to answer on
// the same port.
func NewSecret() string {
	return strings.ToLower(rand.Text())
}
