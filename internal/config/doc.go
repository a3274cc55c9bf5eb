// Package config reads tether's configuration file: the managed backends
// it may launch, the remote endpoints it may call, the hosts and networks
// the "private" privacy tier allows, prices, and the routes that put them
// in order. The file is TOML; every problem, from a syntax error to a
// route that would send data where its tier forbids, is reported as
// "file:line: message", all of them at once.
//
// The file is $XDG_CONFIG_HOME/tether/config.toml (os.UserConfigDir), or
// the one given with --config. docs/tether.example.toml documents every
// key.
package config
