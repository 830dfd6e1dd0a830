package onion

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill tor if Candor dies without stopping it.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
