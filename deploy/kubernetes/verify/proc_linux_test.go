package verify

import (
	"os/exec"
	"syscall"
)

var terminateSignal = syscall.SIGTERM

// setPdeathsig makes the kernel kill the child if the test process dies
// (a timeout panic, a kill -9), so no switchboard is left behind.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
