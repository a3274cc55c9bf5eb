package supervisor

import "time"

// clock is the time the start-up budget is measured in.
type clock interface {
	Now() time.Time
	// After sends the time on the channel once d has passed (at once if d
	// is not positive).
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
