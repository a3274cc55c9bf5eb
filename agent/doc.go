// Package agent is tether's coding agent: a loop that gives a model a
// workspace's files and commands as tools, runs the calls it makes, and
// sends the results back until it answers.
package agent
