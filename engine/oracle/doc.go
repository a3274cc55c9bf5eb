// Package oracle compares tether's engine with llama.cpp on synthetic
// models. It has no API: its tests write files of every architecture and
// weight type with engine/synth, run them once in llama.cpp (the
// node-llama-cpp package in tools/oracle, through tools/oracle/eval.mjs)
// and require, for each file, identical tokenization, log-probabilities
// within a tolerance along llama.cpp's greedy path, and, for F32 and F16
// files, the same greedy path. docs/oracle.md explains the method and the
// tolerances.
//
// The tests skip, saying so, where node or the npm install is missing;
// TETHER_REQUIRE_ORACLE=1 makes that a failure.
package oracle
