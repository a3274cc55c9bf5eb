// Package cli is tether's command line: one constructor per command, no
// package state, so tests run any command with arguments and buffers.
package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/supervisor"
)

// streams are the standard files a command uses, and where it says how
// long it may take to stop after a signal (nil in process).
type streams struct {
	in       io.Reader
	out, err io.Writer
	shutdown *shutdownDeadline
	// requests lets an interactive command take SIGINT for the request
	// it is running; nil (commands run in process by tests) takes none.
	requests *requestInterrupter
}

// Main runs the tether command line with args and returns the exit code.
// SIGINT and SIGTERM cancel the command's context, so servers it started
// are shut down before it returns; a second signal, or a command that has
// not stopped within its deadline, ends the process at once (exit 130).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer func() {
		signal.Stop(sigs)
		close(sigs)
	}()
	// Descendants of the servers tether starts that leave their process
	// group are re-parented to tether when orphaned, so that they are
	// stopped with their server where no cgroup holds them. tether's
	// other children (tether code's shell commands) are registered with
	// supervisor.OwnChild, as this process-wide setting asks. Linux only; elsewhere the
	// process group is what there is.
	_ = supervisor.AdoptOrphans()
	deadline := newShutdownDeadline()
	requests := &requestInterrupter{}
	go watchSignals(sigs, cancel, stderr, deadline, requests, time.After, os.Exit)
	return Run(ctx, args, streams{in: stdin, out: stdout, err: stderr, shutdown: deadline, requests: requests})
}

// Run runs the command line under ctx.
func Run(ctx context.Context, args []string, s streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil {
		err = interrupted(ctx)
	}
	printError(s.err, err)
	return exitCode(err)
}

func newRootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "tether",
		Short: "Run large language models locally, with no data leaving the machine",
		Long: `tether runs large language models locally for programs and people.

It launches a local OpenAI-compatible inference server (apr, llama-server,
ollama, vLLM, or tether's own pure-Go server) as a supervised child process,
talks to it, and shuts it down so that nothing is ever orphaned.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see tether --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersionCommand(s))
	root.AddCommand(newServeCommand(s))
	root.AddCommand(newRunCommand(s))
	root.AddCommand(newCodeCommand(s))
	root.AddCommand(newDemoCommand(s))
	root.AddCommand(newModelCommand(s))
	root.AddCommand(newBenchCommand(s))
	root.AddCommand(newDoctorCommand(s))
	return root
}
