// Command chaos runs tether's reliability trials against real processes
// and writes the results as docs/reliability.md: the parent killed at
// random moments, start-up and runtime faults of the server, load with
// random disconnects, hostile input, time-boxed fuzzing of every parser,
// and the security properties a shared machine needs.
//
// Usage:
//
//	go run ./internal/chaos              # the full run; writes docs/reliability.md
//	go run ./internal/chaos -ci          # the CI-sized subset; writes nothing unless -out
//	go run ./internal/chaos -only kill   # the rows whose group or name matches a regexp
//
// Every row counts trials and failures, and states the bound it checked
// (a time, a memory peak, an exit code). The command exits 1 when any row
// has a failure that the row does not explain, so CI can run the subset.
package main
