package cli

import (
	"log/slog"
	"os"
)

// quietLogger logs warnings and errors to stderr; TETHER_LOG=debug shows
// everything.
func quietLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("TETHER_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
