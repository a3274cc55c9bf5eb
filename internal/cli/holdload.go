package cli

// holdLoad, when set, runs before tether serve loads its model. Only
// binaries built with the testhooks tag set it, so that tests can stop a
// server whose load never ends.
var holdLoad func()
