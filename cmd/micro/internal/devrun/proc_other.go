//go:build !unix

package devrun

import (
	"os"
	"os/exec"
)

// isolate does nothing where there are no process groups.
func isolate(*exec.Cmd) {}

// terminate stops pid: without SIGTERM there is no drain.
func terminate(pid int) error { return kill(pid) }

// kill stops pid at once.
func kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
