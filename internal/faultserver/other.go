//go:build !unix

package main

import (
	"errors"
	"os"
	"syscall"
	"time"
)

func (s *server) startGrandchild() error {
	return errors.New("grandchild needs a unix system")
}

func linger(o *options) int {
	time.Sleep(o.MaxLife)
	return 0
}

func dieBySignal(syscall.Signal) { os.Exit(2) }
