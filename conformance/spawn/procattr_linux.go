package spawn

import (
	"os/exec"
	"syscall"
)

// bindToParent makes the kernel send SIGTERM to the node if the process
// that spawned it dies without stopping it (killed, or SIGPIPE on a
// closed stdout), so no throwaway node outlives its run.
func bindToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
