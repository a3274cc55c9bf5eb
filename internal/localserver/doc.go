// Package localserver is what launching a server on this machine needs
// besides running its process: a fresh loopback port or a private unix
// socket path, per-launch secrets, and an HTTP client that stays on
// loopback. The managed driver, which decides launches, uses it; the
// supervisor only runs the process.
package localserver
