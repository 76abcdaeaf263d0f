//go:build unix && !linux

package testserver

import "syscall"

// sysProcAttr puts the server in its own process group, so that a signal
// reaches the children it forks.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
