//go:build unix

package devrun

import (
	"os/exec"
	"syscall"
)

// isolate starts cmd in a process group of its own: the terminal's Ctrl-C
// then reaches micro run alone, which drains the services in order, and
// signals reach whatever the service started too.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the process group of pid to stop.
func terminate(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) }

// kill stops the process group of pid at once.
func kill(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
