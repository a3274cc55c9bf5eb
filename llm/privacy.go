package llm

import (
	"fmt"
	"strings"
)

// PrivacyTier says where a driver's data may go.
type PrivacyTier int

const (
	// Sovereign: nothing leaves the machine (local servers, in-process).
	Sovereign PrivacyTier = iota + 1
	// Private: the data goes to endpoints the user controls (own cluster,
	// VPC).
	Private
	// Standard: the data may go to public APIs.
	Standard
)

func (t PrivacyTier) String() string {
	switch t {
	case Sovereign:
		return "sovereign"
	case Private:
		return "private"
	case Standard:
		return "standard"
	}
	return fmt.Sprintf("PrivacyTier(%d)", int(t))
}

// Allows reports whether data allowed at tier t may be sent to a driver
// of tier d: a sovereign policy allows only sovereign drivers, a private
// one private and sovereign drivers, a standard one everything.
func (t PrivacyTier) Allows(d PrivacyTier) bool { return d >= Sovereign && d <= t }

// ParsePrivacyTier reads a tier name, case-insensitively (so the seed's
// "Sovereign" is accepted).
func ParsePrivacyTier(s string) (PrivacyTier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sovereign":
		return Sovereign, nil
	case "private":
		return Private, nil
	case "standard":
		return Standard, nil
	}
	return 0, fmt.Errorf("llm: unknown privacy tier %q (want sovereign, private or standard)", s)
}

// MarshalText writes the tier's lower-case name.
func (t PrivacyTier) MarshalText() ([]byte, error) {
	if t < Sovereign || t > Standard {
		return nil, fmt.Errorf("llm: invalid privacy tier %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads a tier name.
func (t *PrivacyTier) UnmarshalText(b []byte) error {
	v, err := ParsePrivacyTier(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
