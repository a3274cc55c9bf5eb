//go:build testhooks

package cli

import "os"

// With TETHER_TEST_HOLD_LOAD=1, the model load blocks for ever, as a load
// from a hung network disk does.
func init() {
	if os.Getenv("TETHER_TEST_HOLD_LOAD") == "1" {
		holdLoad = func() { select {} }
	}
}
