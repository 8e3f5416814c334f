package bench

import "syscall"

// childAttrs makes the kernel kill the platform if the bench dies without
// cleaning up (kill -9).
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
