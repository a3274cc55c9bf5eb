package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is tether's version, set at build time with
// -ldflags "-X github.com/tetherllm/tether/internal/cli.Version=v1.2.3".
var Version = "dev"

func newVersionCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tether's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			rev := ""
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, kv := range info.Settings {
					if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
						rev = " " + kv.Value[:12]
					}
				}
			}
			fmt.Fprintf(s.out, "tether %s%s %s/%s %s\n", Version, rev, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return nil
		},
	}
}
