// Package agent is tether's coding agent: a loop that gives a model a
// workspace's files and commands as tools, runs the calls it makes, and
// sends the results back until it answers.
//
//	ws, err := agent.OpenWorkspace(".")
//	...
//	defer ws.Close()
//	a, err := agent.New(agent.Config{Driver: d, Tools: agent.Builtin(ws, agent.ToolOptions{})})
//	...
//	res, err := a.Turn(ctx, history, "rename parse to parseConfig")
//	history = append(history, res.Messages...)
//
// The tools ([Builtin]) read, write, edit, list and search the files of a
// [Workspace]. Every file access goes through an [os.Root], so no path the
// model gives — "..", an absolute path, a symbolic link — reaches outside
// the workspace. The shell tool is included only when asked for, since a
// command can reach anything the user can; it runs in the workspace, in a
// process group of its own that is killed whole when the command ends,
// times out or outlives the agent (a watchdog process sees the agent die,
// even by SIGKILL), with an environment that leaves out secrets.
//
// [Agent.Turn] streams each model call (so a front end shows the answer as
// it is written), runs the calls of a response one at a time, and stops a
// model that does not converge: limits on model calls, tool calls and
// tokens, a call repeated with the same input, responses cut off again and
// again ([LimitError]). Retryable driver errors are retried with backoff,
// or after the delay the server asked for, and never once part of an
// answer has arrived. Before each call the conversation is fitted to the context
// window: the oldest messages go first, an assistant turn stays with its
// tool results, and the current request is never dropped.
package agent
