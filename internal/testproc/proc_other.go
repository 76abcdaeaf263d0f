//go:build unix && !linux

package testproc

import "syscall"

// sysProcAttr puts the program in its own process group, so that a signal
// reaches the children it forks.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
