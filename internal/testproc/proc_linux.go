package testproc

import "syscall"

// sysProcAttr puts the program in its own process group (so that a signal
// reaches the children it forks) and has the kernel kill it if the test
// binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
