package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/tetherllm/tether/llm"
)

type tierKey struct{}

// WithPrivacy narrows the privacy tier of the requests made with ctx: a
// router sends them only to drivers both its route and t allow. It can
// only narrow; a wider t than the route's changes nothing.
func WithPrivacy(ctx context.Context, t llm.PrivacyTier) context.Context {
	if prev, ok := ctx.Value(tierKey{}).(llm.PrivacyTier); ok && prev < t {
		t = prev
	}
	return context.WithValue(ctx, tierKey{}, t)
}

// PrivacyError means no driver of the route may receive the request at
// its privacy tier. Nothing was sent anywhere.
type PrivacyError struct {
	Route string
	Tier  llm.PrivacyTier
	// Refused lists the drivers the tier ruled out, as "name (tier)".
	Refused []string
}

func (e *PrivacyError) Error() string {
	return fmt.Sprintf("route %q (privacy %s) may send data only to %s drivers; it refused %s and has no other",
		e.Route, e.Tier, allowedBy(e.Tier), strings.Join(e.Refused, ", "))
}

// Retryable is false: the same request at the same tier is refused again.
func (e *PrivacyError) Retryable() bool { return false }

// allowedBy names the driver tiers a policy tier allows.
func allowedBy(t llm.PrivacyTier) string {
	switch t {
	case llm.Sovereign:
		return "sovereign"
	case llm.Private:
		return "sovereign or private"
	}
	return "any"
}
