//go:build !linux

package verify

import (
	"os"
	"os/exec"
	"syscall"
)

var terminateSignal os.Signal = syscall.SIGTERM

func setPdeathsig(*exec.Cmd) {}
